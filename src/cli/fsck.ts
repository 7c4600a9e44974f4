/** `objectfs fsck META_URL`: checks (and with --repair fixes) a volume; exit 1 when problems remain. */
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { FsckReport } from '../maintenance/index.js';
import { formatBytes } from '../util/bytes.js';
import { EXIT_FAILURE } from './errors.js';
import { peakRss, withToolVolume } from './maintenance-volume.js';
import { positiveIntOption } from './options.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import type { Output } from './output.js';
import { streamProgress } from './progress.js';

interface FsckFlags {
  path?: string;
  repair?: boolean;
  verify?: boolean;
  threads?: number;
  json?: boolean;
  progress: boolean;
}

function printReport(out: Output, r: FsckReport, peak: number): void {
  const c = r.counts;
  out.line(`checked ${r.path}: ${c.inodes} inodes, ${c.edges} entries, ${c.chunks} chunks, ${c.slices} slices, ${c.blocks} blocks (${formatBytes(c.bytes)})${c.verified > 0 ? `, ${c.verified} blocks downloaded and verified` : ''}`);
  for (const p of r.problems) {
    const where = p.ino === undefined ? '' : ` ${p.path ?? '(no path)'} (inode ${p.ino})`;
    out.line(`  ${p.kind}${where}: ${p.detail}${p.repaired === undefined ? '' : `\n    repaired: ${p.repaired}`}`);
  }
  if (r.problemCount > r.problems.length) out.line(`  … and ${r.problemCount - r.problems.length} more`);
  out.line(r.healthy
    ? `healthy${r.problemCount > 0 ? ` (${r.problemCount} problem(s) repaired)` : ''}`
    : `NOT healthy: ${r.problemCount} problem(s), ${r.unrepaired} not repaired`);
  out.line(`time ${(r.elapsedMs / 1000).toFixed(1)} s, peak memory ${formatBytes(peak)}`);
}

export function registerFsck(program: Command, out: Output): void {
  program.command('fsck')
    .description('check the metadata and data of a volume; exit status 1 if it is not healthy')
    .argument('[META_URL]', META_URL_HELP)
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--path <PATH>', 'check only this subtree (volume-wide counts are then skipped)')
    .option('--repair', 'fix link counts, usage counters, reference counts; move orphans to /lost+found')
    .option('--verify', 'also download and decode every block a file needs')
    .option('--threads <N>', 'parallel downloads with --verify (default 8)', positiveIntOption)
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress output on stderr')
    .action(async (metaUrlArg: string | undefined, flags: FsckFlags & { metaUrlFile?: string }) => {
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      const { runFsck } = await import('../maintenance/index.js');
      const report = await withToolVolume(metaUrl, (volume) => runFsck(volume, {
        path: flags.path, repair: flags.repair, verify: flags.verify, threads: flags.threads,
        progress: flags.progress ? streamProgress('fsck') : undefined,
      }));
      const peak = peakRss();
      if (flags.json) out.json({ ...report, peakRssBytes: peak });
      else printReport(out, report, peak);
      if (!report.healthy) throw new CliError(EXIT_FAILURE, 'EUNHEALTHY', `the volume is not healthy: ${report.unrepaired} problem(s) left`);
    });
}
