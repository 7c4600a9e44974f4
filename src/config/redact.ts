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
