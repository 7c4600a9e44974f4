/**
 * LISTEN on a PostgreSQL channel over a dedicated connection (never one of the pool's: a pooled
 * client is handed to other queries and would drop the subscription). The connection is
 * re-established with backoff whenever it is lost; every (re)connection is reported as a reset,
 * because notifications sent while it was down are gone and the listener must assume it missed
 * some. A connection that stops answering without an error (a half-open TCP connection, a stalled
 * LISTEN) would silence notifications for as long as TCP keepalive takes to notice, so setting up
 * is bounded by SETUP_TIMEOUT_MS and an established connection is pinged every PING_EVERY_MS.
 */
import pg from 'pg';
import { within } from '../util/within.js';

export interface ChannelHandlers {
  /** A notification's payload. */
  onMessage(payload: string): void;
  /** Subscribed (again): notifications may have been missed before this point. */
  onReset(): void;
}

export interface ChannelListener {
  close(): Promise<void>;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
const SETUP_TIMEOUT_MS = 15_000;
const PING_EVERY_MS = 10_000;
const PING_TIMEOUT_MS = 5_000;

/** Subscribes to `channel` on the server at `url` until close(). */
export function listenChannel(url: string, channel: string, handlers: ChannelHandlers): ChannelListener {
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let timer: NodeJS.Timeout | undefined;
  /** Pings the current connection; one at a time. */
  let ping: NodeJS.Timeout | undefined;

  const reconnectLater = (): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => { timer = undefined; void connect(); }, retryMs);
    timer.unref();
    retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, keepAlive: true, application_name: 'objectfs-listen', connectionTimeoutMillis: 10_000 });
    client = c;
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      clearInterval(ping);
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      reconnectLater();
    };
    c.on('error', onLost);
    c.on('end', onLost);
    c.on('notification', (m) => { if (m.channel === channel && m.payload !== undefined) handlers.onMessage(m.payload); });
    const setup = (async () => {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    })();
    if (!await within(setup, SETUP_TIMEOUT_MS) || lost) {
      onLost();
      return;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    retryMs = FIRST_RETRY_MS;
    clearInterval(ping);
    ping = setInterval(() => {
      void within(c.query('SELECT 1'), PING_TIMEOUT_MS).then((answered) => { if (!answered && !closed) onLost(); });
    }, PING_EVERY_MS);
    ping.unref();
    handlers.onReset();
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(ping);
      const c = client;
      client = undefined;
      if (c !== undefined) {
        c.removeAllListeners('end');
        c.removeAllListeners('error');
        c.on('error', () => undefined);
        // A silent connection never acknowledges the goodbye: do not wait on it past a moment.
        await within(c.end(), PING_TIMEOUT_MS);
      }
    },
  };
}
