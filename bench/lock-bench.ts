/**
 * Locks and appends across hosts (issue 12), on the multi-host bed (test/support/multihost.ts:
 * each mount in its own network namespace, a private PostgreSQL with durable settings and s3rver
 * in a "server host" namespace; loopback when namespaces are unavailable, and the report says so).
 * Mounts run with the product's defaults.
 *
 *   - O_APPEND lines/s to one file from 1, 2 and 4 hosts, one writer per host and four;
 *   - uncontended lock+unlock (flock, and fcntl on the whole file): µs per pair, against the
 *     time of one PostgreSQL round trip from the same bed (a read, and a durable commit: each
 *     lock change is one);
 *   - hand-over: A holds a lock, B waits (F_SETLKW); ms from A's unlock to B's grant.
 *
 *   node dist/bench/lock-bench.js [--seconds 10] [--pairs 1000] [--handovers 200] [--json-out FILE]
 *
 * Root is needed (namespaces, FUSE). Prints the JSON document on stdout, then a table.
 */
import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Daemon } from '../test/support/e2e-daemon.js';
import { run } from '../test/support/e2e-sh.js';
import { Locker } from '../test/support/locker.js';
import { startMultiHostBed, type MultiHostBed } from '../test/support/multihost.js';
import { commitInfo, machineInfo } from './support/run-info.js';
import { percentile, round } from './support/stats.js';
import { DEFAULT_TRASH_DAYS } from '../src/volume/format-volume.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const APPENDER = join(ROOT, 'test', 'support', 'appender.py');
const LOCK_LOOP = join(ROOT, 'bench', 'support', 'lock-loop.py');
const HOSTS = [1, 2, 4];

interface Config { readonly seconds: number; readonly pairs: number; readonly handovers: number; readonly jsonOut: string | undefined }

function config(): Config {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      pairs: { type: 'string', default: '1000' },
      handovers: { type: 'string', default: '200' },
      'json-out': { type: 'string' },
    },
  });
  const num = (v: string, what: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${what} must be a positive whole number, not "${v}"`);
    return n;
  };
  return { seconds: num(values.seconds, 'seconds'), pairs: num(values.pairs, 'pairs'), handovers: num(values.handovers, 'handovers'), jsonOut: values['json-out'] };
}

const note = (m: string): void => { process.stderr.write(`lock-bench: ${m}\n`); };

const stats = (values: readonly number[]) => {
  const sorted = Float64Array.from(values).sort();
  return { n: values.length, p50: round(percentile(sorted, 0.5), 1), p99: round(percentile(sorted, 0.99), 1), max: round(sorted[sorted.length - 1] ?? NaN, 1) };
};

/** Lines appended per second to one file by `writers` processes on each of `mounts`; the file is checked for the count. */
async function appendPhase(mounts: readonly Daemon[], writers: number, seconds: number, name: string): Promise<number> {
  const procs = mounts.flatMap((m, h) => Array.from({ length: writers }, (_, w) => run('python3', [APPENDER, join(m.mnt, name), `h${h}w${w}${'abcd'[w]}`, String(seconds), 'keep'], { timeoutMs: (seconds + 120) * 1000 })));
  let total = 0;
  for (const r of await Promise.all(procs)) {
    if (r.code !== 0) throw new Error(`appender failed: ${r.stderr}`);
    total += Number(r.stdout.trim());
  }
  const lines = (await readFile(join(mounts[0]!.mnt, name))).toString('latin1').split('\n').length - 1;
  if (lines !== total) throw new Error(`${name}: ${total} lines appended, ${lines} in the file`);
  return Math.round(total / seconds);
}

async function lockPairs(m: Daemon, kind: 'flock' | 'fcntl', pairs: number) {
  const r = await run('python3', [LOCK_LOOP, join(m.mnt, `pairs-${kind}`), kind, String(pairs)], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`lock-loop failed: ${r.stderr}`);
  return stats(r.stdout.trim().split('\n').map(Number));
}

async function handover(a: Daemon, b: Daemon, samples: number) {
  await writeFile(join(a.mnt, 'handover'), 'x');
  const [la, lb] = [new Locker(), new Locker()];
  try {
    for (const [l, m] of [[la, a], [lb, b]] as const) {
      if (await l.send(`open fd ${join(m.mnt, 'handover')} rw`) !== 'ok') throw new Error('open failed');
    }
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (await la.send('lock fd posix w 0 0 1') !== 'ok') throw new Error('A could not lock');
      const granted = lb.send('lock fd posix w 0 0 1');
      await new Promise((r) => setTimeout(r, 20)); // B is waiting by now
      const t0 = performance.now();
      await la.send('lock fd posix u 0 0 0');
      if (await granted !== 'ok') throw new Error('B was not granted');
      ms.push(performance.now() - t0);
      await lb.send('lock fd posix u 0 0 0');
    }
    return stats(ms);
  } finally {
    la.kill();
    lb.kill();
  }
}

/**
 * p50 of one PostgreSQL round trip: a read (SELECT 1) and a durable commit (an UPDATE of a
 * one-row table in autocommit, which waits for the WAL flush as every lock change does).
 */
async function pgRoundTripUs(url: string, n = 500): Promise<{ read: number; commit: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const time = async (text: string): Promise<number> => {
    for (let i = 0; i < 50; i++) await client.query(text);
    const us: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await client.query(text);
      us.push((performance.now() - t0) * 1000);
    }
    return stats(us).p50;
  };
  try {
    await client.query('CREATE TABLE lock_bench_rtt (n int8); INSERT INTO lock_bench_rtt VALUES (0)');
    return { read: await time('SELECT 1'), commit: await time('UPDATE lock_bench_rtt SET n = n + 1') };
  } finally {
    await client.query('DROP TABLE IF EXISTS lock_bench_rtt').catch(() => undefined);
    await client.end();
  }
}

async function main(): Promise<void> {
  const cfg = config();
  const bed: MultiHostBed = await startMultiHostBed('lock-bench', Math.max(...HOSTS), { pgSettings: {}, trashDays: DEFAULT_TRASH_DAYS });
  const stop = (): void => { void bed.finish().finally(() => process.exit(130)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    note(bed.description);
    const vol = await bed.newVolume('locks', '4M');
    const mounts = await Promise.all(bed.hosts.map((h, i) => bed.mount(h, vol, `m${i}`)));
    const appends: { hosts: number; oneWriter: number; fourWriters: number }[] = [];
    for (const n of HOSTS) {
      note(`O_APPEND from ${n} host(s), ${cfg.seconds} s each`);
      const oneWriter = await appendPhase(mounts.slice(0, n), 1, cfg.seconds, `append-${n}x1`);
      const fourWriters = await appendPhase(mounts.slice(0, n), 4, cfg.seconds, `append-${n}x4`);
      appends.push({ hosts: n, oneWriter, fourWriters });
    }
    note('PostgreSQL round trip');
    const rttUs = await pgRoundTripUs(vol.metaUrl);
    note(`uncontended lock+unlock, ${cfg.pairs} pairs each`);
    const flock = await lockPairs(mounts[0]!, 'flock', cfg.pairs);
    const fcntl = await lockPairs(mounts[0]!, 'fcntl', cfg.pairs);
    note(`hand-over A → B, ${cfg.handovers} samples`);
    const handoverMs = await handover(mounts[0]!, mounts[1]!, cfg.handovers);
    const doc = {
      bench: 'lock-bench', at: new Date().toISOString(), commit: commitInfo(ROOT), machine: machineInfo(), bed: bed.description,
      config: cfg, pgRoundTripUs: rttUs, appendsLinesPerSec: appends,
      uncontendedPairUs: { flock, fcntl, flockCommits: round(flock.p50 / rttUs.commit, 1), fcntlCommits: round(fcntl.p50 / rttUs.commit, 1) },
      handoverMs,
    };
    if (cfg.jsonOut !== undefined) writeFileSync(cfg.jsonOut, `${JSON.stringify(doc, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n\n`);
    const rows = [
      '| measure | value |', '|---|---|',
      ...appends.map((a) => `| O_APPEND lines/s, ${a.hosts} host(s): 1 writer each / 4 writers each | ${a.oneWriter} / ${a.fourWriters} |`),
      `| PostgreSQL round trip, p50: read (SELECT 1) / durable commit (UPDATE) | ${rttUs.read} / ${rttUs.commit} µs |`,
      `| uncontended flock lock+unlock, p50 / p99 | ${flock.p50} / ${flock.p99} µs (≈ ${doc.uncontendedPairUs.flockCommits} commit round trips) |`,
      `| uncontended fcntl lock+unlock, p50 / p99 | ${fcntl.p50} / ${fcntl.p99} µs (≈ ${doc.uncontendedPairUs.fcntlCommits} commit round trips) |`,
      `| hand-over A → B, p50 / p99 / max | ${handoverMs.p50} / ${handoverMs.p99} / ${handoverMs.max} ms |`,
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    await bed.finish();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`lock-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
