/** The compression algorithms a volume can be formatted with. */
export const COMPRESSIONS = ['lz4', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
