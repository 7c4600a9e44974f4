/**
 * Metadata engine benchmark (issue 2): latency and throughput of the MetaEngine operations on
 * PostgreSQL and PGlite, with the JuiceFS-on-PostgreSQL figures alongside.
 *
 *   node dist/bench/meta-bench.js [--engines postgres,pglite] [--pg-url URL] [--ops N]
 *        [--concurrency C] [--warmup W] [--readdir-sizes 1000,10000,100000] [--seed S]
 *        [--synchronous-commit on|off|...] [--json-out FILE]
 *
 * Without --pg-url it starts a private PostgreSQL (normal durability: fsync on,
 * synchronous_commit on unless told otherwise) and removes it on any exit. With --pg-url it
 * creates a database objectfs_bench_<nonce> on that server (CREATEDB needed) and drops it at the
 * end. Prints the JSON document (commit, date, machine, config, results) on stdout, then the
 * tables; progress goes to stderr. bench/README.md says how to read it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { formatMeta, openMeta, type FormatSettings, type MetaEngine } from '../src/meta/index.js';
import { redactUrl } from '../src/config/redact.js';
import { createBed, type BenchBed } from './support/bed.js';
import { makeDirectory, listAll, runSequence, timeReaddir, type PhaseResult, type ReaddirResult } from './support/meta-workload.js';
import { startPrivatePostgres } from './support/private-pg.js';
import { JUICEFS_POSTGRES_US, JUICEFS_SOURCE, opsTable, readdirTable } from './support/report.js';
import { installRoundTripCounter } from './support/round-trips.js';
import { configFromArgs, positiveInt, UsageError } from './support/cli.js';
import { commitInfo, fsType, machineInfo, serverInfo, withClient, type ServerInfo } from './support/run-info.js';
import { DEFAULT_TRASH_DAYS } from '../src/volume/format-volume.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENGINES = ['postgres', 'pglite'] as const;
type EngineKind = (typeof ENGINES)[number];

const FORMAT: FormatSettings = Object.freeze({ name: 'bench', storage: 'file:///tmp/unused', blockSize: 4 << 20, compression: 'lz4', trashDays: DEFAULT_TRASH_DAYS });

const USAGE = `usage: node dist/bench/meta-bench.js [options]
  --engines LIST          postgres,pglite (default both)
  --pg-url URL            use this PostgreSQL server (a fresh database is created and dropped);
                          default: start a private one
  --ops N                 operations per op and mode (default 2000)
  --concurrency C         in-flight operations for the throughput runs, postgres only (default 8)
  --warmup W              warm-up operations per op before measuring (default 200)
  --readdir-sizes LIST    directory sizes to list (default 1000,10000,100000)
  --synchronous-commit V  synchronous_commit of the private server (default: server default, on)
  --seed S                seed of the lookup/getattr order (default 1)
  --json-out FILE         also write the JSON document to FILE`;

interface Config {
  readonly engines: readonly EngineKind[];
  readonly pgUrl: string | undefined;
  readonly ops: number;
  readonly concurrency: number;
  readonly warmup: number;
  readonly readdirSizes: readonly number[];
  readonly synchronousCommit: string | undefined;
  readonly seed: number;
  readonly jsonOut: string | undefined;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      engines: { type: 'string' }, 'pg-url': { type: 'string' }, ops: { type: 'string' }, concurrency: { type: 'string' },
      warmup: { type: 'string' }, 'readdir-sizes': { type: 'string' }, 'synchronous-commit': { type: 'string' },
      seed: { type: 'string' }, 'json-out': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const engines = (values.engines ?? ENGINES.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const e of engines) if (!ENGINES.includes(e as EngineKind)) throw new UsageError(`unknown engine "${e}" (expected ${ENGINES.join(', ')})`);
  const sizes = (values['readdir-sizes'] ?? '1000,10000,100000').split(',').filter((s) => s.trim() !== '').map((s) => positiveInt('readdir-sizes', s.trim(), 0));
  if (values['synchronous-commit'] !== undefined && values['pg-url'] !== undefined) {
    throw new UsageError('--synchronous-commit applies to the private server only; set it on your server for --pg-url');
  }
  return {
    engines: [...new Set(engines)] as EngineKind[],
    pgUrl: values['pg-url'],
    ops: positiveInt('ops', values.ops, 2000),
    concurrency: positiveInt('concurrency', values.concurrency, 8),
    warmup: values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup, 200),
    readdirSizes: sizes,
    synchronousCommit: values['synchronous-commit'],
    seed: positiveInt('seed', values.seed, 1),
    jsonOut: values['json-out'],
  };
}

/** Complete listings timed per directory size: about 0.5 M entries listed, 5 to 200 listings. */
function listingsFor(entries: number): number {
  return Math.max(5, Math.min(200, Math.ceil(500_000 / entries)));
}

function note(msg: string): void {
  process.stderr.write(`[meta-bench] ${msg}\n`);
}

interface EngineResult {
  readonly engine: EngineKind;
  readonly server: ServerInfo;
  readonly durability: string;
  readonly setup: { readonly readdirFixtures: { entries: number; concurrency: number; ms: number; createsPerSec: number }[] };
  readonly ops: PhaseResult[];
  readonly readdir: ReaddirResult[];
}

/** Where each engine's fresh database lives, and how to get rid of it. */
interface Target {
  readonly url: string;
  readonly server: ServerInfo;
  readonly durability: string;
  /** Planner statistics the engine's tables have until settle(). */
  readonly statsBeforeSettle: 'none';
  /** Planner statistics once settled: postgres is ANALYZEd; PGlite runs no autovacuum and the engine never ANALYZEs. */
  readonly statsAfterSettle: 'analyzed' | 'none';
  /**
   * Before the fixtures: postgres turns autovacuum off on edge and node for the whole run, so
   * that no VACUUM or ANALYZE lands at a random moment of a measured phase.
   */
  prepare(): Promise<void>;
  /** Before each measured mode: postgres VACUUM (ANALYZE) and CHECKPOINT, the same start every time. */
  settle(): Promise<void>;
  drop(): Promise<void>;
}

class Run {
  readonly #cfg: Config;
  readonly #bed: BenchBed;
  #privateUrl: string | undefined;
  /**
   * Databases created on a --pg-url server and not yet dropped (dropped on a signal too). A
   * database on the private server is not listed: it goes with the server.
   */
  readonly pendingDrops = new Set<() => Promise<void>>();

  constructor(cfg: Config, bed: BenchBed) {
    this.#cfg = cfg;
    this.#bed = bed;
  }

  async #postgresTarget(): Promise<Target> {
    let base = this.#cfg.pgUrl;
    if (base === undefined) {
      if (this.#privateUrl === undefined) {
        note('starting a private PostgreSQL (normal durability settings)');
        const settings: Record<string, string> = {};
        if (this.#cfg.synchronousCommit !== undefined) settings['synchronous_commit'] = this.#cfg.synchronousCommit;
        this.#privateUrl = (await startPrivatePostgres(this.#bed, settings)).url;
      }
      base = this.#privateUrl;
    }
    const name = `objectfs_bench_${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
    await withClient(base, (c) => c.query(`CREATE DATABASE "${name}"`));
    const drop = (): Promise<void> => withClient(base, async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
    if (this.#cfg.pgUrl !== undefined) this.pendingDrops.add(drop);
    const u = new URL(base);
    u.pathname = `/${name}`;
    const url = u.toString();
    const info = await withClient(url, (c) => serverInfo((t) => c.query(t)));
    const dataDir = this.#privateUrl !== undefined ? join(this.#bed.root, 'pg', 'data') : undefined;
    const dataDirFs = dataDir === undefined ? undefined : fsType(dataDir);
    return {
      url,
      server: { ...info, ...(dataDirFs ? { dataDirFs } : {}) },
      durability: `fsync=${info.settings['fsync']}, synchronous_commit=${info.settings['synchronous_commit']}, wal_sync_method=${info.settings['wal_sync_method']}`,
      statsBeforeSettle: 'none',
      statsAfterSettle: 'analyzed',
      prepare: () => withClient(url, async (c) => {
        await c.query('ALTER TABLE edge SET (autovacuum_enabled = off); ALTER TABLE node SET (autovacuum_enabled = off)');
      }),
      settle: () => withClient(url, async (c) => {
        await c.query('VACUUM (ANALYZE)');
        await c.query('CHECKPOINT').catch(() => note('CHECKPOINT not permitted for this user; skipped'));
      }),
      drop: async () => {
        this.pendingDrops.delete(drop);
        await drop();
      },
    };
  }

  async #pgliteTarget(): Promise<Target> {
    const dir = join(this.#bed.root, `pglite-${randomBytes(3).toString('hex')}`);
    // Version and settings from the same WASM build, on a throwaway in-memory instance.
    const lite = new PGlite();
    const info = await serverInfo(async (t) => ({ rows: (await lite.query<Record<string, unknown>>(t)).rows }));
    await lite.close();
    return {
      url: `pglite://${dir}`,
      server: info,
      durability: `embedded PGlite, fsync=${info.settings['fsync']} (its build default) on emscripten NODEFS, which has no fsync either: commits reach the OS page cache, not the disk`,
      statsBeforeSettle: 'none',
      statsAfterSettle: 'none',
      prepare: async () => undefined,
      settle: async () => undefined,
      drop: async () => undefined, // the directory goes with the bed
    };
  }

  async engine(kind: EngineKind): Promise<EngineResult> {
    const cfg = this.#cfg;
    const target = kind === 'postgres' ? await this.#postgresTarget() : await this.#pgliteTarget();
    note(`${kind}: ${target.server.version.split(',')[0]}; ${target.durability}`);
    await formatMeta(target.url, FORMAT);
    const engine = await openMeta(target.url, { maxConnections: Math.max(10, cfg.concurrency) });
    try {
      return await this.#measure(kind, engine, target);
    } finally {
      await engine.close();
      await target.drop();
    }
  }

  async #measure(kind: EngineKind, engine: MetaEngine, target: Target): Promise<EngineResult> {
    const cfg = this.#cfg;
    const fixtures: EngineResult['setup']['readdirFixtures'] = [];
    const dirs = new Map<number, number>();
    const readdir: ReaddirResult[] = [];
    await target.prepare();
    for (const size of cfg.readdirSizes) {
      note(`${kind}: creating a directory of ${size.toLocaleString('en-US')} entries (${cfg.concurrency} in flight)`);
      const { ino, ms } = await makeDirectory(engine, `readdir-${size}`, size, cfg.concurrency);
      dirs.set(size, ino);
      fixtures.push({ entries: size, concurrency: cfg.concurrency, ms: Math.round(ms), createsPerSec: Math.round(size / (ms / 1000)) });
    }
    if (target.statsAfterSettle !== target.statsBeforeSettle) {
      // The same listings before the tables have planner statistics (a fresh volume, or a large
      // directory the statistics do not single out): see bench/README.md.
      for (const [size, ino] of dirs) {
        await listAll(engine, ino, size);
        const r = await timeReaddir(engine, ino, size, Math.max(3, Math.ceil(listingsFor(size) / 10)), 1, target.statsBeforeSettle);
        note(`${kind} c=1 readdir ${size} (no planner statistics): ${r.msPerListing} ms/listing, ${r.usPerEntry} µs/entry`);
        readdir.push(r);
      }
    }
    await target.settle();

    if (cfg.warmup > 0) {
      note(`${kind}: warm-up (${cfg.warmup} of each op, one listing of each directory)`);
      await runSequence(engine, 'warmup', cfg.warmup, 1, cfg.seed);
      if (kind === 'postgres' && cfg.concurrency > 1) await runSequence(engine, 'warmup-c', cfg.warmup, cfg.concurrency, cfg.seed);
      for (const [size, ino] of dirs) await listAll(engine, ino, size);
    }

    const modes = kind === 'postgres' && cfg.concurrency > 1 ? [1, cfg.concurrency] : [1];
    const ops: PhaseResult[] = [];
    for (const c of modes) {
      if (c !== modes[0]) await target.settle();
      const seq = await runSequence(engine, `ops-c${c}`, cfg.ops, c, cfg.seed, (r) =>
        note(`${kind} c=${c} ${r.op}: ${r.latency.meanUs} µs mean, ${r.latency.opsPerSec} ops/s, ${r.tripsPerOp} trips/op`));
      ops.push(...seq);
      for (const [size, ino] of dirs) {
        const listings = c === 1 ? listingsFor(size) : Math.max(listingsFor(size), 2 * c);
        const r = await timeReaddir(engine, ino, size, listings, c, target.statsAfterSettle);
        note(`${kind} c=${c} readdir ${size}: ${r.msPerListing} ms/listing, ${r.usPerEntry} µs/entry, ${r.tripsPerListing} trips/listing`);
        readdir.push(r);
      }
    }
    return { engine: kind, server: target.server, durability: target.durability, setup: { readdirFixtures: fixtures }, ops, readdir };
  }
}

async function main(): Promise<number> {
  const cfg = configFromArgs(parseConfig, USAGE);
  if (cfg === undefined) return 2;
  installRoundTripCounter();
  const bed = createBed();
  const run = new Run(cfg, bed);
  process.on('exit', () => void bed.finish());
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15);
    if (stopping) {
      bed.finish();
      process.exit(code);
    }
    stopping = true;
    // Dropping the database (or stopping the server) cuts the engine's connections under it; the
    // errors that follow are expected, and the process exits once the cleanup is done.
    process.on('uncaughtException', (err) => note(`while stopping: ${err.message}`));
    note(`${signal}: stopping, cleaning up`);
    void (async () => {
      try {
        await Promise.race([Promise.allSettled([...run.pendingDrops].map((d) => d())), sleep(5000)]);
      } finally {
        for (const w of bed.finish()) note(`cleanup: ${w}`);
        process.exit(code);
      }
    })();
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    const started = new Date();
    const commit = commitInfo(ROOT); // at the start: others may commit while a long run goes on
    const machine = machineInfo();
    if (machine.loadAvg1mAtStart > 0.5) note(`load average is ${machine.loadAvg1mAtStart}: something else is running, the figures will be noisy`);
    const results: EngineResult[] = [];
    for (const kind of cfg.engines) results.push(await run.engine(kind));
    const doc = {
      benchmark: 'objectfs-meta',
      ...commit,
      date: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 1000),
      machine,
      config: {
        engines: cfg.engines,
        postgres: cfg.pgUrl === undefined ? 'private server started by the bench' : redactUrl(cfg.pgUrl),
        ops: cfg.ops,
        concurrency: cfg.concurrency,
        warmup: cfg.warmup,
        readdirSizes: cfg.readdirSizes,
        readdirListings: Object.fromEntries(cfg.readdirSizes.map((s) => [s, listingsFor(s)])),
        seed: cfg.seed,
        format: FORMAT,
        engineOptions: { maxConnections: Math.max(10, cfg.concurrency) },
      },
      juicefsReference: { source: JUICEFS_SOURCE, usPerOp: JUICEFS_POSTGRES_US },
      results,
    };
    const json = JSON.stringify(doc, null, 2);
    if (cfg.jsonOut !== undefined) {
      mkdirSync(dirname(resolve(cfg.jsonOut)), { recursive: true });
      writeFileSync(cfg.jsonOut, `${json}\n`);
    }
    process.stdout.write(`${json}\n\n`);
    process.stdout.write(`${opsTable(results)}\n\n${readdirTable(results)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`[meta-bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    for (const d of [...run.pendingDrops]) await d().catch(() => undefined);
    return 1;
  } finally {
    for (const w of bed.finish()) note(`cleanup: ${w}`);
  }
}

process.exitCode = await main();
