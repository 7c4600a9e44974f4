/**
 * `objectfs trash META_URL [--hour H] [--json]`: what the trash holds (decision 78), one line
 * per entry with its hour, size, age and where it came from. Reads the metadata only.
 */
import type { Command } from 'commander';
import type { MetaEngine, TrashEntry } from '../meta/index.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import { trashHourOption } from './options.js';
import type { Output } from './output.js';

interface TrashFlags {
  hour?: string;
  json?: boolean;
  metaUrlFile?: string;
}

/** How long ago `ms` was, in whole minutes ('0s' under a minute). */
export function ageText(nowMs: number, ms: number): string {
  return formatDuration(Math.max(0, Math.floor((nowMs - ms) / 60_000) * 60));
}

/** The path of an entry as `objectfs restore` takes it. */
export function entryPath(e: TrashEntry): string {
  return `${e.hour}/${e.entry.toString()}`;
}

/**
 * Where each entry came from, as a path from the root (undefined: its directory is gone, and
 * restore would use /lost+found); one walk up per distinct directory.
 */
async function originalPaths(meta: MetaEngine, entries: readonly TrashEntry[]): Promise<Map<TrashEntry, string | undefined>> {
  const dirs = new Map<number, string | undefined>();
  await meta.maintenance().scan(async (scan) => {
    for (const e of entries) if (!dirs.has(e.parent)) dirs.set(e.parent, await scan.pathOf(e.parent));
  });
  return new Map(entries.map((e) => {
    const dir = dirs.get(e.parent);
    return [e, dir === undefined ? undefined : `${dir === '/' ? '' : dir}/${e.name.toString()}`];
  }));
}

/** The JSON form of a trash entry (names as UTF-8 text; `from` null when its directory is gone). */
export function entryJson(e: TrashEntry, nowMs: number, from: string | undefined): Record<string, unknown> {
  return {
    path: entryPath(e), hour: e.hour, ino: e.ino, parent: e.parent, name: e.name.toString(), from: from ?? null,
    size: e.length, deletedAt: new Date(e.deletedAt).toISOString(), ageSeconds: Math.max(0, Math.round((nowMs - e.deletedAt) / 1000)),
  };
}

export function registerTrash(program: Command, out: Output): void {
  program.command('trash')
    .description('list the files in the trash (/.trash) with their sizes and ages')
    .argument('[META_URL]', META_URL_HELP)
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--hour <HOUR>', 'only this hour directory (YYYY-MM-DD-HH, UTC)', trashHourOption)
    .option('--json', 'print the entries as JSON')
    .action(async (metaUrlArg: string | undefined, flags: TrashFlags) => {
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      const { openMeta } = await import('../meta/index.js');
      const meta = await openMeta(metaUrl, { counterFlushMs: 0, maxConnections: 2 });
      try {
        const entries = await meta.listTrash(flags.hour);
        const now = Date.now();
        const bytes = entries.reduce((sum, e) => sum + e.length, 0);
        const from = await originalPaths(meta, entries);
        // Trash days as they are now (the engine's copy is from its open, which is now too).
        const days = meta.volume.trashDays;
        if (flags.json) {
          out.json({ trashDays: days, entries: entries.map((e) => entryJson(e, now, from.get(e))), total: { entries: entries.length, bytes } });
          return;
        }
        for (const e of entries) {
          const where = from.get(e) ?? `${JSON.stringify(e.name.toString())} in directory ${e.parent}, which is gone`;
          out.line(`${entryPath(e)}  ${formatBytes(e.length)}  ${ageText(now, e.deletedAt)} ago  from ${where}`);
        }
        out.line(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${formatBytes(bytes)}; kept ${days} day(s)`);
      } finally {
        await meta.close();
      }
    });
}
