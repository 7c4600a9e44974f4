/**
 * The settings of a running mount and their live changes. A reload (SIGHUP, or a change of the
 * configuration file) applies what can change without unmounting: cache bounds, write buffer,
 * readahead, log level, upload/download rate limits and the metrics endpoint. Changes to any
 * other setting are reported in the log as needing a remount, and the running values stay.
 */
import { diffSettings, type Resolved } from '../config/load.js';
import { kebab, type MountSettings, type SettingKey } from '../config/schema.js';
import { MetricsServer, parseListenAddress, type Metrics } from '../metrics/index.js';
import type { Logger } from '../util/log.js';
import { DEFAULT_READAHEAD } from '../vfs/index.js';
import { DEFAULT_BUFFER, DEFAULT_DISK_CACHE, DEFAULT_MEMORY_CACHE, type Volume } from '../volume/open-volume.js';

/** Ports tried from the default one when it is busy. */
const DEFAULT_PORT_TRIES = 10;

export interface LiveParts {
  readonly volume: Volume;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly resolved: Resolved;
}

export class LiveSettings {
  readonly #p: LiveParts;
  #current: MountSettings;
  #server: MetricsServer | undefined;
  /** The endpoint is at its default address (not chosen by the user): a busy port moves on. */
  #defaultAddress: boolean;

  constructor(parts: LiveParts) {
    this.#p = parts;
    this.#current = parts.resolved.settings;
    this.#defaultAddress = parts.resolved.origin.metrics === 'default';
  }

  /** Where /metrics is served now (HOST:PORT), or undefined. */
  metricsAddress(): string | undefined {
    const a = this.#server?.address;
    return a === undefined ? undefined : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  }

  /**
   * Starts the endpoint the current settings ask for. At the default address, a busy port
   * (another mount on this host) moves to the next free one of the following nine; an address
   * the user chose is used as given. Failing is logged, not fatal: `.stats` still works.
   */
  async startMetrics(): Promise<void> {
    const want = this.#current.metrics;
    if (want === false) return;
    const address = parseListenAddress(want);
    const tries = this.#defaultAddress && address.port !== 0 ? DEFAULT_PORT_TRIES : 1;
    let lastError: unknown;
    for (let i = 0; i < tries && address.port + i <= 65535; i++) {
      try {
        this.#server = await MetricsServer.start(this.#p.metrics, { host: address.host, port: address.port + i });
        return;
      } catch (err) {
        lastError = err;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    this.#p.log.warn('metrics endpoint not started (the .stats file still works)', { address: want, error: (lastError as Error).message });
  }

  /** Applies a new set of settings; see the module comment. */
  async apply(next: Resolved, why: string): Promise<void> {
    const target = next.settings;
    const { live, fixed } = diffSettings(this.#current, target);
    const { volume, log } = this.#p;
    const updated: Record<string, unknown> = { ...this.#current };
    for (const key of live) {
      switch (key) {
        case 'logLevel': log.setLevel(target.logLevel); break;
        case 'memoryCacheSize': volume.memoryCache.resize(target.memoryCacheSize ?? DEFAULT_MEMORY_CACHE); break;
        case 'cacheSize': volume.diskCache?.resize(target.cacheSize ?? DEFAULT_DISK_CACHE); break;
        case 'bufferSize': volume.chunks.setBufferLimit(target.bufferSize ?? DEFAULT_BUFFER); break;
        case 'readahead': volume.vfs.readaheadBytes = target.readahead ?? DEFAULT_READAHEAD; break;
        case 'uploadLimit':
        case 'downloadLimit':
          volume.limits.setLimits({ uploadBytesPerSecond: target.uploadLimit, downloadBytesPerSecond: target.downloadLimit });
          break;
        case 'metrics': break; // below, after the other settings are in force
        default: throw new Error(`setting ${key} is marked live but has no live handler`);
      }
      updated[key] = target[key];
    }
    const metricsChanged = live.includes('metrics');
    if (metricsChanged) this.#defaultAddress = next.origin.metrics === 'default';
    this.#current = Object.freeze(updated) as unknown as MountSettings;
    if (metricsChanged) {
      await this.#server?.close();
      this.#server = undefined;
      await this.startMetrics();
    }
    if (fixed.length > 0) {
      log.warn('changed settings that need a remount were not applied', {
        why, settings: fixed.map((k) => describe(k, this.#current, target)),
      });
    }
    log.info('configuration reloaded', {
      why, applied: live.map((k) => describe(k, this.#current, target)), ...(metricsChanged ? { metrics: this.metricsAddress() ?? 'off' } : {}),
    });
  }

  async close(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }
}

function describe(key: SettingKey, running: MountSettings, wanted: MountSettings): string {
  const show = (v: unknown) => (v === undefined ? 'default' : String(v));
  return running[key] === wanted[key] ? `${kebab(key)}=${show(wanted[key])}` : `${kebab(key)}: ${show(running[key])} (running) → ${show(wanted[key])} (needs remount)`;
}
