/**
 * Sends the statements the process runs again and again as named prepared statements, so that
 * the server parses and plans each once per connection instead of on every call (decision 86).
 *
 * Kysely hands pg a text and its parameters; pg then parses it anew each time. A create's
 * statement is a data-modifying CTE whose parse and plan cost the server more than its
 * execution. Naming applies to parameterized texts only (a text without parameters may hold
 * several statements, which the extended protocol refuses), and only from a text's second
 * sighting, so one-off texts (a dump's batch inserts of varying length) never take a name.
 * Names are per process; pg remembers per connection which it has already prepared.
 *
 * A text whose result is `*` is never named: a newer build on another host may migrate the
 * schema under a running mount, and PostgreSQL refuses to run a prepared statement whose result
 * columns changed ("cached plan must not change result type"). Other schema changes only make
 * the server plan the statement again.
 */
import type pg from 'pg';

/** At most this many texts get names: each costs every connection one server-side plan. */
const MAX_NAMED = 500;
/** Texts seen once, waiting for a second sighting (oldest forgotten first). */
const MAX_CANDIDATES = 2000;
/** Longer texts are generated (batches) rather than written, so never repeat exactly. */
const MAX_TEXT_CHARS = 16_384;
/** `SELECT *`, `RETURNING *`, `t.*`: a result whose columns follow the tables'. */
const STAR_RESULT = /\b(?:select|returning)\s+\*|\w\.\*/i;

export class StatementNames {
  readonly #names = new Map<string, string>();
  readonly #seenOnce = new Set<string>();

  /** The name for `text`, once it has been seen before; undefined otherwise. */
  nameOf(text: string): string | undefined {
    const name = this.#names.get(text);
    if (name !== undefined || text.length > MAX_TEXT_CHARS || STAR_RESULT.test(text)) return name;
    if (!this.#seenOnce.delete(text)) {
      this.#seenOnce.add(text);
      if (this.#seenOnce.size > MAX_CANDIDATES) this.#seenOnce.delete(this.#seenOnce.values().next().value as string);
      return undefined;
    }
    if (this.#names.size >= MAX_NAMED) return undefined;
    const given = `objectfs_${this.#names.size}`;
    this.#names.set(text, given);
    return given;
  }

  get size(): number {
    return this.#names.size;
  }
}

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Makes `client.query(text, values)` (Kysely's only call form) use a named statement when
 * `names` gives one; every other call form passes through unchanged.
 */
export function useStatementNames(client: pg.ClientBase, names: StatementNames): void {
  const target = client as unknown as { query: QueryFn };
  const plain = target.query.bind(client) as QueryFn;
  target.query = (...args: unknown[]) => {
    const [text, values] = args;
    if (args.length === 2 && typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const name = names.nameOf(text);
      if (name !== undefined) return plain({ name, text, values });
    }
    return plain(...args);
  };
}
