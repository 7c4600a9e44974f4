/**
 * Ceph's radosgw as the test bed's second S3 implementation (docs/decisions.md, 74): a private
 * one-node cluster in a directory of the runner's temp root. One monitor and one OSD (BlueStore
 * on a sparse file in that directory), pool size 1, cephx off (the daemons talk over
 * 127.0.0.1 only, and what is tested is radosgw's S3, which checks SigV4 signatures whatever
 * the cluster's auth), radosgw with the beast frontend on 127.0.0.1, a user with generated
 * keys and the test bucket. No manager daemon: nothing here needs one.
 *
 * run-tests.ts starts it, in parallel with PostgreSQL and s3rver, when a selected file is a
 * `*.radosgw.test.js`. Every daemon runs in the foreground (-f) in a process group of its own
 * (so a Ctrl-C to the runner's group does not reach it) and is handed to `track` with a marker
 * on its command line (the config path): teardown, and the reaper when the runner dies, SIGKILL
 * them (teardown.ts `pids`) before the directory is removed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './pg-tools.js';

/** What tests get (as OBJECTFS_TEST_RGW_* variables, see test/support/s3.ts). */
export interface RadosgwBed {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Milliseconds from the first command to the bucket's creation. */
  readonly startMs: number;
}

export interface RadosgwOptions {
  /** An empty directory to hold the cluster (created if absent); must not be on tmpfs. */
  readonly dir: string;
  readonly bucket: string;
  /** Called with each daemon's pid and a string on its command line, as soon as it is spawned. */
  readonly track: (pid: number, marker: string) => void;
}

/** A failure of the cluster's start, with the relevant log tails in the message. */
export class RadosgwStartError extends Error {}

/** The whole start, bounded: a cluster that is not up by then is broken, not slow. */
const START_TIMEOUT_MS = 120_000;
const TMPFS_MAGIC = 0x01021994;

/**
 * ceph.conf of the test cluster. Everything in one file (the daemons get `-c` and read nothing
 * from /etc/ceph), each option chosen for a small, fast, single-node throwaway cluster.
 */
export function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = ${dir}/run
log file = ${dir}/log/$name.log
crash dir = ${dir}/crash
# One OSD: every pool keeps one copy, in one placement group, placed on an OSD (not a host).
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# The monitor commits each change within 10 ms instead of 1 s: radosgw creates its seven pools
# one map change after the other at its first start (9 s of the start with the default).
paxos propose interval = 0.01
paxos min wait = 0.001
# A nearly full test machine must not make the monitor shut itself down.
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = ${dir}/mon
# The cluster and audit logs, which default to /var/log/ceph.
mon cluster log file = ${dir}/log/$cluster.$channel.log
admin socket = ${dir}/run/$name.asok

[osd]
osd data = ${dir}/osd
admin socket = ${dir}/run/$name.asok
osd objectstore = bluestore
# BlueStore on a sparse 10 GiB file in osd data (its "block"), without separate DB/WAL devices.
bluestore block create = true
bluestore block size = 10737418240
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mkfs = false
bluestore fsck on mount = false
# Closing the block device waits out one poll of its I/O thread (250 ms by default), and
# mkfs closes and reopens it five times: 1.4 s of mkfs, 0.3 s with 10 ms.
bdev aio poll ms = 10
# Small memory: the smallest target Ceph accepts, and a fixed 64 MiB cache instead of autotuning.
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 67108864
osd op num shards = 1
# No scrubbing in a cluster that lives for minutes.
osd scrub min interval = 31536000
osd scrub max interval = 31536000
osd deep scrub interval = 31536000

[client.rgw]
admin socket = ${dir}/run/$name.asok
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw thread pool size = 16
rgw enable usage log = false
# radosgw asks for an encrypted ("secure") monitor session by default, which needs cephx.
ms mon client mode = crc
`;
}

/** The last `lines` lines of a file, indented for a message; '' when it does not exist. */
function tail(path: string, lines = 15): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n    ');
  return `\n  ${path}:\n    ${text}`;
}

/** Runs a Ceph tool to completion; a failure carries its output. */
function run(program: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { cwd: '/', timeout: timeoutMs, env: cephEnv() }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(notInstalled(program));
      else reject(new RadosgwStartError(`${program} ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n    ${`${stdout}${stderr}`.trim().split('\n').slice(-15).join('\n    ')}`));
    });
  });
}

function notInstalled(program: string): RadosgwStartError {
  return new RadosgwStartError(`${program} is not installed; \`bash scripts/setup.sh\` installs Ceph (ceph-mon, ceph-osd, radosgw, ceph-common)`);
}

/** Our environment without Ceph's own variables, so only our ceph.conf counts. */
function cephEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['CEPH_ARGS', 'CEPH_CONF', 'CEPH_KEYRING']) delete env[name];
  return env;
}

interface Daemon {
  readonly child: ChildProcess;
  /** Rejects (never resolves) when the daemon exits: raced against each step of the start. */
  readonly died: Promise<never>;
}

/** Starts a daemon in the foreground in its own process group, output into `<dir>/log/<name>.out`. */
function daemon(program: string, args: readonly string[], dir: string, name: string, track: RadosgwOptions['track']): Daemon {
  const out = openSync(join(dir, 'log', `${name}.out`), 'a');
  const child = spawn(program, args, { cwd: '/', env: cephEnv(), detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  if (child.pid !== undefined) track(child.pid, join(dir, 'ceph.conf'));
  const died = new Promise<never>((_resolve, reject) => {
    const fail = (how: string) => reject(new RadosgwStartError(
      `${program} ${how} during the start${tail(join(dir, 'log', `${name}.out`))}${tail(join(dir, 'log', `${name}.log`))}`));
    child.once('error', (err) => ((err as NodeJS.ErrnoException).code === 'ENOENT' ? reject(notInstalled(program)) : fail(`could not be run (${err.message})`)));
    child.once('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
  });
  died.catch(() => undefined); // raced later; an exit after a successful start is teardown's business
  return { child, died };
}

/** Resolves once something answers HTTP at `url`. */
async function waitForHttp(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new RadosgwStartError(`radosgw does not answer at ${url}: ${(err as Error).message}`);
      await sleep(100);
    }
  }
}

/** Resolves once the cluster's one OSD is up. */
async function waitForOsdUp(conf: string, deadline: number): Promise<void> {
  for (;;) {
    const stat = JSON.parse(await run('ceph', ['-c', conf, 'osd', 'stat', '-f', 'json'])) as { num_up_osds?: number };
    if (stat.num_up_osds === 1) return;
    if (Date.now() > deadline) throw new RadosgwStartError('the OSD did not come up');
    await sleep(100);
  }
}

/** An S3 access key id: 20 upper-case letters and digits, as AWS's look. */
function accessKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(20)].map((b) => alphabet[b % 32]).join('');
}

/** Starts the cluster, radosgw, the user and the bucket; rejects with the cause and the daemons' log tails. */
export async function startRadosgw(options: RadosgwOptions): Promise<RadosgwBed> {
  try {
    return await start(options);
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    for (const name of ['mon.a', 'osd.0', 'client.rgw']) {
      const log = join(options.dir, 'log', `${name}.log`);
      if (!message.includes(log)) message += tail(log, 8);
    }
    throw new RadosgwStartError(message, { cause: err });
  }
}

async function start(options: RadosgwOptions): Promise<RadosgwBed> {
  const started = Date.now();
  const deadline = started + START_TIMEOUT_MS;
  const { dir, bucket, track } = options;
  for (const sub of ['', 'mon', 'osd', 'run', 'log', 'crash']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  if (statfsSync(dir).type === TMPFS_MAGIC) {
    throw new RadosgwStartError(`${dir} is on tmpfs, where BlueStore cannot open its block file (O_DIRECT); `
      + 'point TMPDIR at a disk-backed directory');
  }
  const conf = join(dir, 'ceph.conf');
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort));
  const daemons: Daemon[] = [];
  /** A step of the start, failing as soon as any daemon started so far exits. */
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, ...daemons.map((d) => d.died)]);

  const osdUuid = randomUUID();
  const monUp = (async () => {
    // The monitor's address comes from its initial map: built from `mon host` alone, the map
    // names the monitor "noname-a" and it binds the default ports 3300 and 6789.
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    daemons.push(daemon('ceph-mon', ['-c', conf, '-i', 'a', '-f'], dir, 'mon.a', track));
  })();
  // The OSD's store is made while the monitor starts: --no-mon-config, it needs nothing of it.
  await Promise.all([monUp, run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid, '--no-mon-config'])]);
  await step(run('ceph', ['-c', conf, '--connect-timeout', '60', 'osd', 'new', osdUuid, '0']));
  daemons.push(daemon('ceph-osd', ['-c', conf, '-i', '0', '-f'], dir, 'osd.0', track));
  // radosgw-admin started before the OSD is up takes seconds longer: its first pool's placement
  // group is created later than for a pool made once the OSD is in the map.
  await step(waitForOsdUp(conf, deadline));
  // Creates the zone, its pools and the user, before radosgw starts: radosgw then finds them all.
  const accessKey = accessKeyId();
  const secretKey = randomBytes(20).toString('hex');
  await step(run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid=objectfs-test', '--display-name=ObjectFS tests',
    `--access-key=${accessKey}`, `--secret-key=${secretKey}`], Math.max(1, deadline - Date.now())));
  daemons.push(daemon('radosgw', ['-c', conf, '-n', 'client.rgw', '-f'], dir, 'client.rgw', track));
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  await step(waitForHttp(endpoint, deadline));
  const client = new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 3,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
  });
  try {
    await step(client.send(new CreateBucketCommand({ Bucket: bucket })));
  } catch (err) {
    if (err instanceof RadosgwStartError) throw err;
    throw new RadosgwStartError(`creating bucket ${bucket} on radosgw failed: ${(err as Error).message}`);
  } finally {
    client.destroy();
  }
  return { endpoint, bucket, accessKeyId: accessKey, secretAccessKey: secretKey, startMs: Date.now() - started };
}
