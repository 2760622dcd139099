/**
 * HF tokenizer.json vectors (tokenizer-vectors/hf-qwen3.json, hf-llama3.json): every case must
 * encode (addSpecialTokens false) to exactly the recorded ids with the tokenizer the file names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { readJson, tokenizerAt } from './helpers.js';

for (const file of ['hf-qwen3.json', 'hf-llama3.json']) {
  const vec = readJson<{ tokenizer: string; cases: { text: string; ids: number[] }[] }>(`tokenizer-vectors/${file}`);
  test(`${file}: all ${vec.cases.length} cases encode exactly`, async () => {
    const tok = await tokenizerAt(dirname(vec.tokenizer));
    assert.equal(vec.cases.length, 91);
    const failures: string[] = [];
    for (const c of vec.cases) {
      const ids = tok.encode(c.text, { addSpecialTokens: false });
      if (JSON.stringify(ids) !== JSON.stringify(c.ids)) failures.push(`${JSON.stringify(c.text)}: got ${ids} want ${c.ids}`);
    }
    assert.deepEqual(failures, []);
  });
}
