/**
 * S3 GETs (whole object or a range) and PUTs sent without the SDK's per-request middleware
 * stack (decision 97). Measured on this project's S3 server, a 4 KiB ranged GetObjectCommand
 * cost the calling thread 2.1 ms of CPU; the same request signed here costs 0.4 ms. Block GETs
 * and PUTs are the data path of a mount (every cache miss is one GET, a random read is nothing
 * else, a small file's close waits for one PUT), and the daemon's one JavaScript thread pays
 * that CPU per request.
 *
 * What the SDK does well it still does, once per store or through its own objects:
 * - the endpoint and addressing style (path or virtual host, the endpoint's own path, AWS's
 *   region hosts) come from a GetObjectCommand stopped after its build step;
 * - credentials come from the client's provider chain (env, profile, role; refreshed by it);
 * - the signature is the SDK's own SigV4 signer (@smithy/signature-v4), at the client's clock
 *   offset, which a clock-skew answer corrects as the SDK would.
 * Errors leave here shaped as the SDK's are (`name` = S3 error code, `$metadata.httpStatusCode`),
 * so classify-s3-error.ts reads them the same way.
 *
 * GETs go over connections of this store's own (get-connections.ts, decision 108), which read
 * each body straight into its buffer; PUTs, whose answers are a few bytes, over node:http.
 */
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash } from 'node:crypto';
import { INCOMPLETE_BODY } from './classify-s3-error.js';
import { connectHost, GetConnections, type GetErrors, type GetTarget, type GetTimeouts } from './get-connections.js';

/** SHA-256 of an empty payload: a GET's x-amz-content-sha256. */
const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** An error (or PUT) answer's body worth reading; anything longer is cut. */
const MAX_SMALL_BODY = 64 * 1024;
/** The SDK's threshold of a skewed clock: 5 minutes. */
const CLOCK_SKEW_MS = 5 * 60_000;
const CLOCK_SKEW_CODES = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture', 'SignatureDoesNotMatch']);

/** Connecting, the response's headers, socket inactivity: the same for GETs and PUTs. */
export type S3RequestTimeouts = GetTimeouts;

export interface S3GetAnswer {
  readonly body: Buffer;
  /** The Content-Range header of a ranged answer. */
  readonly contentRange: string | undefined;
}

/** Where requests for this bucket go: scheme, host, port and the path before the (escaped) key. */
interface Target extends GetTarget {
  readonly pathBeforeKey: string;
}

/** Thrown by the probe command's build step to hand its request out of the SDK. */
class ProbeStop extends Error {
  constructor(readonly target: Target) { super('probe'); }
}

/** Key to URL path, as the SDK escapes S3 keys: each segment, with !'()* too, slashes kept. */
export function escapeKey(key: string): string {
  return key.split('/').map((segment) => encodeURIComponent(segment)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
}

/** An error as the SDK would throw it: classify-s3-error reads name, code and $metadata. */
function s3Error(name: string, message: string, status: number | undefined, extra: object = {}): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, ...extra });
}

/** The `<Code>` and `<Message>` of an S3 XML error body (empty strings when absent). */
export function parseErrorBody(xml: string): { code: string; message: string } {
  const field = (tag: string): string => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1] ?? '';
  return { code: field('Code'), message: field('Message') };
}

/** The S3 error name a bodiless answer (HEAD-like, or a proxy's) stands for. */
function nameOfStatus(status: number): string {
  if (status === 404) return 'NotFound';
  if (status === 403) return 'Forbidden';
  if (status === 416) return 'InvalidRange';
  if (status === 503) return 'ServiceUnavailable';
  if (status >= 500) return 'InternalError';
  return `HTTP${status}`;
}

export class S3Requests {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
  readonly #timeouts: S3RequestTimeouts;
  readonly #signer: SignatureV4;
  readonly #maxSockets: number;
  #target: Promise<Target> | undefined;
  #gets: { readonly target: Target; readonly pool: GetConnections } | undefined;

  constructor(client: S3Client, bucket: string, agents: { http: HttpAgent; https: HttpsAgent }, timeouts: S3RequestTimeouts,
    maxSockets: number) {
    this.#client = client;
    this.#bucket = bucket;
    this.#agents = agents;
    this.#timeouts = timeouts;
    this.#maxSockets = maxSockets;
    this.#signer = new SignatureV4({
      service: 's3',
      region: client.config.region,
      credentials: client.config.credentials,
      sha256: client.config.sha256,
      uriEscapePath: false, // S3 signs the path as sent
      applyChecksum: false,
    });
  }

  /**
   * GETs `key` (the full object key), with `range` ("bytes=a-b") when given, over this store's
   * own connections (get-connections.ts): the body is read straight into the returned buffer.
   */
  async get(key: string, range: string | undefined, signal: AbortSignal | undefined): Promise<S3GetAnswer> {
    signal?.throwIfAborted();
    const target = await this.#resolveTarget();
    const path = target.pathBeforeKey + escapeKey(key);
    const headers = await this.#sign('GET', target, path, range !== undefined ? { range } : {}, EMPTY_PAYLOAD_SHA256);
    const answer = await this.#getConnections(target).get(path, headers, signal, MAX_SMALL_BODY);
    if (answer.status < 200 || answer.status > 299) {
      throw this.#failure(answer.status, answer.headers.get('date'), answer.body.toString('utf8'));
    }
    return { body: answer.body, contentRange: answer.headers.get('content-range') };
  }

  /** Closes the GET connections that are idle (the agents' sockets are the store's to close). */
  close(): void {
    this.#gets?.pool.close();
  }

  /**
   * PUTs `data` as `key`, signed with `sha256` (hex) when given (hashed off the main thread by
   * the caller), else with its hash computed here.
   */
  async put(key: string, data: Buffer, sha256: string | undefined, storageClass: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const headers: Record<string, string> = { 'content-length': String(data.length) };
    if (storageClass !== undefined) headers['x-amz-storage-class'] = storageClass;
    const hash = sha256 ?? createHash('sha256').update(data).digest('hex');
    const response = await this.#request('PUT', key, headers, hash, data, signal);
    // An empty body (or a little XML): read, so that the connection is free again and a reset
    // during it is an error here, not an unheard one.
    await readResponse(response, signal, MAX_SMALL_BODY);
  }

  /** Signs and sends one request; resolves with a 2xx response, or throws the error it stands for. */
  async #request(method: 'PUT', key: string, extraHeaders: Record<string, string>, payloadSha256: string,
    body: Buffer | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    signal?.throwIfAborted();
    const target = await this.#resolveTarget();
    const path = target.pathBeforeKey + escapeKey(key);
    const headers = await this.#sign(method, target, path, extraHeaders, payloadSha256);
    const response = await this.#send(method, target, path, headers, body, signal);
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) {
      let text = '';
      try {
        text = (await readResponse(response, undefined, MAX_SMALL_BODY)).toString('utf8');
      } catch { /* the status alone still says what failed */ }
      throw this.#failure(status, response.headers.date, text);
    }
    return response;
  }

  /** The headers of a request, `host` included, signed at the client's clock offset. */
  async #sign(method: 'GET' | 'PUT', target: Target, path: string, extraHeaders: Record<string, string>,
    payloadSha256: string): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      ...extraHeaders,
      host: target.port === undefined ? target.hostname : `${target.hostname}:${target.port}`,
      'x-amz-content-sha256': payloadSha256,
    };
    const signed = await this.#signer.sign(
      { method, protocol: target.protocol, hostname: target.hostname, port: target.port, path, query: {}, headers },
      { signingDate: new Date(Date.now() + this.#client.config.systemClockOffset) },
    );
    return signed.headers;
  }

  /** The GET connections of `target` (made anew if a new probe found another endpoint). */
  #getConnections(target: Target): GetConnections {
    if (this.#gets?.target !== target) {
      this.#gets?.pool.close();
      this.#gets = { target, pool: new GetConnections(target, this.#timeouts, GET_ERRORS, this.#maxSockets) };
    }
    return this.#gets.pool;
  }

  /** The bucket's endpoint and addressing, asked of the SDK once (again after a failure). */
  #resolveTarget(): Promise<Target> {
    this.#target ??= this.#probe().catch((err: unknown) => {
      this.#target = undefined;
      throw err;
    });
    return this.#target;
  }

  async #probe(): Promise<Target> {
    const probeKey = 'k';
    const command = new GetObjectCommand({ Bucket: this.#bucket, Key: probeKey });
    command.middlewareStack.add(() => (args) => {
      const r = args.request as { protocol: string; hostname: string; port?: number; path: string };
      throw new ProbeStop({ protocol: r.protocol, hostname: r.hostname, port: r.port, pathBeforeKey: r.path.slice(0, -probeKey.length) });
    }, { step: 'build', priority: 'high' });
    try {
      await this.#client.send(command);
    } catch (err) {
      if (err instanceof ProbeStop) return err.target;
      throw err;
    }
    throw new Error('S3 request probe: the SDK sent its request');
  }

  /** Sends the request; resolves with the response once its headers arrived. */
  #send(method: string, target: Target, path: string, headers: Record<string, string>, body: Buffer | undefined,
    signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const https = target.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const { connectMs, responseMs, idleMs } = this.#timeouts;
    return new Promise((resolve, reject) => {
      const req: ClientRequest = send({
        method, hostname: connectHost(target.hostname), port: target.port, path, headers,
        agent: https ? this.#agents.https : this.#agents.http,
        ...(signal !== undefined ? { signal } : {}),
      });
      const timeout = (what: string, ms: number) => () => req.destroy(s3Error('TimeoutError', `${what} took over ${ms} ms`, undefined));
      const responseTimer = setTimeout(timeout('response headers', responseMs), responseMs);
      // Sending or receiving, headers or body: the socket idle too long ends the request.
      req.setTimeout(idleMs, timeout('socket idle', idleMs));
      let connectTimer: NodeJS.Timeout | undefined;
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(timeout('connecting', connectMs), connectMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.once('response', (response) => {
        clearTimeout(responseTimer);
        clearTimeout(connectTimer);
        resolve(response);
      });
      req.on('error', (err) => { // `on`: a socket error after the response must not go unheard
        clearTimeout(responseTimer);
        clearTimeout(connectTimer);
        reject(err);
      });
      req.end(body);
    });
  }

  /** The error an answer other than 2xx stands for; a skewed clock is corrected on the way. */
  #failure(status: number, date: string | undefined, text: string): Error {
    const { code, message } = parseErrorBody(text);
    const name = code !== '' ? code : nameOfStatus(status);
    const extra: Record<string, unknown> = {};
    if (CLOCK_SKEW_CODES.has(name)) {
      const serverTime = Date.parse(date ?? '');
      const offset = serverTime - Date.now();
      if (Number.isFinite(offset) && Math.abs(offset - this.#client.config.systemClockOffset) > CLOCK_SKEW_MS) {
        this.#client.config.systemClockOffset = offset;
        extra.$metadata = { httpStatusCode: status, clockSkewCorrected: true };
      }
    }
    return s3Error(name, message !== '' ? message : `HTTP ${status}`, status, extra);
  }
}

/** The GET connections' failures, shaped as the SDK's (classify-s3-error.ts). */
const GET_ERRORS: GetErrors = {
  incomplete: (message) => s3Error(INCOMPLETE_BODY, message, undefined),
  timeout: (message) => s3Error('TimeoutError', message, undefined),
  aborted: (reason) => s3Error('AbortError', 'the request was aborted', undefined, { cause: reason }),
};

/**
 * A PUT's answer body in one buffer: of its Content-Length when announced, else gathered. A
 * body that ends short, or a connection cut mid-body (a stall past the idle timeout cuts it:
 * #send), is an IncompleteBody error (retried), never a short buffer; an abort of `signal` is
 * an AbortError. `limit` caps an unannounced body.
 */
function readResponse(response: IncomingMessage, signal: AbortSignal | undefined, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const announced = Number(response.headers['content-length']);
  const known = response.headers['content-length'] !== undefined && Number.isSafeInteger(announced) && announced <= limit;
  return new Promise((resolve, reject) => {
    const out = known ? Buffer.allocUnsafe(announced) : undefined;
    const chunks: Buffer[] = [];
    let at = 0;
    let ended = false;
    const fail = (err: Error): void => {
      ended = true;
      response.destroy();
      reject(signal?.aborted === true ? s3Error('AbortError', 'the request was aborted', undefined, { cause: signal.reason }) : err);
    };
    response.on('data', (chunk: Buffer) => {
      if (out !== undefined) {
        if (at + chunk.length > out.length) return fail(s3Error(INCOMPLETE_BODY, `body longer than its announced ${out.length} bytes`, undefined));
        chunk.copy(out, at);
      } else if (at + chunk.length <= limit) chunks.push(chunk);
      at += chunk.length;
    });
    response.on('error', (err) => fail(s3Error(INCOMPLETE_BODY, `body cut off after ${at} bytes: ${err.message}`, undefined, { cause: err })));
    response.once('close', () => {
      if (!ended) fail(s3Error(INCOMPLETE_BODY, `connection closed after ${at} bytes of the body`, undefined));
    });
    response.once('end', () => {
      ended = true;
      if (out === undefined) return resolve(Buffer.concat(chunks));
      // A connection cut mid-body must not return a short block as if it were whole.
      if (at !== out.length) return reject(s3Error(INCOMPLETE_BODY, `body ended after ${at} of ${out.length} bytes`, undefined));
      resolve(out);
    });
  });
}
