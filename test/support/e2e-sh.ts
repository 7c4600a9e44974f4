/**
 * Running ordinary tools for the end-to-end tests, and describing directory trees so a tree on
 * the mount can be compared with the same tree in a local directory.
 *
 * Tools run in child processes (never synchronous fs calls on the mount from the test process's
 * event loop) with TZ=UTC and LC_ALL=C, so `touch -d`, `stat -c %y` and sort orders are stable.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly timeoutMs?: number;
}

const TOOL_ENV = { TZ: 'UTC', LC_ALL: 'C' };

/** Runs a command; never throws for a non-zero exit (the result says how it ended). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env: { ...process.env, ...TOOL_ENV, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.on('error', () => undefined); // a tool that never reads its stdin may be gone already (EPIPE)
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command that must succeed; returns its stdout. */
export async function ok(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (cwd ${opts.cwd ?? '.'}) exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `bash -euo pipefail -c script` in `cwd`; returns stdout. */
export function bash(script: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return ok('bash', ['-euo', 'pipefail', '-c', script], { cwd, env });
}

/** Runs a Python script (from a string) in `cwd`; returns stdout. */
/** A Python helper for scripts run by `python`: `err(f)` is 'ok' or the errno name f raised. */
export const PY_ERR = `
import errno
def err(f):
    try:
        f()
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
`;

export function python(script: string, cwd: string, args: readonly string[] = []): Promise<string> {
  return ok('python3', ['-c', script, ...args], { cwd });
}

/** A fresh local directory under os.tmpdir() (the test bed's own temp dir). */
export function localDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `e2e-local-${label}-`));
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  // 1 MiB reads, not the stream's 64 KiB: a 1 GiB file hashes in 1.4 s of CPU instead of 2.3.
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface SnapshotOptions {
  /** Include mtimes (ns) of files and symlinks; directories too when `dirTimes`. */
  readonly mtime?: boolean;
  readonly dirTimes?: boolean;
}

/**
 * One line per entry under `root`, sorted: relative path, type, permission bits, link count,
 * size and content hash for regular files, target for symlinks, and mtime in ns when asked.
 * Directory sizes are left out: ext4 says 4096, ObjectFS 0, and neither is wrong.
 */
export async function snapshot(root: string, opts: SnapshotOptions = {}): Promise<string[]> {
  const lines: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(root, path);
      const st = await lstat(full, { bigint: true });
      const perm = (Number(st.mode) & 0o7777).toString(8).padStart(4, '0');
      let line = `${path} ${perm} nlink=${st.nlink}`;
      if (st.isDirectory()) line += ` dir${opts.dirTimes ? ` mtime=${st.mtimeNs}` : ''}`;
      else if (st.isSymbolicLink()) line += ` link->${await readlink(full)}${opts.mtime ? ` mtime=${st.mtimeNs}` : ''}`;
      else if (st.isFile()) line += ` file size=${st.size} sha=${(await sha256File(full)).slice(0, 16)}${opts.mtime ? ` mtime=${st.mtimeNs}` : ''}`;
      else line += ` other=${(Number(st.mode) & 0o170000).toString(8)}`;
      lines.push(line);
      if (st.isDirectory()) await visit(path);
    }
  };
  await visit('');
  return lines;
}
