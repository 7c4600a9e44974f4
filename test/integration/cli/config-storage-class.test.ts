/**
 * `objectfs config` and storage classes (PGlite + the S3 test server): the volume's class is
 * set and reset by `config`, new block objects are PUT with it (s3rver keeps the header and
 * HEAD returns it), and a mount-level class overrides it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { runCli } from '../../support/cli.js';
import { freshDataVolume, listBlockKeys, ROOT_CALLER, type DataVolume } from '../../support/data-volume.js';
import { requireS3Env } from '../../support/s3.js';

let dv: DataVolume;
let client: S3Client;

before(async () => {
  dv = await freshDataVolume('storage-class', { meta: 'pglite', data: 's3', blockSize: 64 * 1024 });
  const env = requireS3Env();
  client = new S3Client({ endpoint: env.endpoint, region: env.region, forcePathStyle: true });
});

after(async () => {
  client?.destroy();
  await dv?.cleanup();
});

/** Writes `name` (200 KiB: 4 blocks) through a volume instance; returns the new block keys. */
async function writeFile(name: string, storageClass?: string): Promise<string[]> {
  const known = new Set(await listBlockKeys(dv.objects));
  const v = await dv.open(storageClass === undefined ? {} : { storageClass });
  const { fh } = await v.vfs.create(ROOT_CALLER, 1, Buffer.from(name), 0o644, constants.O_RDWR);
  await v.vfs.write(fh, 0, Buffer.alloc(200 * 1024, 7));
  await v.vfs.release(fh);
  await v.close();
  return (await listBlockKeys(dv.objects)).filter((k) => !known.has(k));
}

async function classesOf(keys: readonly string[]): Promise<(string | undefined)[]> {
  const env = requireS3Env();
  const prefix = decodeURIComponent(new URL(dv.storage).pathname.slice(1));
  return Promise.all(keys.map(async (k) => (await client.send(new HeadObjectCommand({ Bucket: env.bucket, Key: `${prefix}${dv.name}/${k}` }))).StorageClass));
}

test('config shows and changes the mutable settings; new objects get the volume\'s storage class', async () => {
  const show = await runCli(['config', dv.metaUrl]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /storage class: the bucket's default/);

  const bad = await runCli(['config', dv.metaUrl, '--storage-class', 'COLDEST']);
  assert.equal(bad.code, 2);

  const set = await runCli(['config', dv.metaUrl, '--storage-class', 'standard_ia', '--trash-days', '3']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /storage class: STANDARD_IA {3}\(was the bucket's default\)/);
  assert.match(set.stdout, /trash days: +3 {3}\(was 0\)/);

  const keys = await writeFile('ia');
  assert.equal(keys.length, 4);
  assert.deepEqual(await classesOf(keys), ['STANDARD_IA', 'STANDARD_IA', 'STANDARD_IA', 'STANDARD_IA']);

  const overridden = await writeFile('onezone', 'ONEZONE_IA');
  assert.deepEqual(await classesOf(overridden), ['ONEZONE_IA', 'ONEZONE_IA', 'ONEZONE_IA', 'ONEZONE_IA']);

  const reset = await runCli(['config', dv.metaUrl, '--storage-class', 'default', '--json']);
  assert.equal(reset.code, 0, reset.stderr);
  const json = JSON.parse(reset.stdout) as { before: { storageClass?: string }; after: { storageClass?: string; trashDays: number } };
  assert.equal(json.before.storageClass, 'STANDARD_IA');
  assert.equal(json.after.storageClass, undefined);
  assert.equal(json.after.trashDays, 3);
});
