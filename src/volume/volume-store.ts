/** The object store of a volume: the storage URL's store with the volume name as key prefix. */
import { openObjectStore, PrefixedStore, type ObjectStore, type OpenStoreOptions } from '../object/index.js';

/** Every object of volume `name` lives under `<name>/` inside the storage URL. */
export function volumePrefix(name: string): string {
  return `${name}/`;
}

export async function openVolumeStore(storageUrl: string, name: string, options?: OpenStoreOptions): Promise<{ base: ObjectStore; store: ObjectStore }> {
  const base = await openObjectStore(storageUrl, options);
  return { base, store: new PrefixedStore(base, volumePrefix(name)) };
}
