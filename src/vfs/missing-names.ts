/**
 * Names this host saw missing lately (a lookup answered ENOENT): a hint for rename, whose
 * target the kernel always looks up first, that the one-statement rename will likely apply.
 * Never an answer to anything: a stale entry only costs rename one round trip.
 */
import { ExpiringMap } from '../util/expiring-map.js';

/** Names remembered at most (about 2 MiB with the longest names). */
const MAX_NAMES = 4096;
/** Long enough to cover a kernel's negative entry of the default timeout several times over. */
const KEEP_MS = 10_000;

export class MissingNames {
  readonly #names = new ExpiringMap<string, true>(MAX_NAMES);

  saw(parent: number, name: Buffer): void {
    this.#names.set(keyOf(parent, name), true, KEEP_MS);
  }

  /** The name was seen missing lately and nothing here has added it since. */
  likely(parent: number, name: Buffer): boolean {
    return this.#names.has(keyOf(parent, name));
  }

  /** This host adds the name (or may have): no longer a good guess. */
  adding(parent: number, name: Buffer): void {
    this.#names.delete(keyOf(parent, name));
  }
}

const keyOf = (parent: number, name: Buffer): string => `${parent}/${name.toString('latin1')}`;
