/**
 * s3rver in its own process, started by run-tests.ts over an IPC channel:
 *
 *   node dist/test/support/s3-server.js --dir <data dir> --bucket <name> [--port 0] [--address 127.0.0.1]
 *
 * It binds 127.0.0.1 (or the given address: multi-host tests run it in a private network
 * namespace, on that namespace's own address), pre-creates the bucket, sends `{ type: 'ready', port }` to its parent and
 * exits as soon as the IPC channel closes, so a runner that crashes or is SIGKILLed cannot leave
 * it behind. Without an IPC channel (run by hand) it prints the endpoint and runs until killed.
 */
import { createRequire } from 'node:module';
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
