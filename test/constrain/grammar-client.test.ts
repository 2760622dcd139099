/**
 * GrammarClient against a real grammar worker: admissions, masks and accepts over shared memory,
 * and the failure path (a per-step call that gets no answer stops the worker; later admissions
 * are rejected with the reason instead of hanging).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AdmitResult, GrammarClient } from '../../src/constrain/grammar-client.js';
import { FLAG_ACCEPTED, FLAG_TERMINATED } from '../../src/constrain/grammar-protocol.js';
import { buildTokenizerInfo } from '../../src/constrain/tokenizer-info.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer.js';

const MODEL = new URL('../../../shared/models/tiny-random-qwen3', import.meta.url).pathname;
const V = 151936;
let tok: Tokenizer;

before(async () => {
  tok = await loadTokenizer(MODEL, {});
});

function client(callTimeoutMs?: number) {
  const results = new Map<number, AdmitResult>();
  const c = new GrammarClient({
    vocabSize: V, maxRows: 4, anyWhitespace: true, callTimeoutMs,
    tokenizerInfo: () => buildTokenizerInfo(tok, V, tok.eosTokenIds),
    onAdmission: (id, r) => results.set(id, r),
  });
  const admitted = async (id: number): Promise<AdmitResult> => {
    while (!results.has(id)) await new Promise((r) => setTimeout(r, 5));
    return results.get(id)!;
  };
  return { c, admitted };
}

describe('GrammarClient', () => {
  const opened: GrammarClient[] = [];
  after(async () => {
    for (const c of opened) await c.close();
  });

  it('masks allow exactly the grammar continuations; accept reports termination', async () => {
    const { c, admitted } = client();
    opened.push(c);
    c.admit(1, { kind: 'regex', value: 'ab' });
    const r = await admitted(1);
    assert.equal(r.kind, 'admitted');
    const slot = (r as { slot: number }).slot;
    const [a] = tok.encode('a', { addSpecialTokens: false });
    const [b] = tok.encode('b', { addSpecialTokens: false });
    c.prepareMasks([slot]);
    const allowed = (id: number) => ((c.maskRow(slot)[id >> 5]! >>> (id & 31)) & 1) === 1;
    assert.ok(allowed(a!));
    assert.ok(!allowed(b!));
    const flags = new Uint8Array(1);
    c.accept([slot], [a!], flags);
    assert.equal(flags[0], FLAG_ACCEPTED);
    c.prepareMasks([slot]);
    assert.ok(allowed(b!) && !allowed(a!));
    c.accept([slot], [b!], flags);
    c.prepareMasks([slot]);
    assert.ok(tok.eosTokenIds.some((e) => allowed(e)), 'after "ab" only the stop tokens remain');
    c.accept([slot], [tok.eosTokenIds[0]!], flags);
    assert.equal(flags[0], FLAG_ACCEPTED | FLAG_TERMINATED);
  });

  it('a per-step call the worker cannot answer in time stops it; later admissions are rejected, not hung', async () => {
    const { c, admitted } = client(5);
    opened.push(c);
    c.admit(1, { kind: 'regex', value: '[0-9]' });
    const r = await admitted(1);
    assert.equal(r.kind, 'admitted');
    // A compile of hundreds of ms keeps the worker busy; a 5 ms call deadline expires meanwhile.
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 24; i++) properties[`p${i}`] = { type: 'string', pattern: `^[a-z]{2,6}-${i}[0-9]{1,3}$` };
    c.admit(2, { kind: 'json', value: JSON.stringify({ type: 'object', properties, required: Object.keys(properties) }) });
    await new Promise((res) => setTimeout(res, 50));
    assert.throws(() => c.prepareMasks([(r as { slot: number }).slot]), /did not answer in time/);
    const pending = await admitted(2);
    assert.equal(pending.kind, 'rejected');
    c.admit(3, { kind: 'regex', value: 'x' });
    const later = await admitted(3);
    assert.deepEqual(later, { kind: 'rejected', invalid: false, message: 'Grammar backend failed: grammar worker did not answer in time' });
  });
});
