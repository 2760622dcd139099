import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseServingArgs, runServingBenchmark } from '../../../bench/serving.js';

/** A fake server speaking the three stream dialects; one token per 5 ms, two per chunk for llama.cpp. */
function fakeServer(): Promise<{ url: string; close: () => Promise<void>; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const srv = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(req.url === '/health' ? 200 : 404).end(req.url === '/health' ? '' : 'no');
      return;
    }
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', async () => {
      const b = JSON.parse(text) as Record<string, unknown>;
      bodies.push({ ...b, url: req.url });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const sp = b['sampling_params'] as { max_new_tokens: number } | undefined;
      const n = sp?.max_new_tokens ?? (b['n_predict'] as number | undefined) ?? (b['max_tokens'] as number);
      const step = req.url === '/completion' ? 2 : 1;
      for (let i = step; i <= n + step - 1; i += step) {
        const k = Math.min(i, n);
        await new Promise((r) => setTimeout(r, 5));
        let d: unknown;
        if (req.url === '/generate') d = { output_ids: [k], meta_info: { completion_tokens: k } };
        else if (req.url === '/completion') d = { content: 'ab', tokens: [1, 2].slice(0, k - i + step), tokens_predicted: k, stop: false };
        else d = { choices: [{ text: 'x', index: 0, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(d)}\n\n`);
      }
      if (req.url === '/v1/completions') res.write(`data: ${JSON.stringify({ choices: [], usage: { completion_tokens: n } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, bodies, close: () => new Promise((r) => srv.close(() => r())) });
    }),
  );
}

for (const backend of ['sglang', 'openai', 'llama.cpp']) {
  test(`bench_serving end to end against a fake ${backend} server`, async () => {
    const s = await fakeServer();
    try {
      const a = parseServingArgs([
        '--backend', backend, '--base-url', s.url, '--vocab-size', '1000', '--num-prompts', '6', '--random-input-len', '20',
        '--random-output-len', '8', '--random-range-ratio', '1', '--max-concurrency', '3', '--model', 'm',
      ]);
      assert.notEqual(a, 'help');
      if (a === 'help') return;
      const r = await runServingBenchmark(a, () => {});
      assert.equal(r.completed, 6);
      assert.equal(r.total_input_tokens, 120);
      assert.equal(r.total_output_tokens, 48);
      assert.ok(r.median_ttft_ms > 0 && r.median_ttft_ms < 1000);
      assert.ok(r.median_itl_ms > 0);
      assert.ok(r.concurrency > 1 && r.concurrency <= 3.01, `concurrency ${r.concurrency}`);
      // warmup (1) + 6 requests, all with token-id prompts of the right length
      assert.equal(s.bodies.length, 7);
      const body = s.bodies[1]!;
      const prompt = (body['input_ids'] ?? body['prompt']) as number[];
      assert.equal(prompt.length, 20);
    } finally {
      await s.close();
    }
  });
}

test('generated-shared-prefix against the fake server reports the shared-prefix view', async () => {
  const s = await fakeServer();
  try {
    const a = parseServingArgs([
      '--base-url', s.url, '--vocab-size', '1000', '--dataset-name', 'generated-shared-prefix', '--gsp-num-groups', '2',
      '--gsp-prompts-per-group', '4', '--gsp-system-prompt-len', '50', '--gsp-question-len', '5', '--gsp-output-len', '4', '--max-concurrency', '1',
    ]);
    if (a === 'help') throw new Error('help');
    const r = await runServingBenchmark(a, () => {});
    assert.equal(r.completed, 8);
    assert.equal(r.total_input_tokens, 8 * 55);
    assert.ok(r.shared_prefix);
    assert.equal(r.shared_prefix!.later, 6);
    assert.equal(r.shared_prefix!.concurrent, 0);
  } finally {
    await s.close();
  }
});

test('parseServingArgs: SGLang names and defaults', () => {
  const a = parseServingArgs(['--dataset-name', 'random', '--request-rate', 'inf', '--port', '1234']);
  if (a === 'help') throw new Error('help');
  assert.equal(a.datasetName, 'random-ids');
  assert.equal(a.requestRate, Infinity);
  assert.equal(a.baseUrl, 'http://127.0.0.1:1234');
  assert.equal(a.numPrompts, 1000);
  assert.equal(a.randomRangeRatio, 0);
  assert.throws(() => parseServingArgs(['--backend', 'nope']));
  assert.equal(parseServingArgs(['--help']), 'help');
});
