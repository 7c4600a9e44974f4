/**
 * Fault-injection decorator for tests (never built from production config): wraps a *real*
 * store and makes chosen calls fail with StorageUnavailableError, slows every call down, or
 * takes the whole store "down" until it comes back, so retry and error paths run against real
 * data instead of a mock (Mountpoint's failure_client).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';
import { StorageUnavailableError } from './errors.js';

/** The methods a fault can be injected into (close always passes through). */
export const FAULTABLE_METHODS = ['get', 'put', 'delete', 'head', 'list'] as const;
export type FaultableMethod = (typeof FAULTABLE_METHODS)[number];

/** An ObjectStore that forwards to `inner` except where told to fail or lag. */
export class FaultyStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #failNext = new Map<FaultableMethod, number>();
  readonly #failAlways = new Set<FaultableMethod>();
  readonly #calls = new Map<FaultableMethod, number>();
  #latencyMs = 0;
  #down = false;
  #injected = 0;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  /** Each of `methods` (default: all) fails its next `count` calls. Adds to earlier budgets. */
  failNext(count: number, methods: readonly FaultableMethod[] = FAULTABLE_METHODS): this {
    for (const m of methods) this.#failNext.set(m, (this.#failNext.get(m) ?? 0) + count);
    return this;
  }

  /** Every call of `methods` (default: all) fails until heal(). */
  failAlways(methods: readonly FaultableMethod[] = FAULTABLE_METHODS): this {
    for (const m of methods) this.#failAlways.add(m);
    return this;
  }

  /** Delays every call by `ms` before forwarding (or failing); abortable through the call's signal. */
  setLatency(ms: number): this {
    this.#latencyMs = ms;
    return this;
  }

  /** The store is unreachable: every call fails until comeBack(). */
  goDown(): this {
    this.#down = true;
    return this;
  }

  /** Ends goDown(); per-method faults and latency stay as they are. */
  comeBack(): this {
    this.#down = false;
    return this;
  }

  /** Removes every fault, the latency and the down state. */
  heal(): this {
    this.#failNext.clear();
    this.#failAlways.clear();
    this.#latencyMs = 0;
    this.#down = false;
    return this;
  }

  /** Calls made to `method` so far (failed ones included), or to all methods. */
  calls(method?: FaultableMethod): number {
    if (method) return this.#calls.get(method) ?? 0;
    let n = 0;
    for (const c of this.#calls.values()) n += c;
    return n;
  }

  /** Failures injected so far. */
  get injected(): number {
    return this.#injected;
  }

  describe(): string {
    return `faulty(${this.#inner.describe()})`;
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    await this.#before('get', key, options?.signal);
    return this.#inner.get(key, options);
  }

  async put(key: string, data: Buffer, options?: PutOptions): Promise<void> {
    await this.#before('put', key, options?.signal);
    return this.#inner.put(key, data, options);
  }

  async delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    await this.#before('delete', key, options?.signal);
    return this.#inner.delete(key, options);
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined> {
    await this.#before('head', key, options?.signal);
    return this.#inner.head(key, options);
  }

  async list(options?: ListOptions): Promise<ObjectPage> {
    await this.#before('list', options?.prefix ?? '', options?.signal);
    return this.#inner.list(options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #before(method: FaultableMethod, key: string, signal: AbortSignal | undefined): Promise<void> {
    this.#calls.set(method, (this.#calls.get(method) ?? 0) + 1);
    if (this.#latencyMs > 0) {
      // Rethrow the signal's own reason (like the real stores) so a deadline stays a TimeoutError.
      await sleep(this.#latencyMs, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
        signal?.throwIfAborted();
        throw err;
      });
    }
    let why: string | undefined;
    if (this.#down) why = 'store is down';
    else if (this.#failAlways.has(method)) why = 'injected fault (always)';
    else {
      // A one-shot budget is spent only by calls that would otherwise have gone through.
      const budget = this.#failNext.get(method) ?? 0;
      if (budget > 0) {
        this.#failNext.set(method, budget - 1);
        why = 'injected fault';
      }
    }
    if (why !== undefined) {
      this.#injected++;
      throw new StorageUnavailableError(`${why}: ${method} "${key}" on ${this.describe()}`);
    }
  }
}
