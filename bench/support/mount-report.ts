/**
 * The mount benchmark's table: one row per measurement, one column per filesystem, then
 * ObjectFS's speed ratio to each S3 peer and the goal for the row. Markdown, so it
 * can be pasted into docs/benchmarks.md as printed.
 */
import type { MeasureId, MountResult } from './mount-workload.js';
import type { FsName } from './mounts.js';

export interface RowConfig {
  readonly sizeMiB: number;
  readonly files: number;
  readonly smallFiles: number;
  readonly smallFileKiB: number;
  readonly randomReads: number;
}

type Kind = 'bandwidth' | 'iops' | 'ops' | 'entries' | 'files';

interface RowSpec {
  readonly id: MeasureId;
  readonly label: (c: RowConfig) => string;
  readonly kind: Kind;
  /** Metadata rows: the goal is ≥ 10× s3fs. */
  readonly metadata: boolean;
}

const n = (v: number): string => v.toLocaleString('en-US');

export const ROWS: readonly RowSpec[] = [
  { id: 'seq-write', kind: 'bandwidth', metadata: false, label: (c) => `sequential write ${n(c.sizeMiB)} MiB (1 MiB writes + fsync + close), MiB/s` },
  { id: 'seq-write-stored', kind: 'bandwidth', metadata: false, label: () => '… until stored in S3, MiB/s' },
  { id: 'seq-read', kind: 'bandwidth', metadata: false, label: () => 'sequential read, 1 MiB reads, cold, MiB/s' },
  { id: 'rand-read', kind: 'iops', metadata: false, label: (c) => `4 KiB random reads, cold (${n(c.randomReads)}), IOPS (p50 / p99 ms)` },
  { id: 'create', kind: 'ops', metadata: true, label: (c) => `create ${n(c.files)} empty files (open O_EXCL + close), ops/s (µs/op)` },
  { id: 'create-stored', kind: 'ops', metadata: true, label: () => '… until stored in S3, ops/s (µs/op)' },
  { id: 'stat', kind: 'ops', metadata: true, label: () => 'stat each, ops/s (µs/op)' },
  { id: 'stat-listed', kind: 'ops', metadata: true, label: () => 'stat each right after listing the directory, ops/s (µs/op)' },
  { id: 'list', kind: 'entries', metadata: true, label: () => 'list: readdir + lstat each (ls -l), entries/s (µs/entry)' },
  { id: 'list-cold', kind: 'entries', metadata: true, label: () => 'list after a remount (cold), entries/s (µs/entry)' },
  { id: 'rename', kind: 'ops', metadata: true, label: () => 'rename each (same directory), ops/s (µs/op)' },
  { id: 'delete', kind: 'ops', metadata: true, label: () => 'delete each, ops/s (µs/op)' },
  { id: 'small-write', kind: 'files', metadata: false, label: (c) => `write ${n(c.smallFiles)} files of ${c.smallFileKiB} KiB, files/s (MiB/s)` },
  { id: 'small-write-stored', kind: 'files', metadata: false, label: () => '… until stored in S3, files/s (MiB/s)' },
  { id: 'small-read', kind: 'files', metadata: false, label: () => 'read them back, cold, files/s (MiB/s)' },
  { id: 'small-read-listed', kind: 'files', metadata: false, label: () => 'list their directory, then read them back, cold, files/s (MiB/s)' },
];

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function sig(v: number): string {
  if (!Number.isFinite(v)) return '–';
  return v >= 100 ? fmt(v, 0) : v >= 10 ? fmt(v, 1) : fmt(v, 2);
}

function cell(r: MountResult | undefined, kind: Kind): string {
  if (r === undefined) return '–';
  if (r.count === 0) return r.details['error'] !== undefined ? 'error' : `0${r.complete ? '' : ' †'}`;
  const mark = r.complete ? '' : ' †';
  switch (kind) {
    case 'bandwidth': return `${sig(r.mibPerSec)}${mark}`;
    case 'iops': return `${fmt(r.perSec)} (${sig((r.latency?.p50Us ?? Number.NaN) / 1000)} / ${sig((r.latency?.p99Us ?? Number.NaN) / 1000)})${mark}`;
    case 'ops':
    case 'entries': return `${fmt(r.perSec)} (${sig(r.usPerOp)})${mark}`;
    case 'files': return `${fmt(r.perSec)} (${sig(r.mibPerSec)})${mark}`;
  }
}

/** ObjectFS's rate ÷ the peer's: above 1 means ObjectFS is faster. */
export function speedRatio(ours: MountResult | undefined, peer: MountResult | undefined): number | undefined {
  if (ours === undefined || peer === undefined || ours.count === 0) return undefined;
  if (peer.count === 0) return peer.complete ? undefined : Number.POSITIVE_INFINITY;
  return ours.perSec / peer.perSec;
}

export interface TableRow {
  readonly id: MeasureId;
  readonly label: string;
  readonly cells: Readonly<Partial<Record<FsName, string>>>;
  readonly objectfsOverS3fs?: number;
  readonly objectfsOverRclone?: number;
  readonly goal: string;
  /** true/false when both ratios are known; undefined otherwise. */
  readonly met?: boolean;
}

export function tableRows(results: readonly MountResult[], fsNames: readonly FsName[], c: RowConfig): TableRow[] {
  const get = (fs: FsName, id: MeasureId): MountResult | undefined => results.find((r) => r.fs === fs && r.measure === id);
  const rows: TableRow[] = [];
  for (const spec of ROWS) {
    if (!fsNames.some((fs) => get(fs, spec.id) !== undefined)) continue;
    const cells: Partial<Record<FsName, string>> = {};
    for (const fs of fsNames) cells[fs] = cell(get(fs, spec.id), spec.kind);
    const s3fs = speedRatio(get('objectfs', spec.id), get('s3fs', spec.id));
    const rclone = speedRatio(get('objectfs', spec.id), get('rclone', spec.id));
    const needS3fs = spec.metadata ? 10 : 1;
    const goal = spec.metadata ? '≥ 10× s3fs, > 1× rclone' : '> 1× both';
    const met = s3fs === undefined || rclone === undefined ? undefined : s3fs >= needS3fs && rclone > 1;
    rows.push({
      id: spec.id, label: spec.label(c), cells, goal,
      ...(s3fs === undefined ? {} : { objectfsOverS3fs: Math.round(s3fs * 100) / 100 }),
      ...(rclone === undefined ? {} : { objectfsOverRclone: Math.round(rclone * 100) / 100 }),
      ...(met === undefined ? {} : { met }),
    });
  }
  return rows;
}

const ratioText = (v: number | undefined): string => (v === undefined ? '–' : v === Number.POSITIVE_INFINITY ? '∞' : `${sig(v)}×`);

export function markdownTable(rows: readonly TableRow[], fsNames: readonly FsName[], results: readonly MountResult[]): string {
  const header = ['measurement', ...fsNames, 'ObjectFS/s3fs', 'ObjectFS/rclone', 'goal', ''];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|---|${fsNames.map(() => '---:').join('|')}|---:|---:|---|---|`,
    ...rows.map((r) => `| ${[
      r.label, ...fsNames.map((fs) => r.cells[fs] ?? '–'), ratioText(r.objectfsOverS3fs), ratioText(r.objectfsOverRclone), r.goal,
      r.met === undefined ? '' : r.met ? 'met' : '**not met**',
    ].join(' | ')} |`),
  ];
  const partial = results.filter((r) => !r.complete);
  if (partial.length > 0) {
    lines.push('', ...partial.map((r) => `† ${r.id}: ${r.stopped ?? String(r.details['error'] ?? 'incomplete')} (the rate is over what was done)`));
  }
  return lines.join('\n');
}

/** Where each process's CPU went, per filesystem and measurement (% of one core). */
export function cpuTable(results: readonly MountResult[]): string {
  const rows = results.filter((r) => r.cpuPercent !== undefined);
  return [
    '| fs | measurement | wall s | CPU % bench / daemon / s3rver / pg / other |',
    '|---|---|---:|---:|',
    ...rows.map((r) => {
      const p = r.cpuPercent!;
      return `| ${r.fs} | ${r.measure} | ${fmt(r.wallMs / 1000, 1)} | ${p.bench} / ${p.daemon} / ${p.s3rver} / ${p.postgres} / ${p.other} |`;
    }),
  ].join('\n');
}
