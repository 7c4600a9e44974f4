/** Drives test/support/locker.py: a process that takes file locks on command and answers each. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const SCRIPT = fileURLToPath(new URL('../../../test/support/locker.py', import.meta.url));

export class Locker {
  readonly #child: ChildProcess;
  readonly #answers: string[] = [];
  readonly #waiting: ((line: string) => void)[] = [];
  readonly exited: Promise<void>;

  constructor() {
    this.#child = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) waiter(line);
      else this.#answers.push(line);
    });
    this.exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /**
   * Sends one command; resolves with its answer line (a waiting lock answers when it is granted).
   * Rejects after timeoutMs so that a wait that never ends fails its test instead of hanging the suite.
   */
  send(command: string, timeoutMs = 60_000): Promise<string> {
    this.#child.stdin!.write(`${command}\n`);
    const ready = this.#answers.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`locker: no answer to "${command}" within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  /** Ends the process (its locks end with it). */
  async close(): Promise<void> {
    this.#child.stdin!.end();
    await this.exited;
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}
