/**
 * Batched id allocation. One database round trip hands a client a range of ids
 * (`UPDATE counter SET value = value + n RETURNING value`), so most creates and slice
 * writes cost no trip for their id. Ids lost in a crash are simply never used.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';

export class IdAllocator {
  readonly #db: Kysely<Database>;
  readonly #counter: string;
  readonly #batch: number;
  #next = 0;
  #end = 0; // exclusive
  #refill: Promise<void> | undefined;

  constructor(db: Kysely<Database>, counter: string, batch: number) {
    this.#db = db;
    this.#counter = counter;
    this.#batch = batch;
  }

  /** A fresh id, unique across every client of the volume. */
  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      this.#refill ??= this.#fetch().finally(() => { this.#refill = undefined; });
      await this.#refill;
    }
    return this.#next++;
  }

  async #fetch(): Promise<void> {
    const row = await this.#db.updateTable('counter')
      .set((eb) => ({ value: eb('value', '+', BigInt(this.#batch)) }))
      .where('name', '=', this.#counter)
      .returning('value')
      .executeTakeFirst();
    const last = Number(row?.value ?? Number.NaN);
    if (!Number.isSafeInteger(last)) throw new Error(`counter ${this.#counter} is missing or out of range`);
    this.#next = last - this.#batch + 1;
    this.#end = last + 1;
  }
}
