/**
 * Where the main thread's time went: the top self-time functions of a V8 CPU profile
 * (`node --cpu-prof`), optionally cut to one phase of a data-bench run.
 *
 *   node dist/bench/cpu-profile-top.js PROFILE.cpuprofile [--results RUN.json --phase ID]
 *        [--top N] [--json]
 *
 * With --results and --phase it keeps only the samples inside that phase's `clockUs` window
 * (data-bench records it on CLOCK_MONOTONIC, the clock V8 stamps its samples with). It prints
 * the top N functions by self time, then self time grouped by module (a package under
 * node_modules, a src/ folder, node's internals, or V8's (garbage collector), (idle) and
 * (program) pseudo-frames). Only the profiled thread is covered: lz4, crc32 and file I/O on
 * the libuv pool run on other threads and show up in the bench's CPU % instead.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly module: string;
  readonly ms: number;
  readonly percent: number;
}

/** The module a frame belongs to, for the grouped view. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const src = /\/dist\/(src\/[^/]+|bench|test)\//.exec(url);
  if (src) return src[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

/** Self time per function in [fromUs, toUs] (the whole profile when undefined), largest first. */
export function selfTimes(p: CpuProfile, fromUs?: number, toUs?: number): { totalMs: number; functions: SelfTime[]; modules: SelfTime[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, { name: string; where: string; module: string; us: number }>();
  const mod = new Map<string, number>();
  let total = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const next = i + 1 < p.samples.length ? t + (p.timeDeltas[i + 1] ?? 0) : p.endTime;
    if ((fromUs !== undefined && t < fromUs) || (toUs !== undefined && t > toUs)) continue;
    const dur = Math.max(0, next - t);
    const node = byId.get(p.samples[i] as number);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where = url === '' ? '' : `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const module = moduleOf(url, name);
    const e = fn.get(key) ?? { name, where, module, us: 0 };
    e.us += dur;
    fn.set(key, e);
    mod.set(module, (mod.get(module) ?? 0) + dur);
    total += dur;
  }
  const pct = (us: number): number => Math.round((1000 * us) / Math.max(1, total)) / 10;
  const functions = [...fn.values()].sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, module: e.module, ms: Math.round(e.us / 1000), percent: pct(e.us) }));
  const modules = [...mod.entries()].sort((a, b) => b[1] - a[1])
    .map(([m, us]) => ({ name: m, where: '', module: m, ms: Math.round(us / 1000), percent: pct(us) }));
  return { totalMs: Math.round(total / 1000), functions, modules };
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { results: { type: 'string' }, phase: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } },
  });
  const file = positionals[0];
  if (file === undefined || (values.phase !== undefined) !== (values.results !== undefined)) {
    process.stderr.write('usage: node dist/bench/cpu-profile-top.js PROFILE.cpuprofile [--results RUN.json --phase ID] [--top N] [--json]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  let from: number | undefined;
  let to: number | undefined;
  if (values.results !== undefined) {
    const run = JSON.parse(readFileSync(values.results, 'utf8')) as { results: { id: string; clockUs: { start: number; end: number } }[] };
    const phase = run.results.find((r) => r.id === values.phase);
    if (phase === undefined) throw new Error(`no phase "${values.phase}" in ${values.results} (have ${run.results.map((r) => r.id).join(', ')})`);
    ({ start: from, end: to } = phase.clockUs);
    if (from < profile.startTime || to > profile.endTime) {
      throw new Error(`phase window [${from}, ${to}] µs is not inside the profile [${profile.startTime}, ${profile.endTime}]: another run, or another clock`);
    }
  }
  const top = Number(values.top ?? 10);
  const r = selfTimes(profile, from, to);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ totalMs: r.totalMs, functions: r.functions.slice(0, top), modules: r.modules.slice(0, top) }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`sampled main-thread time: ${r.totalMs} ms${values.phase ? ` (phase ${values.phase})` : ''}\n\n`);
  process.stdout.write('| self ms | % | function | where |\n|---:|---:|---|---|\n');
  for (const f of r.functions.slice(0, top)) process.stdout.write(`| ${f.ms} | ${f.percent} | ${f.name} | ${f.where} |\n`);
  process.stdout.write('\n| self ms | % | module |\n|---:|---:|---|\n');
  for (const m of r.modules.slice(0, top)) process.stdout.write(`| ${m.ms} | ${m.percent} | ${m.name} |\n`);
}

main();
