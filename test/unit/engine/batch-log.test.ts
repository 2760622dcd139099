/**
 * SGLang's batch log lines (src/engine/batch-log.ts) over a real scheduler: one prefill line per
 * extend step with the admitted requests' token and cache-hit counts, a decode line every
 * --decode-log-interval decode steps with the tokens decoded since the last one over the time
 * since it, and nothing above --log-level info.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchLogger } from '../../../src/engine/batch-log.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { baseOptions, makeRequest } from '../scheduler/fake-runner.js';

/** Runs the scheduler with a logger on every step (sampling token 1, which never ends a request). */
function run(s: Scheduler, log: BatchLogger, steps: number): void {
  for (let n = 0; n < steps; n++) {
    const step = s.schedule();
    if (step === null) return;
    log.onStep(step, () => s.stats());
    s.complete(step, new Int32Array(step.sampleReqs.length).fill(1), () => null);
  }
}

const LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (Prefill|Decode) batch\. /;

test('batch log: prefill lines count new sequences, new and cached tokens; decode lines every interval with gen throughput', () => {
  const s = new Scheduler(baseOptions({}));
  const lines: string[] = [];
  let clock = 0;
  const log = new BatchLogger({ decodeLogInterval: 3, write: (l) => lines.push(l), now: () => clock });
  const prompt = Array.from({ length: 40 }, (_, i) => 2 + i);
  s.addRequest(makeRequest('a', prompt, 20, { ignoreEos: true }));
  s.addRequest(makeRequest('b', prompt.slice(0, 30), 20, { ignoreEos: true }));
  const origStep = log.onStep.bind(log);
  log.onStep = (step, stats) => { clock += 100; origStep(step, stats); };  // 100 ms per step
  run(s, log, 7);  // 1 prefill + 6 decodes: decode lines after decode 3 and 6
  assert.ok(lines.every((l) => LINE.test(l) && l.endsWith(', \n')), lines.join(''));
  assert.match(lines[0]!, /Prefill batch\. #new-seq: 2, #new-token: 70, #cached-token: 0, token usage: 0\.\d\d, #running-req: 0, #queue-req: 0, \n$/);
  const decode = lines.filter((l) => l.includes('Decode batch'));
  assert.equal(decode.length, 2, lines.join(''));
  // 3 decode steps x 2 requests in 300 ms (the first: since the logger was made, 400 ms)
  assert.match(decode[0]!, /#running-req: 2, #token: \d+, token usage: 0\.\d\d, cuda graph: False, gen throughput \(token\/s\): 15\.00, #queue-req: 0, \n$/);
  assert.match(decode[1]!, /gen throughput \(token\/s\): 20\.00, /);
  // A later request with the same prompt hits the prefix cache of the first (30 of its tokens at least).
  s.addRequest(makeRequest('c', prompt, 4, { ignoreEos: true }));
  run(s, log, 1);
  const m = /#new-seq: 1, #new-token: (\d+), #cached-token: (\d+), .*#running-req: 2,/.exec(lines.at(-1)!);
  assert.ok(m, lines.at(-1));
  assert.equal(Number(m[1]) + Number(m[2]), 40);
  assert.ok(Number(m[2]) >= 30, lines.at(-1));
});

test('batch log: only at --log-level debug / info', () => {
  assert.ok(BatchLogger.enabled('info') && BatchLogger.enabled('DEBUG'));
  assert.ok(!BatchLogger.enabled('warning') && !BatchLogger.enabled('error') && !BatchLogger.enabled('critical'));
});
