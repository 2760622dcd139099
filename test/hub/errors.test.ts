/**
 * Clear errors: a missing repository (404), a gated repository without or with a wrong token
 * (401), an unknown revision, an unreachable endpoint; `tsgl download` exits non-zero with the
 * message on stderr. The right HF_TOKEN is sent as a Bearer token and unlocks the gated repo.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { downloadCommand } from '../../src/cli/download.js';
import { HubError } from '../../src/hub/errors.js';
import { resolveModelPath } from '../../src/hub/resolve.js';
import { FakeHub } from './fake-hub.js';
import { captureOutput, MODELS, sameBytes, useFakeHub } from './helpers.js';

const hub = new FakeHub({
  'test-org/tinystories-656k': { dir: `${MODELS}/tinystories-656k` },
  'gated-org/tinystories-656k': { dir: `${MODELS}/tinystories-656k`, token: 'hf_right' },
});
const fake = useFakeHub(hub);

const opts = { kind: 'model' as const, progress: false };

async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function hubError(code: string, text: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof HubError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, text);
    return true;
  };
}

describe('hub errors', () => {
  test('a missing repository: "Repository org/name not found on <endpoint>"', async () => {
    await assert.rejects(resolveModelPath('test-org/nope', opts),
      hubError('not_found', new RegExp(`^Repository test-org/nope not found on ${hub.url}$`)));
    const r = await captureOutput(() => downloadCommand(['test-org/nope']));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Repository test-org\/nope not found on http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(r.stdout, '');
  });

  test('a gated repository without a token says to set HF_TOKEN', async () => {
    await assert.rejects(resolveModelPath('gated-org/tinystories-656k', opts),
      hubError('unauthorized', /gated-org\/tinystories-656k .*gated or private \(HTTP 401\): set HF_TOKEN/));
    const r = await captureOutput(() => downloadCommand(['gated-org/tinystories-656k', '--quiet']));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /set HF_TOKEN/);
  });

  test('a wrong token is reported as such; the right one downloads', async () => {
    process.env.HF_TOKEN = 'hf_wrong';
    await assert.rejects(resolveModelPath('gated-org/tinystories-656k', opts),
      hubError('unauthorized', /the HF_TOKEN given has no access/));
    process.env.HF_TOKEN = 'hf_right';
    const path = await resolveModelPath('gated-org/tinystories-656k', opts);
    assert.ok(sameBytes(`${path}/model.safetensors`, `${MODELS}/tinystories-656k/model.safetensors`));
  });

  test('an unknown revision', async () => {
    await assert.rejects(resolveModelPath('test-org/tinystories-656k', { ...opts, revision: 'v9' }),
      hubError('not_found', /Revision v9 not found in repository test-org\/tinystories-656k/));
  });

  test('no network: "cannot reach <endpoint>; set HF_HUB_OFFLINE=1 ..."', async () => {
    const url = await closedPortUrl();
    process.env.HF_ENDPOINT = url;
    await assert.rejects(resolveModelPath('test-org/tinystories-656k', opts),
      hubError('unreachable', new RegExp(`^cannot reach ${url} \\(ECONNREFUSED\\); set HF_HUB_OFFLINE=1 to use only the local cache$`)));
    process.env.HF_ENDPOINT = 'http://no-such-host.invalid';
    await assert.rejects(resolveModelPath('test-org/tinystories-656k', opts),
      hubError('unreachable', /^cannot reach http:\/\/no-such-host\.invalid \((ENOTFOUND|EAI_AGAIN)\); set HF_HUB_OFFLINE=1/));
    const r = await captureOutput(() => downloadCommand(['test-org/tinystories-656k']));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach/);
  });

  test('usage errors exit 2; --help exits 0', async () => {
    assert.equal((await captureOutput(() => downloadCommand([]))).code, 2);
    assert.equal((await captureOutput(() => downloadCommand(['not an id']))).code, 2);
    assert.equal((await captureOutput(() => downloadCommand(['a/b', '--bogus']))).code, 2);
    const help = await captureOutput(() => downloadCommand(['--help']));
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: tsgl download/);
    assert.deepEqual(hub.requests, []);
  });
});
