/** `objectfs format META_URL NAME --storage URL …` */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';
import { EXIT_USAGE } from './errors.js';
import { redactUrl } from '../config/redact.js';
import { COMPRESSIONS, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../chunk/light.js';
import { parseStorageUrl } from '../object/light.js';
import { byteSizeOption, trashDaysOption, wholeNumberOption } from './options.js';
import type { Output } from './output.js';

interface FormatFlags {
  storage: string;
  blockSize?: number;
  compress?: string;
  trashDays?: number;
  capacity?: number;
  inodes?: number;
  force?: boolean;
  json?: boolean;
}

/** A block size: a power of two from 64K to 16M (checked here too, so the flag is named). */
function blockSizeOption(value: string): number {
  const n = byteSizeOption(value);
  if (n < MIN_BLOCK_SIZE || n > MAX_BLOCK_SIZE || (n & (n - 1)) !== 0) {
    throw new InvalidArgumentError(`"${value}" is not a power of two from ${formatBytes(MIN_BLOCK_SIZE)} to ${formatBytes(MAX_BLOCK_SIZE)}`);
  }
  return n;
}

/**
 * A storage URL, checked here so that a bad one names --storage (it is kept as given). Not an
 * InvalidArgumentError: commander would quote the raw value, and a URL may carry credentials;
 * parseStorageUrl's message shows it redacted.
 */
function storageUrlOption(value: string): string {
  try {
    parseStorageUrl(value);
  } catch (err) {
    throw new CliError(EXIT_USAGE, 'EUSAGE', `option '--storage <URL>' is invalid: ${(err as Error).message}`, { cause: err });
  }
  return value;
}

export function registerFormat(program: Command, out: Output): void {
  program.command('format')
    .description('create a volume: metadata in META_URL, data in the --storage bucket')
    .argument('<META_URL>', 'postgres://user@host:port/db (shared by many hosts) or pglite:///abs/dir (embedded, one host)')
    .argument('<NAME>', 'volume name; also the key prefix of its objects in the bucket')
    .requiredOption('--storage <URL>', 's3://bucket/prefix[?endpoint=http://host:port&region=R&path-style=true] or file:///abs/dir', storageUrlOption)
    .option('--block-size <SIZE>', 'block size, a power of two from 64K to 16M (fixed at format; default 4M)', blockSizeOption)
    .addOption(new Option('--compress <ALGO>', 'block compression (fixed at format; default lz4)').choices(COMPRESSIONS))
    .option('--trash-days <N>', 'days deleted files stay in the trash (0 = off, default 1)', trashDaysOption)
    .option('--capacity <SIZE>', 'space quota reported by statfs (0 = unlimited)', byteSizeOption)
    .option('--inodes <N>', 'inode quota (0 = unlimited)', wholeNumberOption)
    .option('--force', 'update the mutable settings of an existing volume')
    .option('--json', 'print the volume record as JSON')
    .action(async (metaUrl: string, name: string, flags: FormatFlags) => {
      const { formatVolume } = await import('../volume/format-volume.js');
      const { created, volume } = await formatVolume({
        metaUrl, name, storage: flags.storage, blockSize: flags.blockSize, compression: flags.compress,
        trashDays: flags.trashDays, capacity: flags.capacity, inodes: flags.inodes, force: flags.force,
      });
      if (flags.json) {
        out.json({ created, volume });
        return;
      }
      out.line(`${created ? 'formatted' : 'updated'} volume "${volume.name}" (${volume.uuid})`);
      out.line(`  metadata:    ${redactUrl(metaUrl)}`);
      out.line(`  storage:     ${redactUrl(volume.storage)}`);
      out.line(`  block size:  ${formatBytes(volume.blockSize)}, compression ${volume.compression}, trash ${volume.trashDays} day(s)`);
    });
}
