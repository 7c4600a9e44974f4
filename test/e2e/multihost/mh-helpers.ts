/**
 * Helpers of the multi-host tests: deterministic file contents, errno capture, walking a tree,
 * percentiles and reading `objectfs status --json`.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { constants } from 'node:os';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../support/cli.js';

/**
 * `size` bytes that depend only on `name` (so any host can check a file it did not write), and
 * a shorter size gives a prefix of a longer one: the AES-256-CTR keystream under sha256(name),
 * which OpenSSL makes at GB/s (a SHA-256 chain 32 bytes at a time took 0.3 s per 4 MiB).
 */
export function namedBytes(name: string, size: number): Buffer {
  const key = createHash('sha256').update(name).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** The errno name of an error (libuv leaves some unnamed, e.g. ESTALE: "Unknown system error -116"). */
function errnoName(e: NodeJS.ErrnoException): string {
  if (e.code !== undefined && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  const byNumber = Object.entries(constants.errno).find(([, n]) => n === -(e.errno ?? 0))?.[0];
  return byNumber ?? e.code ?? String(e);
}

/** The errno name an operation failed with, or 'ok'. */
export async function outcome(op: () => Promise<unknown>): Promise<string> {
  try {
    await op();
    return 'ok';
  } catch (e) {
    return errnoName(e as NodeJS.ErrnoException);
  }
}

/** Every path under `dir` (relative, sorted) with the sha256 of each file ('dir' for directories). */
export async function walk(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = await stat(join(dir, path));
    if (st.isDirectory()) {
      out.set(path, 'dir');
      for (const [p, v] of await walk(dir, path)) out.set(p, v);
    } else {
      out.set(path, createHash('sha256').update(await readFile(join(dir, path))).digest('hex'));
    }
  }
  return out;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export interface StatusSession {
  readonly sid: number;
  readonly alive: boolean;
  readonly heartbeat: number;
  readonly info: { host: string; pid: number; mountPoint: string; version: string };
  readonly locks: readonly { ino: number; kind: string; type: string; start: number; end: number | null; pid: number }[];
}

/** The sessions `objectfs status --json` lists. */
export async function statusSessions(metaUrl: string): Promise<StatusSession[]> {
  const r = await runCli(['status', metaUrl, '--json']);
  if (r.code !== 0) throw new Error(`objectfs status failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { sessions: StatusSession[] }).sessions;
}
