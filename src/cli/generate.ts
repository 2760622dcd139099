/**
 * `tsgl generate`: one-shot generation with the in-process engine, from a prompt or input ids.
 * With --json it prints {"output_ids":[...],"text":"..."} (plus finish_reason and usage).
 */
import { parseArgs } from 'node:util';
import { Engine } from '../engine/engine.js';
import { resolveModelIds } from './model-ids.js';

const HELP = `Usage: tsgl generate --model-path PATH (--prompt TEXT | --input-ids 1,2,3) [options]

  --model-path PATH        Hugging Face folder or .gguf file
  --tokenizer-path PATH    tokenizer folder or file (default: the model path)
  --prompt TEXT            prompt text (BOS added as the tokenizer does)
  --input-ids IDS          comma-separated prompt token ids
  --max-new-tokens N       default 128
  --temperature T          default 0 (greedy)
  --top-p P, --top-k K, --min-p P, --seed S
  --ignore-eos             keep generating past EOS
  --stop STR               stop string (repeatable)
  --dtype D                auto | float32 | bfloat16 | float16
  --quantization Q         w8a8_int8 (int8 weights from a float checkpoint)
  --load-format F          auto | dummy
  --threads N              kernel threads (default: physical cores)
  --json                   print {"output_ids": [...], "text": "..."}
`;

export async function generateCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      'model-path': { type: 'string' }, 'tokenizer-path': { type: 'string' },
      prompt: { type: 'string' }, 'input-ids': { type: 'string' },
      'max-new-tokens': { type: 'string', default: '128' }, temperature: { type: 'string', default: '0' },
      'top-p': { type: 'string' }, 'top-k': { type: 'string' }, 'min-p': { type: 'string' }, seed: { type: 'string' },
      'ignore-eos': { type: 'boolean' }, stop: { type: 'string', multiple: true },
      dtype: { type: 'string', default: 'auto' }, quantization: { type: 'string' }, 'load-format': { type: 'string', default: 'auto' },
      threads: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v['model-path'] || (v.prompt === undefined) === (v['input-ids'] === undefined)) {
    process.stderr.write(`tsgl generate: --model-path and exactly one of --prompt / --input-ids are required\n\n${HELP}`);
    return 2;
  }
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  const inputIds = v['input-ids']?.split(',').map((s) => {
    const id = Number(s.trim());
    if (!Number.isInteger(id) || id < 0) throw new Error(`--input-ids: "${s}" is not a token id`);
    return id;
  });
  const [, modelPath, , tokenizerPath] = await resolveModelIds(
    ['--model-path', v['model-path'], '--tokenizer-path', v['tokenizer-path'] ?? v['model-path']], { progress: !v.json });
  const engine = await Engine.create({
    modelPath: modelPath!, tokenizerPath: v['tokenizer-path'] === undefined ? undefined : tokenizerPath, dtype: v.dtype as never,
    quantization: (v.quantization ?? null) as never, loadFormat: v['load-format'] as never,
    threads: num(v.threads) ?? null, skipTokenizerInit: inputIds !== undefined && v['tokenizer-path'] === undefined && v['load-format'] === 'dummy',
  }, { progress: !v.json });
  try {
    const samplingParams: Record<string, unknown> = {
      max_new_tokens: num(v['max-new-tokens']), temperature: num(v.temperature), ignore_eos: v['ignore-eos'] ?? false,
    };
    if (v['top-p'] !== undefined) samplingParams.top_p = num(v['top-p']);
    if (v['top-k'] !== undefined) samplingParams.top_k = num(v['top-k']);
    if (v['min-p'] !== undefined) samplingParams.min_p = num(v['min-p']);
    if (v.seed !== undefined) samplingParams.sampling_seed = num(v.seed);
    if (v.stop) samplingParams.stop = v.stop;
    const r = await engine.run({ text: v.prompt, inputIds, samplingParams });
    if (v.json) {
      process.stdout.write(JSON.stringify({
        output_ids: r.outputIds, text: r.text, finish_reason: r.finishReason,
        usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
      }) + '\n');
    } else {
      process.stdout.write(`${v.prompt ?? ''}${r.text}\n`);
    }
    return 0;
  } finally {
    await engine.close();
  }
}
