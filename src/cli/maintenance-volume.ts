/** Opening a volume for fsck and gc: no session, no background jobs, small caches, peak memory at the end. */
import type { Volume } from '../volume/open-volume.js';

/** Runs `fn` on a tool instance of the volume at `metaUrl`, closing it afterwards. */
export async function withToolVolume<T>(metaUrl: string, fn: (volume: Volume) => Promise<T>): Promise<T> {
  const { openVolume } = await import('../volume/open-volume.js');
  const volume = await openVolume(metaUrl, { backgroundMs: 0, counterFlushMs: 0, memoryCacheBytes: 32 << 20, bufferBytes: 64 << 20, autoCompact: false, maxConnections: 4 });
  try {
    return await fn(volume);
  } finally {
    await volume.close();
  }
}

/** Peak resident memory of this process so far, in bytes. */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}
