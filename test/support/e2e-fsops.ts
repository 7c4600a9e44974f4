/**
 * A long-lived `python3 test/support/e2e-fsops.py ROOT` per side of the randomized comparison:
 * one JSON request per line in, one JSON answer per line out, so each operation costs a pipe
 * round trip instead of a process start. The .py file is read from the source tree (tsc does not
 * copy it into dist/).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** From dist/test/support/ back to the source tree's test/support/. */
export const FSOPS_SCRIPT = fileURLToPath(new URL('../../../test/support/e2e-fsops.py', import.meta.url));

/** An answer: `{ ok: result }` or `{ err: 'ENOENT' }`. */
export type FsOpResult = { readonly ok: unknown } | { readonly err: string };

export interface FsOpRequest {
  readonly op: string;
  readonly [arg: string]: unknown;
}

export class FsOps {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (r: FsOpResult) => void; reject: (e: Error) => void }[] = [];
  #stderr = '';
  #dead: Error | undefined;

  /** `reference`: the local directory a mount is compared with (e2e-fsops.py --reference). */
  constructor(root: string, reference = false) {
    this.#child = spawn('python3', [FSOPS_SCRIPT, root, ...(reference ? ['--reference'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.on('data', (d: Buffer) => { this.#stderr += d.toString(); });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      this.#waiting.shift()?.resolve(JSON.parse(line) as FsOpResult);
    });
    this.#child.on('exit', (code, signal) => {
      this.#dead = new Error(`e2e-fsops.py on ${root} exited (code ${code}, signal ${signal}):\n${this.#stderr}`);
      for (const w of this.#waiting.splice(0)) w.reject(this.#dead);
    });
  }

  call(req: FsOpRequest): Promise<FsOpResult> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** The result of an op that must succeed. */
  async ok<T>(req: FsOpRequest): Promise<T> {
    const r = await this.call(req);
    if ('err' in r) throw new Error(`${JSON.stringify(req)} failed with ${r.err}`);
    return r.ok as T;
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end();
    await exited;
  }
}
