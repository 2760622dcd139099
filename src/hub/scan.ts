/**
 * Lists the model repositories in the cache (what `huggingface-cli scan-cache` reports for
 * models): repo id, refs (revision -> commit), snapshot commits, blob bytes on disk, folder.
 * Read-only; tolerates foreign or half-written entries (they are skipped or counted as found).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoIdFromFolder } from './ids.js';

export interface CachedRepo {
  repoId: string;
  path: string;
  refs: Record<string, string>;
  snapshots: string[];
  sizeOnDisk: number;
  /** Bytes of unfinished downloads (blobs/*.incomplete), included in sizeOnDisk. */
  incompleteBytes: number;
}

function listDir(p: string): string[] {
  try {
    return readdirSync(p).sort();
  } catch {
    return [];
  }
}

function readRefs(refsDir: string, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const name of listDir(refsDir)) {
    const p = join(refsDir, name);
    try {
      if (statSync(p).isDirectory()) readRefs(p, `${prefix}${name}/`, out);
      else out[`${prefix}${name}`] = readFileSync(p, 'utf8').trim();
    } catch {
      /* vanished while reading */
    }
  }
  return out;
}

export function scanCache(cacheDir: string): CachedRepo[] {
  const repos: CachedRepo[] = [];
  for (const name of listDir(cacheDir)) {
    const repoId = repoIdFromFolder(name);
    const path = join(cacheDir, name);
    if (!repoId) continue;
    let sizeOnDisk = 0;
    let incompleteBytes = 0;
    for (const blob of listDir(join(path, 'blobs'))) {
      try {
        const size = statSync(join(path, 'blobs', blob)).size;
        sizeOnDisk += size;
        if (blob.endsWith('.incomplete')) incompleteBytes += size;
      } catch {
        /* vanished while reading */
      }
    }
    repos.push({
      repoId, path, refs: readRefs(join(path, 'refs')), snapshots: listDir(join(path, 'snapshots')),
      sizeOnDisk, incompleteBytes,
    });
  }
  return repos;
}
