/** Content written by crash-writer.ts and expected by crash.test.ts: cheap, distinct per tag. */
export function crashData(tag: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = (0x2545f491 * tag) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = (i & 0xfff) < 0x100 ? tag : x & 0xff;
  }
  return b;
}
