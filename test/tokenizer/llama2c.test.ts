/**
 * llama2.c tok512.bin: golden stories260k prompt ids and text, and the same ids as the GGUF
 * made from it; a truncated file gives an error naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goldenCases, modelPath, tokenizerAt } from './helpers.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';

test('stories260k tok512.bin: golden prompt ids and text; agrees with the GGUF vocab', async () => {
  const tok = await tokenizerAt('stories260k/tok512.bin');
  const gguf = await tokenizerAt('stories260k-gguf/stories260k.gguf');
  assert.equal(tok.kind, 'llama2c');
  assert.equal(tok.vocabSize, 512);
  for (const c of goldenCases('stories260k')) {
    assert.deepEqual(tok.encode(c.prompt), c.prompt_ids);
    const full = tok.decode([...c.prompt_ids, ...c.greedy_output_ids], { skipSpecialTokens: true });
    assert.equal(full.slice(tok.decode(c.prompt_ids, { skipSpecialTokens: true }).length), c.text);
  }
  for (let id = 0; id < 512; id++) assert.equal(tok.idToToken(id), gguf.idToToken(id), `token ${id}`);
  const folderTok = await loadTokenizer(modelPath('stories260k'));
  assert.deepEqual(folderTok.encode('Lily and Tom'), gguf.encode('Lily and Tom'));
});

test('truncated llama2.c tokenizer: error names the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgl-tok-'));
  const bad = join(dir, 'tok.bin');
  writeFileSync(bad, readFileSync(modelPath('stories260k/tok512.bin')).subarray(0, 3000));
  await assert.rejects(loadTokenizer(bad), (e: Error) => e.message.includes(bad) && /truncated|overruns/.test(e.message));
});
