/**
 * `objectfs dump META_URL [FILE|-]` and `objectfs load META_URL FILE|-`: the whole metadata of
 * a volume as a streamed JSON Lines file (docs/dump-format.md), and back into an empty
 * database of either engine. The data objects are not touched: a loaded volume reads the same
 * objects.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { DumpSummary, LoadSummary } from '../db/index.js';
import { EXIT_FAILURE } from './errors.js';
import { peakRss } from './maintenance-volume.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlAndOperand } from './meta-url.js';
import type { Output } from './output.js';

const MISSING_FILE = 'missing FILE (- for standard input)';

/** The database layer, loaded when a dump or a load runs. */
type DbLayer = typeof import('../db/index.js');

interface DumpFlags {
  metaUrlFile?: string;
  gzip?: boolean;
  json?: boolean;
}

/** A new file for the dump (mode 0600: it describes every file of the volume), once it is open. */
async function openForWriting(file: string): Promise<Writable> {
  const stream = createWriteStream(file, { mode: 0o600 });
  try {
    await once(stream, 'open');
  } catch (err) {
    throw new CliError(EXIT_FAILURE, 'EDUMP', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return stream;
}

/** Dump and load failures that are the input's or the database's, not ours. */
function known(db: DbLayer, err: unknown): never {
  if (err instanceof db.DumpFormatError || err instanceof db.DumpRefusedError) throw new CliError(EXIT_FAILURE, 'EDUMP', err.message);
  throw err;
}

function summaryLine(verb: string, s: DumpSummary | LoadSummary, where: string): string {
  const rows = Object.values(s.rows).reduce((a, b) => a + b, 0);
  return `${verb} ${where}: ${rows} row(s), ${s.entries} entries, schema ${s.schema}`;
}

export function registerDump(program: Command, out: Output): void {
  program.command('dump')
    .description('write the whole metadata of a volume (one consistent snapshot) as JSON Lines to FILE or standard output')
    .argument('[META_URL]', META_URL_HELP)
    .argument('[FILE]', 'where to write (- or none: standard output)')
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--gzip', 'compress with gzip (load detects it)')
    .option('--json', 'print the summary as JSON (on standard error when the dump goes to standard output)')
    .action(async (a: string | undefined, b: string | undefined, flags: DumpFlags) => {
      const { metaUrl: url, operand: file } = metaUrlAndOperand(a, b, flags.metaUrlFile);
      const toStdout = file === undefined || file === '-';
      const target: Writable = toStdout ? process.stdout : await openForWriting(file);
      const db = await import('../db/index.js');
      const database = await db.openDatabase(url, { maxConnections: 2 }).catch(async (err: unknown) => {
        if (!toStdout) {
          target.destroy();
          await rm(file, { force: true });
        }
        throw err;
      });
      const gzip = flags.gzip ? createGzip() : undefined;
      if (gzip !== undefined) gzip.pipe(target, { end: !toStdout });
      let summary: DumpSummary;
      try {
        summary = await db.dumpDatabase(database.db, gzip ?? target);
        if (gzip !== undefined) {
          gzip.end();
          await finished(gzip);
        }
        if (!toStdout) {
          target.end();
          await finished(target);
        }
      } catch (err) {
        if (!toStdout) {
          target.destroy();
          await rm(file, { force: true });
        }
        known(db, err);
      } finally {
        await database.close();
      }
      const report = { ...summary, file: toStdout ? '-' : file, peakRssBytes: peakRss() };
      const print = toStdout ? (t: string) => out.error(t) : (t: string) => out.line(t);
      print(flags.json ? JSON.stringify(report, null, 2) : summaryLine('dumped', summary, report.file));
    });

  program.command('load')
    .description('load a dump (from FILE or standard input, gzip or not) into an empty database, then migrate it to this version')
    .argument('[META_URL]', `metadata URL of the empty database to load into (or --meta-url-file)`)
    .argument('[FILE]', 'the dump (- for standard input)')
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--json', 'print the summary as JSON')
    .action(async (a: string | undefined, b: string | undefined, flags: DumpFlags) => {
      const { metaUrl: url, operand: file } = metaUrlAndOperand(a, b, flags.metaUrlFile, MISSING_FILE);
      const source = file === '-' ? process.stdin : createReadStream(file as string);
      const opened = new Promise<void>((resolve, reject) => {
        if (source === process.stdin) resolve();
        else source.once('open', () => resolve()).once('error', reject);
      });
      await opened.catch((err: NodeJS.ErrnoException) => {
        throw new CliError(EXIT_FAILURE, 'EDUMP', `cannot read ${file}: ${err.code ?? err.message}`);
      });
      const db = await import('../db/index.js');
      const database = await db.openDatabase(url, { create: true });
      let summary: LoadSummary;
      try {
        summary = await db.loadDatabase(database.db, db.dumpLines(source as AsyncIterable<Buffer>), database.displayUrl);
      } catch (err) {
        known(db, err);
      } finally {
        source.destroy();
        await database.close();
      }
      if (flags.json) out.json({ ...summary, peakRssBytes: peakRss() });
      else out.line(`${summaryLine('loaded', summary, database.displayUrl)}${summary.migratedTo > summary.schema ? `, migrated to ${summary.migratedTo}` : ''}`);
    });
}
