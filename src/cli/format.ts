/** `objectfs format META_URL NAME --storage URL …` */
import type { Command } from 'commander';
import { formatBytes } from '../util/bytes.js';
import { redactUrl } from '../config/redact.js';
import { formatVolume } from '../volume/format-volume.js';
import { byteSizeOption, wholeNumberOption } from './options.js';
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

export function registerFormat(program: Command, out: Output): void {
  program.command('format')
    .description('create a volume: metadata in META_URL, data in the --storage bucket')
    .argument('<META_URL>', 'postgres://user@host:port/db (shared by many hosts) or pglite:///abs/dir (embedded, one host)')
    .argument('<NAME>', 'volume name; also the key prefix of its objects in the bucket')
    .requiredOption('--storage <URL>', 's3://bucket/prefix[?endpoint=http://host:port&region=R&path-style=true] or file:///abs/dir')
    .option('--block-size <SIZE>', 'block size, a power of two from 64K to 16M (fixed at format)', byteSizeOption)
    .option('--compress <ALGO>', 'block compression: lz4 or none (fixed at format)')
    .option('--trash-days <N>', 'days deleted files stay in the trash (0 = off)', wholeNumberOption)
    .option('--capacity <SIZE>', 'space quota reported by statfs (0 = unlimited)', byteSizeOption)
    .option('--inodes <N>', 'inode quota (0 = unlimited)', wholeNumberOption)
    .option('--force', 'update the mutable settings of an existing volume')
    .option('--json', 'print the volume record as JSON')
    .action(async (metaUrl: string, name: string, flags: FormatFlags) => {
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
