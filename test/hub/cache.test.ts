/**
 * The cache as Python tools leave it: a folder pre-filled in the huggingface_hub layout
 * (written here independently of src/hub) is used with no request to the hub; a commit-hash
 * revision needs no ref; HF_HUB_OFFLINE=1 opens no connection and names the missing files;
 * HF_HUB_CACHE moves the cache; `tsgl models` lists repositories with their sizes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import { downloadCommand } from '../../src/cli/download.js';
import { modelsCommand } from '../../src/cli/models.js';
import { HubError } from '../../src/hub/errors.js';
import { resolveModelPath } from '../../src/hub/resolve.js';
import { FakeHub, fakeSha, fileInfo } from './fake-hub.js';
import { captureOutput, MODELS, sameBytes, useFakeHub } from './helpers.js';

const hub = new FakeHub({
  'test-org/tinystories-656k': { dir: `${MODELS}/tinystories-656k` },
  'test-org/tiny-random-llama3': { dir: `${MODELS}/tiny-random-llama3` },
});
const fake = useFakeHub(hub);

/** What huggingface_hub.snapshot_download leaves behind, built by hand. Returns the snapshot folder. */
function prefill(cache: string, repoId: string, dir: string, files: string[], ref: string | null = 'main'): string {
  const sha = fakeSha(repoId);
  const repo = join(cache, `models--${repoId.replace('/', '--')}`);
  const snap = join(repo, 'snapshots', sha);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snap, { recursive: true });
  for (const f of files) {
    const info = fileInfo(join(dir, f));
    const blob = info.lfs ? info.sha256 : info.gitOid;
    copyFileSync(join(dir, f), join(repo, 'blobs', blob));
    symlinkSync(`../../blobs/${blob}`, join(snap, f));
  }
  if (ref) {
    mkdirSync(join(repo, 'refs'), { recursive: true });
    writeFileSync(join(repo, 'refs', ref), sha);
  }
  return snap;
}

const TS_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const opts = { kind: 'model' as const, progress: false };

describe('a cache filled by Python tools', () => {
  test('is used with no request to the hub', async () => {
    const snap = prefill(fake.env.cache, 'test-org/tinystories-656k', `${MODELS}/tinystories-656k`, TS_FILES);
    assert.equal(await resolveModelPath('test-org/tinystories-656k', opts), snap);
    assert.equal(await resolveModelPath('test-org/tinystories-656k', { ...opts, kind: 'tokenizer' }), snap);
    assert.deepEqual(hub.requests, []);
  });

  test('a commit-hash revision resolves to snapshots/<commit> without a ref', async () => {
    const snap = prefill(fake.env.cache, 'test-org/tinystories-656k', `${MODELS}/tinystories-656k`, TS_FILES, null);
    const sha = fakeSha('test-org/tinystories-656k');
    assert.equal(await resolveModelPath('test-org/tinystories-656k', { ...opts, revision: sha }), snap);
    assert.deepEqual(hub.requests, []);
  });

  test('HF_HUB_CACHE (and the older HUGGINGFACE_HUB_CACHE) choose the cache folder', async () => {
    const other = mkdtempSync(join(tmpdir(), 'tsgl-hubcache-'));
    try {
      process.env.HUGGINGFACE_HUB_CACHE = other;
      const snap = prefill(other, 'test-org/tinystories-656k', `${MODELS}/tinystories-656k`, TS_FILES);
      assert.equal(await resolveModelPath('test-org/tinystories-656k', opts), snap);
      process.env.HF_HUB_CACHE = join(other, 'newer');
      const path = await resolveModelPath('test-org/tinystories-656k', opts); // not in the newer one: downloads there
      assert.ok(path.startsWith(join(other, 'newer', 'models--test-org--tinystories-656k')));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('a partial snapshot downloads only what is missing', async () => {
    const snap = prefill(fake.env.cache, 'test-org/tiny-random-llama3', `${MODELS}/tiny-random-llama3`,
      ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'tokenizer.json']);
    const path = await resolveModelPath('test-org/tiny-random-llama3', opts);
    assert.equal(path, snap);
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/')).map((r) => r.path.split('/').pop()).sort();
    assert.deepEqual(gets, ['generation_config.json', 'model-00002-of-00002.safetensors', 'tokenizer_config.json']);
    for (const f of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      assert.ok(sameBytes(join(path, f), `${MODELS}/tiny-random-llama3/${f}`));
    }
  });
});

describe('HF_HUB_OFFLINE=1', () => {
  beforeEach(() => {
    process.env.HF_HUB_OFFLINE = '1';
  });

  test('a cached model resolves with no request', async () => {
    const snap = prefill(fake.env.cache, 'test-org/tinystories-656k', `${MODELS}/tinystories-656k`, TS_FILES);
    assert.equal(await resolveModelPath('test-org/tinystories-656k', opts), snap);
    const r = await captureOutput(() => downloadCommand(['test-org/tinystories-656k']));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), snap);
    assert.deepEqual(hub.requests, []);
  });

  test('an uncached model fails clearly with no request', async () => {
    await assert.rejects(resolveModelPath('test-org/tinystories-656k', opts), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 'offline_miss');
      assert.match(e.message, /HF_HUB_OFFLINE is set and the cache .* lacks test-org\/tinystories-656k@main: missing refs\/main/);
      return true;
    });
    const r = await captureOutput(() => downloadCommand(['test-org/tinystories-656k']));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HF_HUB_OFFLINE/);
    assert.deepEqual(hub.requests, []);
  });

  test('a missing file is named', async () => {
    const snap = prefill(fake.env.cache, 'test-org/tiny-random-llama3', `${MODELS}/tiny-random-llama3`,
      readdirFixture('tiny-random-llama3'));
    unlinkSync(join(snap, 'model-00002-of-00002.safetensors'));
    await assert.rejects(resolveModelPath('test-org/tiny-random-llama3', opts), /missing model-00002-of-00002\.safetensors/);
    assert.equal(await resolveModelPath('test-org/tiny-random-llama3', { ...opts, kind: 'tokenizer' }), snap);
    unlinkSync(join(snap, 'model.safetensors.index.json'));
    await assert.rejects(resolveModelPath('test-org/tiny-random-llama3', opts), /missing model\.safetensors/);
    assert.deepEqual(hub.requests, []);
  });
});

function readdirFixture(name: string): string[] {
  return hub.filesOf(`test-org/${name}`);
}

describe('tsgl models', () => {
  test('lists cached repositories with revisions, sizes and paths', async () => {
    prefill(fake.env.cache, 'test-org/tiny-random-llama3', `${MODELS}/tiny-random-llama3`, readdirFixture('tiny-random-llama3'));
    await resolveModelPath('test-org/tinystories-656k', opts);
    const json = await captureOutput(() => modelsCommand(['--json']));
    assert.equal(json.code, 0);
    const list = JSON.parse(json.stdout) as { repo_id: string; refs: Record<string, string>; size_on_disk: number; path: string }[];
    assert.deepEqual(list.map((r) => r.repo_id), ['test-org/tiny-random-llama3', 'test-org/tinystories-656k']);
    for (const r of list) {
      const name = r.repo_id.split('/')[1]!;
      const bytes = hub.filesOf(r.repo_id).reduce((s, f) => s + fileInfo(join(MODELS, name, f)).size, 0);
      assert.equal(r.size_on_disk, bytes, `${r.repo_id} size`);
      assert.equal(r.refs.main, fakeSha(r.repo_id));
      assert.equal(r.path, join(fake.env.cache, `models--test-org--${name}`));
    }
    const table = await captureOutput(() => modelsCommand([]));
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^REPO ID\s+REVISIONS\s+SIZE ON DISK\s+PATH$/m);
    assert.match(table.stdout, /^test-org\/tinystories-656k\s+main=[0-9a-f]{8}\s+2\.59 MiB\s+\/.*models--test-org--tinystories-656k$/m);
    assert.match(table.stdout, /^test-org\/tiny-random-llama3\s+main=[0-9a-f]{8}\s+13\.\d MiB\s+/m);
    assert.match(table.stdout, /2 model\(s\)/);
    assert.deepEqual(hub.requests.filter((r) => r.path.startsWith('/api/models/test-org/tiny-random-llama3')), []);
  });

  test('an empty cache and --help', async () => {
    const r = await captureOutput(() => modelsCommand([]));
    assert.equal(r.code, 0);
    assert.match(r.stdout, /no models in /);
    assert.match((await captureOutput(() => modelsCommand(['--help']))).stdout, /Usage: tsgl models/);
    assert.equal((await captureOutput(() => modelsCommand(['--bogus']))).code, 2);
  });
});
