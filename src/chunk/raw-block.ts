/**
 * The lz4 length prefix that marks a block stored uncompressed because lz4 would not shrink
 * it. No block is 4 GiB long, so no real prefix collides with it (codec.ts has the format).
 */
export const RAW_BLOCK_MARK = 0xffffffff;
