/**
 * `launch_server --model-path org/name` through a local fake hub (HF_ENDPOINT): the first launch
 * downloads into a temporary HF_HOME and serves the golden ids; a second launch and an offline
 * launch make no file requests; --download-dir downloads into a cache of its own; a missing
 * repository fails startup with a clear error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { FakeHub } from '../hub/fake-hub.js';
import { launchServer, MODELS, post } from './server.js';

const golden = (JSON.parse(readFileSync(`${MODELS}golden/tinystories-656k.greedy.json`, 'utf8')) as { cases: { prompt_ids: number[]; greedy_output_ids: number[] }[] }).cases[0]!;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('e2e: model ids through a fake hub', () => {
  let hub: FakeHub;
  let home: string;
  let env: Record<string, string>;
  before(async () => {
    hub = await new FakeHub({ 'test-org/tinystories-656k': { dir: `${MODELS}tinystories-656k` } }).start();
    home = mkdtempSync(join(tmpdir(), 'tsgl-e2e-hub-'));
    env = { HF_ENDPOINT: hub.url, HF_HOME: home, HF_HUB_CACHE: join(home, 'hub'), HF_TOKEN: '', HF_HUB_OFFLINE: '' };
  });
  after(async () => {
    await hub.close();
    rmSync(home, { recursive: true, force: true });
  });

  const serveAndCheck = async (extraEnv: Record<string, string> = {}): Promise<void> => {
    const server = await launchServer(['--model-path', 'test-org/tinystories-656k', '--max-total-tokens', '4096'], { ...env, ...extraEnv });
    try {
      const r = await post(`${server.url}/generate`, { input_ids: golden.prompt_ids, sampling_params: { temperature: 0, max_new_tokens: 100 } });
      assert.deepEqual(r.json.output_ids, golden.greedy_output_ids);
    } finally {
      await server.stop();
    }
  };

  it('downloads on the first launch and serves the golden ids', async () => {
    await serveAndCheck();
    assert.ok(hub.fileRequests().length > 0);
  });

  it('a second launch downloads nothing; an offline launch makes no request at all', async () => {
    hub.reset();
    await serveAndCheck();
    assert.equal(hub.fileRequests().length, 0);
    hub.reset();
    await serveAndCheck({ HF_HUB_OFFLINE: '1' });
    assert.equal(hub.requests.length, 0);
  });

  it('--download-dir downloads into that folder (a hub cache of its own) and serves from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgl-e2e-dl-'));
    try {
      hub.reset();
      const server = await launchServer(['--model-path', 'test-org/tinystories-656k', '--max-total-tokens', '4096', '--download-dir', dir], env);
      try {
        const r = await post(`${server.url}/generate`, { input_ids: golden.prompt_ids, sampling_params: { temperature: 0, max_new_tokens: 100 } });
        assert.deepEqual(r.json.output_ids, golden.greedy_output_ids);
      } finally {
        await server.stop();
      }
      assert.ok(hub.fileRequests().length > 0, 'the default cache already had the model, --download-dir must not use it');
      assert.ok(existsSync(join(dir, 'models--test-org--tinystories-656k')), `nothing under ${dir}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing repository fails startup with a clear error and a non-zero exit', async () => {
    // The fake hub runs in this process, so the child must not be waited on synchronously.
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'launch_server', '--model-path', 'test-org/nope', '--port', '0'], {
      cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /Repository test-org\/nope not found/);
  });
});
