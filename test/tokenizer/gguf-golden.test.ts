/**
 * Golden prompt ids through GGUF-embedded vocabs: tinystories-656k (F32 and Q8_0 GGUFs, SPM with
 * all scores equal), stories260k (SPM with byte fallback), tiny-random-qwen3 (byte-level BPE,
 * qwen2 pre-tokenizer, chat template from tokenizer.chat_template). Also the golden
 * continuation text and the qwen3 HF vectors through the GGUF vocab.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goldenCases, readJson, tokenizerAt } from './helpers.js';

const QWEN3_GGUF = 'tiny-random-qwen3-gguf/tiny-random-qwen3-bf16.gguf';

const spmFiles: [string, string][] = [
  ['tinystories-656k', 'tinystories-656k-gguf/tinystories-656k-f32.gguf'],
  ['tinystories-656k', 'tinystories-656k-gguf/tinystories-656k-q8_0.gguf'],
  ['stories260k', 'stories260k-gguf/stories260k.gguf'],
];
for (const [golden, file] of spmFiles) {
  test(`golden ${golden}: prompt ids and text via ${file}`, async () => {
    const tok = await tokenizerAt(file);
    assert.equal(tok.kind, 'gguf-spm');
    assert.equal(tok.addsBos, true);
    assert.equal(tok.bosTokenId, 1);
    const cases = goldenCases(golden);
    assert.equal(cases.length, 2);
    for (const c of cases) {
      assert.deepEqual(tok.encode(c.prompt), c.prompt_ids, c.prompt);
      const full = tok.decode([...c.prompt_ids, ...c.greedy_output_ids], { skipSpecialTokens: true });
      const head = tok.decode(c.prompt_ids, { skipSpecialTokens: true });
      assert.equal(head, c.prompt);
      assert.equal(full.slice(head.length), c.text);
    }
  });
}

test('stories260k GGUF: byte fallback and piece bytes', async () => {
  const tok = await tokenizerAt('stories260k-gguf/stories260k.gguf');
  assert.equal(tok.vocabSize, 512);
  assert.deepEqual(tok.eosTokenIds, [2]);
  // 😀 is not a piece: ▁ (410) then its four UTF-8 bytes as <0xF0> <0x9F> <0x98> <0x80> (id 3 + byte)
  const ids = tok.encode('😀', { addSpecialTokens: false });
  assert.deepEqual(ids, [410, 3 + 0xf0, 3 + 0x9f, 3 + 0x98, 3 + 0x80]);
  assert.equal(tok.decode(ids), '😀');
  assert.equal(tok.decode(ids.slice(0, 3)), '\uFFFD', 'a half character decodes to U+FFFD');
  assert.deepEqual([...tok.tokenBytes(3 + 0x41)], [0x41]);
  assert.equal(tok.isSpecial(1), true);
  assert.equal(tok.decode([1, ...tok.encode('Hi', { addSpecialTokens: false })], { skipSpecialTokens: true }), 'Hi');
});

test(`golden tiny-random-qwen3 via ${QWEN3_GGUF}: text and chat cases`, async () => {
  const tok = await tokenizerAt(QWEN3_GGUF);
  assert.equal(tok.kind, 'gguf-bpe');
  assert.equal(tok.vocabSize, 151936);
  assert.equal(tok.addsBos, false);
  assert.deepEqual(tok.eosTokenIds, [151645, 151643]);
  for (const c of goldenCases('tiny-random-qwen3')) {
    if (c.messages) {
      const rendered = tok.applyChatTemplate(c.messages, {
        tools: c.template_tools ?? null,
        addGenerationPrompt: c.add_generation_prompt ?? true,
        extra: c.chat_template_kwargs ?? {},
      });
      assert.equal(rendered, c.prompt, `${c.id}: rendered`);
      assert.deepEqual(tok.encode(rendered, { addSpecialTokens: false }), c.prompt_ids, `${c.id}: ids`);
    } else {
      assert.deepEqual(tok.encode(c.prompt, { addSpecialTokens: c.add_special_tokens ?? true }), c.prompt_ids, `${c.id}`);
    }
  }
});

test('qwen3 GGUF vocab reproduces all 91 HF qwen3 vectors and decodes them back like the HF tokenizer', async () => {
  const gguf = await tokenizerAt(QWEN3_GGUF);
  const hf = await tokenizerAt('tiny-random-qwen3');
  const vec = readJson<{ cases: { text: string; ids: number[] }[] }>('tokenizer-vectors/hf-qwen3.json');
  const failures: string[] = [];
  for (const c of vec.cases) {
    const ids = gguf.encode(c.text, { addSpecialTokens: false });
    if (JSON.stringify(ids) !== JSON.stringify(c.ids)) failures.push(`${JSON.stringify(c.text)}: got [${ids}]`);
    if (gguf.decode(c.ids) !== hf.decode(c.ids)) failures.push(`${JSON.stringify(c.text)}: decode differs`);
  }
  assert.deepEqual(failures, []);
  // USER_DEFINED tokens are matched even without parse_special; CONTROL ones are not.
  assert.deepEqual(gguf.encode('<think>', { parseSpecial: false }), [151667]);
  assert.notDeepEqual(gguf.encode('<|im_start|>', { parseSpecial: false }), [151644]);
  assert.deepEqual(gguf.encode('<|im_start|>'), [151644]);
  assert.equal(gguf.decode([151669, 9707]), 'Hello', 'UNUSED [PAD] ids decode to nothing');
});
