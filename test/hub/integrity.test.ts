/**
 * Crash and corruption safety: a connection cut mid-file resumes with a Range request (within
 * one call, and across calls from a leftover .incomplete file); a download whose bytes do not
 * match the hub's sha256 is discarded and fetched again; a truncated or altered blob in the
 * cache is detected by `tsgl download` and replaced. Every end state is byte-identical.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { downloadCommand } from '../../src/cli/download.js';
import { resolveModelPath } from '../../src/hub/resolve.js';
import { FakeHub } from './fake-hub.js';
import { captureOutput, MODELS, sameBytes, useFakeHub } from './helpers.js';

const ID = 'test-org/tinystories-656k';
const FIXTURE = `${MODELS}/tinystories-656k`;
const hub = new FakeHub({ [ID]: { dir: FIXTURE } });
const fake = useFakeHub(hub);

const blobs = (): string => join(fake.env.cache, 'models--test-org--tinystories-656k', 'blobs');
const weightsBlob = (): string => join(blobs(), hub.info(ID, 'model.safetensors').sha256);

function assertIdentical(path: string): void {
  for (const f of hub.filesOf(ID)) assert.ok(sameBytes(join(path, f), join(FIXTURE, f)), `${f} is byte-identical`);
  assert.deepEqual(readdirSync(blobs()).filter((b) => b.endsWith('.incomplete')), []);
}

describe('interrupted downloads', () => {
  for (const redirect of [false, true]) {
    test(`a cut connection resumes with a Range request${redirect ? ' (CDN redirect)' : ''}`, async () => {
      hub.redirectLfs = redirect;
      hub.cutOnce.add('model.safetensors');
      const path = await resolveModelPath(ID, { kind: 'model', progress: false });
      assertIdentical(path);
      const gets = hub.requests.filter((r) => r.method === 'GET' && (r.path.endsWith('/model.safetensors') || r.path.startsWith('/cdn/')));
      const ranged = gets.filter((r) => r.range !== null);
      assert.equal(ranged.length, redirect ? 2 : 1, 'the retry asks for the rest only'); // with a redirect, both hops carry the Range
      const from = Number(/^bytes=(\d+)-$/.exec(ranged.at(-1)!.range!)![1]);
      assert.ok(from > 0 && from <= hub.info(ID, 'model.safetensors').size >> 1, `resumed at ${from}, after what arrived`);
      assert.equal(gets.filter((r) => r.range === null).length, redirect ? 2 : 1, 'one full request only, the first');
    });
  }

  test('a 503 answer is retried', async () => {
    hub.fail503Once.add('model.safetensors');
    assertIdentical(await resolveModelPath(ID, { kind: 'model', progress: false }));
    assert.equal(hub.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors')).length, 2);
  });

  test('a leftover .incomplete file from a crashed run is resumed, not restarted', async () => {
    const info = hub.info(ID, 'model.safetensors');
    mkdirSync(blobs(), { recursive: true });
    const have = 1_000_000;
    writeFileSync(join(blobs(), `${info.sha256}.incomplete`), info.data.subarray(0, have));
    const path = await resolveModelPath(ID, { kind: 'model', progress: false });
    assertIdentical(path);
    const get = hub.requests.find((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors'));
    assert.equal(get?.range, `bytes=${have}-`);
  });

  test('a leftover .incomplete file with wrong bytes fails the sha256 check and is fetched again', async () => {
    const info = hub.info(ID, 'model.safetensors');
    mkdirSync(blobs(), { recursive: true });
    writeFileSync(join(blobs(), `${info.sha256}.incomplete`), Buffer.alloc(1000, 7));
    const path = await resolveModelPath(ID, { kind: 'model', progress: false });
    assertIdentical(path);
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors'));
    assert.deepEqual(gets.map((g) => g.range), ['bytes=1000-', null]);
  });
});

describe('corruption', () => {
  test('bytes that do not match the sha256 ETag are discarded and downloaded again', async () => {
    hub.corruptOnce.add('model.safetensors');
    const path = await resolveModelPath(ID, { kind: 'model', progress: false });
    assertIdentical(path);
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors'));
    assert.equal(gets.length, 2);
  });

  test('a persistent mismatch fails clearly and leaves no blob', async () => {
    hub.corruptOnce.add('model.safetensors');
    const realDelete = hub.corruptOnce.delete.bind(hub.corruptOnce);
    hub.corruptOnce.delete = (f: string) => (realDelete(f), hub.corruptOnce.add(f), true); // corrupt every time
    try {
      await assert.rejects(resolveModelPath(ID, { kind: 'model', progress: false }), /does not match the hub's size\/sha256/);
      assert.ok(!existsSync(weightsBlob()));
      assert.ok(!existsSync(join(fake.env.cache, 'models--test-org--tinystories-656k', 'refs', 'main')), 'no ref to a broken snapshot');
    } finally {
      hub.corruptOnce.delete = realDelete;
      hub.corruptOnce.clear();
    }
  });

  test('tsgl download replaces a truncated blob', async () => {
    await resolveModelPath(ID, { kind: 'model', progress: false });
    truncateSync(weightsBlob(), 1234);
    hub.reset();
    const r = await captureOutput(() => downloadCommand([ID, '--quiet']));
    assert.equal(r.code, 0, r.stderr);
    assertIdentical(r.stdout.trim());
    assert.equal(hub.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/model.safetensors')).length, 1);
  });

  test('tsgl download replaces a blob of the right size with altered bytes (sha256)', async () => {
    await resolveModelPath(ID, { kind: 'model', progress: false });
    const bytes = readFileSync(weightsBlob());
    bytes[100] ^= 1;
    writeFileSync(weightsBlob(), bytes);
    hub.reset();
    const r = await captureOutput(() => downloadCommand([ID, '--quiet']));
    assert.equal(r.code, 0, r.stderr);
    assertIdentical(r.stdout.trim());
    const gets = hub.requests.filter((q) => q.method === 'GET' && q.path.includes('/resolve/')).map((q) => q.path.split('/').pop());
    assert.deepEqual(gets, ['model.safetensors'], 'only the damaged file is fetched again');
  });
});

describe('concurrent writers', () => {
  const lockOf = (file: string): string =>
    join(fake.env.cache, '.locks', 'models--test-org--tinystories-656k', `${hub.info(ID, file).sha256}.tsgl.lock`);

  test('concurrent resolves in one process download each file once', async () => {
    const [a, b, c] = await Promise.all([
      resolveModelPath(ID, { kind: 'model', progress: false }),
      resolveModelPath(ID, { kind: 'model', progress: false }),
      resolveModelPath(ID, { kind: 'tokenizer', progress: false }),
    ]);
    assert.equal(a, b);
    assert.equal(a, c);
    assertIdentical(a);
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/')).map((r) => r.path.split('/').pop()).sort();
    assert.deepEqual(gets, hub.filesOf(ID));
  });

  test('a lock left by a dead process is taken over', async () => {
    mkdirSync(join(lockOf('model.safetensors'), '..'), { recursive: true });
    writeFileSync(lockOf('model.safetensors'), `${hostname()}:2147483646`);
    assertIdentical(await resolveModelPath(ID, { kind: 'model', progress: false }));
    assert.ok(!existsSync(lockOf('model.safetensors')));
  });

  test('a lock held by a live process is waited for', async () => {
    mkdirSync(join(lockOf('model.safetensors'), '..'), { recursive: true });
    writeFileSync(lockOf('model.safetensors'), `${hostname()}:${process.ppid}`);
    const t0 = Date.now();
    setTimeout(() => rmSync(lockOf('model.safetensors')), 600);
    const r = await captureOutput(async () => (assertIdentical(await resolveModelPath(ID, { kind: 'model', progress: false })), 0));
    assert.ok(Date.now() - t0 >= 550, 'waited for the other holder');
    assert.match(r.stderr, /waiting for another tsgl process downloading test-org\/tinystories-656k\/model\.safetensors/);
  });
});
