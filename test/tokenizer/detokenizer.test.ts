/**
 * Incremental detokenizer (SGLang semantics): split multi-byte characters are withheld until
 * complete, streamed text concatenates to the full decode, special tokens are skipped by
 * default, and the prompt surround keeps the first output token's leading space.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalDetokenizer, findPrintableText } from '../../src/tokenizer/detokenizer.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { goldenCases, readJson, tokenizerAt } from './helpers.js';

function stream(tok: Tokenizer, ids: number[], opts: ConstructorParameters<typeof IncrementalDetokenizer>[1] = {}): string[] {
  const d = new IncrementalDetokenizer(tok, opts);
  const chunks = ids.map((id) => d.push([id]));
  chunks.push(d.flush());
  assert.equal(chunks.join(''), d.text);
  return chunks;
}

test('emoji split over byte-level tokens is emitted whole (qwen3)', async () => {
  const tok = await tokenizerAt('tiny-random-qwen3');
  const ids = tok.encode('😀🫠🫡', { addSpecialTokens: false });
  assert.deepEqual(ids, [141334, 9284, 104, 254, 9284, 104, 94]);
  const chunks = stream(tok, ids);
  assert.deepEqual(chunks, ['😀', '', '', '🫠', '', '', '🫡', '']);
});

test('emoji split over <0xNN> byte-fallback tokens (stories260k GGUF) with prompt surround', async () => {
  const tok = await tokenizerAt('stories260k-gguf/stories260k.gguf');
  const prompt = tok.encode('Hi');
  const out = tok.encode('😀 ok', { addSpecialTokens: false });
  const chunks = stream(tok, out, { promptIds: prompt });
  assert.ok(chunks.every((c) => !c.includes('\uFFFD')));
  assert.equal(chunks.join(''), ' 😀 ok');
  assert.deepEqual(out.slice(0, 5), [410, 3 + 0xf0, 3 + 0x9f, 3 + 0x98, 3 + 0x80]);
  assert.deepEqual(chunks.slice(0, 5), [' ', '', '', '', '😀'], 'the emoji appears with its 4th byte');
});

test('CJK split over tokens never emits a half character (llama3)', async () => {
  const tok = await tokenizerAt('tiny-random-llama3');
  const text = '你好，世界！这是一个分词测试。';
  const ids = tok.encode(text, { addSpecialTokens: false });
  const chunks = stream(tok, ids);
  assert.ok(chunks.every((c) => !c.includes('\uFFFD')));
  assert.equal(chunks.join(''), text);
});

for (const [file, folder] of [['hf-qwen3.json', 'tiny-random-qwen3'], ['hf-llama3.json', 'tiny-random-llama3']] as const) {
  test(`streaming == full decode on every ${file} text`, async () => {
    const tok = await tokenizerAt(folder);
    const vec = readJson<{ cases: { text: string; ids: number[] }[] }>(`tokenizer-vectors/${file}`);
    const failures: string[] = [];
    for (const c of vec.cases) {
      const chunks = stream(tok, c.ids);
      const full = tok.decode(c.ids, { skipSpecialTokens: true });
      if (chunks.join('') !== full) failures.push(JSON.stringify(c.text));
      if (chunks.slice(0, -1).some((x) => x.endsWith('\uFFFD') && !full.includes('\uFFFD'))) failures.push(`half char: ${JSON.stringify(c.text)}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('golden continuation text streams exactly (tinystories HF, stories260k GGUF)', async () => {
  for (const [golden, path] of [['tinystories-656k', 'tinystories-656k'], ['stories260k', 'stories260k-gguf/stories260k.gguf']] as const) {
    const tok = await tokenizerAt(path);
    for (const c of goldenCases(golden)) {
      const chunks = stream(tok, c.greedy_output_ids, { promptIds: c.prompt_ids });
      assert.equal(chunks.join(''), c.text, `${golden}: ${c.prompt}`);
    }
  }
});

test('skipSpecialTokens: default skips, false keeps special text', async () => {
  const tok = await tokenizerAt('tiny-random-qwen3');
  const ids = tok.encode('<|im_start|>assistant\nHi there<|im_end|>', { addSpecialTokens: false });
  assert.equal(ids[0], 151644);
  assert.equal(stream(tok, ids).join(''), 'assistant\nHi there');
  assert.equal(stream(tok, ids, { skipSpecialTokens: false }).join(''), '<|im_start|>assistant\nHi there<|im_end|>');
});

test('push of several ids at once and empty pushes', async () => {
  const tok = await tokenizerAt('tiny-random-qwen3');
  const ids = tok.encode('Hello world, streaming!', { addSpecialTokens: false });
  const d = new IncrementalDetokenizer(tok);
  assert.equal(d.push([]), '');
  const a = d.push(ids.slice(0, 2));
  const b = d.push(ids.slice(2));
  assert.equal(a + b + d.flush(), 'Hello world, streaming!');
});

test('findPrintableText follows transformers TextStreamer', () => {
  assert.equal(findPrintableText('abc def'), 'abc ');
  assert.equal(findPrintableText('line\n'), 'line\n');
  assert.equal(findPrintableText('中文'), '中文');
  assert.equal(findPrintableText('中\uFFFD'), '中');
  assert.equal(findPrintableText('ab\uFFFD'), '');
});
