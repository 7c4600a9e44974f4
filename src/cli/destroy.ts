/**
 * `objectfs destroy META_URL UUID`: deletes a volume's objects, then its metadata
 * (maintenance/destroy.ts says in which order and why a re-run finishes an interrupted one).
 * The uuid proves which volume is meant; on a terminal the user also types the volume's name;
 * elsewhere `--yes` is required.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { redactUrl } from '../config/redact.js';
import { CliError } from '../errors.js';
import type { DestroyPlan, DestroyReport } from '../maintenance/index.js';
import { DEFAULT_DESTROY_THREADS, describeSession } from '../maintenance/light.js';
import { formatBytes } from '../util/bytes.js';
import { EXIT_FAILURE } from './errors.js';
import { metaUrlAndOperand } from './meta-url.js';
import { positiveIntOption } from './options.js';
import type { Output } from './output.js';
import { streamProgress } from './progress.js';

interface DestroyFlags {
  metaUrlFile?: string;
  yes?: boolean;
  force?: boolean;
  threads?: number;
  json?: boolean;
  progress: boolean;
}

/** The lines that say what destroy is about to delete. */
export function planLines(plan: DestroyPlan, now = Date.now()): string[] {
  const lines = [
    `about to destroy volume "${plan.name}" (${plan.uuid}):`,
    `  metadata:  ${plan.meta} (every ObjectFS table: ${plan.usedInodes} inode(s), ${formatBytes(plan.usedBytes)} in use)`,
    `  objects:   ${plan.objects} (${formatBytes(plan.objectBytes)}) under "${plan.prefix}" in ${redactUrl(plan.storage)}`,
  ];
  for (const s of plan.sessions) lines.push(`  ignored (--force): ${describeSession(s, now)}`);
  if (plan.resumingSince !== undefined) lines.push(`  a destroy began at ${new Date(plan.resumingSince).toISOString()} and did not finish: this run finishes it`);
  return lines;
}

/** The streams a confirmation is asked on (the process's own, or test doubles). */
export interface Terminal {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

/**
 * Asks on a terminal for the volume's name; true when it is typed exactly. Without a terminal
 * (standard input not a TTY) it refuses: a script must say --yes.
 */
export async function confirmOnTerminal(plan: DestroyPlan, term: Terminal = { input: process.stdin, output: process.stderr }): Promise<boolean> {
  if (term.input.isTTY !== true) {
    throw new CliError(EXIT_FAILURE, 'ECONFIRM', `destroy needs a confirmation and standard input is not a terminal: nothing was deleted; run again with --yes to destroy volume "${plan.name}" (${plan.uuid})`);
  }
  const rl = createInterface({ input: term.input, output: term.output, terminal: true });
  try {
    // Ctrl-C and Ctrl-D answer no: readline would otherwise only pause on Ctrl-C, and the
    // command would wait for an answer that never comes.
    const answer = await new Promise<string | undefined>((resolve) => {
      rl.once('SIGINT', () => resolve(undefined));
      rl.once('close', () => resolve(undefined));
      rl.question(`This deletes every object and all metadata of volume "${plan.name}" for good. Type the volume's name to go on: `).then(resolve, () => resolve(undefined));
    });
    return answer?.trim() === plan.name;
  } finally {
    rl.close();
  }
}

function summary(r: DestroyReport): Record<string, unknown> {
  const p = r.plan;
  return {
    volume: p.name, uuid: p.uuid, meta: p.meta, storage: redactUrl(p.storage), prefix: p.prefix,
    usedInodes: p.usedInodes, usedBytes: p.usedBytes, objectsFound: p.objects, objectsDeleted: r.objectsDeleted, bytesDeleted: r.bytesDeleted,
    tablesDropped: r.tablesDropped, rowsDropped: r.rowsDropped, functionsDropped: r.functionsDropped,
    resumed: p.resumingSince !== undefined, seconds: Math.round(r.elapsedMs) / 1000,
  };
}

export function registerDestroy(program: Command, out: Output): void {
  program.command('destroy')
    .description("delete a volume for good: every object under its prefix, then all of its metadata")
    .usage('[options] META_URL UUID\n       objectfs destroy [options] --meta-url-file FILE UUID')
    .argument('<META_URL>', 'metadata URL of the volume (left out with --meta-url-file)')
    .argument('[UUID]', "the volume's uuid, as status shows it: proof of which volume is meant")
    .option('--meta-url-file <FILE>', 'read the metadata URL from FILE (- for standard input) instead of the command line, where every user can see it in ps')
    .option('--yes', 'do not ask for confirmation (required when standard input is not a terminal)')
    .option('--force', 'go on although stale sessions (no heartbeat within their timeout) are registered; a live session always refuses')
    .option('--threads <N>', `parallel deletions (default ${DEFAULT_DESTROY_THREADS})`, positiveIntOption)
    .option('--json', 'print the summary as JSON (the plan goes to stderr)')
    .option('--no-progress', 'no progress output on stderr')
    .action(async (first: string, second: string | undefined, flags: DestroyFlags) => {
      const { metaUrl, operand } = metaUrlAndOperand(first, second, flags.metaUrlFile, 'missing UUID (objectfs destroy META_URL UUID; "objectfs status" shows the uuid)');
      const uuid = operand as string;
      // With --json, stdout carries the summary alone.
      const show = (text: string) => (flags.json ? out.error(text) : out.line(text));
      const { runDestroy } = await import('../maintenance/index.js');
      const report = await runDestroy(metaUrl, {
        uuid, force: flags.force, threads: flags.threads,
        progress: flags.progress ? streamProgress('destroy') : undefined,
        confirm: async (plan) => {
          for (const line of planLines(plan)) show(line);
          return flags.yes === true || confirmOnTerminal(plan);
        },
      });
      if (flags.json) {
        out.json(summary(report));
        return;
      }
      out.line(`destroyed volume "${report.plan.name}" (${report.plan.uuid}): ${report.objectsDeleted} object(s) deleted (${formatBytes(report.bytesDeleted)}), `
        + `${report.tablesDropped.length} table(s) dropped (${report.rowsDropped} row(s)), in ${(report.elapsedMs / 1000).toFixed(1)} s`);
    });
}
