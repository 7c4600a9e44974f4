/**
 * s3rver in its own process, started by run-tests.ts over an IPC channel:
 *
 *   node dist/test/support/s3-server.js --dir <data dir> --bucket <name> [--port 0] [--address 127.0.0.1]
 *
 * It binds 127.0.0.1 (or the given address: multi-host tests run it in a private network
 * namespace, on that namespace's own address), pre-creates the bucket, sends `{ type: 'ready', port }` to its parent and
 * exits as soon as the IPC channel closes, so a runner that crashes or is SIGKILLed cannot leave
 * it behind. Without an IPC channel (run by hand) it prints the endpoint and runs until killed.
 *
 * s3rver 3.7 answers a PUT before the object's bytes are on disk (its filesystem store resolves
 * when the request body has been read, not when the file is written), so a GET right after a PUT
 * could see an empty or partial object: CI once read a 12,345-byte block as 0 bytes. S3 and MinIO
 * are read-after-write consistent, and our tests depend on it, so the store's putObject is
 * replaced below by one that writes a temporary file and renames it into place before answering.
 * The object's md5 and metadata files go the same way, before the object: s3rver reads both on
 * every listing, and a metadata file cut short when a multi-host fault test killed the server
 * mid-upload made every later listing of the bucket an InternalError (500).
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

/** The part of s3rver's (untyped, CommonJS) API used here. */
interface S3rverOptions {
  readonly address: string;
  readonly port: number;
  readonly directory: string;
  readonly silent: boolean;
  readonly configureBuckets: readonly { readonly name: string; readonly configs: readonly string[] }[];
}
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  readonly store: FilesystemStore;
}
/** The part of s3rver's filesystem store that putObject uses. */
interface S3rverObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | Readable;
  readonly metadata: Record<string, string>;
}
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}
type S3rverClass = new (options: S3rverOptions) => S3rverInstance;

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    bucket: { type: 'string', default: 'objectfs-test' },
    port: { type: 'string', default: '0' },
    address: { type: 'string', default: '127.0.0.1' },
  },
});
if (values.dir === undefined) {
  process.stderr.write('s3-server: --dir <data directory> is required\n');
  process.exit(2);
}

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
const server = new S3rver({
  address: values.address,
  port: Number(values.port),
  directory: values.dir,
  silent: true,
  configureBuckets: [{ name: values.bucket, configs: [] }],
});

/** The metadata s3rver keeps of a PUT (as its own putMetadata picks it). */
const { ALLOWED_METADATA } = createRequire(import.meta.url)('s3rver/lib/models/object') as { ALLOWED_METADATA: readonly string[] };

server.store.putObject = async function putObjectDurably(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const chunks: Buffer[] = [];
  if (Buffer.isBuffer(object.content)) chunks.push(object.content);
  else for await (const chunk of object.content) chunks.push(chunk as Buffer);
  const content = Buffer.concat(chunks);
  const md5 = createHash('md5').update(content).digest('hex');
  const metadata = Object.fromEntries(Object.entries(object.metadata)
    .filter(([name]) => ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')));
  // The object last: its file is what makes the key exist. Temporary names do not end in
  // "._S3rver_object", so listings never show them.
  const files: [string, string | Buffer][] = [
    [this.getResourcePath(object.bucket, object.key, 'object.md5'), md5],
    [this.getResourcePath(object.bucket, object.key, 'metadata.json'), JSON.stringify(metadata, null, 2)],
    [objectPath, content],
  ];
  const suffix = `.partial-${randomBytes(6).toString('hex')}`;
  await mkdir(dirname(objectPath), { recursive: true });
  try {
    for (const [path, data] of files) await writeFile(path + suffix, data);
    for (const [path] of files) await rename(path + suffix, path);
  } catch (err) {
    await Promise.all(files.map(([path]) => rm(path + suffix, { force: true })));
    throw err;
  }
  return { size: content.length, md5 };
};

// Ctrl-C reaches the whole foreground process group; the runner decides when we stop.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => process.exit(0));

const { port } = await server.run();
if (process.send !== undefined) {
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port });
} else {
  process.stdout.write(`s3rver on http://${values.address}:${port} bucket ${values.bucket}\n`);
  process.on('SIGINT', () => process.exit(0));
}
