/**
 * Turning a DiskCache off for a while when its disk keeps failing: this many write errors in a
 * row (EROFS, EACCES, a dying disk …) disable puts for DISABLE_MS, after which it tries again.
 * Reads go on meanwhile: a failing disk should cost the readers nothing but cache misses.
 */
const ERRORS_TO_DISABLE = 8;
const DISABLE_MS = 60_000;

export class PutErrors {
  #inARow = 0;
  #disabledUntil = 0;

  /** A write failed. */
  failed(): void {
    if (++this.#inARow >= ERRORS_TO_DISABLE) {
      this.#inARow = 0;
      this.#disabledUntil = Date.now() + DISABLE_MS;
    }
  }

  /** A write succeeded: the run of errors is over. */
  succeeded(): void {
    this.#inARow = 0;
  }

  /** Whether puts are off now. */
  get disabled(): boolean {
    return Date.now() < this.#disabledUntil;
  }
}
