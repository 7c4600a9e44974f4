/**
 * A small structured logger: JSON lines (for files and collectors), or one readable line per
 * event on a terminal. Passed to whoever logs; there is no global logger.
 */
import { inspect } from 'node:util';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  setLevel(level: LogLevel): void;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly json?: boolean;
  readonly write?: (line: string) => void;
  /** Applied to every line before it is written: the place secrets are masked. */
  readonly redact?: (line: string) => string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  let min = LOG_LEVELS.indexOf(options.level ?? 'info');
  const json = options.json ?? !process.stderr.isTTY;
  const sink = options.write ?? ((line: string) => process.stderr.write(line));
  const redact = options.redact;
  const write = redact === undefined ? sink : (line: string) => sink(redact(line));
  const emit = (level: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const time = new Date().toISOString();
    if (json) {
      write(`${JSON.stringify({ time, level, msg, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v))}\n`);
    } else {
      const rest = Object.keys(fields).length === 0 ? '' : ` ${inspect(fields, { breakLength: Infinity, depth: 4 })}`;
      write(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${rest}\n`);
    }
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    setLevel(level) { min = LOG_LEVELS.indexOf(level); },
  };
}
