/**
 * stableJsonPrefix: for JSON texts written compactly, spaced and pretty-printed, the prefix at
 * every cut is a prefix of the canonical (Python json.dumps) serialization, grows monotonically,
 * and equals it exactly once the value is complete; unfinished tokens are held back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stableJsonPrefix } from '../../../src/server/parsers/json-prefix.js';
import { pyJson } from '../../../src/server/parsers/types.js';

const VALUES: unknown[] = [
  { city: 'Tokyo', days: 3 },
  { s: 'a\\b "q" \n\t\u0001 é 😀 \u2028', n: -12.5e-3, big: 12345678901234, z: 0, f: false, t: true, u: null },
  { list: [1, [2, [3, {}]], [], { k: [] }], nested: { a: { b: { c: 'd' } } } },
  [],
  ['x', 1.25, null],
];

const spellings = (v: unknown) => [JSON.stringify(v), JSON.stringify(v, null, 1), JSON.stringify(v, null, '\t'), pyJson(v)];

describe('stableJsonPrefix', () => {
  for (const v of VALUES) {
    it(`every cut of ${JSON.stringify(v).slice(0, 40)}`, () => {
      const canon = pyJson(v);
      for (const text of [...spellings(v), JSON.stringify(v).replace(/é/g, '\\u00e9').replace(/😀/g, '\\ud83d\\ude00')]) {
        assert.deepEqual(stableJsonPrefix(text), { text: canon, end: text.length });
        let prev = '';
        for (let i = 0; i <= text.length; i++) {
          const cut = stableJsonPrefix(text.slice(0, i));
          assert.ok(canon.startsWith(cut.text), `${JSON.stringify(text.slice(0, i))} → ${cut.text}`);
          assert.ok(cut.text.startsWith(prev), `not monotonic at ${i}`);
          prev = cut.text;
        }
      }
    });
  }
  it('holds back unfinished numbers, literals, keys and escapes', () => {
    assert.deepEqual(stableJsonPrefix('{"a": 12'), { text: '{"a": ', end: null });
    assert.deepEqual(stableJsonPrefix('{"a": 1.'), { text: '{"a": ', end: null });
    assert.deepEqual(stableJsonPrefix('{"a": tru'), { text: '{"a": ', end: null });
    assert.deepEqual(stableJsonPrefix('{"ke'), { text: '{', end: null });
    assert.deepEqual(stableJsonPrefix('{"k": "ab\\'), { text: '{"k": "ab', end: null });
    assert.deepEqual(stableJsonPrefix('{"k": "ab\\u00'), { text: '{"k": "ab', end: null });
    assert.deepEqual(stableJsonPrefix('{"k": "x\ud83d'), { text: '{"k": "x', end: null });
    assert.deepEqual(stableJsonPrefix('{"a":1,"b":[true ,null]} tail', 0), { text: '{"a": 1, "b": [true, null]}', end: 24 });
  });
  it('stops at invalid JSON', () => {
    assert.deepEqual(stableJsonPrefix('{"a": 1 "b": 2}'), { text: '{"a": 1', end: null });
    assert.deepEqual(stableJsonPrefix('{"a": 01}'), { text: '{"a": ', end: null });
  });
});
