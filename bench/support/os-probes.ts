/**
 * What the data benchmark asks of the OS around each phase: dropping the page cache before a
 * read, and the CPU time spent by each process of the setup (this process, s3rver, the
 * PostgreSQL cluster), read from /proc so a phase can say which of them was busy.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `sync`, then `echo 3 > /proc/sys/vm/drop_caches` (needs root). Returns false, with the
 * reason, when the cache could not be dropped: the read that follows is then partly warm.
 */
export function dropPageCache(): { dropped: boolean; reason?: string } {
  spawnSync('sync', { stdio: 'ignore' });
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return { dropped: true };
  } catch (e) {
    return { dropped: false, reason: (e as Error).message };
  }
}

/** CPU seconds (user + system) used so far, per process of the setup. */
export interface CpuTimes {
  /** This process, every thread (main thread, libuv pool with lz4, crc and file I/O). */
  readonly bench: number;
  readonly s3rver: number;
  /** Postmaster, its live children and the children it has reaped (exited backends). */
  readonly postgres: number;
  /** Every process of the machine (/proc/stat busy time): what exceeds the three above ran alongside. */
  readonly machine: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = r.status === 0 ? Number(r.stdout.trim()) || 100 : 100;
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after the command name (field 3 = index 0). */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime (+ cutime + cstime with `children`) of a process, in seconds; 0 if gone. */
function processCpu(pid: number, children: boolean): number {
  const f = statFields(pid);
  if (f === undefined) return 0;
  // Field numbers of proc(5): utime 14, stime 15, cutime 16, cstime 17 → indexes 11..14 here.
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / ticksPerSecond();
}

/** Pids whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f !== undefined && Number(f[1]) === ppid) out.push(Number(name));
  }
  return out;
}

/** Busy CPU seconds of the whole machine since boot: user, nice, system, irq, softirq, steal. */
function machineBusy(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy / ticksPerSecond();
}

/** Samples the CPU times of the bench, s3rver and PostgreSQL (whose pid is in postmaster.pid). */
export class CpuProbe {
  readonly #s3Pid: number;
  readonly #pgDataDir: string | undefined;

  constructor(s3Pid: number, pgDataDir: string | undefined) {
    this.#s3Pid = s3Pid;
    this.#pgDataDir = pgDataDir;
  }

  sample(): CpuTimes {
    const u = process.cpuUsage();
    return { bench: (u.user + u.system) / 1e6, s3rver: processCpu(this.#s3Pid, true), postgres: this.#postgres(), machine: machineBusy() };
  }

  #postgres(): number {
    if (this.#pgDataDir === undefined) return 0;
    let pm: number;
    try {
      pm = Number(readFileSync(join(this.#pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return 0;
    }
    let total = processCpu(pm, true);
    for (const c of childrenOf(pm)) total += processCpu(c, false);
    return total;
  }
}
