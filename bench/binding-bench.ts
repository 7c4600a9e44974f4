/**
 * The FUSE binding alone: a trivial filesystem answered from memory in this process (one
 * directory with one file), stat(2) of an uncached name in a loop from a Python client with 1
 * and 16 threads, medians of 3 rounds. Each stat is one LOOKUP through the binding (entry and
 * attribute timeouts 0, so the kernel asks every time). Prints a table and writes JSON.
 *
 *   node dist/bench/binding-bench.js [--seconds 3] [--json FILE]
 *
 * For comparison: fuse-native (libfuse 2 path API) answered 12,000 uncached stats/s with 1
 * thread and 17,800 with 4 on this machine kind (shared/fuse-native.md).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FuseSession } from '../src/fuse/session.js';
import { Op, type Binding, type Request } from '../src/fuse/native.js';
import { attrArray, entryArray } from '../src/fuse/stat.js';
import type { Attr } from '../src/vfs/index.js';
import { median } from './support/data-report.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const run = promisify(execFile);
const SECONDS = Number(flag('--seconds') ?? 3);
const JSON_FILE = flag('--json');

function attr(ino: number, type: Attr['type']): Attr {
  const t = BigInt(Date.now()) * 1_000_000n;
  return { ino, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, nlink: 1, length: 0, rdev: 0, atime: t, mtime: t, ctime: t, parent: 1 };
}

const CLIENT = `
import os, sys, threading, time
path, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
counts = [0] * threads
stop = time.monotonic() + seconds
def run(i):
    n = 0
    while time.monotonic() < stop:
        for _ in range(100):
            os.stat(path)
        n += 100
    counts[i] = n
ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
started = time.monotonic()
for t in ts: t.start()
for t in ts: t.join()
print(sum(counts) / (time.monotonic() - started))
`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'binding-bench-'));
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const root = attr(1, 'directory');
  const file = attr(2, 'file');
  const session = new FuseSession({
    mountPoint: mnt,
    args: ['-o', 'fsname=binding-bench,subtype=objectfs-bench'],
    config: { maxWrite: 1 << 20, maxReadahead: 1 << 20, maxBackground: 64, writebackCache: false, threads: 4 },
    handlers: {
      [Op.LOOKUP]: (r: Request, b: Binding) => { b.replyEntry(r.req, entryArray(file, { attr: 0, entry: 0 })); },
      [Op.GETATTR]: (r: Request, b: Binding) => { b.replyAttr(r.req, attrArray(r.ino === 1 ? root : file), 0); },
    },
    onForget: () => undefined,
    onEnded: () => undefined,
    timeouts: { default: 0 },
    log: { unexpected: (op, err) => console.error(op, err) },
  });
  const rows: { threads: number; perSecond: number; usPerCall: number; rounds: number[] }[] = [];
  try {
    const script = join(dir, 'client.py');
    await writeFile(script, CLIENT);
    for (const threads of [1, 16]) {
      const rounds: number[] = [];
      for (let round = 0; round < 3; round++) {
        // The client runs in another process, waited for asynchronously: this event loop answers it.
        const { stdout } = await run('python3', [script, join(mnt, 'f'), String(threads), String(SECONDS)], { encoding: 'utf8' });
        rounds.push(Number(stdout.trim()));
      }
      const perSecond = median(rounds);
      rows.push({ threads, perSecond: Math.round(perSecond), usPerCall: Math.round((1e6 / perSecond) * threads * 10) / 10, rounds: rounds.map(Math.round) });
    }
  } finally {
    await session.unmount();
    await rm(dir, { recursive: true, force: true });
  }
  console.log('| client threads | uncached stat/s (median of 3) | µs per call | rounds |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.threads} | ${r.perSecond} | ${r.usPerCall} | ${r.rounds.join(', ')} |`);
  if (JSON_FILE !== undefined) await writeFile(JSON_FILE, `${JSON.stringify({ bench: 'binding', date: new Date().toISOString(), seconds: SECONDS, rows }, null, 2)}\n`);
}

await main();
