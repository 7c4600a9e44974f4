/**
 * Where a command's metadata URL comes from: its META_URL argument, which every user of the
 * host can read in `ps` while the command runs, or a file (`--meta-url-file FILE`, `-` for
 * standard input), which only who may read the file can. The background mount hands its
 * daemon the URL on standard input for that reason.
 */
import { readFileSync } from 'node:fs';
import { CliError } from '../errors.js';
import { EXIT_USAGE } from './errors.js';

/** The metadata URL in `file` (`-`: standard input): its first non-empty line, trimmed. */
export function readMetaUrlFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(EXIT_USAGE, 'EMETAURLFILE', `cannot read --meta-url-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const url = text.split('\n').map((l) => l.trim()).find((l) => l !== '');
  if (url === undefined) throw new CliError(EXIT_USAGE, 'EMETAURLFILE', `--meta-url-file ${file} holds no metadata URL`);
  return url;
}

/** Does `url` carry a password (postgres://user:password@host/db)? */
export function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** The one warning for a password on the command line (every user can read it in ps). */
export const PASSWORD_WARNING = 'objectfs: warning: the metadata URL on the command line holds a password, which every user of this host can read (ps); use PGPASSWORD, ~/.pgpass or --meta-url-file FILE instead\n';

/** Help of the META_URL argument of commands that also take --meta-url-file. */
export const META_URL_HELP = 'metadata URL of the volume (or --meta-url-file)';
/** Help of --meta-url-file. */
export const META_URL_FILE_HELP = 'read the metadata URL from FILE (- for standard input) instead of the command line, where every user can see it in ps';

/** The metadata URL of a command that takes `[META_URL]` or `--meta-url-file FILE`: exactly one. */
export function metaUrlOf(arg: string | undefined, file: string | undefined): string {
  if (file !== undefined) {
    if (arg !== undefined) throw new CliError(EXIT_USAGE, 'EUSAGE', 'give either META_URL or --meta-url-file, not both');
    return readMetaUrlFile(file);
  }
  if (arg === undefined) throw new CliError(EXIT_USAGE, 'EUSAGE', 'missing META_URL (or --meta-url-file FILE)');
  return arg;
}

/**
 * The metadata URL and the command's next operand (MOUNTPOINT, UUID, FILE) from
 * `META_URL OPERAND`, or the URL from --meta-url-file and the one positional as the operand.
 * `missingOperand` is the usage error when the operand is required (undefined: optional). A
 * password on the command line is warned about, once.
 */
export function metaUrlAndOperand(first: string | undefined, second: string | undefined, urlFile: string | undefined, missingOperand?: string): { metaUrl: string; operand: string | undefined } {
  const usage = (message: string) => new CliError(EXIT_USAGE, 'EUSAGE', message);
  if (urlFile !== undefined) {
    if (second !== undefined) throw usage('give either META_URL or --meta-url-file, not both');
    const metaUrl = readMetaUrlFile(urlFile);
    if (first === undefined && missingOperand !== undefined) throw usage(missingOperand);
    return { metaUrl, operand: first };
  }
  if (first === undefined) throw usage('missing META_URL (or --meta-url-file FILE)');
  if (second === undefined && missingOperand !== undefined) throw usage(missingOperand);
  if (hasPassword(first)) process.stderr.write(PASSWORD_WARNING);
  return { metaUrl: first, operand: second };
}
