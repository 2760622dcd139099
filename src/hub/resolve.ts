/**
 * Model resolution for --model-path / --tokenizer-path: a local folder or file is returned
 * unchanged; a hub id (`org/name` or `org/name/file.gguf`) resolves, in this order, to
 *   1. the local Hugging Face cache (refs/<revision> -> snapshots/<commit>; a 40-hex revision is
 *      the commit itself) when it holds every required file: no connection is opened;
 *   2. otherwise, unless HF_HUB_OFFLINE is set, a download of only the needed files (download.ts).
 * The result is the snapshot folder, or the .gguf file inside it.
 */
import { existsSync } from 'node:fs';
import { readRef, repoDir } from './cache.js';
import { downloadSnapshot, type SnapshotResult } from './download.js';
import { hubCacheDir, hubOffline } from './env.js';
import { HubError } from './errors.js';
import { checkSnapshot, type Kind } from './files.js';
import { looksLikeHubId, parseHubId } from './ids.js';

export { looksLikeHubId } from './ids.js';
export { HubError } from './errors.js';

export interface ResolveOptions {
  revision?: string | null;
  kind: Kind;
  progress?: boolean;
}

/** The cached path for an id, or null plus the missing files when the cache is not enough. */
export function resolveFromCache(repoId: string, gguf: string | null, revision: string, kind: Kind):
  { path: string | null; missing: string[] } {
  const dir = repoDir(repoId);
  const commit = readRef(dir, revision);
  if (!commit || !existsSync(`${dir}/snapshots/${commit}`)) {
    return { path: null, missing: [commit ? `snapshots/${commit}` : `refs/${revision}`] };
  }
  const check = checkSnapshot(repoId, dir, commit, kind, gguf);
  return check.missing.length ? { path: null, missing: check.missing } : { path: check.path, missing: [] };
}

export async function resolveModelPath(pathOrId: string, opts: ResolveOptions): Promise<string> {
  if (existsSync(pathOrId)) return pathOrId;
  const ref = parseHubId(pathOrId);
  if (!ref) {
    throw new HubError('bad_id', `${opts.kind} path ${pathOrId} does not exist and is not a Hugging Face id (org/name or org/name/file.gguf)`);
  }
  const revision = opts.revision || 'main';
  const cached = resolveFromCache(ref.repoId, ref.file, revision, opts.kind);
  if (cached.path) return cached.path;
  if (hubOffline()) {
    throw new HubError('offline_miss',
      `HF_HUB_OFFLINE is set and the cache ${hubCacheDir()} lacks ${ref.repoId}@${revision}: missing ${cached.missing.join(', ')}; ` +
      `download it first (tsgl download ${pathOrId}${revision !== 'main' ? ` --revision ${revision}` : ''}) or unset HF_HUB_OFFLINE`);
  }
  const result = await downloadSnapshot(ref.repoId, revision, { kind: opts.kind, gguf: ref.file, progress: opts.progress ?? true });
  return result.path;
}

/** `tsgl download`: always asks the hub (verifying cached files), or reads the cache when offline. */
export async function downloadModel(id: string, revision: string | null, opts: { kind: Kind; progress: boolean }): Promise<SnapshotResult | string> {
  const ref = parseHubId(id);
  if (!ref || !looksLikeHubId(id)) throw new HubError('bad_id', `${id} is not a Hugging Face id (org/name or org/name/file.gguf)`);
  const rev = revision || 'main';
  if (hubOffline()) return resolveModelPath(id, { revision: rev, kind: opts.kind, progress: false });
  return downloadSnapshot(ref.repoId, rev, { kind: opts.kind, gguf: ref.file, progress: opts.progress, verify: true });
}
