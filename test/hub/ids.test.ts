/**
 * Pure parts: which strings are hub ids, the cache folder naming, and the environment
 * variables' precedence (same as huggingface_hub's constants).
 */
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { hubCacheDir, hubEndpoint, hubOffline, hubToken } from '../../src/hub/env.js';
import { isCommitHash, parseHubId, repoFolderName, repoIdFromFolder } from '../../src/hub/ids.js';
import { looksLikeHubId } from '../../src/hub/resolve.js';
import { useHubEnv, type HubEnv } from './helpers.js';

describe('hub ids', () => {
  test('looksLikeHubId', () => {
    for (const s of ['Qwen/Qwen3-0.6B', 'meta-llama/Llama-3.2-1B-Instruct', 'a/b', 'org_1/name.v2',
      'bartowski/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf', 'org/name/sub/dir/file.GGUF']) {
      assert.ok(looksLikeHubId(s), s);
    }
    for (const s of ['gpt2', '/abs/path', './rel/path', '../up/path', 'org/name/', 'org//name', 'org/name/config.json',
      'org/na--me', 'org/na..me', '-org/name', 'org/name-', 'org/name/../x.gguf', '', 'C:\\models\\x', `org/${'x'.repeat(97)}`]) {
      assert.ok(!looksLikeHubId(s), s);
    }
    assert.deepEqual(parseHubId('o/n/q/f.gguf'), { repoId: 'o/n', file: 'q/f.gguf' });
    assert.deepEqual(parseHubId('o/n'), { repoId: 'o/n', file: null });
  });

  test('cache folder names', () => {
    assert.equal(repoFolderName('Qwen/Qwen3-0.6B'), 'models--Qwen--Qwen3-0.6B');
    assert.equal(repoIdFromFolder('models--Qwen--Qwen3-0.6B'), 'Qwen/Qwen3-0.6B');
    assert.equal(repoIdFromFolder('datasets--a--b'), null);
    assert.ok(isCommitHash('0123456789abcdef0123456789abcdef01234567'));
    assert.ok(!isCommitHash('main'));
  });
});

describe('environment', () => {
  let env: HubEnv;
  beforeEach(() => {
    env = useHubEnv('https://example.invalid/');
  });
  afterEach(() => env.restore());

  test('cache folder precedence', () => {
    delete process.env.HF_HOME;
    assert.equal(hubCacheDir(), join(homedir(), '.cache', 'huggingface', 'hub'));
    process.env.XDG_CACHE_HOME = '/x';
    assert.equal(hubCacheDir(), '/x/huggingface/hub');
    process.env.HF_HOME = '/h';
    assert.equal(hubCacheDir(), '/h/hub');
    process.env.HUGGINGFACE_HUB_CACHE = '/old';
    assert.equal(hubCacheDir(), '/old');
    process.env.HF_HUB_CACHE = '/new';
    assert.equal(hubCacheDir(), '/new');
    process.env.HF_HUB_CACHE = '~/c';
    assert.equal(hubCacheDir(), join(homedir(), 'c'));
  });

  test('endpoint, token, offline', () => {
    assert.equal(hubEndpoint(), 'https://example.invalid');
    delete process.env.HF_ENDPOINT;
    assert.equal(hubEndpoint(), 'https://huggingface.co');
    assert.equal(hubToken(), undefined);
    process.env.HUGGING_FACE_HUB_TOKEN = 'old';
    assert.equal(hubToken(), 'old');
    process.env.HF_TOKEN = 'new';
    assert.equal(hubToken(), 'new');
    assert.equal(hubOffline(), false);
    for (const v of ['1', 'true', 'YES', 'on']) {
      process.env.HF_HUB_OFFLINE = v;
      assert.equal(hubOffline(), true, v);
    }
    process.env.HF_HUB_OFFLINE = '0';
    assert.equal(hubOffline(), false);
  });
});
