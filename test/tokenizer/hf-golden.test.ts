/**
 * Golden prompt ids for the HF folders: plain-text cases encode(prompt, addSpecialTokens per case),
 * chat cases render the template (messages, template_tools, chat_template_kwargs,
 * add_generation_prompt) to exactly `prompt` and encode it without special tokens. Also checks
 * the golden continuation text (decode with special tokens skipped) and the loaded metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goldenCases, tokenizerAt, type GoldenCase } from './helpers.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';

function checkCase(tok: Tokenizer, c: GoldenCase): void {
  if (c.messages) {
    const rendered = tok.applyChatTemplate(c.messages, {
      tools: c.template_tools ?? null,
      addGenerationPrompt: c.add_generation_prompt ?? true,
      extra: c.chat_template_kwargs ?? {},
    });
    assert.equal(rendered, c.prompt, `${c.id}: rendered prompt`);
    assert.deepEqual(tok.encode(rendered, { addSpecialTokens: false }), c.prompt_ids, `${c.id}: chat ids`);
  } else {
    assert.deepEqual(tok.encode(c.prompt, { addSpecialTokens: c.add_special_tokens ?? true }), c.prompt_ids, `${c.id ?? c.prompt}: ids`);
  }
}

const folders: [string, string][] = [
  ['tinystories-656k', 'tinystories-656k'],
  ['tiny-random-qwen3', 'tiny-random-qwen3'],
  ['tiny-random-qwen2', 'tiny-random-qwen3'],
  ['tiny-random-llama3', 'tiny-random-llama3'],
];
for (const [golden, folder] of folders) {
  test(`golden ${golden}: prompt ids from ${folder}`, async () => {
    const tok = await tokenizerAt(folder);
    const cases = goldenCases(golden);
    assert.ok(cases.length >= 2);
    for (const c of cases) checkCase(tok, c);
  });
}

test('tinystories golden text = decode(prompt+output) - decode(prompt), specials skipped', async () => {
  const tok = await tokenizerAt('tinystories-656k');
  for (const c of goldenCases('tinystories-656k')) {
    const full = tok.decode([...c.prompt_ids, ...c.greedy_output_ids], { skipSpecialTokens: true });
    const head = tok.decode(c.prompt_ids, { skipSpecialTokens: true });
    assert.ok(full.startsWith(head));
    assert.equal(full.slice(head.length), c.text);
  }
});

test('tinystories metadata: BOS 1 added, eos [2], unk as <unk>', async () => {
  const tok = await tokenizerAt('tinystories-656k');
  assert.equal(tok.vocabSize, 2048);
  assert.equal(tok.bosTokenId, 1);
  assert.deepEqual(tok.eosTokenIds, [2]);
  assert.equal(tok.addsBos, true);
  assert.deepEqual(tok.encode('Once upon a time'), [1, 80, 147, 201, 282, 57]);
  assert.deepEqual(tok.encode('Once upon a time', { addSpecialTokens: false }), [80, 147, 201, 282, 57]);
  assert.equal(tok.decode([208, 183, 209, 210]), '<|end_story|>');
  assert.equal(tok.isSpecial(1), true);
  assert.equal(tok.isSpecial(80), false);
  assert.deepEqual([...tok.tokenBytes(80)], [0x20]);
});

test('qwen3 metadata: no BOS, eos from tokenizer + generation_config, vocab 151669', async () => {
  const tok = await tokenizerAt('tiny-random-qwen3');
  assert.equal(tok.vocabSize, 151669);
  assert.equal(tok.bosTokenId, null);
  assert.equal(tok.addsBos, false);
  assert.deepEqual(tok.eosTokenIds, [151645, 151643]);
  assert.equal(tok.padTokenId, 151643);
  assert.deepEqual(tok.encode('Hello'), tok.encode('Hello', { addSpecialTokens: false }));
  assert.equal(tok.isSpecial(151644), true);
  assert.equal(tok.isSpecial(151667), false, '<think> is not special');
  // ids beyond the tokenizer (model vocab 151936) decode to nothing
  assert.equal(tok.decode([151700, 9707]), 'Hello');
  assert.equal(tok.decode([]), '');
  // byte-level pieces: "Ġ" is a space, "ä½ł" is the UTF-8 of 你
  assert.deepEqual([...tok.tokenBytes(220)], [0x20]);
  assert.equal(Buffer.from(tok.tokenBytes(tok.encode('你', { addSpecialTokens: false })[0]!)).toString('utf8'), '你');
  assert.equal(Buffer.from(tok.tokenBytes(151644)).toString('utf8'), '<|im_start|>');
});

test('llama3 metadata: BOS 128000 added, eos from all three files, clean_up applied', async () => {
  const tok = await tokenizerAt('tiny-random-llama3');
  assert.equal(tok.vocabSize, 128256);
  assert.equal(tok.bosTokenId, 128000);
  assert.equal(tok.addsBos, true);
  assert.deepEqual(tok.eosTokenIds, [128009, 128001, 128008]);
  assert.deepEqual(tok.encode('Hi').slice(0, 1), [128000]);
  const ids = tok.encode('Is it ?', { addSpecialTokens: false });
  assert.equal(tok.decode(ids), 'Is it?');
  assert.equal(tok.decode([128000, 9906, 128009], { skipSpecialTokens: true }), 'Hello');
  assert.equal(tok.decode([128000, 9906, 128009]), '<|begin_of_text|>Hello<|eot_id|>');
});

test('qwen3 chat template: tools, enable_thinking, continue_final_message', async () => {
  const tok = await tokenizerAt('tiny-random-qwen3');
  const tools = [{ name: 'get_weather', description: 'Get the weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false }];
  const withTools = tok.applyChatTemplate([{ role: 'user', content: 'Weather in Paris?' }], { tools, addGenerationPrompt: true });
  assert.equal(
    withTools,
    '<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
      'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
      '{"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": false}\n' +
      '</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
      '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n',
  );
  const noThink = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true, extra: { enable_thinking: false } });
  assert.equal(noThink, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
  const cont = tok.applyChatTemplate(
    [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello the' }],
    { continueFinalMessage: true, addGenerationPrompt: true },
  );
  assert.equal(cont, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello the');
});
