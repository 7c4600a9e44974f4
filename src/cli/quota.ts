/**
 * `objectfs quota set|get|list|delete|check META_URL`: directory quotas (decision 79). A quota
 * limits the space and the names beneath a directory (nested quotas included); writes and
 * creates past it fail with EDQUOT on every host. `set` on a tree that holds data scans it once
 * for its usage; `check` compares each quota's usage with a scan, `--repair` replaces it.
 */
import { Argument, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { DirQuota, MetaEngine, QuotaCheck } from '../meta/index.js';
import { ROOT_INO } from '../meta/light.js';
import { formatBytes } from '../util/bytes.js';
import { EXIT_FAILURE, EXIT_USAGE } from './errors.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import { byteSizeOption, wholeNumberOption } from './options.js';
import type { Output } from './output.js';

export const QUOTA_ACTIONS = ['set', 'get', 'list', 'delete', 'check'] as const;
type QuotaAction = (typeof QUOTA_ACTIONS)[number];

interface QuotaFlags {
  metaUrlFile?: string;
  path?: string;
  capacity?: number;
  inodes?: number;
  repair?: boolean;
  json?: boolean;
}

/** A quota as printed and as JSON: the directory's path as given (or its inode), limits 0 = none. */
interface ShownQuota extends DirQuota { readonly path?: string }

function limit(n: number, bytes: boolean): string {
  if (n === 0) return 'none';
  return bytes ? formatBytes(n) : String(n);
}

function quotaLine(q: ShownQuota): string {
  const where = q.path ?? `inode ${q.inode}`;
  return `${where}: space ${formatBytes(q.usedSpace)} of ${limit(q.maxSpace, true)}, inodes ${q.usedInodes} of ${limit(q.maxInodes, false)}`;
}

function checkLine(c: QuotaCheck): string {
  const same = c.usedSpace === c.scannedSpace && c.usedInodes === c.scannedInodes;
  if (same) return `inode ${c.inode}: usage matches a scan (${formatBytes(c.usedSpace)}, ${c.usedInodes} inodes)`;
  return `inode ${c.inode}: recorded ${c.usedSpace} bytes / ${c.usedInodes} inodes, scan ${c.scannedSpace} bytes / ${c.scannedInodes} inodes${c.repaired ? ' (repaired)' : ' (run with --repair to fix)'}`;
}

async function directoryOf(meta: MetaEngine, path: string | undefined, action: QuotaAction): Promise<number> {
  if (path === undefined) throw new CliError(EXIT_USAGE, 'EUSAGE', `quota ${action} needs --path (a directory of the volume, from its root)`);
  if (path.replace(/\/+/g, '/') === '/') return ROOT_INO;
  const { resolveSubdir } = await import('../volume/subdir.js');
  return (await resolveSubdir(meta, path)).ino;
}

async function run(meta: MetaEngine, action: QuotaAction, flags: QuotaFlags, out: Output): Promise<number> {
  if (action === 'list') {
    const quotas = await meta.listQuotas();
    if (flags.json) out.json(quotas);
    else if (quotas.length === 0) out.line('no directory quotas');
    else for (const q of quotas) out.line(quotaLine(q));
    return 0;
  }
  if (action === 'check') {
    const ino = flags.path === undefined ? undefined : await directoryOf(meta, flags.path, action);
    const checks = await meta.checkQuotas({ ino, repair: flags.repair === true });
    const wrong = checks.filter((c) => !c.repaired && (c.usedSpace !== c.scannedSpace || c.usedInodes !== c.scannedInodes));
    if (flags.json) out.json({ quotas: checks, consistent: wrong.length === 0 });
    else for (const c of checks) out.line(checkLine(c));
    return wrong.length === 0 ? 0 : EXIT_FAILURE;
  }
  const ino = await directoryOf(meta, flags.path, action);
  const path = flags.path;
  if (action === 'set') {
    if (flags.capacity === undefined && flags.inodes === undefined) throw new CliError(EXIT_USAGE, 'EUSAGE', 'quota set needs --capacity and/or --inodes (0 removes that limit)');
    const q = await meta.setQuota(ino, { maxSpace: flags.capacity, maxInodes: flags.inodes });
    if (flags.json) out.json({ ...q, path });
    else out.line(quotaLine({ ...q, path }));
    return 0;
  }
  if (action === 'get') {
    const q = await meta.getQuota(ino);
    if (q === undefined) throw new CliError(EXIT_FAILURE, 'ENOQUOTA', `${path} has no quota`);
    if (flags.json) out.json({ ...q, path });
    else out.line(quotaLine({ ...q, path }));
    return 0;
  }
  const deleted = await meta.deleteQuota(ino);
  if (!deleted) throw new CliError(EXIT_FAILURE, 'ENOQUOTA', `${path} has no quota`);
  if (flags.json) out.json({ inode: ino, path, deleted });
  else out.line(`${path}: quota deleted`);
  return 0;
}

export function registerQuota(program: Command, out: Output): void {
  program.command('quota')
    .description('directory quotas: set, get, list, delete, check (--repair recomputes usage)')
    .addArgument(new Argument('<ACTION>', 'set, get, list, delete or check').choices(QUOTA_ACTIONS))
    .argument('[META_URL]', META_URL_HELP)
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--path <VOLUME_PATH>', 'the directory, from the volume\'s root (/a/b)')
    .option('--capacity <SIZE>', 'space limit beneath the directory (e.g. 10G; 0 = none)', byteSizeOption)
    .option('--inodes <N>', 'limit of files, directories and links beneath it (0 = none)', wholeNumberOption)
    .option('--repair', 'check: replace usage that differs from the scan')
    .option('--json', 'print JSON')
    .action(async (action: QuotaAction, metaUrlArg: string | undefined, flags: QuotaFlags) => {
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      const { openMeta } = await import('../meta/index.js');
      const meta = await openMeta(metaUrl, { counterFlushMs: 0, maxConnections: 2 });
      let code: number;
      try {
        code = await run(meta, action, flags, out);
      } finally {
        await meta.close();
      }
      if (code !== 0) throw new CliError(code, 'EQUOTACHECK', 'quota usage differs from a scan of the tree');
    });
}
