/**
 * Scheduling flags change how work is batched, never what is generated: greedy outputs of a
 * concurrent workload on the real server equal the golden ids under several flag sets. Also the
 * batch log lines that --log-level and --decode-log-interval govern.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assertNoLeak, launchServer, MODELS, post, waitIdle } from './server.js';

interface GoldenCase { prompt_ids: number[]; greedy_output_ids: number[] }
const cases = (JSON.parse(readFileSync(`${MODELS}golden/tiny-random-llama3.greedy.json`, 'utf8')) as { cases: GoldenCase[] }).cases;

const FLAG_SETS = [
  ['--chunked-prefill-size', '16', '--page-size', '16', '--schedule-policy', 'lpm', '--decode-log-interval', '8'],
  ['--max-running-requests', '1', '--schedule-policy', 'dfs-weight', '--disable-radix-cache', '--log-level', 'warning'],
  ['--enable-mixed-chunk', '--chunked-prefill-size', '32', '--page-size', '4', '--schedule-policy', 'lof'],
];

describe('e2e: scheduling flags do not change greedy outputs', () => {
  for (const flags of FLAG_SETS) {
    it(flags.join(' '), async () => {
      const server = await launchServer(['--model-path', `${MODELS}tiny-random-llama3`, '--max-total-tokens', '4096', ...flags]);
      try {
        const sp = { temperature: 0, max_new_tokens: 32, ignore_eos: true };
        const work = [...cases, ...cases].map((c) => post(`${server.url}/generate`, { input_ids: c.prompt_ids, sampling_params: sp }));
        const results = await Promise.all(work);
        assert.deepEqual(results.map((r) => r.json.output_ids), [...cases, ...cases].map((c) => c.greedy_output_ids));
        await waitIdle(server.url);
        assertNoLeak(server);
        // SGLang's batch log lines: at info (the default) a prefill line per extend step and a
        // decode line every --decode-log-interval decode steps; none at --log-level warning.
        const prefills = server.log().match(/\] Prefill batch\. #new-seq: \d+, #new-token: \d+, #cached-token: \d+, /g) ?? [];
        const decodes = server.log().match(/\] Decode batch\. #running-req: \d+, #token: \d+, token usage: [\d.]+, cuda graph: False, gen throughput \(token\/s\): [\d.]+, #queue-req: \d+, /g) ?? [];
        if (flags.includes('warning')) {
          assert.equal(prefills.length + decodes.length, 0, server.log());
        } else {
          assert.ok(prefills.length >= 1, server.log());
          assert.ok(flags.includes('--decode-log-interval') ? decodes.length >= 2 : true, server.log());
        }
      } finally {
        await server.stop();
      }
    });
  }
});
