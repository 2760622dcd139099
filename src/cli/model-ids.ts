/**
 * Replaces Hugging Face ids in --model-path / --tokenizer-path (and --model) with local paths,
 * resolved through the local cache first and a download second (src/hub), before the flags are
 * parsed, so the rest of startup only ever sees local files. Local paths pass through unchanged.
 * `--download-dir` selects the hub cache used for that.
 */
import { existsSync } from 'node:fs';
import { looksLikeHubId, resolveModelPath } from '../hub/resolve.js';

const PATH_FLAGS: Record<string, 'model' | 'tokenizer'> = { '--model-path': 'model', '--model': 'model', '--tokenizer-path': 'tokenizer' };

function flagValue(argv: string[], names: string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    for (const n of names) {
      if (argv[i] === n) return argv[i + 1] ?? null;
      if (argv[i]!.startsWith(`${n}=`)) return argv[i]!.slice(n.length + 1);
    }
  }
  return null;
}

export async function resolveModelIds(argv: string[], opts: { progress: boolean }): Promise<string[]> {
  const revision = flagValue(argv, ['--revision']);
  // --download-dir (SGLang's download_dir, huggingface_hub's cache_dir): the hub cache this
  // process reads and downloads into, as HF_HUB_CACHE would set it (src/hub reads the variable).
  const downloadDir = flagValue(argv, ['--download-dir']);
  if (downloadDir) process.env.HF_HUB_CACHE = downloadDir;
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    const [flag, inline] = out[i]!.includes('=') ? out[i]!.split(/=(.*)/s, 2) as [string, string] : [out[i]!, null];
    const kind = PATH_FLAGS[flag];
    if (!kind) continue;
    const value = inline ?? out[i + 1];
    if (value === undefined || existsSync(value) || !looksLikeHubId(value)) continue;
    const local = await resolveModelPath(value, { revision, kind, progress: opts.progress });
    if (inline !== null) out[i] = `${flag}=${local}`;
    else out[i + 1] = local;
  }
  return out;
}
