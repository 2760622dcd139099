/**
 * `tsgl download ORG/NAME[/FILE.gguf] [--revision R]`: fetches a model into the Hugging Face
 * cache ahead of time (like `huggingface-cli download`) and prints the snapshot path (or the
 * .gguf file) on stdout; progress and errors go to stderr. Files already cached are checked
 * against the hub (size, sha256) and fetched again if they differ.
 * Exit codes: 0 done, 1 failure, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { hubCacheDir } from '../hub/env.js';
import { HubError } from '../hub/errors.js';
import { downloadModel, looksLikeHubId } from '../hub/resolve.js';

const HELP = `Usage: tsgl download ORG/NAME[/FILE.gguf] [--revision REV] [--tokenizer-only] [--quiet]

Downloads the files tsgl needs (config, tokenizer, generation config, chat template, and the
safetensors weights or one .gguf file) into the Hugging Face cache and prints the local path.

  --revision        branch, tag or 40-hex commit (default: main)
  --tokenizer-only  only the tokenizer and config files, no weights
  --quiet           no progress bars

Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE (same as huggingface_hub).
`;

export async function downloadCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        revision: { type: 'string' },
        'tokenizer-only': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`tsgl download: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1 || !looksLikeHubId(positionals[0]!)) {
    process.stderr.write(`tsgl download: expected one model id ORG/NAME[/FILE.gguf]\n\n${HELP}`);
    return 2;
  }
  try {
    const r = await downloadModel(positionals[0]!, values.revision ?? null, {
      kind: values['tokenizer-only'] ? 'tokenizer' : 'model', progress: !values.quiet,
    });
    if (typeof r === 'string') {
      process.stdout.write(`${r}\n`);
    } else {
      if (!values.quiet) {
        process.stderr.write(`${r.repoId}@${r.revision} = ${r.commit}: ${r.downloaded.length} file(s) downloaded into ${hubCacheDir()}\n`);
      }
      process.stdout.write(`${r.path}\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`tsgl download: ${(e as Error).message}\n`);
    if (!(e instanceof HubError) && process.env.TSGL_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

