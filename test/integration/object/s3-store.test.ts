/**
 * S3Store against a real S3-compatible server (s3rver from the test bed; see test/support/s3.ts)
 * and against real misbehaving HTTP endpoints on 127.0.0.1 (closed port, silent server, 500s),
 * so every error path goes through the actual SDK and socket stack.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type RequestListener } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { inspect } from 'node:util';
import { toErrno } from '../../../src/errors.js';
import {
  FaultyStore, ObjectNotFoundError, S3Store, StorageAuthError, StorageUnavailableError,
  listAll, openObjectStore,
} from '../../../src/object/index.js';
import type { ObjectStore, S3StoreOptions } from '../../../src/object/index.js';
import { requireS3Env, testS3Prefix, testS3Url } from '../../support/s3.js';
import { assertMissingBucket } from './missing-bucket.js';
import { objectStoreSuite } from './object-store-suite.js';

const env = requireS3Env(); // throws, loudly, when the test bed is not there
const EIO = 5;

/** Deletes everything under the store's prefix through a fresh store (the tested one may be closed). */
async function wipe(url: string): Promise<void> {
  const store = await openObjectStore(url);
  try {
    const keys: string[] = [];
    for await (const o of listAll(store)) keys.push(o.key);
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => store.delete(k)));
  } finally {
    await store.close();
  }
}

/**
 * Runs `body` with an S3Store (bucket "b", path style, credentials x/y unless `options` say
 * otherwise) on a local HTTP server answering with `handler`; both are closed after.
 */
async function withLocalServer(handler: RequestListener, options: Partial<S3StoreOptions>,
  body: (store: S3Store, port: number) => Promise<void>): Promise<void> {
  const server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const store = new S3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true,
    accessKeyId: 'x', secretAccessKey: 'y', ...options });
  try {
    await body(store, port);
  } finally {
    await store.close();
    server.closeAllConnections();
    server.close();
  }
}

async function s3Sut(hint: string): Promise<{ store: ObjectStore; url: string; cleanup: () => Promise<void> }> {
  const url = testS3Url(hint);
  const store = await openObjectStore(url, { maxAttempts: 3, retryBaseDelayMs: 50 });
  return { store, url, cleanup: async () => { await store.close(); await wipe(url); } };
}

// The test bed's s3rver deviates from S3 in two ways the suite checks (FileStore runs them):
// it lists in on-disk walk order, so "a/b" comes before "a.c", and it answers a ranged GET of a
// zero-length object with Content-Length: 1 and no body. s3-store.radosgw.test.ts runs them on
// radosgw; against another real S3 or MinIO, set OBJECTFS_TEST_S3_STRICT=1 to run them here too.
const quirks = process.env['OBJECTFS_TEST_S3_STRICT'] === '1' ? {} : { mixedSeparatorOrder: false, rangedGetOfEmpty: false };

describe('S3 test bed', () => {
  test('the server can paginate a listing (s3rver needs node --openssl-legacy-provider for this)', async () => {
    const sut = await s3Sut('bed');
    try {
      await Promise.all(['a', 'b', 'c'].map((k) => sut.store.put(k, Buffer.from(k))));
      const page = await sut.store.list({ limit: 1 }).catch((err: unknown) => {
        // s3rver encrypts continuation tokens with DES, which OpenSSL 3 only has in its legacy
        // provider: without it every truncated ListObjectsV2 is a 500 InternalError.
        throw new Error('the S3 test server failed a paginated ListObjectsV2; if it is s3rver, start it with '
          + '`node --openssl-legacy-provider` (see test/support/s3-server.ts)', { cause: err });
      });
      assert.deepEqual(page.objects.map((o) => o.key), ['a']);
      assert.ok(page.next);
    } finally {
      await sut.cleanup();
    }
  });

  test('a PUT cut off mid-body publishes nothing, and a GET right after a PUT sees all of it (as on S3)', async () => {
    // s3rver alone created the object file before the body arrived and answered before it was
    // written (see test/support/s3-server.ts).
    const sut = await s3Sut('read-after-write');
    try {
      const prefix = /^s3:\/\/[^/]+\/([^?]+)/.exec(sut.url)?.[1] ?? assert.fail(`no prefix in ${sut.url}`);
      await new Promise<void>((resolve, reject) => {
        const request = httpRequest(`${env.endpoint}/${env.bucket}/${prefix}cut-off`, {
          method: 'PUT', headers: { 'content-length': '12345' },
        });
        request.on('error', () => resolve()); // the cut, as seen by the client
        request.write(Buffer.alloc(100, 1), (err) => {
          if (err) reject(err);
          else setTimeout(() => request.destroy(), 200); // the server has the headers and 100 bytes
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await sut.store.head('cut-off'), undefined, 'a PUT that never completed left an object behind');

      await Promise.all(Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; i < 25; i++) {
          const body = randomBytes(1 + ((worker * 25 + i) * 7919) % (256 * 1024));
          const key = `probe/${worker}/${i}`;
          await sut.store.put(key, body);
          const got = await sut.store.get(key);
          assert.equal(got.length, body.length, `length of ${key} read right after its put`);
          assert.ok(got.equals(body), `bytes of ${key}`);
        }
      }));
    } finally {
      await sut.cleanup();
    }
  });
});

objectStoreSuite('S3Store', () => s3Sut('suite'), { manyKeys: 2500, pageLimit: 1000, serverPageSize: 1000, ...quirks });

/** Options for a store on the test server with explicit settings. */
function testStoreOptions(extra: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return { bucket: env.bucket, prefix: testS3Prefix('errors'), endpoint: env.endpoint, region: env.region,
    forcePathStyle: true, maxAttempts: 2, retryBaseDelayMs: 10, ...extra };
}

/** A 127.0.0.1 port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('S3Store addressing', () => {
  test('an endpoint from AWS_ENDPOINT_URL_S3 works and defaults to path-style addressing', async () => {
    // The SDK path-styles IP endpoints by itself, so use a host name: virtual-host addressing
    // would ask for "<bucket>.localhost", which does not resolve here.
    const endpoint = env.endpoint.replace('127.0.0.1', 'localhost');
    const url = `s3://${env.bucket}/${testS3Prefix('path-style')}`;
    const store = await openObjectStore(url, { maxAttempts: 1, env: { AWS_ENDPOINT_URL_S3: endpoint } });
    try {
      assert.match(store.describe(), /\(http:\/\/localhost:\d+\)$/);
      await store.put('x', Buffer.from('path-style'));
      assert.deepEqual(await store.get('x'), Buffer.from('path-style'));
    } finally {
      await store.close();
      await wipe(`${url}?endpoint=${encodeURIComponent(env.endpoint)}`);
    }
  });
});

describe('S3Store payload hash', () => {
  test('a put signs with the SHA-256 it is given (computed off the main thread), else with its own', async () => {
    const seen: (string | undefined)[] = [];
    await withLocalServer((req, res) => {
      seen.push(req.headers['x-amz-content-sha256'] as string | undefined);
      req.resume();
      req.on('end', () => { res.writeHead(200); res.end(); });
    }, { maxAttempts: 1 }, async (store) => {
      const body = Buffer.from('payload');
      const given = 'ab'.repeat(32);
      await store.put('with-hash', body, { sha256: given });
      await store.put('without', body);
      assert.deepEqual(seen, [given, createHash('sha256').update(body).digest('hex')]);
    });
  });
});

describe('S3Store list requests', () => {
  test('no limit sends no max-keys (the server pages by its own size); a limit is sent, capped at 1000', async () => {
    const seen: (string | null)[] = [];
    await withLocalServer((req, res) => {
      seen.push(new URL(req.url ?? '/', 'http://x').searchParams.get('max-keys'));
      req.resume();
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>');
    }, { maxAttempts: 1 }, async (store) => {
      await store.list();
      await store.list({ limit: 5 });
      await store.list({ limit: 5000 });
      assert.deepEqual(seen, [null, '5', '1000']);
      await assert.rejects(store.list({ limit: 0 }), RangeError);
    });
  });
});

describe('S3Store errors', () => {
  const secret = 'wrong-secret-0123456789abcdef';

  test('unknown access key → StorageAuthError naming endpoint and source, never the secret', async () => {
    const store = new S3Store(testStoreOptions({ accessKeyId: 'NOT-S3RVER', secretAccessKey: secret }));
    try {
      for (const op of [() => store.put('k', Buffer.from('x')), () => store.get('k'), () => store.list(), () => store.head('k')]) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof StorageAuthError, `got ${inspect(err)}`);
          assert.match(err.message, new RegExp(env.endpoint.replace(/[.]/g, '\\.')));
          assert.match(err.message, /explicit accessKeyId\/secretAccessKey options/);
          assert.ok(!inspect(err, { depth: 20, showHidden: true }).includes(secret), 'secret leaked into the error');
          return true;
        });
      }
    } finally {
      await store.close();
    }
  });

  test('SignatureDoesNotMatch (wrong secret) → StorageAuthError at once, not retried', async () => {
    // s3rver does not verify V4 signatures, so a wrong secret is only caught by a server that
    // answers like S3 does; this one is real HTTP on 127.0.0.1, S3Store parses its reply.
    let requests = 0;
    await withLocalServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we '
        + 'calculated does not match the signature you provided.</Message></Error>');
    }, { accessKeyId: 'S3RVER', secretAccessKey: secret, maxAttempts: 5, retryBaseDelayMs: 2000 }, async (store, port) => {
      for (const op of [() => store.get('k'), () => store.put('k', Buffer.from('x')), () => store.list()]) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof StorageAuthError, `got ${inspect(err)}`);
          assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
          assert.ok(!err.message.includes(secret));
          return true;
        });
      }
      assert.equal(requests, 3, 'an auth error was retried');
    });
  });

  test('util.inspect and JSON.stringify of a store show describe() only', async () => {
    const store = new S3Store(testStoreOptions({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret }));
    try {
      for (const text of [inspect(store, { depth: 20, showHidden: true }), JSON.stringify({ store }), String(store.describe())]) {
        assert.ok(!text.includes(secret), text);
        assert.ok(!text.includes('AKIDEXAMPLE'), text);
        assert.ok(text.includes(`s3://${env.bucket}/test/errors-`), text);
      }
    } finally {
      await store.close();
    }
  });

  test('missing bucket → BucketNotFoundError naming bucket and endpoint', async () => {
    const bucket = `objectfs-missing-${Date.now().toString(36)}`;
    await assertMissingBucket(new S3Store(testStoreOptions({ bucket })), bucket, env.endpoint);
  });

  test('server down (closed port) → StorageUnavailableError (EIO) after the configured attempts, quickly', async () => {
    const store = new S3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true,
      accessKeyId: 'x', secretAccessKey: 'y', maxAttempts: 3, retryBaseDelayMs: 20, connectTimeoutMs: 500 });
    try {
      const started = Date.now();
      await assert.rejects(store.get('k'), (err: unknown) => {
        assert.ok(err instanceof StorageUnavailableError, `got ${inspect(err)}`);
        assert.equal(err.attempts, 3);
        assert.equal(toErrno(err), EIO);
        assert.match(err.message, /ECONNREFUSED/);
        return true;
      });
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    } finally {
      await store.close();
    }
  });

  test('a server that never answers → StorageUnavailableError after the request timeout', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createNetServer((s) => { sockets.add(s); s.on('error', () => {}); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const store = new S3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true,
      accessKeyId: 'x', secretAccessKey: 'y', maxAttempts: 2, retryBaseDelayMs: 10, requestTimeoutMs: 300 });
    try {
      const started = Date.now();
      await assert.rejects(store.list(), StorageUnavailableError);
      const took = Date.now() - started;
      assert.ok(took >= 550 && took < 5000, `took ${took} ms`);
      // GETs and PUTs go their own way (s3-requests.ts): the same timeout applies to them.
      for (const [op, call] of [['GET', () => store.get('k')], ['PUT', () => store.put('k', Buffer.from('x'))]] as const) {
        const opStarted = Date.now();
        await assert.rejects(call(), StorageUnavailableError);
        const opTook = Date.now() - opStarted;
        assert.ok(opTook >= 550 && opTook < 5000, `${op} took ${opTook} ms`);
      }
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  test('a GET body cut short is never returned: it is retried, and the whole body comes back', async () => {
    const body = randomBytes(256 << 10);
    let requests = 0;
    await withLocalServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/b/small')) {
        res.writeHead(200, { 'content-length': '1000', 'content-type': 'application/octet-stream' });
        res.end(body.subarray(0, 1000));
        return;
      }
      requests++;
      res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
      if (requests === 1) {
        res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      } else {
        res.end(body);
      }
    }, { maxAttempts: 3, retryBaseDelayMs: 5 }, async (store) => {
      const got = await store.get('k');
      assert.equal(requests, 2, 'the cut body was fetched again');
      assert.ok(got.equals(body));
      // Not shared memory, which V8 reclaims too late (object/s3-requests.ts).
      assert.ok(!(got.buffer instanceof SharedArrayBuffer));
      assert.ok((await store.get('small')).equals(body.subarray(0, 1000)));
    });
  });

  test('an IPv6 endpoint (http://[::1]:port) works for GETs and PUTs, with the bracketed Host header', async () => {
    const body = randomBytes(300_000);
    const hosts: string[] = [];
    const server = createHttpServer((req, res) => {
      hosts.push(String(req.headers.host));
      req.resume();
      req.on('end', () => {
        if (req.method === 'PUT') res.end();
        else { res.writeHead(200, { 'content-length': String(body.length) }); res.end(body); }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    const { port } = server.address() as { port: number };
    const store = new S3Store({ bucket: 'b', endpoint: `http://[::1]:${port}`, forcePathStyle: true,
      accessKeyId: 'x', secretAccessKey: 'y', maxAttempts: 1 });
    try {
      await store.put('k', Buffer.from('v6'));
      assert.ok((await store.get('k')).equals(body));
      assert.deepEqual(hosts, [`[::1]:${port}`, `[::1]:${port}`]);
    } finally {
      await store.close();
      server.closeAllConnections();
      server.close();
    }
  });

  test('a PUT answer cut off after its headers is retried, never an unheard error', async () => {
    let requests = 0;
    await withLocalServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-length': '100' });
        if (requests === 1) res.write('<partial', () => res.socket?.destroy());
        else res.end('x'.repeat(100));
      });
    }, { maxAttempts: 3, retryBaseDelayMs: 5 }, async (store) => {
      await store.put('k', Buffer.from('payload'));
      assert.equal(requests, 2, 'the cut answer was an error, and the PUT was sent again');
    });
  });

  test('a GET whose body stalls is cut after the idle timeout and retried; the whole body comes back', async () => {
    const body = randomBytes(64 << 10);
    let requests = 0;
    await withLocalServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-length': String(body.length) });
      if (requests === 1) res.write(body.subarray(0, 1000)); // then nothing more
      else res.end(body);
    }, { maxAttempts: 3, retryBaseDelayMs: 5, idleTimeoutMs: 200 }, async (store) => {
      const started = Date.now();
      const got = await store.get('k');
      assert.ok(got.equals(body));
      assert.equal(requests, 2);
      assert.ok(Date.now() - started >= 190, 'the stalled body was waited for up to the idle timeout');
    });
  });

  test('a GET refused for a skewed clock is signed again at the server\'s time, as the SDK does', async () => {
    const serverClock = Date.now() + 3_600_000; // the server is an hour ahead
    const signedAt: string[] = [];
    await withLocalServer((req, res) => {
      const amzDate = String(req.headers['x-amz-date']);
      signedAt.push(amzDate);
      const at = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      if (Math.abs(at - serverClock) > 5 * 60_000) {
        res.writeHead(403, { date: new Date(serverClock).toUTCString(), 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>RequestTimeTooSkewed</Code><Message>skewed</Message></Error>');
        return;
      }
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    }, { maxAttempts: 3, retryBaseDelayMs: 5 }, async (store) => {
      assert.equal((await store.get('k')).toString(), 'ok');
      assert.equal(signedAt.length, 2, 'one refusal, then one request at the corrected clock');
      assert.equal((await store.get('k')).toString(), 'ok');
      assert.equal(signedAt.length, 3, 'the correction is kept for later requests');
    });
  });

  test('keys and prefixes with spaces, unicode and reserved characters round-trip (GET escapes as PUT does)', async () => {
    const store = new S3Store({ bucket: env.bucket, endpoint: env.endpoint, region: env.region, forcePathStyle: true,
      prefix: `${testS3Prefix('escape')}a b+c(1)*é!'/`, maxAttempts: 2, retryBaseDelayMs: 10 });
    try {
      for (const key of ['plain', 'with space/and+plus', "odd !'()*~ é 漢字/x", 'percent%20sign']) {
        const data = Buffer.from(`data of ${key}`);
        await store.put(key, data);
        assert.ok((await store.get(key)).equals(data), key);
        assert.ok((await store.get(key, { offset: 2, length: 3 })).equals(data.subarray(2, 5)), `${key}, ranged`);
      }
      assert.equal((await listAll(store).next()).done, false, 'the keys are under the odd prefix');
    } finally {
      for await (const o of listAll(store)) await store.delete(o.key);
      await store.close();
    }
  });

  test('5xx answers are retried maxAttempts times, then StorageUnavailableError', async () => {
    let requests = 0;
    await withLocalServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>slow down</Message></Error>');
    }, { maxAttempts: 4, retryBaseDelayMs: 5 }, async (store) => {
      await assert.rejects(store.get('k'), (err: unknown) => err instanceof StorageUnavailableError && err.attempts === 4);
      assert.equal(requests, 4);
    });
  });

  test('an abort during backoff ends the retries at once with AbortError', async () => {
    const store = new S3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true,
      accessKeyId: 'x', secretAccessKey: 'y', maxAttempts: 50, retryBaseDelayMs: 1000, retryMaxDelayMs: 1000 });
    try {
      const started = Date.now();
      await assert.rejects(store.get('k', { signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' });
      assert.ok(Date.now() - started < 1500);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await assert.rejects(store.head('k', { signal: ac.signal }), { name: 'AbortError' });
    } finally {
      await store.close();
    }
  });
});

describe('FaultyStore over S3Store', () => {
  const url = testS3Url('faulty');
  after(() => wipe(url));

  test('failNext, failAlways, goDown/comeBack and latency behave as told', async () => {
    const faulty = new FaultyStore(await openObjectStore(url));
    try {
      await faulty.put('f/x', Buffer.from('data'));
      faulty.failNext(2, ['get']);
      await assert.rejects(faulty.get('f/x'), StorageUnavailableError);
      await assert.rejects(faulty.get('f/x'), StorageUnavailableError);
      assert.deepEqual(await faulty.get('f/x'), Buffer.from('data'));
      assert.equal(faulty.injected, 2);

      faulty.failAlways(['put']);
      await assert.rejects(faulty.put('f/y', Buffer.from('y')), (err: unknown) => err instanceof StorageUnavailableError && toErrno(err) === EIO);
      assert.equal(await faulty.head('f/y'), undefined); // the failed put never reached the store
      assert.ok(await faulty.head('f/x'));

      faulty.heal().goDown();
      for (const op of [() => faulty.get('f/x'), () => faulty.list(), () => faulty.delete('f/x'), () => faulty.head('f/x')]) {
        await assert.rejects(op(), StorageUnavailableError);
      }
      faulty.comeBack();
      assert.deepEqual(await faulty.get('f/x'), Buffer.from('data'));
      await assert.rejects(faulty.get('f/none'), ObjectNotFoundError); // real errors still come through

      faulty.setLatency(150);
      const started = Date.now();
      await faulty.head('f/x');
      assert.ok(Date.now() - started >= 140);
      await assert.rejects(faulty.get('f/x', { signal: AbortSignal.timeout(20) }), { name: 'TimeoutError' });
      assert.ok(faulty.calls('get') >= 6);
      assert.match(faulty.describe(), /^faulty\(s3:\/\//);
    } finally {
      await faulty.close();
    }
  });
});
