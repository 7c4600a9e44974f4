/** `objectfs gc META_URL`: reports garbage objects; deletes them with --delete (never within the safety window). */
import type { Command } from 'commander';
import type { GcCategory, GcReport } from '../maintenance/index.js';
import { DEFAULT_GC_WINDOW_MS } from '../maintenance/light.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { peakRss, withToolVolume } from './maintenance-volume.js';
import { durationOption, positiveIntOption } from './options.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import type { Output } from './output.js';
import { streamProgress } from './progress.js';

interface GcFlags {
  delete?: boolean;
  compact?: boolean;
  threads?: number;
  window?: number;
  json?: boolean;
  progress: boolean;
}

/** In the order the report lists them. */
const MEANING: Record<GcCategory, string> = {
  valid: 'blocks of live slices',
  pending: 'blocks of released slices waiting for deferred deletion',
  leaked: 'named by nothing, older than the safety window',
  skipped: 'named by nothing, but younger than the safety window (may be an upload not yet committed)',
  mismatched: 'of a live slice, but index, length or size does not fit it (kept)',
  foreign: 'not block keys (kept)',
};

function printReport(out: Output, r: GcReport, peak: number): void {
  out.line(`objects under chunks/ (safety window ${formatDuration(r.windowMs / 1000)}):`);
  for (const c of Object.keys(MEANING) as GcCategory[]) out.line(`  ${c.padEnd(10)} ${String(r.objects[c].count).padStart(9)}  ${formatBytes(r.objects[c].bytes).padStart(10)}  ${MEANING[c]}`);
  const p = r.pending;
  out.line(`pending deletion: ${p.droppedLists} dropped chunk list(s), ${p.pendingSlices} released slice(s) (${formatBytes(p.pendingBytes)}), ${p.deadSessionInodes} inode(s) kept by dead sessions`);
  if (r.deleted !== undefined) {
    const d = r.deleted;
    out.line(`deleted: ${d.leaked.count} leaked object(s) (${formatBytes(d.leaked.bytes)})${d.kept > 0 ? `, ${d.kept} kept (committed meanwhile)` : ''}; `
      + `${d.pendingSlices} released slice(s) (${formatBytes(d.pendingBytes)}); ${d.releasedLists} dropped list(s) released; ${d.deadSessions} dead session(s) cleaned`);
  } else if (r.objects.leaked.count > 0 || p.pendingSlices > 0) {
    out.line('nothing deleted: run with --delete to delete leaked objects and pending slices older than the window');
  }
  if (r.compacted !== undefined) out.line(`compacted ${r.compacted.chunks} chunk(s)${r.compacted.raced > 0 ? `, ${r.compacted.raced} changed meanwhile (left)` : ''}`);
  out.line(`time ${(r.elapsedMs / 1000).toFixed(1)} s, peak memory ${formatBytes(peak)}`);
}

export function registerGc(program: Command, out: Output): void {
  program.command('gc')
    .description('find leaked and pending objects of a volume; delete them with --delete')
    .argument('[META_URL]', META_URL_HELP)
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--delete', 'delete leaked objects and run deferred deletion (only what is older than the window)')
    .option('--compact', 'compact every chunk made of more than one slice')
    .option('--threads <N>', 'parallel deletions and compactions (default 8)', positiveIntOption)
    .option('--window <DURATION>', `safety window: nothing younger is deleted (default ${formatDuration(DEFAULT_GC_WINDOW_MS / 1000)}; 30m, 2h, or seconds)`, durationOption)
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress output on stderr')
    .action(async (metaUrlArg: string | undefined, flags: GcFlags & { metaUrlFile?: string }) => {
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      const { runGc } = await import('../maintenance/index.js');
      const report = await withToolVolume(metaUrl, (volume) => runGc(volume, {
        delete: flags.delete, compact: flags.compact, threads: flags.threads,
        windowMs: flags.window === undefined ? undefined : flags.window * 1000,
        progress: flags.progress ? streamProgress('gc') : undefined,
      }));
      const peak = peakRss();
      if (flags.json) out.json({ ...report, peakRssBytes: peak });
      else printReport(out, report, peak);
    });
}
