/**
 * Compaction: a chunk with many slices is rewritten as one new slice holding its visible
 * bytes, then swapped in with a version check (meta.swapChunk), which bumps the version so no
 * host keeps reading freed slices through a current map. If the chunk changed meanwhile, the
 * new slice is deleted and nothing else happens.
 */
import { buildChunkView, CHUNK_SIZE, type MetaEngine, type SliceEntry } from '../meta/index.js';
import type { ChunkStore } from '../chunk/index.js';
import type { Metrics } from '../metrics/index.js';

/** Slices in a chunk's list from which a background compaction is worth it. */
export const COMPACT_THRESHOLD = 24;
/** Bytes copied per read when rewriting a chunk. */
const COPY_PIECE = 4 << 20;

export type CompactOutcome = 'compacted' | 'not-needed' | 'raced';

/** compactChunk, counted in objectfs_compactions_total{outcome} when `metrics` is given ('failed' when it throws). */
export async function compactChunkCounted(meta: MetaEngine, chunks: ChunkStore, ino: number, index: number, metrics: Metrics | undefined): Promise<CompactOutcome> {
  let outcome: CompactOutcome | 'failed' = 'failed';
  try {
    outcome = await compactChunk(meta, chunks, ino, index);
    return outcome;
  } finally {
    metrics?.m.compactions.inc({ outcome });
  }
}

export async function compactChunk(meta: MetaEngine, chunks: ChunkStore, ino: number, index: number): Promise<CompactOutcome> {
  const record = await meta.readChunk(ino, index);
  if (record.slices.length <= 1) return 'not-needed';
  const attr = await meta.getattr(ino);
  const chunkLength = Math.max(0, Math.min(CHUNK_SIZE, attr.length - index * CHUNK_SIZE));
  const view = buildChunkView(record.slices, chunkLength);
  const data = view.filter((s) => s.id !== 0);
  const firstData = data[0];
  const lastData = data[data.length - 1];
  if (firstData === undefined || lastData === undefined) {
    return (await meta.swapChunk(ino, index, record.version, [])) ? 'compacted' : 'raced';
  }
  const start = firstData.pos;
  const end = lastData.pos + lastData.len;
  const id = await meta.newSliceId();
  const writer = chunks.newSliceWriter(id);
  try {
    for (let pos = start; pos < end; pos += COPY_PIECE) {
      const pieceEnd = Math.min(end, pos + COPY_PIECE);
      const buf = Buffer.alloc(pieceEnd - pos);
      await Promise.all(data.map(async (seg) => {
        const from = Math.max(pos, seg.pos);
        const to = Math.min(pieceEnd, seg.pos + seg.len);
        if (to <= from) return;
        const bytes = await chunks.readSlice(seg.id, seg.size, seg.off + (from - seg.pos), to - from);
        bytes.copy(buf, from - pos);
      }));
      await writer.append(buf);
    }
    await writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
  const entry: SliceEntry = { pos: start, id, size: end - start, off: 0, len: end - start };
  if (await meta.swapChunk(ino, index, record.version, [entry])) return 'compacted';
  await chunks.deleteSlice(id, end - start); // never referenced: safe to delete at once
  return 'raced';
}
