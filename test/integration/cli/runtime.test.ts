/**
 * ObjectFS runs on Node >= 22 (docs/decisions.md 70), and the `objectfs` executable finds such a
 * node even where the machine's own is older (scripts/node-env.sh): no runtime warning, such as
 * the AWS SDK's notice that it will drop Node 20, reaches a user. The executable is run with the
 * project's node taken off PATH, as a user's shell would have it, and with the SDK's switch for
 * that warning removed from the environment.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireS3Env } from '../../support/s3.js';
import type { CliResult } from '../../support/cli.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const EXECUTABLE = join(ROOT, 'bin', 'objectfs');
/** What Node prints for process.emitWarning and deprecations, and the SDK's own name for its notice. */
const RUNTIME_WARNING = /^\(node:\d+\)|Warning:|NodeVersionSupportWarning/m;

/** The environment of a user who has not sourced scripts/node-env.sh. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'];
  delete env['npm_config_nodedir'];
  env['PATH'] = (env['PATH'] ?? '').split(delimiter).filter((d) => !d.startsWith(join(ROOT, '.tools'))).join(delimiter);
  return env;
}

function runExecutable(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(EXECUTABLE, args, { env: { ...userEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('runtime', () => {
  test('the suite itself runs on Node >= 22', () => {
    assert.ok(Number(process.versions.node.split('.')[0]) >= 22, `running on Node ${process.versions.node}`);
  });

  test('package.json admits Node >= 22 only', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.equal(pkg.engines.node, '>=22');
  });

  test('objectfs --version prints the version and nothing on stderr', async () => {
    const r = await runExecutable(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(r.stderr, '');
  });

  test('a compile cache that cannot be written (sysfs refuses the directory) is ignored quietly (decision 103)', async () => {
    const r = await runExecutable(['--version'], { NODE_COMPILE_CACHE: '/sys/objectfs-no-cache-here' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(r.stderr, '');
  });

  test('a command that uses the AWS SDK prints its own error and no runtime warning', async () => {
    const s3 = requireS3Env();
    const dir = await mkdtemp(join(tmpdir(), 'runtime-'));
    try {
      const storage = `s3://no-such-bucket-${Date.now()}/p?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}`;
      const r = await runExecutable(['format', `pglite://${join(dir, 'meta')}`, 'vol', '--storage', storage]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /^objectfs: .*no-such-bucket/m);
      assert.doesNotMatch(r.stderr, RUNTIME_WARNING);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
