/**
 * The fault battery (issue 16): two hosts of one volume (mount processes in their own network
 * namespaces; loopback when namespaces are unavailable, and the output says which), each
 * running creates, writes with fsync, renames, deletes and reads, while in turn PostgreSQL is
 * restarted (fast, then immediate), is down for 5 s, is down for longer than the metadata
 * retry budget, S3 stops for 30 s, the disk cache directory of one host is removed, and one
 * mount is killed with -9. PostgreSQL and s3rver are private to this file, so no other test is
 * disturbed. After each fault, with the workload stopped:
 *
 *  - every acknowledged file (fsync and close succeeded) reads back byte-identical on the other
 *    host; a rename or delete whose outcome was an error left exactly one of the two names or
 *    the file whole; a file whose write failed holds a prefix of what was written, or nothing;
 *    and no name nobody made appears;
 *  - no system call took longer than twice the retry budget that applies plus a margin (the
 *    kernel asks a second time after some failures, see metaBound);
 *  - the only errors were EIO (and, on the mount that was killed, ENOTCONN, ECONNABORTED, or
 *    ENOENT once fusermount3 took its mount point away), and where the fault
 *    outlasts the budget they did happen;
 *  - `objectfs fsck` says healthy without --repair (usage counters included);
 *  - `objectfs status` lists exactly the live mounts as live.
 *
 * Mounts run with --meta-retry-timeout 8s and --session-timeout 6s, so a fault longer than the
 * budget fits in seconds, and an outage is longer than the session timeout (no live session may
 * be reaped because of it). Host B has --io-retries 40: it waits the S3 outage out, A fails fast.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../support/cli.js';
import { alive, type Daemon } from '../../support/e2e-daemon.js';
import { run } from '../../support/e2e-sh.js';
import { emptyState, type Content, type DirReport, type DirState, type WorkloadStart } from '../../support/fault-workload.js';
import { BED_S3_ENV, startMultiHostBed, type Host, type MultiHostBed, type TestVolume } from '../../support/multihost.js';
import { namedBytes, outcome, percentile, statusSessions } from './mh-helpers.js';

const META_BUDGET_MS = 8_000;
const MOUNT_ARGS = ['--meta-retry-timeout', `${META_BUDGET_MS / 1000}s`, '--session-timeout', '6s'];
/** What a system call may take beyond the budget that applies (scheduling on a loaded machine). */
const MARGIN_MS = 7_000;
const S3_OUTAGE_MS = 30_000;
const WORKLOAD = fileURLToPath(new URL('../../support/fault-workload.js', import.meta.url));

let bed: MultiHostBed;
let vol: TestVolume;

interface Mount { readonly label: 'A' | 'B'; readonly host: Host; daemon: Daemon }
const mounts: Mount[] = [];
/** Daemons the battery killed on purpose. */
const killed = new Set<number>();

before(async () => {
  bed = await startMultiHostBed('faults', 2);
  process.stdout.write(`# ${bed.description}\n`);
  vol = await bed.newVolume('faults');
  const [hostA, hostB] = bed.hosts as [Host, Host];
  const [a, b] = await Promise.all([
    bed.mount(hostA, vol, 'a', MOUNT_ARGS),
    bed.mount(hostB, vol, 'b', [...MOUNT_ARGS, '--io-retries', '40']),
  ]);
  mounts.push({ label: 'A', host: hostA, daemon: a }, { label: 'B', host: hostB, daemon: b });
});

after(async () => {
  // A mount that died on its own is a failure to explain: show how it ended.
  for (const { daemon: d } of mounts) {
    if (!killed.has(d.pid) && !alive(d.pid)) process.stdout.write(`# daemon ${d.pid} died; its log ends:\n${d.log().split('\n').slice(-40).map((l) => `#   ${l}`).join('\n')}\n`);
  }
  await bed?.finish();
});

// ------------------------------------------------------------------------------ the workload

/** One workload directory: its mount, and its state between phases (fault-workload.ts). */
interface Dir { readonly mount: Mount; readonly dir: string; state: DirState; report?: DirReport }
const dirs: Dir[] = [];

/** Starts the workload of every live mount in a child process (see fault-workload.ts for why). */
function startWorkload(): { working: Promise<unknown>; stop(): Promise<void> } {
  const children = liveMounts().map((m) => {
    const child = fork(WORKLOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const mine = dirs.filter((d) => d.mount === m);
    const start: WorkloadStart = { mnt: m.daemon.mnt, dirs: mine.map((d) => ({ dir: d.dir, label: m.label, state: d.state })) };
    child.send(start);
    let working = (): void => undefined;
    const isWorking = new Promise<void>((resolve) => { working = resolve; });
    const reports = new Promise<DirReport[]>((resolve, reject) => {
      child.on('message', (r: DirReport[] | 'working') => (r === 'working' ? working() : resolve(r)));
      child.once('exit', (code) => reject(new Error(`the workload of ${m.label} exited (${code}) without a report`)));
    });
    reports.catch(() => undefined);
    return { child, mine, reports, isWorking };
  });
  return {
    working: Promise.all(children.map((c) => c.isWorking)),
    async stop() {
      for (const c of children) c.child.send('stop');
      for (const c of children) {
        for (const r of await c.reports) {
          const d = c.mine.find((x) => x.dir === r.dir)!;
          d.state = r.state;
          d.report = r;
        }
      }
    },
  };
}

/**
 * Checks a directory through `reader` (a mount of the other host) against its state, then
 * makes the state what is there, so the next phase starts from certainty. Returns problems.
 */
async function audit(d: Dir, reader: Daemon): Promise<string[]> {
  const problems: string[] = [];
  const path = join(reader.mnt, d.dir);
  const present = new Set(await readdir(path));
  const whole = async (name: string, c: Content): Promise<boolean> => (await readFile(join(path, name))).equals(namedBytes(c.key, c.size));
  const expected = new Set<string>();
  const certain = new Map(d.state.certain);
  for (const [name, c] of certain) {
    expected.add(name);
    if (!present.has(name)) problems.push(`${d.dir}/${name}: acknowledged, missing`);
    else if (!(await whole(name, c))) problems.push(`${d.dir}/${name}: acknowledged, wrong bytes`);
  }
  for (const [name, c] of d.state.maybe) {
    expected.add(name);
    if (!present.has(name)) continue;
    if (await whole(name, c)) certain.set(name, c);
    else problems.push(`${d.dir}/${name}: a failed delete left wrong bytes`);
  }
  for (const { from, to, content } of d.state.pairs) {
    expected.add(from).add(to);
    const there = [from, to].filter((n) => present.has(n));
    if (there.length !== 1) { problems.push(`${d.dir}/${from} -> ${to}: a failed rename left ${there.length} names`); continue; }
    const name = there[0] as string;
    if (await whole(name, content)) certain.set(name, content);
    else problems.push(`${d.dir}/${name}: a failed rename left wrong bytes`);
  }
  for (const [name, c] of d.state.partial) {
    expected.add(name);
    if (!present.has(name)) continue;
    const got = await readFile(join(path, name));
    if (got.length > c.size || !got.equals(namedBytes(c.key, c.size).subarray(0, got.length))) {
      problems.push(`${d.dir}/${name}: a failed write left ${got.length} bytes that are not a prefix of what was written`);
    }
  }
  for (const name of present) if (!expected.has(name)) problems.push(`${d.dir}/${name}: a name nobody made`);
  d.state = { ...d.state, certain: [...certain], maybe: [], pairs: [] };
  return problems;
}

/** Reads a file in a child process (`cat`): 'ok' with the right bytes, else the error. */
async function coldRead(path: string, want: Buffer): Promise<string> {
  const r = await run('cat', [path], { timeoutMs: 120_000 });
  if (r.code !== 0) return /Input\/output error/.test(r.stderr) ? 'EIO' : `exit ${r.code}: ${r.stderr.trim()}`;
  return Buffer.from(r.stdout, 'latin1').equals(want) ? 'ok' : 'wrong bytes';
}

// ------------------------------------------------------------------------------ one fault

interface Phase {
  readonly name: string;
  readonly fault: () => Promise<void>;
  /** The longest a system call (`call`: the workload's name of it, e.g. "read (EIO)") of this mount may take in this phase. */
  readonly boundMs: (m: Mount, call: string) => number;
  /** Errors allowed on this mount; `must`: some call had to fail (the fault outlasts its budget). */
  readonly errors: (m: Mount) => { allowed: readonly string[]; must?: boolean };
}

function liveMounts(): Mount[] {
  return mounts.filter((m) => !killed.has(m.daemon.pid));
}

async function runPhase(t: { diagnostic(msg: string): void }, phase: Phase): Promise<void> {
  const logStart = new Map(mounts.map((m) => [m, m.daemon.log().length]));
  const active = dirs.filter((d) => !killed.has(d.mount.daemon.pid));
  for (const d of dirs) delete d.report;
  const workload = startWorkload();
  // Every loop has made a few calls (a child starts slowly on a busy machine), then a while more.
  await Promise.race([workload.working, sleep(20_000)]);
  await sleep(1_500);
  const faultStarted = Date.now();
  await phase.fault();
  const faultMs = Date.now() - faultStarted;
  await sleep(2_500); // work goes on after the fault
  await workload.stop();

  t.diagnostic(`fault took ${(faultMs / 1000).toFixed(1)} s`);
  // What the mounts logged above info during the phase, to explain a failure.
  for (const m of mounts) {
    const lines = m.daemon.log().slice(logStart.get(m) ?? 0).split('\n').filter((l) => /"level":"(warn|error)"/.test(l));
    if (lines.length > 0) t.diagnostic(`${m.label} logged ${lines.length} warning(s), the first: ${lines.slice(0, 2).join(' | ').slice(0, 600)}`);
  }
  const problems: string[] = [];
  for (const m of mounts) {
    // A live mount's session must never be reaped because of an outage (decision 73).
    if (/taken for dead/.test(m.daemon.log().slice(logStart.get(m) ?? 0))) problems.push(`${m.label}: its session was reaped while it was alive`);
  }
  for (const d of active) {
    const m = d.mount;
    const r = d.report;
    if (r === undefined) { problems.push(`${d.dir}: no report`); continue; }
    const { allowed } = phase.errors(m);
    t.diagnostic(`${m.label} ${d.dir}: ${r.calls} calls, slowest ${(r.slowestMs / 1000).toFixed(1)} s (${r.slowestCall}), errors ${JSON.stringify(r.errors)}`);
    const bound = phase.boundMs(m, r.slowestCall);
    if (r.slowestMs > bound) problems.push(`${m.label} ${d.dir}: ${r.slowestCall} took ${r.slowestMs.toFixed(0)} ms > ${bound} ms`);
    for (const code of Object.keys(r.errors)) if (!allowed.includes(code)) problems.push(`${m.label} ${d.dir}: unexpected ${code}`);
    if (r.calls < 3) problems.push(`${m.label} ${d.dir}: only ${r.calls} calls: the workload did not run`);
  }
  for (const m of new Set(active.map((d) => d.mount))) {
    const failed = active.some((d) => d.mount === m && Object.keys(d.report?.errors ?? {}).length > 0);
    if (phase.errors(m).must === true && !failed) problems.push(`${m.label}: no call failed although the fault outlasted its retry budget`);
  }
  assert.deepEqual(problems, [], `${phase.name}: the workload`);
  await checkVolume(t, phase.name);
}

/** Every directory read through a mount of the other host, fsck, and status. */
async function checkVolume(t: { diagnostic(msg: string): void }, phaseName: string): Promise<void> {
  const live = liveMounts();
  const started = Date.now();
  const problems: string[] = [];
  await Promise.all(dirs.map(async (d) => {
    const reader = live.find((m) => m.host !== d.mount.host) ?? live[0]!;
    problems.push(...await audit(d, reader.daemon));
  }));
  assert.deepEqual(problems, [], `${phaseName}: every acknowledged file on the other host`);
  const audited = Date.now();
  const fsck = await runCli(['fsck', vol.metaUrl], BED_S3_ENV, 120_000);
  assert.equal(fsck.code, 0, `${phaseName}: fsck is healthy without --repair:\n${fsck.stdout}\n${fsck.stderr}`);
  const checked = Date.now();
  // Renewals resume within a heartbeat (1.2 s) of the database's return; a killed mount's
  // session stops counting as live when its 6 s are up.
  const want = live.map((m) => m.daemon.pid).sort();
  let listed: number[] = [];
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(250)) {
    listed = (await statusSessions(vol.metaUrl)).filter((s) => s.alive).map((s) => s.info.pid).sort();
    if (JSON.stringify(listed) === JSON.stringify(want)) break;
  }
  assert.deepEqual(listed, want, `${phaseName}: status lists exactly the live mounts as live`);
  const files = dirs.reduce((n, d) => n + d.state.certain.length, 0);
  t.diagnostic(`checked ${files} files in ${audited - started} ms, fsck ${checked - audited} ms, status ${Date.now() - checked} ms`);
  for (const m of live) assert.ok(alive(m.daemon.pid), `${phaseName}: mount ${m.label} is alive`);
}

/** Median time until a name renamed on A disappears on B. */
async function renameLatency(a: Daemon, b: Daemon, dir: string, rounds: number): Promise<number> {
  await mkdir(join(a.mnt, dir));
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await writeFile(join(a.mnt, dir, `f${i}`), 'x');
    await stat(join(b.mnt, dir, `f${i}`));
    await rename(join(a.mnt, dir, `f${i}`), join(a.mnt, dir, `g${i}`));
    const start = performance.now();
    while ((await outcome(() => stat(join(b.mnt, dir, `f${i}`)))) !== 'ENOENT') await sleep(2);
    samples.push(performance.now() - start);
  }
  return percentile(samples.sort((x, y) => x - y), 50);
}

// ------------------------------------------------------------------------------ the battery

/**
 * Two metadata budgets per system call: the kernel asks again after some failures before the
 * call returns. A name whose entry timeout passed is revalidated with a LOOKUP; when that fails
 * the kernel drops the name and looks it up afresh (a second LOOKUP, with its own budget). And
 * when its readahead of a page fails, the reading process's own read of the page is a second
 * READ. Each request still fails at its own budget (docs/semantics.md, "Faults").
 */
const metaBound = (): number => 2 * META_BUDGET_MS + MARGIN_MS;
const none = () => ({ allowed: [] as string[] });

describe('fault battery: two hosts at work while things break', () => {
  test('the bed says how the hosts are connected; the workload directories', async (t) => {
    t.diagnostic(bed.description);
    for (const m of mounts) {
      for (const n of [1, 2]) {
        const d: Dir = { mount: m, dir: `${m.label.toLowerCase()}${n}`, state: emptyState() };
        await mkdir(join(m.daemon.mnt, d.dir));
        dirs.push(d);
      }
    }
  });

  test('PostgreSQL restarted (fast: clients are disconnected): operations wait and resume', async (t) => {
    await runPhase(t, { name: 'fast restart', fault: async () => { await bed.pg.stop('fast'); await bed.pg.start(); }, boundMs: metaBound, errors: none });
  });

  test('PostgreSQL restarted (immediate: a crash and recovery): operations wait and resume', async (t) => {
    await runPhase(t, { name: 'immediate restart', fault: async () => { await bed.pg.stop('immediate'); await bed.pg.start(); }, boundMs: metaBound, errors: none });
  });

  test('PostgreSQL down for 5 s, within the retry budget: operations wait and resume', async (t) => {
    await runPhase(t, {
      name: 'down 5 s',
      fault: async () => { await bed.pg.stop(); await sleep(5_000); await bed.pg.start(); },
      boundMs: metaBound, errors: none,
    });
  });

  test('PostgreSQL down for 18 s, beyond the 8 s budget: EIO after the budget, then work resumes and change notification with it', async (t) => {
    await runPhase(t, {
      name: 'down beyond the budget',
      fault: async () => { await bed.pg.stop(); await sleep(18_000); await bed.pg.start(); },
      boundMs: metaBound, errors: () => ({ allowed: ['EIO'], must: true }),
    });
    const [a, b] = liveMounts() as [Mount, Mount];
    const median = await renameLatency(a.daemon, b.daemon, 'after-outage', 5);
    t.diagnostic(`notification latency after the outage: median ${median.toFixed(1)} ms`);
    assert.ok(median < 250, 'change notification resumed');
  });

  test('S3 stopped for 30 s: A (default retries) fails with EIO in bounded time, B (--io-retries 40) waits; both recover', async (t) => {
    const [a, b] = mounts as [Mount, Mount];
    // A file each host never read, so the other one's read of it must go to S3.
    const cold = namedBytes('cold', 1_500_000);
    await writeFile(join(b.daemon.mnt, 'cold-for-a'), cold);
    await writeFile(join(a.daemon.mnt, 'cold-for-b'), cold);
    let coldA = '';
    let coldB = '';
    await runPhase(t, {
      name: 'S3 outage',
      fault: async () => {
        await bed.s3.kill();
        const reads = Promise.all([
          coldRead(join(a.daemon.mnt, 'cold-for-a'), cold).then((r) => { coldA = r; }),
          coldRead(join(b.daemon.mnt, 'cold-for-b'), cold).then((r) => { coldB = r; }),
        ]);
        await sleep(S3_OUTAGE_MS);
        await bed.s3.start();
        await reads;
      },
      // B's calls wait out the outage, and then up to one more backoff (at most 10 s) before
      // their next attempt; a call may have started just before the kill.
      boundMs: (m) => (m.label === 'A' ? 6_000 + MARGIN_MS : S3_OUTAGE_MS + 10_000 + MARGIN_MS),
      errors: (m) => (m.label === 'A' ? { allowed: ['EIO'], must: true } : { allowed: [] }),
    });
    t.diagnostic(`cold read during the outage: A ${coldA}, B ${coldB}`);
    assert.equal(coldA, 'EIO', 'A\'s uncached read failed with EIO');
    assert.equal(coldB, 'ok', 'B\'s uncached read waited for S3 and got the right bytes');
    assert.ok((await readFile(join(a.daemon.mnt, 'cold-for-a'))).equals(cold), 'A reads it now');
  });

  test('the disk cache directory of A removed under load: work goes on, reads stay right', async (t) => {
    const [a] = mounts as [Mount];
    const cacheDir = join(dirname(a.daemon.mnt), 'cache');
    await stat(cacheDir); // the bed's mounts keep their cache there
    // rm -rf races with the cache's own writes into it; what matters is that it went away.
    const removeCache = async () => { for (let i = 0; i < 20 && (await outcome(() => rm(cacheDir, { recursive: true, force: true }))) !== 'ok'; i++) await sleep(50); };
    await runPhase(t, { name: 'cache dir removed', fault: removeCache, boundMs: metaBound, errors: none });
  });

  test('B killed with -9 mid-work: what it acknowledged is on A, A is undisturbed, its session goes; a new B mount works', async (t) => {
    const b = mounts[1]!;
    await runPhase(t, {
      name: 'kill -9',
      fault: async () => {
        killed.add(b.daemon.pid);
        process.kill(b.daemon.pid, 'SIGKILL');
        await b.daemon.exited;
      },
      boundMs: metaBound,
      errors: (m) => (m.label === 'B' ? { allowed: ['ENOTCONN', 'ECONNABORTED', 'ENOENT'] } : { allowed: [] }),
    });
    // B's directories go on on a new mount of the same host; everything is checked once more.
    b.daemon = await bed.mount(b.host, vol, 'b2', [...MOUNT_ARGS, '--io-retries', '40']);
    await runPhase(t, { name: 'after the kill', fault: async () => undefined, boundMs: metaBound, errors: none });
  });
});
