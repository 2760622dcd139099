/**
 * Fetches the files a model needs from the hub into the huggingface_hub cache and returns the
 * snapshot. Order: list the revision (commit + files), plan (files.ts), then per file: skip it
 * if snapshots/<commit>/<file> already resolves (no request), else HEAD for its etag/size,
 * reuse blobs/<etag> if it is intact (shared between revisions), else download (fetch-blob.ts),
 * then link it into the snapshot. refs/<revision> is written last, so a ref only ever names a
 * commit whose files were all fetched by this or an earlier run. One writer per blob (lock.ts). Optional metadata files the
 * repository lacks get a .no_exist marker, as huggingface_hub records them.
 */
import { blobPath, cachedFile, isNoExist, linkSnapshotFile, markNoExist, repoDir, snapshotDir, writeRef } from './cache.js';
import { fetchBlob, verifyBlob } from './fetch-blob.js';
import { repoFolderName } from './ids.js';
import { withBlobLock } from './lock.js';
import { METADATA_FILES, planFromSiblings, shardsOfIndex, type Kind } from './files.js';
import { fetchRepoInfo, headFile, resolveUrl } from './http.js';
import { createProgress, type ProgressReporter } from './progress.js';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface DownloadOptions {
  kind: Kind;
  /** A .gguf path inside the repository, or null to let the plan choose. */
  gguf: string | null;
  progress?: boolean;
  /** Re-check files already in the snapshot against the hub (size and sha256). */
  verify?: boolean;
}

export interface SnapshotResult {
  repoId: string;
  revision: string;
  commit: string;
  snapshot: string;
  /** The snapshot folder, or the .gguf file inside it. */
  path: string;
  /** Files whose bytes were transferred by this call. */
  downloaded: string[];
}

const PARALLEL_FILES = 4;

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface Ctx {
  repoId: string;
  revision: string;
  commit: string;
  dir: string;
  verify: boolean;
  progress: ProgressReporter;
  downloaded: string[];
}

async function ensureFile(ctx: Ctx, file: string): Promise<void> {
  if (!ctx.verify && cachedFile(ctx.dir, ctx.commit, file)) return;
  const meta = await headFile(ctx.repoId, ctx.commit, file);
  const blob = blobPath(ctx.dir, meta.etag);
  const lock = join(ctx.dir, '..', '.locks', repoFolderName(ctx.repoId), `${meta.etag}.tsgl.lock`);
  await withBlobLock(lock, async () => {
    if (existsSync(blob) && !(await verifyBlob(blob, meta.size, ctx.verify ? meta.etag : '' /* size only */))) {
      await rm(blob, { force: true }); // corrupt or truncated: fetch it again
    }
    if (existsSync(blob)) return;
    await fetchBlob({
      url: resolveUrl(ctx.repoId, ctx.commit, file), dest: blob, size: meta.size, etag: meta.etag,
      repoId: ctx.repoId, revision: ctx.revision, file, progress: ctx.progress.file(file),
    });
    ctx.downloaded.push(file);
  }, () => process.stderr.write(`waiting for another tsgl process downloading ${ctx.repoId}/${file}\n`));
  await linkSnapshotFile(ctx.dir, ctx.commit, file, meta.etag);
}

export async function downloadSnapshot(repoId: string, revision: string, opts: DownloadOptions): Promise<SnapshotResult> {
  const info = await fetchRepoInfo(repoId, revision);
  const plan = planFromSiblings(repoId, info.siblings, opts.kind, opts.gguf);
  const dir = repoDir(repoId);
  const progress = createProgress(opts.progress ?? false);
  const ctx: Ctx = { repoId, revision, commit: info.sha, dir, verify: opts.verify ?? false, progress, downloaded: [] };
  try {
    await forEachLimited(plan.files, PARALLEL_FILES, (f) => ensureFile(ctx, f));
    if (plan.index) {
      const shards = shardsOfIndex(join(snapshotDir(dir, info.sha), plan.index));
      const known = new Set(info.siblings);
      const absent = shards.filter((s) => !known.has(s));
      if (absent.length) {
        throw new Error(`${repoId}: ${plan.index} lists shards the repository lacks: ${absent.join(', ')}`);
      }
      await forEachLimited(shards, PARALLEL_FILES, (f) => ensureFile(ctx, f));
    }
  } finally {
    progress.close();
  }
  const siblings = new Set(info.siblings);
  for (const f of METADATA_FILES) {
    if (!siblings.has(f) && !isNoExist(dir, info.sha, f)) await markNoExist(dir, info.sha, f);
  }
  await writeRef(dir, revision, info.sha);
  const snapshot = snapshotDir(dir, info.sha);
  return {
    repoId, revision, commit: info.sha, snapshot,
    path: plan.target ? join(snapshot, plan.target) : snapshot,
    downloaded: ctx.downloaded,
  };
}
