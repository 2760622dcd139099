/**
 * Hub ids and revisions: `org/name` (rules of huggingface_hub's validate_repo_id: word
 * characters, '-' and '.', at most 96 each, no '--' or '..'), optionally followed by the path of
 * one .gguf file inside the repository (`org/name/file.gguf`, `org/name/q8/file.gguf`).
 * Pure string functions: nothing here touches the file system or the network.
 */
export interface HubRef {
  repoId: string; // "org/name"
  file: string | null; // a .gguf path inside the repository, or null for the whole model
}

const PART = /^(?=.{1,96}$)[\w](?:[\w.-]*[\w])?$/;

function validPart(p: string): boolean {
  return PART.test(p) && !p.includes('--') && !p.includes('..');
}

export function parseHubId(s: string): HubRef | null {
  if (s.includes('\\') || s.includes('//')) return null;
  const parts = s.split('/');
  if (parts.length < 2 || !validPart(parts[0]!) || !validPart(parts[1]!)) return null;
  if (parts.length === 2) return { repoId: `${parts[0]}/${parts[1]}`, file: null };
  const rest = parts.slice(2);
  if (!s.toLowerCase().endsWith('.gguf')) return null;
  if (rest.some((p) => p === '' || p === '.' || p === '..')) return null;
  return { repoId: `${parts[0]}/${parts[1]}`, file: rest.join('/') };
}

/** True when `s` has the shape of a hub id (`org/name` or `org/name/file.gguf`). */
export function looksLikeHubId(s: string): boolean {
  return parseHubId(s) !== null;
}

export function isCommitHash(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}

/** The cache folder name huggingface_hub uses for a model repository. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

/** Inverse of repoFolderName for `models--*` folders; null for datasets/spaces/others. */
export function repoIdFromFolder(name: string): string | null {
  if (!name.startsWith('models--')) return null;
  return name.split('--').slice(1).join('/');
}
