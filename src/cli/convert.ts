/**
 * `tsgl convert`: writes a GGUF file from a Hugging Face folder or (with --load-format dummy)
 * random weights in the shape of a config.json, for side-by-side benchmarks with llama.cpp.
 */
import { parseArgs } from 'node:util';
import { exportGguf, type ExportType } from '../model/gguf-export.js';

const HELP = `Usage: tsgl convert --model-path PATH --outfile FILE.gguf [--outtype f16|bf16|f32|q8_0|q4_0|q5_0]
                    [--load-format dummy] [--tokenizer-path DIR]

  --model-path      Hugging Face model folder, or a folder/config.json with --load-format dummy
  --outfile         the GGUF file to write
  --outtype         weight type of the matrices (default f16); norms stay f32
  --load-format     auto (default) or dummy (random weights from config.json)
  --tokenizer-path  folder with tokenizer.json to embed as a GGUF vocab (default: the model folder)
`;

const TYPES: ExportType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q5_0'];

export async function convertCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'model-path': { type: 'string' },
      outfile: { type: 'string' },
      outtype: { type: 'string', default: 'f16' },
      'load-format': { type: 'string', default: 'auto' },
      'tokenizer-path': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const modelPath = values['model-path'];
  const outPath = values.outfile;
  if (!modelPath || !outPath) {
    process.stderr.write(`tsgl convert: --model-path and --outfile are required\n\n${HELP}`);
    return 2;
  }
  const outType = values.outtype as ExportType;
  if (!TYPES.includes(outType)) throw new Error(`--outtype must be one of ${TYPES.join(', ')}, got ${values.outtype}`);
  const t0 = performance.now();
  const r = exportGguf({
    modelPath, outPath, outType,
    dummy: values['load-format'] === 'dummy',
    tokenizerPath: values['tokenizer-path'],
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  process.stderr.write(`wrote ${outPath}: ${r.tensors} tensors, ${(r.bytes / 1048576).toFixed(1)} MiB of tensor data (${outType}) in ${secs}s\n`);
  return 0;
}
