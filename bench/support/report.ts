/**
 * The human-readable side of a run: the JuiceFS reference figures and the result tables
 * (Markdown, so they can be pasted into docs/benchmarks.md as printed).
 */
import type { PhaseResult, ReaddirResult } from './meta-workload.js';

/**
 * JuiceFS 1.1.0-beta1 on PostgreSQL 15.3, its Go benchmark (pkg/meta/benchmarks_test.go), µs/op,
 * one op in flight; client (c5.xlarge) and database (c5d.xlarge, local SSD) on separate AWS
 * hosts. Source: juicefs docs/en/benchmark/metadata_engines_benchmark.md ("Golang Benchmark").
 * readdir_1k is one complete listing of 1,000 entries with attributes (Readdir plus=1).
 */
export const JUICEFS_POSTGRES_US: Readonly<Record<string, number>> = Object.freeze({
  lookup: 375,
  getattr: 350,
  create: 844,
  mkdir: 1076,
  rename: 1478,
  unlink: 1280,
  setattr: 571,
  link: 1375,
  'readdir 1000': 18414,
});

export const JUICEFS_SOURCE =
  'https://github.com/juicedata/juicefs/blob/main/docs/en/benchmark/metadata_engines_benchmark.md (JuiceFS 1.1.0-beta1, PostgreSQL 15.3, client and database on separate AWS hosts)';

export interface EngineReport {
  readonly engine: string;
  readonly ops: readonly PhaseResult[];
  readonly readdir: readonly ReaddirResult[];
}

const fmt = (v: number, digits = 0): string =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const right = header.map((h) => !['engine', 'in flight', 'op', 'planner stats'].includes(h));
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (right[i] ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** ObjectFS ÷ JuiceFS, as "0.42×"; below 1 means ObjectFS is faster. */
function ratio(ours: number, ref: number | undefined, sequential: boolean): string {
  if (ref === undefined || !sequential) return '';
  return `${(ours / ref).toFixed(2)}×`;
}

/** The per-operation table: one row per engine, mode and op. */
export function opsTable(reports: readonly EngineReport[]): string {
  const rows: string[][] = [];
  for (const rep of reports) {
    for (const r of rep.ops) {
      const ref = JUICEFS_POSTGRES_US[r.op];
      const seq = r.concurrency === 1;
      rows.push([
        rep.engine, String(r.concurrency), r.op,
        fmt(r.latency.n), fmt(r.latency.meanUs), fmt(r.latency.p50Us), fmt(r.latency.p99Us), fmt(r.latency.opsPerSec),
        fmt(r.tripsPerOp, 2), seq && ref !== undefined ? fmt(ref) : '', ratio(r.latency.meanUs, ref, seq),
      ]);
    }
  }
  return table(['engine', 'in flight', 'op', 'n', 'µs/op mean', 'p50', 'p99', 'ops/s', 'trips/op', 'JuiceFS-PG µs/op', 'ratio'], rows);
}

/** The readdir table: complete listings of directories of 1k/10k/100k entries. */
export function readdirTable(reports: readonly EngineReport[]): string {
  const rows: string[][] = [];
  for (const rep of reports) {
    for (const r of rep.readdir) {
      const ref = JUICEFS_POSTGRES_US[`readdir ${r.entries}`];
      const seq = r.concurrency === 1;
      rows.push([
        rep.engine, String(r.concurrency), fmt(r.entries), r.statistics,
        fmt(r.listing.n), fmt(r.msPerListing, 2), fmt(r.listing.p50Us / 1000, 2), fmt(r.listing.p99Us / 1000, 2),
        fmt(r.usPerEntry, 2), fmt(r.entriesPerSec), `${r.pagesPerListing} × ${fmt(r.pageSize)}`, fmt(r.tripsPerListing, 1),
        seq && ref !== undefined ? fmt(ref / 1000, 2) : '', ratio(r.listing.meanUs, ref, seq),
      ]);
    }
  }
  return table(
    ['engine', 'in flight', 'entries', 'planner stats', 'listings', 'ms/listing mean', 'p50 ms', 'p99 ms', 'µs/entry', 'entries/s', 'pages × size', 'trips/listing', 'JuiceFS-PG ms', 'ratio'],
    rows,
  );
}
