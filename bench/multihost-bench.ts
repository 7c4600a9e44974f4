/**
 * Multi-host benchmark (issue 5): one volume mounted by 1, 2 and 4 `objectfs mount` processes
 * at once, each in its own network namespace talking to a private PostgreSQL (durable settings)
 * and s3rver in a "server host" namespace (test/support/multihost.ts; loopback when namespaces
 * are unavailable, and the report says so). It shows how the shared engine scales and how fast
 * a change on one host reaches another:
 *
 *   - metadata: every mount runs `--workers` loops of create+close, stat, rename, unlink in its
 *     own directory for `--seconds`; total and per-mount operations per second;
 *   - sequential write: every mount writes `--size-mib` MiB in 1 MiB writes and closes (all at
 *     once); aggregate MiB/s;
 *   - sequential read: every mount reads the file another mount wrote (page cache dropped;
 *     mounts run with a 16 MiB memory cache and no disk cache, so blocks come from S3);
 *   - invalidation latency (2+ mounts): a name renamed on mount 0, polled with stat on mount 1
 *     every millisecond until it is gone; p50/p90/p99/max.
 *
 *   node dist/bench/multihost-bench.js [--mounts 1,2,4] [--seconds 10] [--workers 4]
 *        [--size-mib 64] [--latency-samples 200] [--json-out FILE]
 *
 * Root is needed (namespaces, FUSE, dropping the page cache). Prints the JSON document on
 * stdout, then a table; progress goes to stderr.
 */
import { writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Daemon } from '../test/support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed } from '../test/support/multihost.js';
import { commitInfo, machineInfo } from './support/run-info.js';
import { percentile, round } from './support/stats.js';
import { DEFAULT_TRASH_DAYS } from '../src/volume/format-volume.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 1 << 20;
const MOUNT_ARGS = ['--no-disk-cache', '--memory-cache-size', '16M'];

interface Config {
  readonly mounts: readonly number[];
  readonly seconds: number;
  readonly workers: number;
  readonly sizeMiB: number;
  readonly latencySamples: number;
  readonly jsonOut: string | undefined;
}

interface RoundResult {
  readonly mounts: number;
  readonly metaOpsPerSec: number;
  readonly metaOpsPerSecPerMount: number;
  readonly seqWriteMiBps: number;
  readonly seqReadMiBps: number;
  readonly latencyMs?: { readonly samples: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

function config(): Config {
  const { values } = parseArgs({
    options: {
      mounts: { type: 'string', default: '1,2,4' },
      seconds: { type: 'string', default: '10' },
      workers: { type: 'string', default: '4' },
      'size-mib': { type: 'string', default: '64' },
      'latency-samples': { type: 'string', default: '200' },
      'json-out': { type: 'string' },
    },
  });
  const num = (v: string, what: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${what} must be a positive whole number, not "${v}"`);
    return n;
  };
  return {
    mounts: values.mounts.split(',').map((m) => num(m, 'mounts')),
    seconds: num(values.seconds, 'seconds'),
    workers: num(values.workers, 'workers'),
    sizeMiB: num(values['size-mib'], 'size-mib'),
    latencySamples: num(values['latency-samples'], 'latency-samples'),
    jsonOut: values['json-out'],
  };
}

const note = (msg: string): void => void process.stderr.write(`[multihost-bench] ${msg}\n`);

async function dropPageCache(): Promise<void> {
  await writeFile('/proc/sys/vm/drop_caches', '3').catch(() => note('could not drop the page cache (not root?)'));
}

/** create+close, stat, rename, unlink in a loop on every mount until the deadline; ops/s. */
async function metaPhase(mounts: readonly Daemon[], cfg: Config): Promise<number> {
  const deadline = Date.now() + cfg.seconds * 1000;
  let ops = 0;
  const started = performance.now();
  await Promise.all(mounts.flatMap((m, i) => Array.from({ length: cfg.workers }, async (_, w) => {
    const dir = join(m.mnt, 'meta', `h${i}-w${w}`);
    await mkdir(dir, { recursive: true });
    for (let n = 0; Date.now() < deadline; n++) {
      const path = join(dir, `f${n}`);
      await (await open(path, 'wx')).close();
      await stat(path);
      await rename(path, `${path}.r`);
      await unlink(`${path}.r`);
      ops += 4;
    }
  })));
  return ops / ((performance.now() - started) / 1000);
}

async function seqWritePhase(mounts: readonly Daemon[], cfg: Config): Promise<number> {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i); // incompressible enough
  const started = performance.now();
  await Promise.all(mounts.map(async (m, i) => {
    const fh = await open(join(m.mnt, `seq-${i}`), 'w');
    try {
      for (let k = 0; k < cfg.sizeMiB; k++) {
        block.writeUInt32LE(k ^ (i << 20), 0);
        await fh.write(block, 0, MiB, k * MiB);
      }
    } finally {
      await fh.close();
    }
  }));
  return (mounts.length * cfg.sizeMiB) / ((performance.now() - started) / 1000);
}

async function seqReadPhase(mounts: readonly Daemon[], cfg: Config): Promise<number> {
  await dropPageCache();
  const started = performance.now();
  await Promise.all(mounts.map(async (m, i) => {
    const data = await readFile(join(m.mnt, `seq-${(i + 1) % mounts.length}`));
    if (data.length !== cfg.sizeMiB * MiB) throw new Error(`mount ${i} read ${data.length} bytes`);
  }));
  return (mounts.length * cfg.sizeMiB) / ((performance.now() - started) / 1000);
}

async function latencyPhase(a: Daemon, b: Daemon, samples: number): Promise<RoundResult['latencyMs']> {
  await mkdir(join(a.mnt, 'lat'));
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    await writeFile(join(a.mnt, 'lat', `f${i}`), 'x');
    await stat(join(b.mnt, 'lat', `f${i}`));
    await rename(join(a.mnt, 'lat', `f${i}`), join(a.mnt, 'lat', `g${i}`));
    const t0 = performance.now();
    for (;;) {
      const gone = await stat(join(b.mnt, 'lat', `f${i}`)).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
      if (gone) break;
      if (performance.now() - t0 > 10_000) throw new Error(`rename ${i} not seen on the other mount within 10 s`);
      await sleep(1);
    }
    ms.push(performance.now() - t0);
  }
  const sorted = Float64Array.from(ms).sort();
  return { samples, p50: round(percentile(sorted, 0.5), 2), p90: round(percentile(sorted, 0.9), 2), p99: round(percentile(sorted, 0.99), 2), max: round(sorted[sorted.length - 1] ?? NaN, 2) };
}

async function runRound(bed: MultiHostBed, n: number, cfg: Config): Promise<RoundResult> {
  const volume = await bed.newVolume(`bench${n}`, '4M');
  const mounts = await Promise.all(bed.hosts.slice(0, n).map((h, i) => bed.mount(h, volume, `r${n}m${i}`, MOUNT_ARGS)));
  try {
    note(`${n} mount(s): metadata for ${cfg.seconds} s`);
    const meta = await metaPhase(mounts, cfg);
    note(`${n} mount(s): sequential write of ${cfg.sizeMiB} MiB each`);
    const write = await seqWritePhase(mounts, cfg);
    note(`${n} mount(s): sequential read`);
    const read = await seqReadPhase(mounts, cfg);
    let latencyMs: RoundResult['latencyMs'];
    if (n >= 2) {
      note(`${n} mount(s): invalidation latency, ${cfg.latencySamples} samples`);
      latencyMs = await latencyPhase(mounts[0]!, mounts[1]!, cfg.latencySamples);
    }
    return {
      mounts: n, metaOpsPerSec: round(meta, 0), metaOpsPerSecPerMount: round(meta / n, 0),
      seqWriteMiBps: round(write, 1), seqReadMiBps: round(read, 1), ...(latencyMs ? { latencyMs } : {}),
    };
  } finally {
    await Promise.all(mounts.map(async (m) => {
      m.child.kill('SIGTERM');
      await Promise.race([m.exited, sleep(60_000)]);
    }));
  }
}

function table(results: readonly RoundResult[]): string {
  const lines = [
    '| mounts | metadata ops/s (total) | per mount | seq write MiB/s (total) | seq read MiB/s (total) | invalidation p50 / p90 / p99 / max (ms) |',
    '|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const l = r.latencyMs;
    lines.push(`| ${r.mounts} | ${r.metaOpsPerSec} | ${r.metaOpsPerSecPerMount} | ${r.seqWriteMiBps} | ${r.seqReadMiBps} | ${l ? `${l.p50} / ${l.p90} / ${l.p99} / ${l.max}` : '—'} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const cfg = config();
  const bed = await startMultiHostBed('multihost-bench', Math.max(2, ...cfg.mounts), { pgSettings: {}, trashDays: DEFAULT_TRASH_DAYS });
  const stop = (): void => { void bed.finish().finally(() => process.exit(130)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    note(bed.description);
    const results: RoundResult[] = [];
    for (const n of cfg.mounts) results.push(await runRound(bed, n, cfg));
    const doc = {
      benchmark: 'multihost', date: new Date().toISOString(), ...commitInfo(ROOT), machine: machineInfo(),
      mode: bed.mode, network: bed.description, config: { ...cfg, mountArgs: MOUNT_ARGS, postgres: 'private, default (durable) settings' }, results,
    };
    const json = JSON.stringify(doc, null, 2);
    process.stdout.write(`${json}\n\n${table(results)}\n`);
    if (cfg.jsonOut !== undefined) writeFileSync(cfg.jsonOut, `${json}\n`);
  } finally {
    await bed.finish();
  }
}

await main();
