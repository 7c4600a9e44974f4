/** What a result must carry to be traceable: the commit, the machine and the database server. */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import pg from 'pg';

export interface CommitInfo {
  /** `git rev-parse HEAD`, or "unknown" outside a checkout. */
  readonly commit: string;
  /** The working tree had uncommitted changes (the numbers may not match `commit` exactly). */
  readonly dirty: boolean;
}

export function commitInfo(cwd: string): CommitInfo {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
  return {
    commit: head.status === 0 ? head.stdout.trim() : 'unknown',
    dirty: status.status === 0 ? status.stdout.trim() !== '' : false,
  };
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly os: string;
  readonly node: string;
  /** 1-minute load average when the run started: anything else running skews the figures. */
  readonly loadAvg1mAtStart: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    totalMemoryBytes: totalmem(),
    os: `${platform()} ${release()}`,
    node: process.version,
    loadAvg1mAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** Settings that decide what a commit costs, reported with every PostgreSQL result. */
const SETTINGS = ['synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'max_connections'] as const;

export interface ServerInfo {
  readonly version: string;
  readonly settings: Readonly<Record<string, string>>;
  /** Filesystem type of the data directory (ext4, tmpfs …) when known: tmpfs makes fsync free. */
  readonly dataDirFs?: string;
}

/** Runs a few queries on a client of the server: `SELECT version()` and the durability settings. */
export async function serverInfo(query: (text: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<{ version: string; settings: Record<string, string> }> {
  const version = String((await query('SELECT version() AS v')).rows[0]?.['v'] ?? 'unknown');
  const settings: Record<string, string> = {};
  for (const s of SETTINGS) {
    try {
      settings[s] = String((await query(`SHOW ${s}`)).rows[0]?.[s] ?? '');
    } catch {
      settings[s] = 'unknown';
    }
  }
  return { version, settings };
}

/** Filesystem type of a local directory (the private server's data dir): findmnt, else `stat -f`. */
export function fsType(dir: string): string | undefined {
  const m = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '--target', dir], { encoding: 'utf8' });
  if (m.status === 0 && m.stdout.trim() !== '') return m.stdout.trim();
  const r = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A short-lived pg client on `url`, for version, settings and database admin. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'objectfs-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
