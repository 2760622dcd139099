/**
 * llama.cpp tokenizer vectors: every tokenizer-vectors/*.gguf with its .inp/.out (46 cases each),
 * encoded without BOS and with parse_special off, must give exactly the recorded ids.
 * Parsing follows models/README.md: split .inp on "\n__ggml_vocab_test__\n" and drop the final
 * empty piece; each .out line is trimmed and split on spaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelPath } from './helpers.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';

const DIR = modelPath('tokenizer-vectors');
const SEP = '\n__ggml_vocab_test__\n';

export function readVectors(base: string): { text: string; ids: number[] }[] {
  const texts = readFileSync(`${base}.inp`, 'utf8').split(SEP);
  assert.equal(texts.pop(), '');
  const lines = readFileSync(`${base}.out`, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, texts.length);
  return texts.map((text, i) => {
    const l = lines[i]!.trim();
    return { text, ids: l === '' ? [] : l.split(' ').map(Number) };
  });
}

const ggufs = readdirSync(DIR).filter((f) => f.endsWith('.gguf')).sort();

test('tokenizer-vectors has the five vocab GGUFs', () => {
  assert.deepEqual(ggufs, [
    'ggml-vocab-deepseek-llm.gguf',
    'ggml-vocab-gpt-2.gguf',
    'ggml-vocab-llama-spm.gguf',
    'ggml-vocab-phi-3.gguf',
    'ggml-vocab-starcoder.gguf',
  ]);
});

for (const name of ggufs) {
  test(`${name}: 46 vectors`, async () => {
    const tok = await loadTokenizer(join(DIR, name));
    const cases = readVectors(join(DIR, name));
    assert.equal(cases.length, 46);
    const failures: string[] = [];
    for (const c of cases) {
      const ids = tok.encode(c.text, { addSpecialTokens: false, parseSpecial: false });
      if (JSON.stringify(ids) !== JSON.stringify(c.ids)) failures.push(`${JSON.stringify(c.text)}: got [${ids}] want [${c.ids}]`);
    }
    assert.deepEqual(failures, []);
  });
}
