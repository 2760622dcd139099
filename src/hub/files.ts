/**
 * Which files of a repository tsgl needs, decided either from the hub's file list (before a
 * download) or from a cached snapshot folder (to tell whether the cache alone is enough).
 *   model:     the metadata files that exist + `model.safetensors`, or
 *              `model.safetensors.index.json` + every shard its weight_map lists, or one .gguf
 *   tokenizer: the metadata files that exist (no weights), or the one .gguf (it holds the vocab)
 * A repository with several .gguf files needs the user's choice (`org/name/file.gguf`).
 * The cache check is lenient on optional files (a snapshot made by Python tools has every file
 * of the repository, but no marker for files the repository lacks), strict on required ones.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cachedFile, isNoExist, snapshotDir } from './cache.js';
import { HubError } from './errors.js';

export type Kind = 'model' | 'tokenizer';

export const METADATA_FILES = [
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json',
  'special_tokens_map.json', 'chat_template.jinja',
];
export const SAFETENSORS = 'model.safetensors';
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export interface Plan {
  /** Files to fetch now, in order (the index, if any, comes before its shards). */
  files: string[];
  /** Index whose shards must be added once it is available locally. */
  index: string | null;
  /** The file to return instead of the snapshot folder (a .gguf), or null. */
  target: string | null;
}

function ggufChoiceError(repoId: string, ggufs: string[]): HubError {
  return new HubError('no_weights',
    `${repoId} holds ${ggufs.length} .gguf files; choose one with ${repoId}/<file>, e.g. ` +
    ggufs.map((g) => `${repoId}/${g}`).join(', '));
}

/** Plans a download from the repository's file list (`siblings[].rfilename`). */
export function planFromSiblings(repoId: string, siblings: string[], kind: Kind, gguf: string | null): Plan {
  const all = new Set(siblings);
  const ggufs = siblings.filter((f) => f.toLowerCase().endsWith('.gguf')).sort();
  if (gguf !== null) {
    if (!all.has(gguf)) {
      throw new HubError('not_found', `File ${gguf} not found in ${repoId}` +
        (ggufs.length ? `; its .gguf files: ${ggufs.join(', ')}` : ' (it has no .gguf files)'));
    }
    return { files: [gguf], index: null, target: gguf };
  }
  const meta = METADATA_FILES.filter((f) => all.has(f));
  const pickGguf = (): Plan | null => {
    if (ggufs.length === 1) return { files: [ggufs[0]!], index: null, target: ggufs[0]! };
    if (ggufs.length > 1) throw ggufChoiceError(repoId, ggufs);
    return null;
  };
  if (kind === 'tokenizer') {
    if (all.has('tokenizer.json') || all.has('tokenizer_config.json')) return { files: meta, index: null, target: null };
    const g = pickGguf();
    if (g) return g;
    if (meta.length) return { files: meta, index: null, target: null };
    throw new HubError('no_weights', `${repoId} has no tokenizer files (tokenizer.json, tokenizer_config.json or .gguf)`);
  }
  if (all.has(SAFETENSORS)) return { files: [...meta, SAFETENSORS], index: null, target: null };
  if (all.has(SAFETENSORS_INDEX)) return { files: [...meta, SAFETENSORS_INDEX], index: SAFETENSORS_INDEX, target: null };
  const g = pickGguf();
  if (g) return g;
  throw new HubError('no_weights',
    `${repoId} has no ${SAFETENSORS}, ${SAFETENSORS_INDEX} or .gguf file that tsgl can load`);
}

/** The unique shard file names listed by a safetensors index, sorted. */
export function shardsOfIndex(indexPath: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (e) {
    throw new HubError('integrity', `cannot parse ${indexPath}: ${(e as Error).message}`);
  }
  const map = (parsed as { weight_map?: Record<string, string> }).weight_map;
  if (!map || typeof map !== 'object') throw new HubError('integrity', `${indexPath} has no weight_map`);
  return [...new Set(Object.values(map))].sort();
}

export interface CacheCheck {
  /** Required files absent from the snapshot (empty: the snapshot is usable). */
  missing: string[];
  /** Absolute path to return: the snapshot folder or a .gguf inside it. */
  path: string;
}

function cachedGgufs(dir: string, commit: string): string[] {
  try {
    return (readdirSync(snapshotDir(dir, commit), { recursive: true }) as string[])
      .filter((f) => f.toLowerCase().endsWith('.gguf') && cachedFile(dir, commit, f) !== null)
      .sort();
  } catch {
    return [];
  }
}

/** Checks whether snapshots/<commit> alone satisfies a request, touching only the file system. */
export function checkSnapshot(repoId: string, dir: string, commit: string, kind: Kind, gguf: string | null): CacheCheck {
  const snap = snapshotDir(dir, commit);
  const has = (f: string): boolean => cachedFile(dir, commit, f) !== null;
  if (gguf !== null) return { missing: has(gguf) ? [] : [gguf], path: `${snap}/${gguf}` };
  const ggufPath = (): CacheCheck | null => {
    const g = cachedGgufs(dir, commit);
    if (g.length > 1) throw ggufChoiceError(repoId, g);
    return g.length === 1 ? { missing: [], path: `${snap}/${g[0]}` } : null;
  };
  if (kind === 'tokenizer') {
    if (has('tokenizer.json') || has('tokenizer_config.json')) return { missing: [], path: snap };
    const g = ggufPath();
    if (g) return g;
    const absent = isNoExist(dir, commit, 'tokenizer.json') && isNoExist(dir, commit, 'tokenizer_config.json');
    return { missing: absent && has('config.json') ? [] : ['tokenizer.json'], path: snap };
  }
  if (has(SAFETENSORS)) return { missing: has('config.json') ? [] : ['config.json'], path: snap };
  if (has(SAFETENSORS_INDEX)) {
    const missing = shardsOfIndex(`${snap}/${SAFETENSORS_INDEX}`).filter((s) => !has(s));
    if (!has('config.json')) missing.unshift('config.json');
    return { missing, path: snap };
  }
  const g = ggufPath();
  if (g) return g;
  return { missing: has('config.json') ? [SAFETENSORS] : ['config.json', SAFETENSORS], path: snap };
}
