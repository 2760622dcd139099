/**
 * StopChecker: SGLang finish order (length > grammar > eos/stop ids > out-of-vocab > stop
 * strings), trimming rules, no_stop_trim, matching across token boundaries, and withholding of
 * text that may begin a stop string.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopChecker } from '../../../src/sampling/stop-checker.js';
import { parseSamplingParams } from '../../../src/sampling/sampling-params.js';
import type { FinishReason } from '../../../src/engine/types.js';

const params = (raw: Record<string, unknown>) => parseSamplingParams({ max_new_tokens: null, ...raw }, { vocabSize: 1000 });
const EOS = 2;

/** Feed (tokenId, delta) pairs; return the emitted deltas and the finish reason. */
function feed(c: StopChecker, steps: Array<[number, string]>): { deltas: string[]; reason: FinishReason | null; at: number } {
  const deltas: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const r = c.check(steps[i]![0], steps[i]![1]);
    deltas.push(r.text);
    if (r.finishReason) return { deltas, reason: r.finishReason, at: i };
  }
  return { deltas, reason: null, at: -1 };
}

const tok = (texts: string[]): Array<[number, string]> => texts.map((t, i) => [100 + i, t]);

test('plain text streams through unchanged without stop strings', () => {
  const c = new StopChecker(params({}), { eosTokenIds: [EOS] });
  const r = feed(c, tok(['Hel', 'lo', ' wor', 'ld']));
  assert.deepEqual(r.deltas, ['Hel', 'lo', ' wor', 'ld']);
  assert.equal(r.reason, null);
  assert.equal(c.text, 'Hello world');
});

test('length finish at max_new_tokens', () => {
  const c = new StopChecker(params({ max_new_tokens: 3 }), { eosTokenIds: [EOS] });
  const r = feed(c, tok(['a', 'b', 'c', 'd']));
  assert.deepEqual(r.reason, { type: 'length', length: 3 });
  assert.equal(r.at, 2);
  assert.equal(c.text, 'abc');
  assert.throws(() => c.check(5, 'x'), /after the request finished/);
});

test('length wins over EOS on the last step, and the EOS text is kept', () => {
  const c = new StopChecker(params({ max_new_tokens: 2 }), { eosTokenIds: [EOS] });
  const r = feed(c, [[10, 'a'], [EOS, '</s>']]);
  assert.deepEqual(r.reason, { type: 'length', length: 2 });
  assert.equal(c.text, 'a</s>');
});

test('the maxNewTokens option overrides the params (scheduler clamp)', () => {
  const c = new StopChecker(params({}), { maxNewTokens: 1 });
  assert.deepEqual(c.check(5, 'x').finishReason, { type: 'length', length: 1 });
});

test('EOS finishes with matched = token id and drops the EOS text', () => {
  const c = new StopChecker(params({}), { eosTokenIds: [EOS, 7] });
  const r = feed(c, [[10, 'hi'], [7, '<|eot|>']]);
  assert.deepEqual(r.reason, { type: 'stop', matched: 7 });
  assert.deepEqual(r.deltas, ['hi', '']);
  assert.equal(c.text, 'hi');
});

test('stop_token_ids finish like EOS; no_stop_trim keeps the token text', () => {
  const c = new StopChecker(params({ stop_token_ids: [55] }), { eosTokenIds: [EOS] });
  assert.deepEqual(feed(c, [[10, 'x'], [55, '<sep>']]).reason, { type: 'stop', matched: 55 });
  assert.equal(c.text, 'x');
  const k = new StopChecker(params({ stop_token_ids: [55], no_stop_trim: true }), { eosTokenIds: [EOS] });
  feed(k, [[10, 'x'], [55, '<sep>']]);
  assert.equal(k.text, 'x<sep>');
});

test('matched token id 0 is not trimmed (SGLang treats it as falsy)', () => {
  const c = new StopChecker(params({}), { eosTokenIds: [0] });
  assert.deepEqual(feed(c, [[10, 'x'], [0, '<eos>']]).reason, { type: 'stop', matched: 0 });
  assert.equal(c.text, 'x<eos>');
});

test('ignore_eos disables EOS and stop_token_ids but not stop strings', () => {
  const c = new StopChecker(params({ ignore_eos: true, stop_token_ids: [55], stop: ['END'] }), { eosTokenIds: [EOS] });
  const r = feed(c, [[EOS, ''], [55, 's'], [10, 'a'], [11, 'END'], [12, 'z']]);
  assert.deepEqual(r.reason, { type: 'stop', matched: 'END' });
  assert.equal(c.text, 'sa');
});

test('grammar termination finishes with matched = the token id', () => {
  const c = new StopChecker(params({}), { eosTokenIds: [EOS] });
  c.check(10, '{"a":1');
  const r = c.check(11, '}', true);
  assert.deepEqual(r.finishReason, { type: 'stop', matched: 11 });
  assert.equal(c.text, '{"a":1');
});

test('token id outside the vocabulary: "NaN happened"', () => {
  const c = new StopChecker(params({}), { vocabSize: 100 });
  assert.deepEqual(c.check(100, 'x').finishReason, { type: 'stop', matched: 'NaN happened' });
  const d = new StopChecker(params({}), { vocabSize: 100 });
  assert.deepEqual(d.check(-1, 'x').finishReason, { type: 'stop', matched: 'NaN happened' });
});

test('stop string inside one token: trimmed at its start, rest of the token dropped', () => {
  const c = new StopChecker(params({ stop: ['###'] }));
  const r = feed(c, tok(['Hello', ' wo###rld', 'more']));
  assert.deepEqual(r.reason, { type: 'stop', matched: '###' });
  assert.equal(r.at, 1);
  assert.equal(c.text, 'Hello wo');
  assert.equal(r.deltas.join(''), 'Hello wo');
});

test('stop string across token boundaries, with the partial prefix withheld', () => {
  const c = new StopChecker(params({ stop: ['STOP'] }));
  const r = feed(c, tok(['abc S', 'T', 'O', 'P tail']));
  assert.deepEqual(r.deltas, ['abc ', '', '', '']);
  assert.deepEqual(r.reason, { type: 'stop', matched: 'STOP' });
  assert.equal(c.text, 'abc ');
});

test('a withheld prefix is released once it cannot be a stop string', () => {
  const c = new StopChecker(params({ stop: ['STOP'] }));
  const r = feed(c, tok(['x ST', 'A', 'RT', ' S']));
  assert.deepEqual(r.deltas, ['x ', 'STA', 'RT', ' ']);
  assert.equal(r.reason, null);
  assert.equal(c.flush(), 'S');
  assert.equal(c.text, 'x START S');
});

test('withholding uses the longest suffix that prefixes any stop string', () => {
  const c = new StopChecker(params({ stop: ['abcd', 'cx'] }));
  // "ab" is withheld for "abcd"; adding "c" keeps "abc" (a prefix of abcd; "c" also prefixes "cx")
  assert.equal(c.check(1, 'zab').text, 'z');
  assert.equal(c.check(2, 'c').text, '');
  assert.equal(c.check(3, 'x').finishReason?.type, 'stop');
  assert.equal(c.text, 'zab'); // "cx" matched: cut at its first occurrence
  assert.deepEqual(c.finishReason, { type: 'stop', matched: 'cx' });
});

test('overlapping repeats: "aab" against stop "ab"', () => {
  const c = new StopChecker(params({ stop: ['ab'] }));
  assert.equal(c.check(1, 'a').text, '');
  assert.equal(c.check(2, 'a').text, 'a');
  const r = c.check(3, 'b');
  assert.deepEqual(r.finishReason, { type: 'stop', matched: 'ab' });
  assert.equal(r.text, '');
  assert.equal(c.text, 'a');
});

test('several stop strings in one delta: the first in list order wins, cut at its first occurrence', () => {
  const c = new StopChecker(params({ stop: ['b', 'a'] }));
  const r = c.check(1, 'xaby');
  assert.deepEqual(r.finishReason, { type: 'stop', matched: 'b' });
  assert.equal(c.text, 'xa');
});

test('no_stop_trim: nothing withheld, the stop string and the rest of its token are kept', () => {
  const c = new StopChecker(params({ stop: ['STOP'], no_stop_trim: true }));
  const r = feed(c, tok(['abc S', 'TOP!', 'zz']));
  assert.deepEqual(r.deltas, ['abc S', 'TOP!']);
  assert.deepEqual(r.reason, { type: 'stop', matched: 'STOP' });
  assert.equal(c.text, 'abc STOP!');
});

test('EOS releases withheld text but drops its own text', () => {
  const c = new StopChecker(params({ stop: ['STOP'] }), { eosTokenIds: [EOS] });
  assert.equal(c.check(1, 'go ST').text, 'go ');
  const r = c.check(EOS, '</s>');
  assert.deepEqual(r.finishReason, { type: 'stop', matched: EOS });
  assert.equal(r.text, 'ST');
  assert.equal(c.text, 'go ST');
});

test('length finish releases withheld text untrimmed, even when a stop string completes', () => {
  const c = new StopChecker(params({ stop: ['STOP'], max_new_tokens: 2 }));
  assert.equal(c.check(1, 'go ST').text, 'go ');
  const r = c.check(2, 'OP');
  assert.deepEqual(r.finishReason, { type: 'length', length: 2 });
  assert.equal(c.text, 'go STOP');
});

test('empty deltas (detokenizer holding bytes) are fine', () => {
  const c = new StopChecker(params({ stop: ['é!'] }));
  assert.equal(c.check(1, '').text, '');
  assert.equal(c.check(2, 'é').text, '');
  assert.equal(c.check(3, '').text, '');
  assert.equal(c.check(4, '!').finishReason?.type, 'stop');
  assert.equal(c.text, '');
});

test('concatenated deltas always equal the final visible text (randomized)', () => {
  const alphabet = ['a', 'b', 'c', 'ab', 'ca', 'bc', 'abc', ''];
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let trial = 0; trial < 300; trial++) {
    const stops = ['abca', 'cc'].slice(0, 1 + rnd(2));
    const c = new StopChecker(params({ stop: stops }));
    let full = '';
    let emitted = '';
    let reason: FinishReason | null = null;
    for (let i = 0; i < 12 && !reason; i++) {
      const d = alphabet[rnd(alphabet.length)]!;
      full += d;
      const r = c.check(10, d);
      emitted += r.text;
      reason = r.finishReason;
    }
    if (!reason) emitted += c.flush();
    assert.equal(emitted, c.text);
    if (reason?.type === 'stop') {
      const m = reason.matched as string;
      assert.equal(c.text, full.slice(0, full.indexOf(m)), `trial ${trial}`);
      for (const s of stops) assert.ok(!full.slice(0, full.length - 1).includes(s) || full.indexOf(s) >= full.indexOf(m) || stops.indexOf(s) > stops.indexOf(m));
    } else {
      assert.equal(c.text, full);
      for (const s of stops) assert.ok(!full.includes(s));
    }
  }
});
