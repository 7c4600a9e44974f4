/**
 * The lines of a dump from a byte stream, gzip or not (told by its first two bytes, 1f 8b, so
 * a backup from the bucket loads as it is). A line splitter of its own rather than readline:
 * an error of the source (a truncated gzip stream) must reach the loader, not end the lines.
 */
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { DumpFormatError } from './dump-codec.js';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of chunks) {
    const text = carry + decoder.write(chunk);
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    for (const p of parts) yield p;
  }
  carry += decoder.end();
  if (carry !== '') yield carry;
}

/** The lines of the dump in `source`, gunzipped when it is gzip. */
export async function* dumpLines(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) return;
  const head = first.value;
  const all = (async function* () {
    yield head;
    for (;;) {
      const n = await it.next();
      if (n.done === true) return;
      yield n.value;
    }
  })();
  const gzip = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  try {
    yield* splitLines(gzip ? Readable.from(all).pipe(createGunzip()) : all);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_')) throw new DumpFormatError(`the gzip stream is damaged or truncated (${code})`, { cause: err });
    throw err;
  }
}
