/**
 * The data benchmark's verdict and tables. Every phase runs once per round; a phase's summary
 * is the median of its rounds (with the min and max), and the ratios (ObjectFS
 * against the raw S3 ceiling and against a local directory) are taken between medians, with
 * each round's own ratio alongside to show the spread. The tables are Markdown, so they can
 * be pasted into docs/benchmarks.md as printed.
 */
import type { PhaseCpu, PhaseResult } from './phase.js';

/** The goal: each ratio at least this. */
export const GOAL_PERCENT = 70;

/** One phase over all rounds. */
export interface PhaseSummary {
  readonly id: string;
  readonly system: string;
  readonly label: string;
  readonly data: string;
  readonly unit: PhaseResult['unit'];
  readonly rounds: number;
  readonly bytes: number;
  readonly wallMs: number;
  readonly mibPerSec: { readonly median: number; readonly min: number; readonly max: number };
  readonly perSec: number;
  /** Medians over the rounds of each round's p50 and p99, µs. */
  readonly p50Us: number | null;
  readonly p99Us: number | null;
  readonly cpuPercent: PhaseCpu;
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

/** Per-phase medians, in the order the phases first ran. */
export function summarize(results: readonly PhaseResult[]): PhaseSummary[] {
  const ids = [...new Set(results.map((r) => r.id))];
  return ids.map((id) => {
    const rs = results.filter((r) => r.id === id);
    const first = rs[0] as PhaseResult;
    const med = (f: (r: PhaseResult) => number): number => median(rs.map(f));
    const lat = rs.filter((r) => r.latency !== undefined);
    return {
      id, system: first.system, label: first.label, data: first.data, unit: first.unit, rounds: rs.length, bytes: first.bytes,
      wallMs: r1(med((r) => r.wallMs)),
      mibPerSec: { median: r1(med((r) => r.mibPerSec)), min: Math.min(...rs.map((r) => r.mibPerSec)), max: Math.max(...rs.map((r) => r.mibPerSec)) },
      perSec: r1(med((r) => r.perSec)),
      p50Us: lat.length === 0 ? null : r1(median(lat.map((r) => r.latency?.p50Us ?? 0))),
      p99Us: lat.length === 0 ? null : r1(median(lat.map((r) => r.latency?.p99Us ?? 0))),
      cpuPercent: {
        bench: Math.round(med((r) => r.cpuPercent.bench)), s3rver: Math.round(med((r) => r.cpuPercent.s3rver)),
        postgres: Math.round(med((r) => r.cpuPercent.postgres)), other: Math.round(med((r) => r.cpuPercent.other)),
      },
    };
  });
}

export interface Ratio {
  readonly name: string;
  readonly objectfs: string;
  readonly reference: string;
  /** Median ObjectFS MiB/s ÷ median reference MiB/s × 100. */
  readonly percent: number | null;
  /** The same ratio within each round. */
  readonly perRound: readonly number[];
  readonly goalPercent: number | null;
  readonly met: boolean | null;
}

function ratio(results: readonly PhaseResult[], name: string, ours: string, ref: string, goal: number | null): Ratio | undefined {
  const a = results.filter((r) => r.id === ours);
  const b = results.filter((r) => r.id === ref);
  if (a.length === 0 || b.length === 0) return undefined;
  const ma = median(a.map((r) => r.mibPerSec));
  const mb = median(b.map((r) => r.mibPerSec));
  const percent = mb > 0 ? r1((100 * ma) / mb) : null;
  const perRound = a.flatMap((x) => {
    const y = b.find((r) => r.round === x.round);
    return y === undefined || y.mibPerSec <= 0 ? [] : [r1((100 * x.mibPerSec) / y.mibPerSec)];
  });
  return { name, objectfs: ours, reference: ref, percent, perRound, goalPercent: goal, met: goal === null || percent === null ? null : percent >= goal };
}

/** The three ratios the issue sets goals for, then informational ones. */
export function ratios(results: readonly PhaseResult[]): Ratio[] {
  const list = [
    ratio(results, 'sequential write ÷ raw S3 PUT', 'objectfs.seq-write', 'raw-s3.put', GOAL_PERCENT),
    ratio(results, 'cold sequential read ÷ raw S3 GET', 'objectfs.seq-read-cold', 'raw-s3.get', GOAL_PERCENT),
    ratio(results, 'warm sequential read ÷ local directory read', 'objectfs.seq-read-warm', 'local.seq-read', GOAL_PERCENT),
    ratio(results, 'compressible sequential write ÷ raw S3 PUT (random data)', 'objectfs.seq-write-text', 'raw-s3.put', null),
    ratio(results, 'compressible cold read ÷ raw S3 GET (random data)', 'objectfs.seq-read-cold-text', 'raw-s3.get', null),
    ratio(results, 'warm 4 KiB random reads ÷ local directory (IOPS)', 'objectfs.rand-read-warm', 'local.rand-read', null),
    ratio(results, '64 KiB files written, 1 in flight ÷ local directory (files/s)', 'objectfs.small-write-c1', 'local.small-write', null),
    ratio(results, '64 KiB files read, 1 in flight ÷ local directory (files/s)', 'objectfs.small-read-c1', 'local.small-read', null),
  ];
  return list.filter((r): r is Ratio => r !== undefined);
}

const fmt = (v: number | null | undefined, digits = 0): string =>
  v === undefined || v === null || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(header: readonly string[], left: number, rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < left ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const UNIT_RATE: Readonly<Record<PhaseResult['unit'], string>> = { request: 'req/s', op: 'IOPS', file: 'files/s' };

/** One row per phase: medians over the rounds. Latencies are per request, per 4 KiB read, or per file. */
export function phaseTable(summaries: readonly PhaseSummary[]): string {
  const rows = summaries.map((s) => {
    const mib = s.bytes / 1048576;
    const range = s.rounds > 1 ? `${fmt(s.mibPerSec.min, mib < 10 ? 2 : 0)}–${fmt(s.mibPerSec.max, mib < 10 ? 2 : 0)}` : '';
    return [
      s.system, s.label, s.data,
      fmt(mib, mib < 10 ? 1 : 0),
      fmt(s.wallMs / 1000, 1),
      fmt(s.mibPerSec.median, mib < 10 ? 2 : 1),
      range,
      `${fmt(s.perSec, 0)} ${UNIT_RATE[s.unit]}`,
      fmt(s.p50Us === null ? null : s.p50Us / 1000, 2),
      fmt(s.p99Us === null ? null : s.p99Us / 1000, 2),
      `${s.cpuPercent.bench} / ${s.cpuPercent.s3rver} / ${s.cpuPercent.postgres} / ${s.cpuPercent.other}`,
    ];
  });
  return table(['system', 'phase', 'data', 'MiB', 'wall s', 'MiB/s', 'min–max', 'rate', 'p50 ms', 'p99 ms', 'CPU % bench / s3rver / pg / other'], 3, rows);
}

export function ratioTable(list: readonly Ratio[]): string {
  const rows = list.map((r) => [
    r.name,
    r.percent === null ? '–' : `${fmt(r.percent, 1)} %`,
    r.perRound.map((p) => fmt(p, 0)).join(', '),
    r.goalPercent === null ? '(no goal)' : `≥ ${r.goalPercent} %`,
    r.met === null ? '' : r.met ? 'met' : '**not met**',
  ]);
  return table(['ObjectFS ÷ reference (MiB/s)', 'ratio of medians', 'per round %', 'goal', ''], 1, rows);
}
