/**
 * A one-line progress bar on a terminal (redrawn in place on stderr); off a terminal, nothing
 * until done() prints the final line, so logs and pipes get one line per job.
 */
import { formatBytes } from '../util/bytes.js';

const WIDTH = 30;
const REDRAW_MS = 100;

export class ProgressBar {
  readonly #label: string;
  readonly #total: number;
  readonly #tty: boolean;
  readonly #write: (s: string) => void;
  readonly #started = performance.now();
  #done = 0;
  #items = 0;
  #lastDraw = 0;

  constructor(label: string, totalBytes: number, options: { tty?: boolean; write?: (s: string) => void } = {}) {
    this.#label = label;
    this.#total = totalBytes;
    this.#tty = options.tty ?? process.stderr.isTTY === true;
    this.#write = options.write ?? ((s) => process.stderr.write(s));
  }

  /** `bytes` more are done (and an item, when `item`). */
  add(bytes: number, item = false): void {
    this.#done += bytes;
    if (item) this.#items++;
    const now = performance.now();
    if (this.#tty && now - this.#lastDraw >= REDRAW_MS) {
      this.#lastDraw = now;
      this.#write(`\r${this.line()}`);
    }
  }

  /** The bar as text: `label [#####.....]  45% 12.0 MiB/27.0 MiB 3 files 8.1 MiB/s`. */
  line(): string {
    const fraction = this.#total === 0 ? 1 : Math.min(1, this.#done / this.#total);
    const filled = Math.round(fraction * WIDTH);
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0 ? `${formatBytes(Math.round(this.#done / seconds))}/s` : '';
    return `${this.#label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ` +
      `${formatBytes(this.#done)}/${formatBytes(this.#total)} ${this.#items} file(s) ${rate}`;
  }

  done(): void {
    this.#write(`${this.#tty ? '\r' : ''}${this.line()}\n`);
  }
}
