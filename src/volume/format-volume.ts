/**
 * `objectfs format`: validate the settings, prove the bucket works (put, get, delete of a
 * probe object), refuse a non-empty prefix for a new volume, then write the metadata.
 */
import { randomUUID } from 'node:crypto';
import { COMPRESSIONS, DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, type Compression } from '../chunk/index.js';
import { parseStorageUrl } from '../object/index.js';
import { MetaNotFoundError } from '../db/index.js';
import { formatMeta, NotFormattedError, openMeta, type FormatResult, type FormatSettings } from '../meta/index.js';
import { openVolumeStore } from './volume-store.js';

/** The block sizes `format` accepts (the chunk layer's bounds), for callers that check a flag early. */
export { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE };


/** Invalid format settings; the message names the setting and what is accepted. */
export class FormatSettingsError extends Error {
  override readonly name = 'FormatSettingsError';
}

/** The bucket prefix of a new volume already holds objects. */
export class StorageNotEmptyError extends Error {
  override readonly name = 'StorageNotEmptyError';
}

/** The probe object did not read back as written. */
export class StorageProbeError extends Error {
  override readonly name = 'StorageProbeError';
}

/** Days a deleted file stays in the trash when format is not told (the product's default). */
export const DEFAULT_TRASH_DAYS = 1;

export interface FormatRequest {
  readonly metaUrl: string;
  readonly name: string;
  readonly storage: string;
  readonly blockSize?: number;
  readonly compression?: string;
  readonly trashDays?: number;
  readonly capacity?: number;
  readonly inodes?: number;
  readonly force?: boolean;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Checks a format request and fills in defaults (pure). */
export function validateFormatRequest(req: FormatRequest): FormatSettings {
  if (!NAME_PATTERN.test(req.name)) {
    throw new FormatSettingsError(`invalid volume name "${req.name}": 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  const blockSize = req.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new FormatSettingsError(`invalid block size ${blockSize}: a power of two from ${MIN_BLOCK_SIZE / 1024} KiB to ${MAX_BLOCK_SIZE >> 20} MiB`);
  }
  const compression = req.compression ?? 'lz4';
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new FormatSettingsError(`invalid compression "${compression}": one of ${COMPRESSIONS.join(', ')}`);
  }
  const trashDays = req.trashDays ?? DEFAULT_TRASH_DAYS;
  if (!Number.isInteger(trashDays) || trashDays < 0 || trashDays > 3650) throw new FormatSettingsError(`invalid trash days ${trashDays}: a whole number from 0 to 3650`);
  for (const [label, v] of [['capacity', req.capacity], ['inodes', req.inodes]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new FormatSettingsError(`invalid ${label} ${v}: a whole number, 0 for unlimited`);
  }
  try {
    parseStorageUrl(req.storage);
  } catch (err) {
    throw new FormatSettingsError((err as Error).message, { cause: err });
  }
  return { name: req.name, storage: req.storage, blockSize, compression: compression as Compression, trashDays, capacity: req.capacity, inodes: req.inodes };
}

async function volumeExists(metaUrl: string): Promise<boolean> {
  try {
    const meta = await openMeta(metaUrl, { counterFlushMs: 0 });
    await meta.close();
    return true;
  } catch (err) {
    if (err instanceof NotFormattedError || err instanceof MetaNotFoundError) return false;
    throw err;
  }
}

/** Formats a volume (or, with force, updates an existing one's mutable settings). */
export async function formatVolume(req: FormatRequest): Promise<FormatResult> {
  const settings = validateFormatRequest(req);
  const exists = await volumeExists(req.metaUrl);
  const { base, store } = await openVolumeStore(settings.storage, settings.name);
  try {
    if (!exists) {
      const page = await store.list({ limit: 1 });
      if (page.objects.length > 0) {
        throw new StorageNotEmptyError(`${base.describe()} already holds objects under "${settings.name}/" (for example "${page.objects[0]?.key}"): choose another volume name or an empty prefix`);
      }
    }
    await probe(store);
  } finally {
    await base.close();
  }
  return formatMeta(req.metaUrl, settings, { force: req.force });
}

/** Writes, reads back and deletes a small object, so a bad bucket fails format, not the first write. */
async function probe(store: Awaited<ReturnType<typeof openVolumeStore>>['store']): Promise<void> {
  const key = `.probe-${randomUUID()}`;
  const data = Buffer.from(`objectfs probe ${key}`);
  await store.put(key, data);
  try {
    const back = await store.get(key);
    if (!back.equals(data)) throw new StorageProbeError(`probe object ${key} read back different bytes: the storage is not usable`);
  } finally {
    await store.delete(key);
  }
}
