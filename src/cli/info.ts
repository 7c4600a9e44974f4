/**
 * `objectfs info PATH…`: inode, chunks, slices and block objects of paths inside a mount, and
 * which objects this host's disk cache holds. The mount is found from the path (mount-record.ts).
 */
import type { Command } from 'commander';
import { formatBytes } from '../util/bytes.js';
import type { PathInfo } from '../volume/path-info.js';
import { findMount, readMountRecord } from './mount-record.js';
import type { Output } from './output.js';

export function registerInfo(program: Command, out: Output): void {
  program.command('info')
    .description('show the inode, chunks, slices and objects of paths inside a mount, and what is cached here')
    .argument('<PATH...>', 'files or directories inside an ObjectFS mount')
    .option('--json', 'print JSON')
    .option('--objects', 'list every object key')
    .action(async (paths: string[], flags: { json?: boolean; objects?: boolean }) => {
      const [{ openMeta }, { pathInfo }] = await Promise.all([import('../meta/index.js'), import('../volume/path-info.js')]);
      const infos: PathInfo[] = [];
      for (const path of paths) {
        const { mountPoint, inside } = findMount(path);
        const { record, metaUrl } = await readMountRecord(mountPoint);
        const meta = await openMeta(metaUrl, { counterFlushMs: 0, maxConnections: 2 });
        try {
          infos.push(await pathInfo(meta, inside, record.cacheDir, record.root));
        } finally {
          await meta.close();
        }
      }
      if (flags.json) {
        out.json(infos.length === 1 ? infos[0] : infos);
        return;
      }
      for (const info of infos) printInfo(out, info, flags.objects ?? false);
    });
}

function printInfo(out: Output, info: PathInfo, listObjects: boolean): void {
  const a = info.attr;
  out.line(`${info.path}:`);
  out.line(`  inode:    ${a.ino}`);
  out.line(`  type:     ${a.type}, mode ${a.mode.toString(8).padStart(4, '0')}, uid ${a.uid}, gid ${a.gid}, links ${a.nlink}`);
  out.line(`  length:   ${a.length} (${formatBytes(a.length)})`);
  if (a.type !== 'file') return;
  const slices = info.chunks.reduce((n, c) => n + c.slices.length, 0);
  out.line(`  chunks:   ${info.chunks.length}`);
  out.line(`  slices:   ${slices}`);
  const cache = info.objects.some((o) => o.cached !== undefined) ? ` (${info.cachedObjects} in this host's disk cache)` : ' (no disk cache)';
  out.line(`  objects:  ${info.objects.length}${cache}`);
  for (const c of info.chunks) {
    out.line(`  chunk ${c.index} (version ${c.version}):`);
    for (const s of c.slices) {
      out.line(s.id === 0 ? `    hole  pos ${s.pos} len ${s.len}` : `    slice ${s.id} pos ${s.pos} size ${s.size} off ${s.off} len ${s.len}`);
    }
  }
  if (listObjects) for (const o of info.objects) out.line(`    ${o.key}${o.cached === true ? '  cached' : ''}`);
}
