/**
 * `objectfs status META_URL`: volume record, usage, the deferred-deletion backlog and the
 * sessions with the upload backlog each reported at its last heartbeat; secrets masked.
 */
import type { Command } from 'commander';
import { formatBytes } from '../util/bytes.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import type { Output } from './output.js';
import type { StagedBacklog } from '../meta/index.js';

/** Locks listed per session in the text output (a lock-heavy database can hold thousands). */
const MAX_LOCKS_SHOWN = 20;

export function registerStatus(program: Command, out: Output): void {
  program.command('status')
    .description('show the volume record, usage, pending deletions and sessions with their pending uploads and locks')
    .argument('[META_URL]', META_URL_HELP)
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--json', 'print JSON')
    .action(async (metaUrlArg: string | undefined, flags: { json?: boolean; metaUrlFile?: string }) => {
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      const [{ volumeStatus }, { META_BACKUP_JOB }] = await Promise.all([import('../volume/volume-status.js'), import('../volume/meta-backup.js')]);
      const status = await volumeStatus(metaUrl);
      if (flags.json) {
        out.json(status);
        return;
      }
      const v = status.volume;
      out.line(`volume "${v.name}" (${v.uuid})`);
      out.line(`  metadata:     ${status.meta}`);
      out.line(`  storage:      ${v.storage}${v.storageClass === undefined ? '' : ` (storage class ${v.storageClass})`}`);
      out.line(`  block size:   ${formatBytes(v.blockSize)}, compression ${v.compression}, trash ${v.trashDays} day(s), schema ${v.formatVersion}`);
      out.line(`  created:      ${new Date(Number(v.createdAt / 1_000_000n)).toISOString()}`);
      const u = status.usage;
      out.line(`  used space:   ${formatBytes(u.usedSpace)}${v.capacity > 0 ? ` of ${formatBytes(v.capacity)}` : ''}`);
      out.line(`  used inodes:  ${u.usedInodes}${v.inodes > 0 ? ` of ${v.inodes}` : ''}`);
      const d = status.deletion;
      out.line(`  deletion:     ${d.pendingSlices} slice(s) (${formatBytes(d.pendingBytes)}) waiting for the safety delay or the next pass, ${d.droppedLists} dropped chunk list(s)`);
      for (const j of status.jobs) {
        if (j.name === META_BACKUP_JOB) continue; // its own line below
        out.line(`  job ${j.name}: last run ${new Date(j.claimedAt).toISOString()}${j.sid === undefined ? '' : ` by #${j.sid}`}${j.info === null || j.info === undefined ? '' : `: ${JSON.stringify(j.info)}`}`);
      }
      const b = status.lastBackup;
      const good = (r: { time: string; bytes: number; entries: number; key: string }) => `${r.time}, ${formatBytes(r.bytes)} (${r.entries} entries), ${r.key}`;
      out.line(`  last backup:  ${b === null ? 'none' : 'error' in b ? `${b.time} FAILED: ${b.error}${b.lastGood === undefined ? '' : `; last good ${good(b.lastGood)}`}` : good(b)}`);
      out.line(`  sessions:     ${status.sessions.length}`);
      for (const s of status.sessions) {
        const beat = s.heartbeat > 0 ? new Date(s.heartbeat).toISOString() : 'never';
        const subdir = s.info.subdir === undefined ? '' : ` (subdir ${s.info.subdir})`;
        out.line(`    #${s.sid} ${s.info.host} pid ${s.info.pid} ${s.info.mountPoint}${subdir} v${s.info.version} ${s.alive ? 'alive' : 'EXPIRED'} (last heartbeat ${beat}, expires ${new Date(s.expire).toISOString()})`);
        const st = s.info.stats;
        if (st !== undefined) {
          const oldest = st.uploadQueueBlocks > 0 ? `, oldest ${(st.uploadOldestMs / 1000).toFixed(1)} s` : '';
          out.line(`      pending uploads: ${st.uploadQueueBlocks} block(s)${oldest}; write buffer ${formatBytes(st.bufferBytes)} (as of ${new Date(st.at).toISOString()})`);
        }
        const staged = status.staged.find((b) => b.sid === s.sid);
        if (staged !== undefined) out.line(`      ${stagedLine(staged)}`);
        if (s.locks.length > 0) out.line(`      locks: ${s.locks.length}`);
        for (const l of s.locks.slice(0, MAX_LOCKS_SHOWN)) {
          const range = l.kind === 'flock' ? 'whole file' : `bytes ${l.start}-${l.end === null ? 'EOF' : l.end - 1}`;
          out.line(`        inode ${l.ino} ${l.kind} ${l.type} ${range}, pid ${l.pid}`);
        }
        if (s.locks.length > MAX_LOCKS_SHOWN) out.line(`        … ${s.locks.length - MAX_LOCKS_SHOWN} more (--json lists all)`);
      }
      for (const b of status.staged.filter((x) => !status.sessions.some((s) => s.sid === x.sid))) {
        out.line(`    #${b.sid} ENDED with a write-back backlog: ${stagedLine(b)}; its host uploads it at its next mount with the same cache directory (see fsck)`);
      }
    });
}

/** A session's write-back backlog as one line. */
function stagedLine(b: StagedBacklog): string {
  return `staged (write-back, not uploaded yet): ${b.slices} slice(s), ${formatBytes(b.bytes)}, oldest since ${new Date(b.oldest).toISOString()}`;
}
