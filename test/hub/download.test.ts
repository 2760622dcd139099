/**
 * Downloads from the fake hub into an empty cache: the huggingface_hub layout (refs, relative
 * snapshot symlinks into blobs named by etag), byte-identical files, only the needed files,
 * a second resolve with no file request, sharded safetensors through CDN redirects, GGUF
 * repositories (one file picked, several refused, an explicit file), tokenizer-only requests.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resolveModelPath } from '../../src/hub/resolve.js';
import { FakeHub } from './fake-hub.js';
import { MODELS, sameBytes, useFakeHub } from './helpers.js';

const hub = new FakeHub({
  'test-org/tinystories-656k': { dir: `${MODELS}/tinystories-656k` },
  'test-org/tiny-random-llama3': { dir: `${MODELS}/tiny-random-llama3` },
  'test-org/tinystories-656k-gguf': { dir: `${MODELS}/tinystories-656k-gguf` },
  'test-org/stories260k-gguf': { dir: `${MODELS}/stories260k-gguf` },
  'test-org/mixed': { dir: mixedFixture() },
});

/** tinystories-656k plus files tsgl does not need. */
function mixedFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsgl-mixed-'));
  cpSync(`${MODELS}/tinystories-656k`, dir, { recursive: true });
  writeFileSync(join(dir, 'README.md'), '# a model card\n');
  writeFileSync(join(dir, 'pytorch_model.bin'), 'not needed');
  writeFileSync(join(dir, 'extra.gguf'), 'not needed either');
  return dir;
}
const fake = useFakeHub(hub);
after(() => rmSync(hub.repos['test-org/mixed']!.dir, { recursive: true, force: true }));

const repoFolder = (id: string): string => join(fake.env.cache, `models--${id.replace('/', '--')}`);

describe('download into an empty cache', () => {
  test('an id downloads the needed files in the huggingface_hub layout', async () => {
    const id = 'test-org/tinystories-656k';
    const path = await resolveModelPath(id, { kind: 'model', progress: false });
    const folder = repoFolder(id);
    const sha = hub.shaOf(id);
    assert.equal(readFileSync(join(folder, 'refs', 'main'), 'utf8'), sha);
    assert.equal(path, join(folder, 'snapshots', sha));
    const files = readdirSync(path).sort();
    assert.deepEqual(files, hub.filesOf(id));
    for (const f of files) {
      const link = join(path, f);
      assert.ok(lstatSync(link).isSymbolicLink(), `${f} is a symlink`);
      const target = readlinkSync(link);
      assert.ok(!target.startsWith('/'), `${f} links relatively`);
      const info = hub.info(id, f);
      assert.equal(target, `../../blobs/${info.lfs ? info.sha256 : info.gitOid}`);
      assert.equal(realpathSync(link), realpathSync(join(folder, 'blobs', info.lfs ? info.sha256 : info.gitOid)));
      assert.ok(sameBytes(link, `${MODELS}/tinystories-656k/${f}`), `${f} is byte-identical`);
    }
    assert.deepEqual(readdirSync(join(folder, 'blobs')).filter((b) => b.includes('.')), [], 'no .incomplete left');
    // optional files the repository lacks are recorded as huggingface_hub does
    assert.ok(existsSync(join(folder, '.no_exist', sha, 'chat_template.jinja')));
  });

  test('a second resolve makes no request at all', async () => {
    const id = 'test-org/tinystories-656k';
    const first = await resolveModelPath(id, { kind: 'model', progress: false });
    hub.reset();
    const second = await resolveModelPath(id, { kind: 'model', progress: false });
    assert.equal(second, first);
    assert.deepEqual(hub.fileRequests(), []);
    assert.deepEqual(hub.requests, []);
    const tok = await resolveModelPath(id, { kind: 'tokenizer', progress: false });
    assert.equal(tok, first);
    assert.deepEqual(hub.requests, []);
  });

  test('only the needed files are fetched', async () => {
    // the repository also holds a README, a pickle checkpoint and a .gguf: none is downloaded
    const id = 'test-org/mixed';
    const path = await resolveModelPath(id, { kind: 'model', progress: false });
    const got = hub.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/')).map((r) => r.path.split('/').pop()).sort();
    const wanted = readdirSync(`${MODELS}/tinystories-656k`).sort();
    assert.deepEqual(got, wanted);
    assert.deepEqual(readdirSync(path).sort(), wanted);
  });

  test('sharded safetensors: the index and its shards, through CDN redirects', async () => {
    hub.redirectLfs = true;
    const id = 'test-org/tiny-random-llama3';
    const path = await resolveModelPath(id, { kind: 'model', progress: false });
    assert.deepEqual(readdirSync(path).sort(), readdirSync(`${MODELS}/tiny-random-llama3`).sort());
    for (const f of readdirSync(path)) assert.ok(sameBytes(join(path, f), `${MODELS}/tiny-random-llama3/${f}`), f);
    assert.ok(hub.requests.some((r) => r.path.startsWith('/cdn/')), 'LFS files came from the CDN route');
    // blobs of LFS files are named by sha256
    const shard = hub.info(id, 'model-00001-of-00002.safetensors');
    assert.ok(existsSync(join(repoFolder(id), 'blobs', shard.sha256)));
  });

  test('tokenizer kind fetches no weights', async () => {
    const id = 'test-org/tiny-random-llama3';
    const path = await resolveModelPath(id, { kind: 'tokenizer', progress: false });
    const files = readdirSync(path).sort();
    assert.deepEqual(files, ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']);
  });

  test('a GGUF repository with one file resolves to that file', async () => {
    const id = 'test-org/stories260k-gguf';
    const path = await resolveModelPath(id, { kind: 'model', progress: false });
    assert.equal(path, join(repoFolder(id), 'snapshots', hub.shaOf(id), 'stories260k.gguf'));
    assert.ok(sameBytes(path, `${MODELS}/stories260k-gguf/stories260k.gguf`));
    hub.reset();
    assert.equal(await resolveModelPath(id, { kind: 'model', progress: false }), path);
    assert.equal(await resolveModelPath(id, { kind: 'tokenizer', progress: false }), path);
    assert.deepEqual(hub.requests, []);
  });

  test('a GGUF repository with several files needs org/name/file.gguf', async () => {
    const id = 'test-org/tinystories-656k-gguf';
    await assert.rejects(resolveModelPath(id, { kind: 'model', progress: false }),
      /holds 2 \.gguf files; choose one with test-org\/tinystories-656k-gguf\/<file>.*tinystories-656k-q8_0\.gguf/);
    const path = await resolveModelPath(`${id}/tinystories-656k-q8_0.gguf`, { kind: 'model', progress: false });
    assert.ok(path.endsWith(`/snapshots/${hub.shaOf(id)}/tinystories-656k-q8_0.gguf`));
    assert.ok(sameBytes(path, `${MODELS}/tinystories-656k-gguf/tinystories-656k-q8_0.gguf`));
    assert.deepEqual(readdirSync(join(repoFolder(id), 'snapshots', hub.shaOf(id))), ['tinystories-656k-q8_0.gguf']);
    await assert.rejects(resolveModelPath(`${id}/nope.gguf`, { kind: 'model', progress: false }),
      /File nope\.gguf not found in test-org\/tinystories-656k-gguf/);
  });

  test('a commit-hash revision and a branch share the snapshot', async () => {
    const id = 'test-org/tinystories-656k';
    const sha = hub.shaOf(id);
    const path = await resolveModelPath(id, { kind: 'model', revision: sha, progress: false });
    assert.equal(path, join(repoFolder(id), 'snapshots', sha));
    assert.ok(!existsSync(join(repoFolder(id), 'refs', sha)), 'no ref is written for a commit hash');
    hub.reset();
    assert.equal(await resolveModelPath(id, { kind: 'model', revision: sha, progress: false }), path);
    assert.equal(hub.requests.length, 0);
    // main is not known yet: one listing, no file transfer
    assert.equal(await resolveModelPath(id, { kind: 'model', progress: false }), path);
    assert.deepEqual(hub.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/')), []);
  });

  test('a local folder or file is returned unchanged', async () => {
    const dir = `${MODELS}/tinystories-656k`;
    assert.equal(await resolveModelPath(dir, { kind: 'model' }), dir);
    const file = `${MODELS}/stories260k-gguf/stories260k.gguf`;
    assert.equal(await resolveModelPath(file, { kind: 'model' }), file);
    await assert.rejects(resolveModelPath('./no/such/folder', { kind: 'model' }), /does not exist and is not a Hugging Face id/);
    assert.deepEqual(hub.requests, []);
  });
});
