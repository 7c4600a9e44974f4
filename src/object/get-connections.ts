/**
 * S3 GETs over keep-alive connections of our own, each answer's body read by the socket
 * straight into the buffer it is returned in (decision 108). node:http hands a body over as
 * 64 KiB chunks, each a new ArrayBuffer, which the caller then copies into the block's buffer:
 * on this project's test machine that cost 1.4 ms of CPU per 4 MiB block, and the chunks'
 * memory made V8 run a full collection about every 15 MiB of a cold read. Reading into the
 * block's own buffer (net's and tls's `onread`) costs 0.37 ms and allocates nothing else.
 *
 * The protocol kept to what a GET answer can be (RFC 9112): a status line and headers (1xx
 * interim answers skipped), then a body framed by Content-Length, by chunked coding, or by the
 * connection's end. A 2xx body of announced length goes straight into its buffer (plain memory:
 * not a SharedArrayBuffer, which the codec worker could read in place, but which V8 reclaims too
 * late: a 2 GiB cold read through S3 peaked at 2.2 GiB of RSS against 0.9); any other
 * body (errors, chunked, unframed) is gathered, an error's up to `smallBodyLimit`. A connection
 * goes back to the pool only after an answer that ended exactly where its framing said, with
 * no `Connection: close`. One sent on a reused connection that the server had closed meanwhile
 * (nothing of an answer came back) is sent once more on a new connection: a GET can be.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';

export interface GetTarget {
  readonly protocol: string;
  /** As in a URL (and as the SDK has it): an IPv6 address in brackets, signed so in the Host header. */
  readonly hostname: string;
  readonly port: number | undefined;
}

/** The host to connect to: a URL's hostname without the brackets of an IPv6 address. */
export function connectHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export interface GetTimeouts {
  readonly connectMs: number;
  /** From sending the request to the answer's headers. */
  readonly responseMs: number;
  /** Socket inactivity during a request, sending or receiving. */
  readonly idleMs: number;
}

export interface GetAnswer {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** What an answer's failure is made into: the caller's error shapes (s3-requests.ts). */
export interface GetErrors {
  /** A body that ended before its framing said (retried by the caller). */
  incomplete(message: string): Error;
  timeout(message: string): Error;
  aborted(reason: unknown): Error;
}

/** Headers longer than this are refused: no S3 answer comes near it. */
const MAX_HEAD_BYTES = 64 * 1024;
const FIRST_HEAD_BYTES = 16 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** A protocol error: the answer is not HTTP/1.1 as a GET's can be. */
function protocolError(message: string): Error {
  return Object.assign(new Error(`malformed HTTP answer: ${message}`), { code: 'EPROTO' });
}

/** The error of a connection closed before any byte of an answer. */
function closedBeforeAnswer(): Error {
  return Object.assign(new Error('the connection closed before an answer'), { code: 'ECONNRESET' });
}

export class GetConnections {
  readonly #target: GetTarget;
  readonly #timeouts: GetTimeouts;
  readonly #errors: GetErrors;
  readonly #maxSockets: number;
  readonly #idle: Connection[] = [];
  readonly #waiting: (() => void)[] = [];
  #active = 0;
  #closed = false;

  constructor(target: GetTarget, timeouts: GetTimeouts, errors: GetErrors, maxSockets: number) {
    this.#target = target;
    this.#timeouts = timeouts;
    this.#errors = errors;
    this.#maxSockets = maxSockets;
  }

  /**
   * Sends `GET path` with `headers` (signed, `host` included) and returns the whole answer,
   * whatever its status. The body of an answer other than 2xx is cut at `smallBodyLimit` (the
   * connection is then closed).
   */
  async get(path: string, headers: Readonly<Record<string, string>>, signal: AbortSignal | undefined,
    smallBodyLimit: number): Promise<GetAnswer> {
    const request = requestText(path, headers);
    const aborted = (): boolean => signal?.aborted === true;
    await this.#slot(signal);
    try {
      if (aborted()) throw this.#errors.aborted(signal?.reason);
      const reused = this.#idle.pop();
      const conn = reused ?? this.#open();
      try {
        return await conn.send(request, signal, smallBodyLimit);
      } catch (err) {
        // The server closed an idle connection as we sent on it: once more, on a new one.
        if (reused === undefined || !(err instanceof NothingReceived) || aborted()) throw unwrap(err);
        return await this.#open().send(request, signal, smallBodyLimit).catch((e: unknown) => { throw unwrap(e); });
      }
    } finally {
      this.#release();
    }
  }

  /** Closes the idle connections; ones in use close as their requests end. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.destroy();
  }

  #open(): Connection {
    return new Connection(this.#target, this.#timeouts, this.#errors, (conn) => {
      if (this.#closed || this.#idle.length >= this.#maxSockets) conn.destroy();
      else this.#idle.push(conn);
    }, (conn) => {
      const at = this.#idle.indexOf(conn);
      if (at >= 0) this.#idle.splice(at, 1);
    });
  }

  async #slot(signal: AbortSignal | undefined): Promise<void> {
    if (this.#active < this.#maxSockets) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(go);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(this.#errors.aborted(signal?.reason));
      };
      const go = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(go);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(); // the slot passes on
    else this.#active--;
  }
}

/** A failure before any byte of an answer came back: the request can be sent again. */
class NothingReceived extends Error {
  constructor(readonly inner: Error) { super(inner.message); }
}

function unwrap(err: unknown): unknown {
  return err instanceof NothingReceived ? err.inner : err;
}

function requestText(path: string, headers: Readonly<Record<string, string>>): string {
  // Signed headers and escaped keys are ours, but a CR or LF in one would split the request.
  const unsafe = /[\r\n]/;
  if (unsafe.test(path)) throw new TypeError('a GET path holds a line break');
  let text = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (unsafe.test(name) || unsafe.test(value)) throw new TypeError(`GET header ${JSON.stringify(name)} holds a line break`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/** What a connection is reading. */
type Phase =
  | { readonly kind: 'idle' }
  | { readonly kind: 'head' }
  /** A body of known length: `buffer` is the answer's, filled in place up to `at`. */
  | { readonly kind: 'sized'; readonly buffer: Buffer; at: number }
  /** A body gathered through the scratch buffer: chunked, unframed, or cut at a limit. */
  | { readonly kind: 'gathered'; readonly decoder: BodyDecoder };

interface Pending {
  resolve(answer: GetAnswer): void;
  reject(err: Error): void;
  readonly smallBodyLimit: number;
  status: number;
  headers: Map<string, string>;
  /** Whether any byte of the answer came back. */
  received: boolean;
  /** Whether the connection may serve another request after this answer. */
  reusable: boolean;
}

class Connection {
  readonly #socket: Socket;
  readonly #timeouts: GetTimeouts;
  readonly #errors: GetErrors;
  readonly #onIdle: (conn: Connection) => void;
  readonly #onGone: (conn: Connection) => void;
  /** Status line and headers land here; gathered bodies pass through it. */
  #head = Buffer.allocUnsafe(FIRST_HEAD_BYTES);
  #headLength = 0;
  #phase: Phase = { kind: 'idle' };
  #pending: Pending | undefined;
  #connected = false;
  #gone = false;
  #responseTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;

  constructor(target: GetTarget, timeouts: GetTimeouts, errors: GetErrors,
    onIdle: (conn: Connection) => void, onGone: (conn: Connection) => void) {
    this.#timeouts = timeouts;
    this.#errors = errors;
    this.#onIdle = onIdle;
    this.#onGone = onGone;
    const https = target.protocol === 'https:';
    const port = target.port ?? (https ? 443 : 80);
    const host = connectHost(target.hostname);
    const onread = { buffer: () => this.#readInto(), callback: (n: number) => this.#receivedSafely(n) };
    this.#socket = https
      ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), onread } as ConnectionOptions)
      : netConnect({ host, port, onread, noDelay: true });
    this.#connectTimer = setTimeout(() => this.#fail(this.#errors.timeout(`connecting took over ${timeouts.connectMs} ms`)), timeouts.connectMs);
    this.#socket.once(https ? 'secureConnect' : 'connect', () => {
      this.#connected = true;
      clearTimeout(this.#connectTimer);
    });
    this.#socket.on('timeout', () => this.#fail(this.#errors.timeout(`socket idle over ${timeouts.idleMs} ms`)));
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('end', () => this.#ended());
    this.#socket.on('close', () => this.#ended());
  }

  send(request: string, signal: AbortSignal | undefined, smallBodyLimit: number): Promise<GetAnswer> {
    if (signal?.aborted === true) { // after the caller's check: rare, and the connection is not kept
      this.destroy();
      return Promise.reject(this.#errors.aborted(signal.reason));
    }
    return new Promise<GetAnswer>((resolve, reject) => {
      const onAbort = (): void => this.#fail(this.#errors.aborted(signal?.reason));
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(this.#responseTimer);
        this.#socket.setTimeout(0);
      };
      this.#pending = {
        resolve: (answer) => { done(); resolve(answer); },
        reject: (err) => { done(); reject(err); },
        smallBodyLimit, status: 0, headers: new Map(), received: false, reusable: true,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#phase = { kind: 'head' };
      this.#headLength = 0;
      this.#socket.ref();
      this.#socket.setTimeout(this.#timeouts.idleMs);
      this.#responseTimer = setTimeout(() => this.#fail(this.#errors.timeout(`response headers took over ${this.#timeouts.responseMs} ms`)), this.#timeouts.responseMs);
      this.#socket.write(request);
    });
  }

  destroy(): void {
    this.#gone = true;
    clearTimeout(this.#connectTimer);
    this.#socket.destroy();
    this.#onGone(this);
  }

  /** Where the socket's next read goes: the answer's own buffer while a sized body arrives. */
  #readInto(): Uint8Array {
    const phase = this.#phase;
    if (phase.kind === 'sized') return phase.buffer.subarray(phase.at);
    if (phase.kind === 'gathered') return this.#head;
    return this.#head.subarray(this.#headLength);
  }

  /** #received, whose failure (a body too large to allocate …) fails the request, never the process. */
  #receivedSafely(n: number): boolean {
    try {
      return this.#received(n);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  #received(n: number): boolean {
    const pending = this.#pending;
    if (pending === undefined) { // bytes while idle: the connection is no longer in step
      this.destroy();
      return false;
    }
    pending.received = true;
    const phase = this.#phase;
    if (phase.kind === 'sized') {
      phase.at += n;
      if (phase.at === phase.buffer.length) this.#complete(phase.buffer);
    } else if (phase.kind === 'gathered') {
      this.#gather(phase.decoder, this.#head.subarray(0, n));
    } else {
      this.#headLength += n;
      this.#parseHead(n);
    }
    return true;
  }

  /** Looks for the end of the headers among the bytes just read, and starts the body. */
  #parseHead(justRead: number): void {
    const end = this.#head.subarray(0, this.#headLength).indexOf(CRLFCRLF, Math.max(0, this.#headLength - justRead - 3));
    if (end < 0) {
      if (this.#headLength < this.#head.length) return;
      if (this.#head.length >= MAX_HEAD_BYTES) return this.#fail(protocolError(`headers over ${MAX_HEAD_BYTES} bytes`));
      const larger = Buffer.allocUnsafe(this.#head.length * 2);
      this.#head.copy(larger, 0, 0, this.#headLength);
      this.#head = larger;
      return;
    }
    const pending = this.#pending!;
    const parsed = parseHead(this.#head.toString('latin1', 0, end));
    if (parsed instanceof Error) return this.#fail(parsed);
    const rest = this.#head.subarray(end + 4, this.#headLength);
    if (parsed.status >= 100 && parsed.status < 200) {
      // An interim answer (100 Continue …): the real one follows.
      rest.copy(this.#head, 0);
      this.#headLength = rest.length;
      if (rest.length > 0) this.#parseHead(rest.length);
      return;
    }
    clearTimeout(this.#responseTimer);
    pending.status = parsed.status;
    pending.headers = parsed.headers;
    if (!parsed.keepAlive) pending.reusable = false;
    const limit = parsed.status >= 200 && parsed.status < 300 ? Number.POSITIVE_INFINITY : pending.smallBodyLimit;
    const chunked = /(^|,)\s*chunked\s*$/i.test(parsed.headers.get('transfer-encoding') ?? '');
    const length = parsed.headers.get('content-length');
    if (parsed.status === 204 || parsed.status === 304) return this.#startSized(0, rest);
    if (chunked) return this.#startGathered(new BodyDecoder('chunked', limit), rest);
    if (length !== undefined) {
      if (!/^\d+$/.test(length.trim())) return this.#fail(protocolError(`Content-Length "${length}"`));
      const size = Number(length);
      if (!Number.isSafeInteger(size)) return this.#fail(protocolError(`Content-Length "${length}"`));
      if (size <= limit) return this.#startSized(size, rest);
      // A long error body: its start is enough, and the connection is not worth keeping.
      pending.reusable = false;
      return this.#startSized(limit, rest);
    }
    pending.reusable = false; // framed by the connection's end
    this.#startGathered(new BodyDecoder('until-end', limit), rest);
  }

  #startSized(size: number, rest: Buffer): void {
    const buffer = Buffer.allocUnsafe(size);
    const first = Math.min(rest.length, size);
    rest.copy(buffer, 0, 0, first);
    if (rest.length > size) this.#pending!.reusable = false; // more than the answer: out of step
    if (first === size) return this.#complete(buffer);
    this.#phase = { kind: 'sized', buffer, at: first };
  }

  #startGathered(decoder: BodyDecoder, rest: Buffer): void {
    this.#phase = { kind: 'gathered', decoder };
    this.#gather(decoder, rest);
  }

  #gather(decoder: BodyDecoder, bytes: Buffer): void {
    const outcome = decoder.push(bytes);
    if (outcome instanceof Error) return this.#fail(outcome);
    if (outcome === 'more') return;
    if (outcome === 'cut' || outcome === 'overrun') this.#pending!.reusable = false;
    this.#complete(decoder.body());
  }

  #complete(body: Buffer): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    this.#phase = { kind: 'idle' };
    this.#headLength = 0;
    pending.resolve({ status: pending.status, headers: pending.headers, body });
    if (!pending.reusable || this.#gone) return this.destroy();
    this.#socket.unref(); // an idle connection keeps no process alive
    this.#onIdle(this);
  }

  /** The server ended the connection: the end of an unframed body, else a failure. */
  #ended(): void {
    const phase = this.#phase;
    if (this.#pending !== undefined && phase.kind === 'gathered' && phase.decoder.mode === 'until-end') {
      this.#complete(phase.decoder.body());
      return;
    }
    if (this.#pending === undefined) {
      this.destroy(); // an idle connection closed by the server: out of the pool
      return;
    }
    this.#fail(this.#pending.received
      ? this.#errors.incomplete(this.#phase.kind === 'sized'
        ? `connection closed after ${this.#phase.at} of ${this.#phase.buffer.length} bytes of the body`
        : 'connection closed during the answer')
      : closedBeforeAnswer());
  }

  #fail(err: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#phase = { kind: 'idle' };
    this.destroy();
    if (pending === undefined) return;
    // Nothing came back, and nothing was wrong with the request itself: it can be sent again.
    const again = !pending.received && this.#connected && (err as { code?: unknown }).code !== undefined;
    pending.reject(again ? new NothingReceived(err) : err);
  }
}

interface ParsedHead {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly keepAlive: boolean;
}

/** The status line and headers of an answer (latin1 text, without the blank line). */
export function parseHead(text: string): ParsedHead | Error {
  const lines = text.split('\r\n');
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (statusLine === null) return protocolError(`status line "${(lines[0] ?? '').slice(0, 80)}"`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return protocolError(`header line "${line.slice(0, 80)}"`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const keepAlive = statusLine[1] === '1' ? !/(^|,)\s*close\s*(,|$)/.test(connection) : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
  return { status: Number(statusLine[2]), headers, keepAlive };
}

/**
 * A body that is not read in place: chunked coding (RFC 9112 §7.1, trailers skipped) or
 * everything until the connection ends. Keeps at most `limit` bytes.
 */
export class BodyDecoder {
  readonly #parts: Buffer[] = [];
  #kept = 0;
  #cut = false;
  /** chunked: the size or trailer line being read, the bytes left of a chunk, or its CRLF. */
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  #line = '';
  #left = 0;

  constructor(readonly mode: 'chunked' | 'until-end', readonly limit: number) {}

  /** Takes the next bytes (copied: the caller reuses its buffer). */
  push(bytes: Buffer): 'more' | 'done' | 'cut' | 'overrun' | Error {
    if (this.mode === 'until-end') {
      this.#keep(bytes);
      return this.#cut ? 'cut' : 'more';
    }
    let at = 0;
    while (at < bytes.length) {
      if (this.#state === 'data') {
        const take = Math.min(this.#left, bytes.length - at);
        this.#keep(bytes.subarray(at, at + take));
        at += take;
        this.#left -= take;
        if (this.#left === 0) this.#state = 'data-end';
        if (this.#cut) return 'cut';
        continue;
      }
      if (this.#state === 'done') return 'overrun';
      const lf = bytes.indexOf(10, at);
      const end = lf < 0 ? bytes.length : lf + 1;
      this.#line += bytes.toString('latin1', at, end);
      at = end;
      if (this.#line.length > 4096) return protocolError('chunk line over 4096 bytes');
      if (lf < 0) continue;
      const line = this.#line.replace(/\r?\n$/, '');
      this.#line = '';
      if (this.#state === 'data-end') {
        if (line !== '') return protocolError('chunk not followed by CRLF');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = /^([0-9a-fA-F]{1,13})\s*(;.*)?$/.exec(line);
        if (size === null) return protocolError(`chunk size "${line.slice(0, 40)}"`);
        this.#left = Number.parseInt(size[1]!, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#state = 'done'; // the blank line after the trailers
        if (at < bytes.length) return 'overrun';
      }
    }
    return this.#state === 'done' ? 'done' : 'more';
  }

  body(): Buffer {
    return this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#kept);
  }

  #keep(bytes: Buffer): void {
    const room = this.limit - this.#kept;
    if (bytes.length > room) this.#cut = true;
    const kept = bytes.subarray(0, Math.max(0, Math.min(room, bytes.length)));
    if (kept.length === 0) return;
    this.#parts.push(Buffer.from(kept));
    this.#kept += kept.length;
  }
}
