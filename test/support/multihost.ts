/**
 * A bed for multi-host tests: several `objectfs mount` daemons of one volume, each in its own
 * network namespace ("host"), talking over a bridge to a private PostgreSQL and s3rver that run
 * in a "server host" namespace of their own. Nothing is reachable from outside the machine: the
 * servers listen only on an address of a namespace that exists only here, and the machine does
 * not forward packets into it (see docs/decisions.md).
 *
 * Where network namespaces cannot be made (no privileges, no `ip`), or OBJECTFS_TEST_LOOPBACK=1
 * asks for it, every "host" is a process on loopback instead and `mode` says so; the tests
 * print it.
 *
 * The servers are private to the bed, so tests may restart PostgreSQL or stop S3 without
 * disturbing other test files. Everything (processes, mounts, namespaces, links, files) is
 * removed by finish(), and by the reaper if this process dies first (private-bed.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OBJECTFS_BIN, killAll, startDaemon, type Daemon } from './e2e-daemon.js';
import { freshPgDatabase } from './pg.js';
import { startPgCluster, type PgServer } from './pg-cluster.js';
import { createPrivateBed, type PrivateBed } from './private-bed.js';
import { startPrivateS3, type PrivateS3 } from './private-s3.js';

export interface Host {
  readonly name: string;
  /** Its network namespace; undefined in loopback mode. */
  readonly netns: string | undefined;
}

export interface TestVolume {
  readonly metaUrl: string;
  readonly storage: string;
}

export interface MultiHostBed {
  readonly mode: 'netns' | 'loopback';
  /** One line saying how the hosts are connected (printed by the tests). */
  readonly description: string;
  readonly root: string;
  readonly pg: PgServer;
  readonly s3: PrivateS3;
  readonly hosts: readonly Host[];
  /** Formats a fresh volume (its own database and key prefix). */
  newVolume(label: string, blockSize?: string): Promise<TestVolume>;
  /** Mounts `volume` on `host` at a fresh mount point. */
  mount(host: Host, volume: TestVolume, label: string, args?: readonly string[]): Promise<Daemon>;
  /** Cuts `host` off the network (false) or joins it again (true): its veth goes down or up. */
  setLink(host: Host, up: boolean): void;
  /** Kills daemons, unmounts, stops the servers, deletes namespaces and files. */
  finish(): Promise<void>;
}

const BUCKET = 'objectfs-multihost';
/** s3rver's fixed credentials: the bed's clients use them whatever the caller's environment holds. */
export const BED_S3_ENV: NodeJS.ProcessEnv = Object.freeze({
  AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1',
});
const S3_PORT = 9000;
const PG_PORT = 5432;

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });
}

/** A /24 in 10.231.0.0/16 that no interface here uses yet. */
function freeSubnet(): string {
  const used = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 64; i++) {
    const third = 1 + randomBytes(1).readUInt8(0) % 254;
    const net = `10.231.${third}`;
    if (!used.includes(` ${net}.`)) return net;
  }
  throw new Error('no free 10.231.x.0/24 subnet');
}

interface Network {
  readonly serverNetns: string;
  readonly serverAddress: string;
  readonly subnet: string;
  readonly hosts: Host[];
}

/**
 * Takes a name prefix for one bed's bridge, namespaces and links that no other bed on this
 * machine holds: creating the bridge is the claim, since the kernel refuses a second link of
 * one name. Beds of concurrent test files draw from the suite's prefix, and a bed's teardown
 * deletes everything under its own prefix, so two beds must never share one (two did, with a
 * one-byte suffix: the second fell back to loopback and its teardown took the first's network
 * away mid-test). Names stay within 15 bytes: 7 + 4 + a role of 2 + a veth end's 1.
 */
export function claimPrefix(base: string, draw: () => string = () => randomBytes(2).toString('hex')): string {
  for (let attempt = 0; attempt < 16; attempt++) {
    const prefix = `${base}${draw()}`;
    try {
      ip(['link', 'add', `${prefix}br`, 'type', 'bridge']);
      return prefix;
    } catch (e) {
      if (!/File exists/.test((e as { stderr?: Buffer }).stderr?.toString() ?? '')) throw e;
    }
  }
  throw new Error(`no free network name prefix under ${base} after 16 tries`);
}

/**
 * On the bridge `prefix`br (claimPrefix made it) in our namespace (address .1, so this process
 * reaches the servers): a server namespace (.2) and `count` host namespaces (.10, .11 …), each
 * joined by a veth pair.
 */
function makeNetwork(prefix: string, count: number): Network {
  const net = freeSubnet();
  const bridge = `${prefix}br`;
  ip(['addr', 'add', `${net}.1/24`, 'dev', bridge]);
  ip(['link', 'set', bridge, 'up']);
  const join = (role: string, address: string): string => {
    const ns = `${prefix}${role}`;
    ip(['netns', 'add', ns]);
    ip(['link', 'add', `${ns}o`, 'type', 'veth', 'peer', 'name', `${ns}i`]);
    ip(['link', 'set', `${ns}i`, 'netns', ns]);
    ip(['link', 'set', `${ns}o`, 'master', bridge, 'up']);
    ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', `${ns}i`]);
    ip(['-n', ns, 'link', 'set', `${ns}i`, 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  };
  const serverNetns = join('sv', `${net}.2`);
  const hosts = Array.from({ length: count }, (_, i) => ({ name: `host${String.fromCharCode(65 + i)}`, netns: join(`h${i}`, `${net}.${10 + i}`) }));
  return { serverNetns, serverAddress: `${net}.2`, subnet: `${net}.0/24`, hosts };
}

export interface MultiHostOptions {
  /** PostgreSQL settings (default fsync=off, as the suite's server: tests need no durability). */
  readonly pgSettings?: Readonly<Record<string, string>>;
  /**
   * Trash days of the volumes it formats (default 0: the tests were written for deletions that
   * free space at once; benchmarks pass the product's default).
   */
  readonly trashDays?: number;
}

export async function startMultiHostBed(label: string, hostCount: number, options: MultiHostOptions = {}): Promise<MultiHostBed> {
  const bed: PrivateBed = createPrivateBed(`objectfs-${label}-`);
  try {
    const base = process.env['OBJECTFS_TEST_NETNS_PREFIX'] ?? `ofs${randomBytes(2).toString('hex')}`;
    let prefix: string | undefined;
    let network: Network | undefined;
    let why = 'OBJECTFS_TEST_LOOPBACK=1';
    if (process.env['OBJECTFS_TEST_LOOPBACK'] !== '1') {
      try {
        prefix = claimPrefix(base);
        bed.setNetnsPrefix(prefix); // only a claimed prefix: teardown deletes all under it
        network = makeNetwork(prefix, hostCount);
      } catch (e) {
        why = ((e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message).trim();
      }
    }
    const mode = network === undefined ? 'loopback' : 'netns';
    const address = network?.serverAddress ?? '127.0.0.1';
    const pg = await startPgCluster({
      dir: join(bed.root, 'pg'), listen: address, binEnv: 'OBJECTFS_TEST_PG_BIN',
      ...(network ? { port: PG_PORT, netns: network.serverNetns, trustNetwork: network.subnet } : {}),
      settings: options.pgSettings ?? { fsync: 'off' },
      fail: (m) => new Error(`${m}: run bash scripts/setup.sh`),
      onCluster: (c) => bed.setPg(c),
    });
    const s3 = await startPrivateS3(BUCKET, {
      address, onPid: (pid) => bed.setS3Pid(pid),
      ...(network ? { port: S3_PORT, netns: network.serverNetns } : {}),
    });
    const hosts: Host[] = network?.hosts ?? Array.from({ length: hostCount }, (_, i) => ({ name: `host${String.fromCharCode(65 + i)}`, netns: undefined }));
    const description = network !== undefined
      ? `multi-host mode: netns (${hostCount} host namespaces + a server namespace on bridge ${prefix ?? ''}br, ${network.subnet}; PostgreSQL and s3rver at ${address})`
      : `multi-host mode: LOOPBACK FALLBACK (network namespaces unavailable: ${why}); every host is a process on 127.0.0.1`;
    const drops: (() => Promise<void>)[] = [];
    let mounts = 0;
    return {
      mode, description, root: bed.root, pg, s3, hosts,
      async newVolume(volLabel, blockSize = '1M') {
        const db = await freshPgDatabase(volLabel, pg.url);
        drops.push(db.drop);
        const storage = s3.storageUrl(`${volLabel}-${randomBytes(4).toString('hex')}`);
        execFileSync(process.execPath, [OBJECTFS_BIN, 'format', db.url, volLabel, '--storage', storage, '--block-size', blockSize, '--trash-days', String(options.trashDays ?? 0)], { stdio: 'pipe', env: { ...process.env, ...BED_S3_ENV } });
        return { metaUrl: db.url, storage };
      },
      async mount(host, volume, mntLabel, args = []) {
        const dir = join(bed.root, `m${mounts++}-${mntLabel}`);
        mkdirSync(dir);
        const daemon = await startDaemon(volume.metaUrl, join(dir, 'mnt'), join(dir, 'cache'), args, BED_S3_ENV, host.netns);
        bed.addPid(daemon.pid, daemon.mnt);
        return daemon;
      },
      setLink(host, up) {
        if (host.netns === undefined) throw new Error('setLink needs the network-namespace bed');
        ip(['link', 'set', `${host.netns}o`, up ? 'up' : 'down']);
      },
      async finish() {
        await killAll();
        for (const drop of drops) await drop().catch(() => undefined);
        await s3.cleanup().catch(() => undefined);
        const warnings = bed.finish();
        if (warnings.length > 0) process.stderr.write(`multi-host bed teardown: ${warnings.join('; ')}\n`);
      },
    };
  } catch (e) {
    bed.finish();
    throw e;
  }
}
