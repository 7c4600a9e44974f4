/**
 * GetConnections (src/object/get-connections.ts) against real sockets on 127.0.0.1: scripted
 * servers that answer byte by byte, in chunked coding, with interim answers, cut short, or
 * not at all, and a TLS server. Every answer is checked byte for byte, and every connection
 * the client opens is counted on the server's side.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { GetConnections, type GetErrors } from '../../../src/object/get-connections.js';

const execFileP = promisify(execFile);
const ERRORS: GetErrors = {
  incomplete: (message) => Object.assign(new Error(message), { name: 'IncompleteBody' }),
  timeout: (message) => Object.assign(new Error(message), { name: 'TimeoutError' }),
  aborted: () => Object.assign(new Error('aborted'), { name: 'AbortError' }),
};
const TIMEOUTS = { connectMs: 2000, responseMs: 2000, idleMs: 2000 };
/** The fixtures' certificate authority signed localhost.crt (127.0.0.1, valid 2000–2100). */
const TLS_FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'tls');
const SMALL = 64 * 1024;

/** Answers each request of each connection with `answer(socket, request number on this connection, overall)`. */
async function scripted(answer: (socket: Socket, nth: number, overall: number) => void | Promise<void>,
  body: (pool: GetConnections, stats: { connections: number; requests: number; port: number; sockets: Set<Socket> }) => Promise<void>,
  options: { maxSockets?: number; server?: Server; timeouts?: typeof TIMEOUTS } = {}): Promise<void> {
  const server = options.server ?? createNetServer();
  const tls = server instanceof TlsServer;
  const sockets = new Set<Socket>();
  const stats = { connections: 0, requests: 0, port: 0, sockets };
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    stats.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    let seen = '';
    let nth = 0;
    socket.on('data', (data: Buffer) => {
      seen += data.toString('latin1');
      for (let end = seen.indexOf('\r\n\r\n'); end >= 0; end = seen.indexOf('\r\n\r\n')) {
        seen = seen.slice(end + 4);
        stats.requests++;
        void answer(socket, nth++, stats.requests);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  stats.port = port;
  const pool = new GetConnections({ protocol: tls ? 'https:' : 'http:', hostname: '127.0.0.1', port }, options.timeouts ?? TIMEOUTS, ERRORS,
    options.maxSockets ?? 8);
  try {
    await body(pool, stats);
  } finally {
    pool.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const get = (pool: GetConnections, path = '/k', signal?: AbortSignal) => pool.get(path, { host: 'h', range: 'bytes=0-' }, signal, SMALL);

function ok(body: Buffer, extra = ''): Buffer {
  return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n`), body]);
}

/** Writes `bytes` in pieces of `size` bytes, each in its own TCP segment. */
async function dribble(socket: Socket, bytes: Buffer, size: number): Promise<void> {
  for (let at = 0; at < bytes.length && !socket.destroyed; at += size) {
    socket.write(bytes.subarray(at, at + size));
    await new Promise((r) => setImmediate(r));
  }
}

describe('GetConnections', () => {
  test('a body read in place is whole, and one keep-alive connection serves request after request', async () => {
    const bodies = [randomBytes(4 << 20), randomBytes(1), randomBytes(65_537), Buffer.alloc(0), randomBytes(300_000)];
    await scripted((socket, nth) => { socket.write(ok(bodies[nth]!, 'x-amz-request-id: r\r\n')); }, async (pool, stats) => {
      for (const body of bodies) {
        const answer = await get(pool);
        assert.equal(answer.status, 200);
        assert.ok(answer.body.equals(body));
        assert.equal(answer.headers.get('x-amz-request-id'), 'r');
        assert.ok(!(answer.body.buffer instanceof SharedArrayBuffer));
      }
      assert.equal(stats.connections, 1);
    });
  });

  test('headers a byte at a time, the body starting in the headers\' segment, odd pieces after', async () => {
    const body = randomBytes(200_000);
    await scripted(async (socket) => {
      const whole = ok(body, 'Content-Range: bytes 0-199999/200000\r\nX-Long: ' + 'v'.repeat(20_000) + '\r\n');
      const head = whole.length - body.length;
      await dribble(socket, whole.subarray(0, head - 2), 1);
      socket.write(whole.subarray(head - 2, head + 777)); // the blank line and the body's start together
      await dribble(socket, whole.subarray(head + 777), 9_999);
    }, async (pool) => {
      for (let i = 0; i < 2; i++) {
        const answer = await get(pool);
        assert.ok(answer.body.equals(body));
        assert.equal(answer.headers.get('content-range'), 'bytes 0-199999/200000');
        assert.equal(answer.headers.get('x-long')?.length, 20_000);
      }
    });
  });

  test('interim 1xx answers are skipped; repeated headers are joined', async () => {
    await scripted((socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nx: 1\r\n\r\n');
      socket.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\nX-Twice: a\r\nx-twice: b\r\n\r\nabc');
    }, async (pool) => {
      const answer = await get(pool);
      assert.equal(answer.status, 206);
      assert.equal(answer.body.toString(), 'abc');
      assert.equal(answer.headers.get('x-twice'), 'a, b');
    });
  });

  test('a chunked answer (extensions, trailers) is decoded, and its connection used again', async () => {
    const xml = '<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>';
    await scripted(async (socket, nth) => {
      if (nth > 0) return void socket.write(ok(Buffer.from('next')));
      const wire = `HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n${(xml.length - 10).toString(16)};ext=1\r\n${xml.slice(0, -10)}\r\n`
        + `a\r\n${xml.slice(-10)}\r\n0\r\nx-trailer: t\r\n\r\n`;
      await dribble(socket, Buffer.from(wire), 7);
    }, async (pool, stats) => {
      const answer = await get(pool);
      assert.equal(answer.status, 404);
      assert.equal(answer.body.toString(), xml);
      assert.equal((await get(pool)).body.toString(), 'next');
      assert.equal(stats.connections, 1);
    });
  });

  test('a body without length ends with the connection; Connection: close and HTTP/1.0 are not kept', async () => {
    const body = randomBytes(100_000);
    await scripted((socket, _nth, overall) => {
      if (overall === 1) socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), body]));
      else if (overall === 2) socket.write(ok(Buffer.from('closing'), 'Connection: close\r\n'));
      else if (overall === 3) socket.write(ok(Buffer.from('old'), '').toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'));
      else socket.write(ok(Buffer.from('last')));
    }, async (pool, stats) => {
      assert.ok((await get(pool)).body.equals(body));
      assert.equal((await get(pool)).body.toString(), 'closing');
      assert.equal((await get(pool)).body.toString(), 'old');
      assert.equal((await get(pool)).body.toString(), 'last');
      assert.equal(stats.connections, 4);
    });
  });

  test('a connection the server closed while idle is left; a request it dropped unanswered is sent once more', async () => {
    await scripted((socket, _nth, overall) => {
      if (overall === 1) socket.end(ok(Buffer.from('one'))); // answered, then closed
      else if (overall === 3) socket.destroy(); // read, never answered
      else socket.write(ok(Buffer.from(`answer ${overall}`)));
    }, async (pool, stats) => {
      assert.equal((await get(pool)).body.toString(), 'one');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await get(pool)).body.toString(), 'answer 2');
      assert.equal((await get(pool)).body.toString(), 'answer 4', 'the dropped request went again');
      assert.equal(stats.requests, 4);
      assert.equal(stats.connections, 3);
    });
  });

  test('a body cut short is an incomplete-body error, never a short buffer', async () => {
    const body = randomBytes(1 << 20);
    await scripted((socket) => {
      const whole = ok(body);
      socket.write(whole.subarray(0, whole.length - 1000), () => socket.destroy());
    }, async (pool) => {
      await assert.rejects(get(pool), { name: 'IncompleteBody', message: /connection closed after \d+ of 1048576 bytes/ });
    });
  });

  test('malformed answers fail with EPROTO: a bad status line, headers over 64 KiB, a bad length, a bad chunk', async () => {
    const answers = [
      'HTTP/2 200 OK\r\n\r\n',
      `HTTP/1.1 200 OK\r\nx: ${'y'.repeat(70_000)}\r\n\r\n`,
      'HTTP/1.1 200 OK\r\ncontent-length: 12x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
    ];
    await scripted((socket, _nth, overall) => { socket.write(answers[overall - 1]!); }, async (pool) => {
      for (const _ of answers) await assert.rejects(get(pool), { code: 'EPROTO' });
    });
  });

  test('a body too large to allocate fails its request, not the process', async () => {
    await scripted((socket, _nth, overall) => {
      socket.write(overall === 1 ? `HTTP/1.1 200 OK\r\ncontent-length: ${2 ** 52}\r\n\r\nxyz` : ok(Buffer.from('fine')));
    }, async (pool, stats) => {
      await assert.rejects(get(pool), RangeError);
      assert.equal((await get(pool)).body.toString(), 'fine');
      assert.equal(stats.connections, 2);
    });
  });

  test('bytes past the announced length do not reach the next answer: that connection is closed', async () => {
    await scripted((socket, _nth, overall) => {
      socket.write(overall === 1 ? Buffer.concat([ok(Buffer.from('exact')), Buffer.from('HTTP/1.1 200 OK\r\n')]) : ok(Buffer.from('fresh')));
    }, async (pool, stats) => {
      assert.equal((await get(pool)).body.toString(), 'exact');
      assert.equal((await get(pool)).body.toString(), 'fresh');
      assert.equal(stats.connections, 2);
    });
  });

  test('a long error body is cut at the small-body limit and its connection closed', async () => {
    await scripted((socket, _nth, overall) => {
      const body = Buffer.alloc(overall === 1 ? 200_000 : 3, 'e');
      socket.write(overall === 1 ? `HTTP/1.1 500 Internal\r\ncontent-length: ${body.length}\r\n\r\n` : 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n');
      socket.write(body);
    }, async (pool, stats) => {
      const answer = await get(pool);
      assert.equal(answer.status, 500);
      assert.equal(answer.body.length, SMALL);
      assert.equal((await get(pool)).body.toString(), 'eee');
      assert.equal(stats.connections, 2);
    });
  });

  test('an abort mid-body ends the request at once; a silent server times out; the pool goes on', async () => {
    const body = randomBytes(1 << 20);
    await scripted((socket, _nth, overall) => {
      if (overall === 1) socket.write(ok(body).subarray(0, 100_000)); // then silence
      else if (overall === 2) return; // silence from the start
      else socket.write(ok(body));
    }, async (pool, stats) => {
      const controller = new AbortController();
      const pending = get(pool, '/k', controller.signal);
      await new Promise((r) => setTimeout(r, 100));
      controller.abort();
      await assert.rejects(pending, { name: 'AbortError' });
      await assert.rejects(get(pool, '/k', AbortSignal.abort()), { name: 'AbortError' }, 'aborted before it was sent');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(stats.requests, 1, 'nothing sent for it');
      assert.equal(stats.connections, 1, 'and no connection opened for it');
      const started = Date.now();
      await assert.rejects(get(pool), { name: 'TimeoutError', message: /response headers took over 300 ms/ });
      assert.ok(Date.now() - started >= 280);
      assert.ok((await get(pool)).body.equals(body));
    }, { timeouts: { connectMs: 2000, responseMs: 300, idleMs: 2000 } });
  });

  test('no more than maxSockets connections at once; the others wait their turn', async () => {
    let inFlight = 0;
    let most = 0;
    await scripted(async (socket, _nth, overall) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      socket.write(ok(Buffer.from(`n${overall}`)));
    }, async (pool, stats) => {
      const answers = await Promise.all(Array.from({ length: 9 }, () => get(pool)));
      assert.deepEqual(answers.map((a) => a.body.toString()).sort(), Array.from({ length: 9 }, (_, i) => `n${i + 1}`).sort());
      assert.equal(most, 2);
      assert.equal(stats.connections, 2);
    }, { maxSockets: 2 });
  });

  test('an idle connection keeps no process alive; close() ends the idle ones', async () => {
    await scripted((socket) => { socket.write(ok(Buffer.from('x'))); }, async (pool, stats) => {
      // A process that made a GET and never closed its pool still exits by itself.
      const module = new URL('../../../src/object/get-connections.js', import.meta.url).href;
      const script = `
        const { GetConnections } = await import(${JSON.stringify(module)});
        const errors = { incomplete: (m) => new Error(m), timeout: (m) => new Error(m), aborted: () => new Error('aborted') };
        const pool = new GetConnections({ protocol: 'http:', hostname: '127.0.0.1', port: ${stats.port} }, { connectMs: 2000, responseMs: 2000, idleMs: 60000 }, errors, 4);
        console.log((await pool.get('/k', { host: 'h' }, undefined, 1024)).body.toString());`;
      const started = Date.now();
      const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
      assert.equal(stdout.trim(), 'x');
      assert.ok(Date.now() - started < 10_000, `the child exited after ${Date.now() - started} ms`);
      // Here: the idle connection is closed by close(), which the server sees.
      assert.equal((await get(pool)).body.toString(), 'x');
      let closed = false;
      const open = [...(stats.sockets)].filter((sk) => !sk.destroyed && sk.remotePort !== undefined);
      const last = open[open.length - 1]!;
      last.once('close', () => { closed = true; });
      pool.close();
      for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(closed, 'the idle connection was closed');
    });
  });

  test('over TLS, with a certificate trusted through NODE_EXTRA_CA_CERTS (in a child process)', async () => {
    const server = createTlsServer({ key: readFileSync(join(TLS_FIXTURES, 'localhost.key')), cert: readFileSync(join(TLS_FIXTURES, 'localhost.crt')) });
    const body = randomBytes(3 << 20);
    await scripted((socket) => { socket.write(ok(body)); }, async (_pool, stats) => {
      const port = stats.port;
      const module = new URL('../../../src/object/get-connections.js', import.meta.url).href;
      const script = `
        const { GetConnections } = await import(${JSON.stringify(module)});
        const { createHash } = await import('node:crypto');
        const errors = { incomplete: (m) => new Error(m), timeout: (m) => new Error(m), aborted: () => new Error('aborted') };
        const pool = new GetConnections({ protocol: 'https:', hostname: '127.0.0.1', port: ${port} }, { connectMs: 2000, responseMs: 2000, idleMs: 2000 }, errors, 4);
        const hashes = [];
        for (let i = 0; i < 3; i++) hashes.push(createHash('sha256').update((await pool.get('/k', { host: 'h' }, undefined, 1024)).body).digest('hex'));
        pool.close();
        console.log(JSON.stringify(hashes));`;
      const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(TLS_FIXTURES, 'ca.crt') } });
      const expected = createHash('sha256').update(body).digest('hex');
      assert.deepEqual(JSON.parse(stdout), [expected, expected, expected]);
      assert.equal(stats.connections, 1);
    }, { server });
  });
});
