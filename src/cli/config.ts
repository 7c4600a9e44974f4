/**
 * `objectfs config META_URL [--trash-days N] [--capacity SIZE] [--inodes N] [--storage-class C]`:
 * shows the volume's mutable settings, or changes them in one transaction.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { STORAGE_CLASSES } from '../config/schema.js';
import type { VolumeChanges, VolumeRecord } from '../meta/index.js';
import { formatBytes } from '../util/bytes.js';
import { byteSizeOption, trashDaysOption, wholeNumberOption } from './options.js';
import { META_URL_FILE_HELP, META_URL_HELP, metaUrlOf } from './meta-url.js';
import type { Output } from './output.js';

interface ConfigFlags {
  trashDays?: number;
  capacity?: number;
  inodes?: number;
  storageClass?: string | null;
  json?: boolean;
}

function storageClassOption(value: string): string | null {
  if (value === 'default' || value === '') return null;
  const v = value.toUpperCase();
  if (!(STORAGE_CLASSES as readonly string[]).includes(v)) throw new InvalidArgumentError(`one of ${STORAGE_CLASSES.join(', ')}, or default`);
  return v;
}

function describe(v: VolumeRecord): string[] {
  return [
    `  trash days:    ${v.trashDays}`,
    `  capacity:      ${v.capacity > 0 ? formatBytes(v.capacity) : 'unlimited'}`,
    `  inodes:        ${v.inodes > 0 ? v.inodes : 'unlimited'}`,
    `  storage class: ${v.storageClass ?? "the bucket's default"}`,
  ];
}

export function registerConfig(program: Command, out: Output): void {
  program.command('config')
    .description('show or change the mutable settings of a volume')
    .argument('[META_URL]', META_URL_HELP)
    .option('--meta-url-file <FILE>', META_URL_FILE_HELP)
    .option('--trash-days <N>', 'days deleted files stay in the trash (0 = off, at most 3650)', trashDaysOption)
    .option('--capacity <SIZE>', 'space quota reported by statfs (0 = unlimited)', byteSizeOption)
    .option('--inodes <N>', 'inode quota (0 = unlimited)', wholeNumberOption)
    .option('--storage-class <CLASS>', `S3 storage class of new objects (${STORAGE_CLASSES.join(', ')}, or default); mounts started afterwards use it`, storageClassOption)
    .option('--json', 'print the volume record (before and after) as JSON')
    .action(async (metaUrlArg: string | undefined, flags: ConfigFlags & { metaUrlFile?: string }) => {
      const metaUrl = metaUrlOf(metaUrlArg, flags.metaUrlFile);
      const changes: VolumeChanges = {
        ...(flags.trashDays === undefined ? {} : { trashDays: flags.trashDays }),
        ...(flags.capacity === undefined ? {} : { capacity: flags.capacity }),
        ...(flags.inodes === undefined ? {} : { inodes: flags.inodes }),
        ...(flags.storageClass === undefined ? {} : { storageClass: flags.storageClass }),
      };
      const { configureVolume } = await import('../meta/index.js');
      const { before, after } = await configureVolume(metaUrl, changes);
      if (flags.json) {
        out.json({ before, after });
        return;
      }
      const changed = Object.keys(changes).length > 0;
      out.line(`volume "${after.name}" (${after.uuid})${changed ? ': updated' : ''}`);
      const was = describe(before);
      describe(after).forEach((line, i) => out.line(line === was[i] ? line : `${line}   (was ${(was[i] ?? '').split(':').slice(1).join(':').trim()})`));
    });
}
