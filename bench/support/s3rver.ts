/**
 * A private s3rver for one benchmark run: test/support/s3-server.ts in a child process (as the
 * test bed's startS3 runs it), its data directory inside the bed's temp root, bound to
 * 127.0.0.1. The bed records its pid, so finish() and the reaper kill it on any exit; the
 * child also exits by itself when its IPC channel to us closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchBed } from './bed.js';

/** <root>/dist/test/support, where the compiled s3-server.js lives. */
const TEST_SUPPORT = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'test', 'support');

/** The fixed credentials s3rver accepts (it checks signatures, not identities). */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

export interface BenchS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly pid: number;
  /** Where s3rver keeps the objects (same file system as the bed root). */
  readonly dataDir: string;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver with one bucket. `nodeArgs` go before the script (e.g. `--cpu-prof` flags to
 * profile the server itself).
 */
export function startBenchS3(bed: BenchBed, bucket: string, nodeArgs: readonly string[] = []): Promise<BenchS3> {
  const dataDir = join(bed.root, 's3');
  mkdirSync(dataDir);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', ...nodeArgs, join(TEST_SUPPORT, 's3-server.js'), '--dir', dataDir, '--bucket', bucket],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  if (child.pid !== undefined) bed.setS3Pid(child.pid);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // SIGTERM lets node write a --cpu-prof profile (process.exit); a disconnect does the same.
    child.kill('SIGTERM');
    await gone;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('s3rver did not start within 30 s'));
    }, 30_000);
    child.once('message', (msg: { type?: string; port?: number }) => {
      clearTimeout(timer);
      if (msg.type === 'ready' && typeof msg.port === 'number' && child.pid !== undefined) {
        resolve({ endpoint: `http://127.0.0.1:${msg.port}`, bucket, pid: child.pid, dataDir, stop });
      } else reject(new Error(`s3rver sent ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited during start (code ${code}, signal ${signal})`));
    });
  });
}
