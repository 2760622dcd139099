/**
 * Scheduling overhead per engine step: runs N concurrent greedy requests through the in-process
 * Engine and splits each step's wall time into the model forward and everything else (schedule,
 * batch build, sampling, detokenization, finish checks, complete). Prints medians for decode
 * steps. Usage:
 *   node --import tsx bench/step-overhead.ts --model-path PATH [--load-format dummy] [--batch 64] [--output-len 64]
 */
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine.js';

const { values: v } = parseArgs({
  options: {
    'model-path': { type: 'string' }, 'load-format': { type: 'string', default: 'auto' }, batch: { type: 'string', default: '64' },
    'input-len': { type: 'string', default: '32' }, 'output-len': { type: 'string', default: '64' }, threads: { type: 'string' },
  },
});
const batch = Number(v.batch);
const inputLen = Number(v['input-len']);
const outputLen = Number(v['output-len']);
const engine = await Engine.create({
  modelPath: v['model-path']!, loadFormat: v['load-format'] as never, maxTotalTokens: batch * (inputLen + outputLen + 8),
  skipTokenizerInit: v['load-format'] === 'dummy', threads: v.threads ? Number(v.threads) : null,
});
const core = engine.built.core;
const forwardMs: number[] = [];
const stepMs: number[] = [];
const batchSizes: number[] = [];
const runner = core.runner;
const forward = runner.forward.bind(runner);
let lastForward = 0;
runner.forward = (b) => {
  const t0 = performance.now();
  const out = forward(b);
  lastForward = performance.now() - t0;
  batchSizes.push(b.numReqs === b.numTokens ? b.numReqs : -1);
  return out;
};
const step = core.step.bind(core);
core.step = () => {
  lastForward = 0;
  const t0 = performance.now();
  const out = step();
  if (lastForward > 0) {
    stepMs.push(performance.now() - t0);
    forwardMs.push(lastForward);
  }
  return out;
};
const vocab = engine.modelInfo.vocabSize;
const inputs = Array.from({ length: batch }, (_, i) => ({
  inputIds: Array.from({ length: inputLen }, (_, j) => (i * 131 + j * 7 + 1) % vocab),
  samplingParams: { temperature: 0, max_new_tokens: outputLen, ignore_eos: true },
}));
await engine.run(inputs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const decode = stepMs.map((s, i) => ({ s, f: forwardMs[i]!, b: batchSizes[i]! })).filter((x) => x.b === batch);
const overhead = decode.map((x) => x.s - x.f);
process.stdout.write(
  `decode steps at batch ${batch}: ${decode.length}; median step ${median(decode.map((x) => x.s)).toFixed(2)} ms, ` +
  `forward ${median(decode.map((x) => x.f)).toFixed(2)} ms, overhead ${median(overhead).toFixed(2)} ms ` +
  `(${((100 * median(overhead)) / median(decode.map((x) => x.s))).toFixed(1)}% of the step)\n`,
);
await engine.close();
