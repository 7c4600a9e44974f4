/**
 * fsck's metadata checks, each a keyset-paged scan: inodes against the edges naming them
 * (types, link counts, orphans), edges against both ends, chunk lists (they must parse and
 * belong to a file), and — for the whole volume only — slice reference counts and usage
 * counters.
 */
import { decodeSliceEntries, NODE_TYPE_CODE, ROOT_INO, TRASH_INO, type EdgeCursor, type MaintenanceScan, type NodeAudit } from '../meta/index.js';
import type { FsckCounts, ProblemLog } from './fsck-report.js';
import type { Progress } from './progress.js';

const DIR = NODE_TYPE_CODE.directory;
const FILE = NODE_TYPE_CODE.file;
const PAGE = 1000;

function checkNode(n: NodeAudit, log: ProblemLog): void {
  if (n.typeCode < 1 || n.typeCode > 7) {
    log.add({ kind: 'bad-type', ino: n.ino, detail: `inode ${n.ino} has unknown type code ${n.typeCode}` });
    return;
  }
  if (n.typeCode === DIR) {
    // The trash has no entry in the root by design (decision 78): not an orphan.
    if (n.ino !== ROOT_INO && n.ino !== TRASH_INO && n.edges === 0) log.add({ kind: 'orphan', ino: n.ino, detail: `directory ${n.ino} has no name` }, { kind: 'orphan', ino: n.ino });
    if (n.ino !== ROOT_INO && n.edges > 1) log.add({ kind: 'directory-names', ino: n.ino, detail: `directory ${n.ino} has ${n.edges} names` });
    if (n.ino === ROOT_INO && n.edges > 0) log.add({ kind: 'directory-names', ino: n.ino, detail: `the root has ${n.edges} names` });
    const want = 2 + n.subdirs;
    if (n.nlink !== want) log.add({ kind: 'link-count', ino: n.ino, detail: `directory link count ${n.nlink}, its subdirectories imply ${want}` }, { kind: 'link-count', ino: n.ino });
    return;
  }
  if (n.edges === 0) {
    if (n.kept && n.nlink === 0) return; // open after its last unlink: its session deletes it
    log.add({ kind: 'orphan', ino: n.ino, detail: `inode ${n.ino} (link count ${n.nlink}) has no name${n.kept ? ' but is kept open' : ''}` }, { kind: 'orphan', ino: n.ino });
    return;
  }
  if (n.nlink !== n.edges) log.add({ kind: 'link-count', ino: n.ino, detail: `link count ${n.nlink}, but ${n.edges} name(s)` }, { kind: 'link-count', ino: n.ino });
}

export async function checkNodes(scan: MaintenanceScan, log: ProblemLog, counts: FsckCounts, progress: Progress): Promise<void> {
  const phase = progress.phase('checking inodes');
  for (let after = 0; ;) {
    const page = await scan.nodePage(after, PAGE);
    for (const n of page) checkNode(n, log);
    counts.inodes += page.length;
    phase.add(page.length);
    const last = page[page.length - 1];
    if (last === undefined || page.length < PAGE) break;
    after = last.ino;
  }
  phase.end();
}

export async function checkEdges(scan: MaintenanceScan, log: ProblemLog, counts: FsckCounts, progress: Progress): Promise<void> {
  const phase = progress.phase('checking directory entries');
  for (let after: EdgeCursor | undefined; ;) {
    const page = await scan.edgePage(after, PAGE);
    for (const e of page) {
      const name = `"${e.name.toString('utf8')}" in ${e.parent}`;
      if (e.nodeTypeCode === null) log.add({ kind: 'dangling-edge', ino: e.parent, detail: `entry ${name} names inode ${e.ino}, which does not exist` });
      else if (e.nodeTypeCode !== e.typeCode) log.add({ kind: 'edge-type', ino: e.ino, detail: `entry ${name} says type ${e.typeCode}, inode ${e.ino} is type ${e.nodeTypeCode}` });
      if (e.parentTypeCode !== DIR) log.add({ kind: 'parent-not-directory', ino: e.ino, detail: `entry ${name}: parent ${e.parent} ${e.parentTypeCode === null ? 'does not exist' : 'is not a directory'}` });
    }
    counts.edges += page.length;
    phase.add(page.length);
    const last = page[page.length - 1];
    if (last === undefined || page.length < PAGE) break;
    after = { parent: last.parent, name: last.name };
  }
  phase.end();
}

export async function checkChunks(scan: MaintenanceScan, log: ProblemLog, counts: FsckCounts, progress: Progress): Promise<void> {
  const phase = progress.phase('checking chunk lists');
  for (let after: readonly [number, number] | undefined; ;) {
    const page = await scan.chunkPage(after, PAGE);
    for (const c of page) {
      const where = `chunk ${c.index} of inode ${c.ino}`;
      if (c.nodeTypeCode === null) log.add({ kind: 'orphan-chunk', detail: `${where}: the inode does not exist` });
      else if (c.nodeTypeCode !== FILE) log.add({ kind: 'corrupt-chunk', ino: c.ino, detail: `${where}: the inode is not a regular file` });
      try {
        decodeSliceEntries(c.slices);
      } catch (err) {
        log.add({ kind: 'corrupt-chunk', ino: c.ino, detail: `${where}: ${(err as Error).message}` });
      }
    }
    counts.chunks += page.length;
    phase.add(page.length);
    const last = page[page.length - 1];
    if (last === undefined || page.length < PAGE) break;
    after = [last.ino, last.index];
  }
  phase.end();
}

/** Slice reference counts and usage counters: whole-volume sums, each one statement. */
export async function checkCounts(scan: MaintenanceScan, log: ProblemLog, progress: Progress): Promise<void> {
  const phase = progress.phase('checking reference counts and usage');
  for (const m of await scan.sliceRefMismatches(10 * PAGE)) {
    if (m.pending && m.actual > 0) {
      log.add({ kind: 'pending-referenced', detail: `slice ${m.id} is named by ${m.actual} entr${m.actual === 1 ? 'y' : 'ies'} but waits for deletion` }, { kind: 'slice-refs', id: m.id, size: m.size });
    }
    if (m.actual !== m.stored) {
      log.add({ kind: 'slice-refs', detail: `slice ${m.id}: reference count ${m.stored}, named by ${m.actual} entr${m.actual === 1 ? 'y' : 'ies'}` }, { kind: 'slice-refs', id: m.id, size: m.size });
    }
  }
  const u = await scan.usage();
  if (u.storedSpace !== u.space || u.storedInodes !== u.inodes) {
    log.add({ kind: 'usage', detail: `usage counters say ${u.storedSpace} bytes / ${u.storedInodes} inodes, the inodes add up to ${u.space} bytes / ${u.inodes} inodes (every transaction journals its usage change, so this is damage, not changes in flight)` }, { kind: 'usage' });
  }
  phase.add(1);
  phase.end();
}
