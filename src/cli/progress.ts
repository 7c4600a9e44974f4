/**
 * Progress of fsck and gc on stderr (stdout stays clean for --json): on a terminal one line
 * redrawn in place with a bar when the total is known, counts, bytes, rate and ETA; otherwise
 * (logs, pipes) a plain line every few seconds and one at the end of each phase.
 */
import type { Progress, ProgressPhase } from '../maintenance/index.js';
import { formatBytes } from '../util/bytes.js';

const REDRAW_MS = 200;
const PLAIN_EVERY_MS = 5000;
const BAR = 24;

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60) > 0 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}` : m}:${String(s % 60).padStart(2, '0')}`;
}

/** The text of one progress line (pure; `bar` draws [###...] when the total is known). */
export function progressLine(name: string, items: number, bytes: number, elapsedMs: number, total: number | undefined, bar: boolean): string {
  const secs = Math.max(elapsedMs / 1000, 0.001);
  const rate = items / secs;
  const parts = [name + ':'];
  if (total !== undefined && total > 0) {
    const frac = Math.min(1, items / total);
    if (bar) parts.push(`[${'#'.repeat(Math.round(frac * BAR)).padEnd(BAR, '.')}]`);
    parts.push(`${items}/${total}`);
  } else parts.push(`${items}`);
  if (bytes > 0) parts.push(formatBytes(bytes), `${formatBytes(bytes / secs)}/s`);
  parts.push(`${rate.toFixed(rate < 10 ? 1 : 0)}/s`, clock(secs));
  if (total !== undefined && total > items && rate > 0) parts.push(`ETA ${clock((total - items) / rate)}`);
  return parts.join(' ');
}

/** A Progress writing to `stream` (a bar when it is a terminal, lines otherwise). */
export function streamProgress(command: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  return {
    phase(name: string, total?: number): ProgressPhase {
      const started = Date.now();
      let items = 0;
      let bytes = 0;
      let shown = started;
      const line = (): string => progressLine(`${command}: ${name}`, items, bytes, Date.now() - started, total, tty);
      const show = (): void => { stream.write(tty ? `\r\x1b[K${line()}` : `${line()}\n`); };
      return {
        add(n: number, b = 0) {
          items += n;
          bytes += b;
          const now = Date.now();
          if (now - shown >= (tty ? REDRAW_MS : PLAIN_EVERY_MS)) {
            shown = now;
            show();
          }
        },
        end() {
          show();
          if (tty) stream.write('\n');
        },
      };
    },
  };
}
