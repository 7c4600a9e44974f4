/** Scrubbing of secrets from URLs and objects before they are printed or logged. */

const SECRET_PARAMS = /^(password|secret|secret[-_]?key|secret[-_]?access[-_]?key|access[-_]?key|session[-_]?token|token|sslpassword)$/i;

/** The URL with its password and any secret-looking query parameter replaced by '****'. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not a URL we can parse: mask anything that looks like user:password@.
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:****@');
  }
  if (u.password) u.password = '****';
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) u.searchParams.set(key, '****');
  }
  return u.toString();
}

/** Environment variables whose values are secrets wherever they show up. */
export const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'PGPASSWORD', 'OBJECTFS_META_PASSWORD'] as const;

/** The secret values of an environment (SECRET_ENV entries that are set and not trivially short). */
export function secretsOfEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((k) => env[k]).filter((v): v is string => v !== undefined && v.length >= 4);
}

/**
 * Free text (a log line, an error message) with secrets masked: passwords in any
 * `scheme://user:password@` and every occurrence of a known secret value.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']*):[^\s@/"']*@/gi, '$1:****@');
  for (const s of secrets) if (s !== '') out = out.split(s).join('****');
  return out;
}
