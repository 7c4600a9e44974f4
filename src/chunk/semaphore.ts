/**
 * A counting semaphore with FIFO fairness, used both as a slot limiter (uploads, downloads:
 * units of 1) and as a byte budget (the write buffer: units of bytes).
 *
 * Fairness: a request is granted only when every earlier waiter has been granted, even if a
 * smaller later request would fit now. Without that, a stream of small requests could starve
 * a large one forever.
 */

interface Waiter {
  readonly units: number;
  readonly resolve: () => void;
}

/** FIFO counting semaphore over `capacity` units. */
export class Semaphore {
  #capacity: number;
  readonly #queue: Waiter[] = [];
  #used = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`semaphore capacity ${capacity} is not a positive integer`);
    this.#capacity = capacity;
  }

  /** Units the semaphore holds in total. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Changes the capacity live (the write-buffer size on a configuration reload). Growing
   * grants waiters that now fit; shrinking below what is held only makes new requests wait.
   */
  setCapacity(capacity: number): void {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`semaphore capacity ${capacity} is not a positive integer`);
    this.#capacity = capacity;
    this.#grant();
  }

  /** Units granted and not yet released. */
  get used(): number {
    return this.#used;
  }

  /** Requests waiting to be granted. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Takes `units` now if they are free and nobody is queued ahead; false otherwise. */
  tryAcquire(units = 1): boolean {
    this.#check(units);
    if (this.#queue.length > 0 || this.#used + units > this.#capacity) return false;
    this.#used += units;
    return true;
  }

  /**
   * Resolves once `units` are granted (in request order). If `signal` aborts first, rejects
   * with its reason and the request leaves the queue (nothing is held).
   */
  acquire(units = 1, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire(units)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#queue.indexOf(waiter);
        if (i < 0) return; // already granted: the caller owns the units and releases them
        this.#queue.splice(i, 1);
        this.#grant(); // the head may have changed: later waiters may fit now
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        units,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.#queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Returns `units` and grants queued requests that now fit, in order. */
  release(units = 1): void {
    this.#check(units);
    if (units > this.#used) throw new RangeError(`semaphore: releasing ${units} units but only ${this.#used} are held`);
    this.#used -= units;
    this.#grant();
  }

  /** Runs `fn` holding one unit (released however `fn` ends). */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(1);
    try {
      return await fn();
    } finally {
      this.release(1);
    }
  }

  #grant(): void {
    for (let head = this.#queue[0]; head !== undefined && this.#used + head.units <= this.#capacity; head = this.#queue[0]) {
      this.#queue.shift();
      this.#used += head.units;
      head.resolve();
    }
  }

  #check(units: number): void {
    if (!Number.isSafeInteger(units) || units < 1 || units > this.#capacity) {
      throw new RangeError(`semaphore: ${units} units is not an integer in [1, ${this.#capacity}]`);
    }
  }
}
