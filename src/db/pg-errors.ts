/**
 * Classification of PostgreSQL errors by SQLSTATE (never by message text).
 * pg's DatabaseError and PGlite's adapter both carry the SQLSTATE in `code`.
 */

/** SQLSTATE of an error from pg/PGlite, or undefined for non-database errors. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Serialization failure or deadlock: the transaction can simply run again. */
export function isRetryableConflict(err: unknown): boolean {
  const s = sqlState(err);
  return s === '40001' || s === '40P01';
}

/** Unique violation; `constraint` narrows it to one constraint name. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (sqlState(err) !== '23505') return false;
  return constraint === undefined || (err as { constraint?: string }).constraint === constraint;
}

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * The connection was lost or the server is going away (class 08, admin shutdown 57P01-03),
 * or a socket error: worth retrying on a fresh connection.
 */
export function isConnectionLost(err: unknown): boolean {
  const s = sqlState(err);
  if (s !== undefined) return s.startsWith('08') || s === '57P01' || s === '57P02' || s === '57P03';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
  // pg raises plain Errors for a dropped socket, and pg-pool one for a wait for a free slot that
  // timed out; this is the one place that reads a message, because neither offers a code.
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|Client has encountered a connection error|connection timeout|timeout exceeded when trying to connect/i.test(msg);
}

/** Undefined table: the database has not been formatted (42P01). */
export function isUndefinedTable(err: unknown): boolean {
  return sqlState(err) === '42P01';
}
