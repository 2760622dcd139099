/**
 * Load errors name the offending file; chat-template selection and --chat-template override;
 * decode([]) is '' for every tokenizer kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { selectTemplate } from '../../src/tokenizer/chat-template.js';
import { modelPath, tokenizerAt } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'tsgl-tok-'));

test('missing path and empty folder', async () => {
  await assert.rejects(loadTokenizer('/nonexistent/model'), /tokenizer path not found: \/nonexistent\/model/);
  const dir = tmp();
  await assert.rejects(loadTokenizer(dir), (e: Error) => e.message.includes(join(dir, 'tokenizer.json')));
});

test('corrupt tokenizer.json / tokenizer_config.json name the file', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
  await assert.rejects(loadTokenizer(dir), (e: Error) => e.message.includes(join(dir, 'tokenizer.json')) && /corrupt JSON/.test(e.message));
  copyFileSync(modelPath('tinystories-656k/tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), 'not json');
  await assert.rejects(loadTokenizer(dir), (e: Error) => e.message.includes(join(dir, 'tokenizer_config.json')));
});

test('a folder without tokenizer_config.json still loads (no special flags, no template)', async () => {
  const dir = tmp();
  copyFileSync(modelPath('tinystories-656k/tokenizer.json'), join(dir, 'tokenizer.json'));
  const tok = await loadTokenizer(dir);
  assert.deepEqual(tok.encode('Once upon a time'), [1, 80, 147, 201, 282, 57]);
  assert.equal(tok.chatTemplate, null);
  assert.throws(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }], {}), /no chat template/);
});

test('truncated GGUF names the file', async () => {
  const dir = tmp();
  const p = join(dir, 'bad.gguf');
  writeFileSync(p, Buffer.from('GGUF\x03\x00\x00\x00\x00', 'latin1'));
  await assert.rejects(loadTokenizer(p), (e: Error) => e.message.includes(p));
});

test('--chat-template file overrides the model template; bos/eos variables are set', async () => {
  const dir = tmp();
  const tpl = join(dir, 't.jinja');
  writeFileSync(tpl, '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}{{ eos_token }}');
  const tok = await loadTokenizer(modelPath('tiny-random-llama3'), { chatTemplatePath: tpl });
  assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }), '<|begin_of_text|>[user]hi[assistant]<|eot_id|>');
  await assert.rejects(loadTokenizer(modelPath('tiny-random-llama3'), { chatTemplatePath: join(dir, 'missing.jinja') }), /missing\.jinja/);
});

test('llama3 template: date_string kwarg and tools in the first user message', async () => {
  const tok = await tokenizerAt('tiny-random-llama3');
  const out = tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true, extra: { date_string: '01 Jan 2025' } });
  assert.equal(
    out,
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  const withTools = tok.applyChatTemplate([{ role: 'user', content: 'weather?' }], {
    tools: [{ name: 'get_weather', description: 'd', parameters: { type: 'object', properties: {} }, strict: false }],
    addGenerationPrompt: true,
  });
  assert.ok(withTools.includes('Given the following functions, please respond with a JSON for a function call'));
  assert.ok(withTools.includes('"name": "get_weather"'));
});

test('selectTemplate: string, named list (default / tool_use), absent', () => {
  assert.equal(selectTemplate('x'), 'x');
  const list = [{ name: 'default', template: 'd' }, { name: 'tool_use', template: 't' }];
  assert.equal(selectTemplate(list), 'd');
  assert.equal(selectTemplate(list, true), 't');
  assert.equal(selectTemplate(undefined), null);
});

test('decode([]) is empty for every kind', async () => {
  for (const p of ['tinystories-656k', 'stories260k/tok512.bin', 'stories260k-gguf/stories260k.gguf', 'tiny-random-qwen3-gguf/tiny-random-qwen3-bf16.gguf']) {
    assert.equal((await tokenizerAt(p)).decode([]), '', p);
  }
});
