/**
 * One timed phase of the data benchmark: the wall time of a workload, its throughput, the
 * per-request latencies, and what it cost each process (CPU seconds of the bench, s3rver and
 * PostgreSQL; the main thread's event-loop utilization). Each phase also records its window on
 * the monotonic clock that V8's CPU profiles use, so a `node --cpu-prof` profile of the whole
 * run can be cut down to one phase (bench/cpu-profile-top.ts).
 */
import { performance } from 'node:perf_hooks';
import { dropPageCache, type CpuProbe, type CpuTimes } from './os-probes.js';
import { round, summarize, type LatencySummary } from './stats.js';

export const SYSTEMS = ['raw-s3', 'local', 'objectfs'] as const;
export type System = (typeof SYSTEMS)[number];

export interface PhaseSpec {
  /** Unique id, e.g. `objectfs.seq-read-cold`. */
  readonly id: string;
  readonly system: System;
  /** What the table calls it. */
  readonly label: string;
  readonly data: string;
  /** Drop the page cache (sync + drop_caches) before the phase starts. */
  readonly dropCache: boolean;
}

/** What a workload reports back to the runner. */
export interface PhaseOutcome {
  /** Logical bytes moved (written or read). */
  readonly bytes: number;
  /** Requests, operations or files done; `unit` names them. */
  readonly count: number;
  readonly unit: 'request' | 'op' | 'file';
  /** Per-request (or per-file) latencies in ns, when timed individually. */
  readonly samplesNs?: Float64Array;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface PhaseResult extends PhaseSpec {
  /** Round of the run (1-based): every round repeats every phase on new files. */
  readonly round: number;
  readonly pageCacheDropped: boolean;
  readonly bytes: number;
  readonly count: number;
  readonly unit: PhaseOutcome['unit'];
  readonly wallMs: number;
  readonly mibPerSec: number;
  /** count / wall time: requests/s, IOPS or files/s. */
  readonly perSec: number;
  readonly latency?: LatencySummary;
  /**
   * CPU seconds during the phase, and as % of one core over the wall time: the bench, s3rver,
   * PostgreSQL, and `other`, the rest of the machine (anything above a few % is interference).
   */
  readonly cpuSec: PhaseCpu;
  readonly cpuPercent: PhaseCpu;
  /**
   * The bench process's kernel side: its system CPU seconds (included in cpuSec.bench) and its
   * minor page faults per MiB moved. Touching 1 MiB of freshly mapped memory costs 256 faults;
   * big Buffers are mmapped and unmapped one by one, so this counts fresh buffers per byte.
   */
  readonly benchKernel: { readonly systemCpuSec: number; readonly minorFaultsPerMiB: number };
  /** Fraction of the wall time the bench's main thread was busy (not waiting in epoll). */
  readonly eventLoopUtilization: number;
  /** Resident set size of the bench process at the end of the phase, MiB. */
  readonly rssMiBAtEnd: number;
  /** The phase's window on the CPU-profile clock (µs, CLOCK_MONOTONIC). */
  readonly clockUs: { readonly start: number; readonly end: number };
  readonly details: Readonly<Record<string, unknown>>;
}

export interface PhaseCpu {
  readonly bench: number;
  readonly s3rver: number;
  readonly postgres: number;
  readonly other: number;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

export class PhaseRunner {
  readonly #probe: CpuProbe;
  readonly #note: (msg: string) => void;
  readonly results: PhaseResult[] = [];
  /** Round the next phases belong to. */
  round = 1;

  constructor(probe: CpuProbe, note: (msg: string) => void) {
    this.#probe = probe;
    this.#note = note;
  }

  async run(spec: PhaseSpec, workload: () => Promise<PhaseOutcome>): Promise<PhaseResult> {
    let pageCacheDropped = false;
    if (spec.dropCache) {
      const d = dropPageCache();
      pageCacheDropped = d.dropped;
      if (!d.dropped) this.#note(`${spec.id}: could not drop the page cache (${d.reason}); this read is partly warm`);
    }
    const ru0 = process.resourceUsage();
    const cpu0 = this.#probe.sample();
    const elu0 = performance.eventLoopUtilization();
    const start = nowUs();
    const t0 = process.hrtime.bigint();
    const out = await workload();
    const wallNs = Number(process.hrtime.bigint() - t0);
    const end = nowUs();
    const elu = performance.eventLoopUtilization(elu0);
    const cpu1 = this.#probe.sample();
    const ru1 = process.resourceUsage();
    const wallSec = wallNs / 1e9;
    const d = (k: keyof CpuTimes): number => cpu1[k] - cpu0[k];
    const cpuSec: PhaseCpu = {
      bench: round(d('bench'), 2),
      s3rver: round(d('s3rver'), 2),
      postgres: round(d('postgres'), 2),
      other: round(Math.max(0, d('machine') - d('bench') - d('s3rver') - d('postgres')), 2),
    };
    const pct = (s: number): number => round((100 * s) / wallSec, 0);
    const result: PhaseResult = {
      ...spec,
      round: this.round,
      pageCacheDropped,
      bytes: out.bytes,
      count: out.count,
      unit: out.unit,
      wallMs: round(wallNs / 1e6, 1),
      mibPerSec: round(out.bytes / 1048576 / wallSec, 1),
      perSec: round(out.count / wallSec, 1),
      ...(out.samplesNs !== undefined ? { latency: summarize(out.samplesNs, wallNs) } : {}),
      cpuSec,
      cpuPercent: { bench: pct(cpuSec.bench), s3rver: pct(cpuSec.s3rver), postgres: pct(cpuSec.postgres), other: pct(cpuSec.other) },
      benchKernel: {
        systemCpuSec: round((ru1.systemCPUTime - ru0.systemCPUTime) / 1e6, 2),
        minorFaultsPerMiB: round((ru1.minorPageFault - ru0.minorPageFault) / Math.max(1, out.bytes / 1048576), 0),
      },
      eventLoopUtilization: round(elu.utilization, 3),
      rssMiBAtEnd: Math.round(process.memoryUsage().rss / 1048576),
      clockUs: { start, end },
      details: out.details ?? {},
    };
    this.results.push(result);
    this.#note(
      `r${this.round} ${spec.id}: ${result.mibPerSec} MiB/s, ${result.perSec} ${out.unit}s/s in ${(result.wallMs / 1000).toFixed(1)} s` +
        (result.latency ? `, p50 ${result.latency.p50Us} µs, p99 ${result.latency.p99Us} µs` : '') +
        `; CPU bench ${result.cpuPercent.bench}% s3rver ${result.cpuPercent.s3rver}% pg ${result.cpuPercent.postgres}% other ${result.cpuPercent.other}%`,
    );
    return result;
  }
}

/** Runs fn(0..n-1) with `concurrency` calls in flight, timing each call (ns). */
export async function timeEach(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<Float64Array> {
  const samples = new Float64Array(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const s = process.hrtime.bigint();
      await fn(i);
      samples[i] = Number(process.hrtime.bigint() - s);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  return samples;
}
