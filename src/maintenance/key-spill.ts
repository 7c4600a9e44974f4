/**
 * A list of object keys kept in a temporary file, so gc can hold millions of leaked keys
 * between the scan and the deletion in bounded memory. One "size<TAB>key" line per object.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface SpilledKey {
  readonly key: string;
  readonly size: number;
}

export class KeySpill {
  readonly #dir: string;
  readonly #file: string;
  readonly #out: WriteStream;
  #error: Error | undefined;
  count = 0;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#file = join(dir, 'keys');
    this.#out = createWriteStream(this.#file);
    // Kept and rethrown by add()/batches(), so a full disk fails the run instead of the process.
    this.#out.on('error', (err) => { this.#error ??= err; });
  }

  static async create(): Promise<KeySpill> {
    return new KeySpill(await mkdtemp(join(tmpdir(), 'objectfs-gc-')));
  }

  async add(key: string, size: number): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    this.count++;
    if (!this.#out.write(`${size}\t${key}\n`)) await once(this.#out, 'drain');
  }

  /** The keys in insertion order, `batch` at a time (call once, after the last add). */
  async *batches(batch: number): AsyncGenerator<SpilledKey[]> {
    await this.#close();
    if (this.#error !== undefined) throw this.#error;
    let chunk: SpilledKey[] = [];
    const lines = createInterface({ input: createReadStream(this.#file), crlfDelay: Infinity });
    for await (const line of lines) {
      const tab = line.indexOf('\t');
      if (tab < 0) continue;
      chunk.push({ size: Number(line.slice(0, tab)), key: line.slice(tab + 1) });
      if (chunk.length >= batch) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  async #close(): Promise<void> {
    if (this.#out.closed) return;
    const closed = once(this.#out, 'close').catch(() => undefined);
    this.#out.end();
    await closed;
  }

  async remove(): Promise<void> {
    await this.#close();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
