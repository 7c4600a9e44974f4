/**
 * The workload of the fault battery (test/e2e/multihost/faults.test.ts), in a process of its
 * own so that the test process holds no file of the mounts open while it starts servers: a
 * fork+exec closes the parent's descriptors in the child, and the close of a FUSE file waits
 * for its FLUSH, which waits for the database a fault just took away.
 *
 *   fork(fault-workload.js) then send { mnt, dirs: [{ dir, label, state }] } and later 'stop'
 *
 * Each dir gets a loop of creates (open O_EXCL, write, fsync, close), renames, deletes and
 * reads back, in that directory of `mnt`. What each call did is kept in the dir's state, which
 * goes back to the parent on 'stop' (or when the mount is gone: the mount being gone ends a loop):
 *   certain  acknowledged files (every call succeeded) not touched by a failed call since;
 *   maybe    a failed delete: the file is whole or gone;
 *   pairs    a failed rename: exactly one of the two names, whole;
 *   partial  a failed create or write: a prefix of what was written, or no file;
 * and the slowest call and the errors by errno name.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { namedBytes, outcome } from '../e2e/multihost/mh-helpers.js';

/** Sizes written in turn: empty, small, within a block, across two 1 MiB blocks (kept small: every phase reads all files back). */
const SIZES = [0, 3_000, 70_000, 1_100_000, 9_000, 30_000];

/**
 * The mount is gone (its daemon was killed): ENOTCONN, ECONNABORTED for the calls in flight,
 * or ENOENT once fusermount3 (auto_unmount) has taken the mount point away.
 */
function gone(result: string): boolean {
  return result === 'ENOTCONN' || result === 'ECONNABORTED' || result === 'ENOENT';
}

/** A file's expected contents: namedBytes(key, size). */
export interface Content { readonly key: string; readonly size: number }

export interface DirState {
  certain: [string, Content][];
  maybe: [string, Content][];
  pairs: { from: string; to: string; content: Content }[];
  partial: [string, Content][];
  /** Next file number, and the picker's position. */
  next: number;
  picked: number;
}

export interface DirReport {
  readonly dir: string;
  readonly state: DirState;
  readonly calls: number;
  readonly slowestMs: number;
  readonly slowestCall: string;
  readonly errors: Record<string, number>;
}

export interface WorkloadStart { readonly mnt: string; readonly dirs: readonly { dir: string; label: string; state: DirState }[] }

export function emptyState(): DirState {
  return { certain: [], maybe: [], pairs: [], partial: [], next: 0, picked: 0 };
}

/** Calls after which a loop counts as working (the parent starts its fault once all do). */
export const WORKING_CALLS = 3;

class DirLoop {
  /** Called once, when the loop has made WORKING_CALLS calls. */
  onWorking: (() => void) | undefined;
  readonly certain: Map<string, Content>;
  readonly maybe: Map<string, Content>;
  readonly partial: Map<string, Content>;
  readonly pairs: DirState['pairs'];
  #next: number;
  #picked: number;
  calls = 0;
  slowestMs = 0;
  slowestCall = '';
  readonly errors: Record<string, number> = {};

  constructor(readonly path: string, readonly dir: string, readonly label: string, state: DirState) {
    this.certain = new Map(state.certain);
    this.maybe = new Map(state.maybe);
    this.partial = new Map(state.partial);
    this.pairs = [...state.pairs];
    this.#next = state.next;
    this.#picked = state.picked;
  }

  report(): DirReport {
    return {
      dir: this.dir, calls: this.calls, slowestMs: this.slowestMs, slowestCall: this.slowestCall, errors: this.errors,
      state: { certain: [...this.certain], maybe: [...this.maybe], pairs: this.pairs, partial: [...this.partial], next: this.#next, picked: this.#picked },
    };
  }

  /** Times one system call; returns its errno name or 'ok'. */
  async #call(what: string, op: () => Promise<unknown>): Promise<string> {
    const started = performance.now();
    const result = await outcome(op);
    const ms = performance.now() - started;
    if (++this.calls === WORKING_CALLS) this.onWorking?.();
    if (ms > this.slowestMs) { this.slowestMs = ms; this.slowestCall = `${what} (${result})`; }
    if (result !== 'ok') this.errors[result] = (this.errors[result] ?? 0) + 1;
    return result;
  }

  async run(running: () => boolean): Promise<void> {
    while (running()) {
      const i = this.#next++;
      if (!(await this.#create(i))) return;
      if (i % 3 === 1 && !(await this.#rename(i))) return;
      if (i % 4 === 2 && !(await this.#delete())) return;
      if (i % 5 === 3 && !(await this.#readBack())) return;
    }
  }

  #pick(): [string, Content] | undefined {
    const names = [...this.certain.keys()];
    if (names.length === 0) return undefined;
    const name = names[(this.#picked++ * 7) % names.length] as string;
    return [name, this.certain.get(name) as Content];
  }

  /** Creates, writes, fsyncs and closes a new file; false once the mount is gone. */
  async #create(i: number): Promise<boolean> {
    const name = `f${i}`;
    const content: Content = { key: `${this.label}/${this.dir}/${name}`, size: SIZES[i % SIZES.length] as number };
    const data = namedBytes(content.key, content.size);
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    let result = await this.#call('open', async () => { handle = await open(join(this.path, name), 'wx'); });
    if (result === 'ok' && content.size > 0) result = await this.#call('write', () => handle!.write(data, 0, data.length, 0));
    if (result === 'ok') result = await this.#call('fsync', () => handle!.sync());
    if (handle !== undefined) {
      const closed = await this.#call('close', () => handle!.close());
      if (result === 'ok') result = closed;
    }
    if (result === 'ok') this.certain.set(name, content);
    else this.partial.set(name, content); // an open that failed may still have created it
    return !gone(result);
  }

  async #rename(i: number): Promise<boolean> {
    const picked = this.#pick();
    if (picked === undefined) return true;
    const [from, content] = picked;
    const to = `${from}.r${i}`;
    const result = await this.#call('rename', () => rename(join(this.path, from), join(this.path, to)));
    this.certain.delete(from);
    if (result === 'ok') this.certain.set(to, content);
    else this.pairs.push({ from, to, content });
    return !gone(result);
  }

  async #delete(): Promise<boolean> {
    const picked = this.#pick();
    if (picked === undefined) return true;
    const [name, content] = picked;
    const result = await this.#call('unlink', () => unlink(join(this.path, name)));
    this.certain.delete(name);
    if (result !== 'ok') this.maybe.set(name, content);
    return !gone(result);
  }

  /** Reads an acknowledged file back through the same mount; wrong bytes count as an error. */
  async #readBack(): Promise<boolean> {
    const picked = this.#pick();
    if (picked === undefined) return true;
    const [name, content] = picked;
    let wrong = false;
    const result = await this.#call('read', async () => { wrong = !(await readFile(join(this.path, name))).equals(namedBytes(content.key, content.size)); });
    if (result === 'ok' && wrong) this.errors['WRONG BYTES'] = (this.errors['WRONG BYTES'] ?? 0) + 1;
    return !gone(result);
  }
}

if (process.send !== undefined) {
  let running = true;
  let loops: DirLoop[] = [];
  let done: Promise<void> = Promise.resolve();
  process.on('message', (msg: WorkloadStart | 'stop') => {
    if (msg === 'stop') {
      running = false;
      void done.then(() => process.send!(loops.map((l) => l.report()), () => process.exit(0)));
      return;
    }
    loops = msg.dirs.map((d) => new DirLoop(join(msg.mnt, d.dir), d.dir, d.label, d.state));
    let waiting = loops.length;
    for (const l of loops) l.onWorking = () => { if (--waiting === 0) process.send!('working'); };
    done = Promise.all(loops.map((l) => l.run(() => running))).then(() => undefined);
  });
}
