/**
 * A private s3rver (test/support/s3-server.ts in a child process) for tests that must take
 * S3 away for real: kill() SIGKILLs it, start() brings it back on the same port and data
 * directory, so objects stored before the kill are there again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNetns } from './pg-tools.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./s3-server.js', import.meta.url));

export interface PrivateS3 {
  readonly bucket: string;
  readonly endpoint: string;
  /** An s3:// storage URL on this server with the given prefix. */
  storageUrl(prefix: string): string;
  /** SIGKILLs the server and waits for it to be gone. */
  kill(): Promise<void>;
  /** SIGSTOPs it: connections are still accepted by the kernel, nothing ever answers. */
  freeze(): void;
  /** SIGCONTs a frozen server. */
  thaw(): void;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Kills it (if running) and removes its data directory. */
  cleanup(): Promise<void>;
}

/** Where a private server listens: by default 127.0.0.1 on a free port, in our network namespace. */
export interface PrivateS3Options {
  readonly address?: string;
  readonly port?: number;
  /** Network namespace to run in (nsenter execs the server, so the child is the server). */
  readonly netns?: string;
  /** Called with the pid of every server process started (for a bed's teardown). */
  readonly onPid?: (pid: number) => void;
}

function launch(dir: string, bucket: string, port: number, options: PrivateS3Options): Promise<{ child: ChildProcess; port: number }> {
  const [cmd = process.execPath, ...args] = [
    ...inNetns(options.netns), process.execPath,
    '--openssl-legacy-provider', SERVER_SCRIPT, '--dir', dir, '--bucket', bucket, '--port', String(port), '--address', options.address ?? '127.0.0.1',
  ];
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  if (child.pid !== undefined) options.onPid?.(child.pid);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('private s3rver did not start within 30 s'));
    }, 30_000);
    child.once('message', (msg: { type?: string; port?: number }) => {
      clearTimeout(timer);
      if (msg.type === 'ready' && typeof msg.port === 'number') resolve({ child, port: msg.port });
      else reject(new Error(`private s3rver sent ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`private s3rver exited during start (code ${code}, signal ${signal})`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** Starts a private s3rver with one bucket, in a fresh temp directory. */
export async function startPrivateS3(bucket = 'objectfs-private', options: PrivateS3Options = {}): Promise<PrivateS3> {
  const dir = await mkdtemp(join(tmpdir(), 'objectfs-private-s3-'));
  let { child, port } = await launch(dir, bucket, options.port ?? 0, options);
  const endpoint = `http://${options.address ?? '127.0.0.1'}:${port}`;
  return {
    bucket,
    endpoint,
    storageUrl(prefix: string) {
      const q = new URLSearchParams({ endpoint, region: process.env['AWS_REGION'] || 'us-east-1', 'path-style': 'true' });
      return `s3://${bucket}/${prefix.replace(/^\/+|\/+$/g, '')}/?${q.toString()}`;
    },
    kill: () => stop(child),
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    async start() {
      await stop(child);
      ({ child } = await launch(dir, bucket, port, options));
    },
    async cleanup() {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
