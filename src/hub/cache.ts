/**
 * The huggingface_hub cache layout, read and written byte-compatibly with the Python library:
 *   <cache>/models--org--name/refs/<revision>          the commit hash (no newline)
 *   <cache>/models--org--name/snapshots/<commit>/<f>   relative symlink -> ../../blobs/<etag>
 *   <cache>/models--org--name/blobs/<etag>             file content; <etag>.incomplete while downloading
 *   <cache>/models--org--name/.no_exist/<commit>/<f>   empty marker: <f> does not exist at <commit>
 * Invariants: a blob name is only ever written by an atomic rename of a verified download;
 * refs and symlinks are replaced atomically (temporary name + rename), so readers never see a
 * partial ref, a dangling link that looks complete, or a half-written blob.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { hubCacheDir } from './env.js';
import { HubError } from './errors.js';
import { isCommitHash, repoFolderName } from './ids.js';

export function repoDir(repoId: string, cacheDir: string = hubCacheDir()): string {
  return join(cacheDir, repoFolderName(repoId));
}

function checkRevision(revision: string): void {
  if (revision === '' || revision.startsWith('/') || revision.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new HubError('bad_id', `invalid revision "${revision}"`);
  }
}

/** The commit a revision points to in the cache: a commit hash is itself; a branch/tag reads refs/. */
export function readRef(dir: string, revision: string): string | null {
  if (isCommitHash(revision)) return revision;
  checkRevision(revision);
  try {
    const commit = readFileSync(join(dir, 'refs', revision), 'utf8').trim();
    return isCommitHash(commit) ? commit : null;
  } catch {
    return null;
  }
}

/** A unique sibling name for an atomic replace (unique across processes and concurrent calls). */
function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

async function writeAtomically(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeRef(dir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return; // huggingface_hub writes no ref for a commit-hash revision
  checkRevision(revision);
  await writeAtomically(join(dir, 'refs', revision), commit);
}

export function snapshotDir(dir: string, commit: string): string {
  return join(dir, 'snapshots', commit);
}

export function blobPath(dir: string, etag: string): string {
  return join(dir, 'blobs', etag);
}

/** The snapshot path of `file` when it exists and resolves to a regular file; null otherwise. */
export function cachedFile(dir: string, commit: string, file: string): string | null {
  const p = join(snapshotDir(dir, commit), file);
  try {
    return statSync(p).isFile() ? p : null;
  } catch {
    return null;
  }
}

/** Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, replacing any old link. */
export async function linkSnapshotFile(dir: string, commit: string, file: string, etag: string): Promise<string> {
  const link = join(snapshotDir(dir, commit), file);
  await mkdir(dirname(link), { recursive: true });
  const target = relative(dirname(link), blobPath(dir, etag));
  const tmp = tmpName(link);
  await symlink(target, tmp);
  try {
    await rename(tmp, link);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return link;
}

export async function markNoExist(dir: string, commit: string, file: string): Promise<void> {
  const p = join(dir, '.no_exist', commit, file);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, '');
}

export function isNoExist(dir: string, commit: string, file: string): boolean {
  return existsSync(join(dir, '.no_exist', commit, file));
}
