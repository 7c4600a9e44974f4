/**
 * Storage URLs: what `objectfs format --storage` records in the volume, parsed without I/O.
 * Its own module so that checking a URL (the command line does, before anything runs) loads
 * neither S3 nor file storage.
 *
 * Accepted forms:
 *   s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME&path-style=true|false]
 *   file:///ABSOLUTE/DIR   (or file://localhost/ABSOLUTE/DIR)
 */
import { fileURLToPath } from 'node:url';

/** A parsed storage URL. An S3 prefix is '' or ends with '/'. */
export type StorageUrl =
  | {
    readonly kind: 's3';
    readonly bucket: string;
    readonly prefix: string;
    readonly endpoint?: string;
    readonly region?: string;
    readonly pathStyle?: boolean;
  }
  | { readonly kind: 'file'; readonly dir: string };

/** Query parameters an s3:// URL may carry. */
export const S3_URL_PARAMS = ['endpoint', 'region', 'path-style'] as const;

const ACCEPTED = 'accepted forms: s3://BUCKET[/PREFIX][?endpoint=http://HOST:PORT&region=NAME&path-style=true|false] '
  + 'or file:///ABSOLUTE/DIR';

// Lenient enough for legacy and S3-compatible bucket names (uppercase, '_'), strict enough to
// catch a path or a port pasted in the wrong place.
const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/**
 * Parses a storage URL (pure: no env, no I/O). Throws an Error naming what is wrong and the
 * accepted forms; the message never repeats credentials or query values.
 *
 * @example
 * parseStorageUrl('s3://objectfs/vol1?endpoint=http://127.0.0.1:9000')
 * // → { kind: 's3', bucket: 'objectfs', prefix: 'vol1/', endpoint: 'http://127.0.0.1:9000' }
 */
export function parseStorageUrl(url: string): StorageUrl {
  const fail = (why: string): Error => new Error(`invalid storage URL "${redact(url)}": ${why}; ${ACCEPTED}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fail('not a URL');
  }
  if (u.username !== '' || u.password !== '') {
    throw fail('credentials must not be embedded in the URL (they would be stored in the volume record); '
      + 'use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role');
  }
  if (u.hash !== '') throw fail('a #fragment is not allowed');
  if (u.protocol === 'file:') return parseFileUrl(url, u, fail);
  if (u.protocol === 's3:') return parseS3Url(u, fail);
  throw fail(`unsupported scheme "${u.protocol}"`);
}

function parseFileUrl(raw: string, u: URL, fail: (why: string) => Error): StorageUrl {
  // new URL() resolves "file:dir" and "file://dir/x" to something absolute; insist on the
  // explicit three-slash form so a relative path is never silently re-rooted.
  if (!/^file:\/\/(localhost)?\//i.test(raw)) {
    throw fail('a file URL needs an absolute path with three slashes, e.g. file:///var/lib/objectfs');
  }
  if (u.search !== '') throw fail('file URLs take no query parameters');
  const path = fileURLToPath(u);
  return { kind: 'file', dir: path.length > 1 ? path.replace(/\/+$/, '') : path };
}

function parseS3Url(u: URL, fail: (why: string) => Error): StorageUrl {
  if (u.port !== '') throw fail('the part after s3:// is the bucket name; give a custom server as ?endpoint=http://HOST:PORT');
  const bucket = u.hostname;
  if (bucket === '') throw fail('missing bucket name');
  if (!BUCKET_RE.test(bucket)) throw fail(`"${bucket}" is not a valid bucket name (3-255 letters, digits, '.', '-', '_')`);
  let prefix: string;
  try {
    prefix = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    throw fail('the prefix is not valid percent-encoding');
  }
  if (prefix !== '') {
    if (!prefix.endsWith('/')) prefix += '/';
    if (prefix.slice(0, -1).split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw fail('the prefix must not contain empty, "." or ".." segments');
    }
  }

  let endpoint: string | undefined;
  let region: string | undefined;
  let pathStyle: boolean | undefined;
  for (const name of new Set(u.searchParams.keys())) {
    if (!(S3_URL_PARAMS as readonly string[]).includes(name)) {
      throw fail(`unknown query parameter "${name}" (allowed: ${S3_URL_PARAMS.join(', ')})`);
    }
    const values = u.searchParams.getAll(name);
    if (values.length > 1) throw fail(`query parameter "${name}" given more than once`);
    const value = values[0] ?? '';
    if (name === 'endpoint') endpoint = parseEndpoint(value, fail);
    else if (name === 'region') {
      if (!/^[a-z0-9-]+$/.test(value)) throw fail('region must be a name such as us-east-1');
      region = value;
    } else {
      if (value !== 'true' && value !== 'false') throw fail('path-style must be true or false');
      pathStyle = value === 'true';
    }
  }
  return {
    kind: 's3', bucket, prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(pathStyle !== undefined ? { pathStyle } : {}),
  };
}

function parseEndpoint(value: string, fail: (why: string) => Error): string {
  let e: URL;
  try {
    e = new URL(value);
  } catch {
    throw fail('endpoint must be an absolute URL such as http://127.0.0.1:9000');
  }
  if (e.protocol !== 'http:' && e.protocol !== 'https:') throw fail('endpoint must be an http:// or https:// URL');
  if (e.username !== '' || e.password !== '') throw fail('credentials must not be embedded in the endpoint');
  if (e.search !== '' || e.hash !== '') throw fail('endpoint must not have a query or fragment');
  return e.href.replace(/\/$/, '');
}

/** The URL for messages: no userinfo and no query values (either may hold a secret). */
function redact(url: string): string {
  const noUser = url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
  const q = noUser.search(/[?#]/);
  return q === -1 ? noUser : `${noUser.slice(0, q)}?…`;
}
