/**
 * A byte-rate limiter: callers are scheduled one after another at `bytesPerSecond`, with up
 * to one second of unused rate saved as burst. The rate can change at any time (hot reload);
 * 0 means unlimited.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Unused rate kept for a burst, in ms of rate. */
const BURST_MS = 1000;

export class TokenBucket {
  #bytesPerSecond: number;
  /** When the bytes granted so far will have been "sent" at the current rate (ms, performance clock). */
  #busyUntil = 0;
  readonly #now: () => number;

  constructor(bytesPerSecond = 0, now: () => number = () => performance.now()) {
    this.#bytesPerSecond = checkRate(bytesPerSecond);
    this.#now = now;
  }

  get bytesPerSecond(): number {
    return this.#bytesPerSecond;
  }

  setRate(bytesPerSecond: number): void {
    this.#bytesPerSecond = checkRate(bytesPerSecond);
    this.#busyUntil = 0; // the old schedule was for the old rate
  }

  /** How long a transfer of `bytes` starting now must wait, in ms (and books it). */
  reserve(bytes: number): number {
    if (this.#bytesPerSecond === 0 || bytes <= 0) return 0;
    const now = this.#now();
    // GCRA: the bucket is "busy" until all granted bytes are sent at the rate; up to BURST_MS
    // of that may lie in the future without waiting.
    this.#busyUntil = Math.max(this.#busyUntil, now) + (bytes * 1000) / this.#bytesPerSecond;
    return Math.max(0, this.#busyUntil - now - BURST_MS);
  }

  /** Waits as long as reserve(bytes) says. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const ms = this.reserve(bytes);
    if (ms > 0) await sleep(ms, undefined, signal ? { signal } : undefined);
  }
}

function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`rate ${rate} is not a non-negative number of bytes per second`);
  return rate;
}
