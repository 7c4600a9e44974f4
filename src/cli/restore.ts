/**
 * `objectfs restore META_URL [ENTRY…|--all] [--hour H] [--json]`: puts trash entries back under
 * their original names (decision 78). ENTRY is an entry as `objectfs trash` lists it
 * (`HOUR/ENTRY`, or the same under `/.trash/`); `--hour` alone restores a whole hour. An
 * existing name is never overwritten: that entry stays in the trash and the exit status is 1.
 * An entry whose directory is gone goes to /lost+found.
 */
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { TrashEntry } from '../meta/index.js';
import { EXIT_FAILURE, EXIT_USAGE } from './errors.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import { trashHourOption } from './options.js';
import type { Output } from './output.js';
import { entryPath } from './trash.js';

interface RestoreFlags {
  all?: boolean;
  hour?: string;
  json?: boolean;
  metaUrlFile?: string;
}

/** `HOUR/ENTRY` from what a user may type: `/.trash/HOUR/ENTRY`, `.trash/HOUR/ENTRY` or `HOUR/ENTRY`. */
export function trashPath(path: string): string {
  return path.replace(/^\/+/, '').replace(/^\.trash\/+/, '').replace(/\/+$/, '');
}

/** The entries the command line names; unknown paths are reported as not found. */
function select(all: readonly TrashEntry[], paths: readonly string[], flags: RestoreFlags): { chosen: TrashEntry[]; missing: string[] } {
  if (paths.length === 0) return { chosen: [...all], missing: [] }; // --all or --hour (listTrash already narrowed it)
  const byPath = new Map(all.map((e) => [entryPath(e), e]));
  const chosen: TrashEntry[] = [];
  const missing: string[] = [];
  for (const p of paths) {
    const e = byPath.get(trashPath(p));
    if (e === undefined || (flags.hour !== undefined && e.hour !== flags.hour)) missing.push(p);
    else chosen.push(e);
  }
  return { chosen, missing };
}

export function registerRestore(program: Command, out: Output): void {
  program.command('restore')
    .description('put files from the trash back where they were (never overwriting)')
    .argument('[META_URL]', META_URL_HELP)
    .argument('[ENTRY...]', 'entries as "objectfs trash" lists them (HOUR/ENTRY)')
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--all', 'restore every entry (of --hour, if given)')
    .option('--hour <HOUR>', 'only entries of this hour directory (YYYY-MM-DD-HH, UTC); alone: all of them', trashHourOption)
    .option('--json', 'print what was restored as JSON')
    .action(async (firstArg: string | undefined, rest: string[], flags: RestoreFlags) => {
      // With --meta-url-file the first word is already an entry.
      const metaUrlArg = flags.metaUrlFile === undefined ? firstArg : undefined;
      const paths = flags.metaUrlFile === undefined || firstArg === undefined ? rest : [firstArg, ...rest];
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      if (flags.all && paths.length > 0) throw new CliError(EXIT_USAGE, 'EUSAGE', 'restore: give entries or --all, not both');
      if (!flags.all && flags.hour === undefined && paths.length === 0) throw new CliError(EXIT_USAGE, 'EUSAGE', 'restore: name the entries to restore, or use --all or --hour');
      const { openMeta } = await import('../meta/index.js');
      const meta = await openMeta(metaUrl, { counterFlushMs: 0, maxConnections: 2 });
      const results: Record<string, unknown>[] = [];
      let failed = 0;
      try {
        const { chosen, missing } = select(await meta.listTrash(flags.hour), paths, flags);
        for (const p of missing) {
          failed++;
          results.push({ path: p, restored: false, reason: 'no such entry in the trash' });
        }
        for (const e of chosen) {
          const r = await meta.restoreFromTrash(e);
          if (r.restored) results.push({ path: entryPath(e), restored: true, parent: r.parent, name: r.name.toString(), lostFound: r.lostFound });
          else { failed++; results.push({ path: entryPath(e), restored: false, reason: r.reason }); }
        }
      } finally {
        await meta.close();
      }
      if (flags.json) out.json({ results, restored: results.length - failed, refused: failed });
      else {
        for (const r of results) {
          out.line(r['restored'] === true
            ? `restored ${String(r['path'])} as ${JSON.stringify(r['name'])} in ${r['lostFound'] === true ? '/lost+found (its directory is gone)' : `directory ${String(r['parent'])}`}`
            : `not restored ${String(r['path'])}: ${String(r['reason'])}`);
        }
        out.line(`${results.length - failed} restored, ${failed} not`);
      }
      if (failed > 0) throw new CliError(EXIT_FAILURE, 'ENOTRESTORED', `${failed} entr${failed === 1 ? 'y was' : 'ies were'} not restored`);
    });
}
