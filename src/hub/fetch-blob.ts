/**
 * Downloads one file into blobs/<etag> the way huggingface_hub does: bytes go to
 * blobs/<etag>.incomplete; an interrupted transfer resumes with `Range: bytes=<have>-`; the
 * result is checked (size always, sha256 when the etag is one, i.e. for LFS files) and only then
 * renamed to blobs/<etag>. A mismatch deletes the partial file and downloads again from zero.
 * Connection drops and 5xx answers are retried (resuming) up to MAX_INTERRUPTIONS times.
 * Invariant: blobs/<etag> appears only complete and verified (atomic rename after fsync).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HubError } from './errors.js';
import { hubFetch, isNetworkError, statusError, unreachable } from './http.js';

export interface FileProgress {
  /** Called when (re)starting, with the bytes already on disk. */
  start(total: number, done: number): void;
  update(done: number): void;
  stop(): void;
}

export interface BlobRequest {
  url: string; // the resolve URL (redirects to a CDN are followed)
  dest: string; // blobs/<etag>
  size: number;
  etag: string;
  repoId: string;
  revision: string;
  file: string;
  progress?: FileProgress;
}

const MAX_INTERRUPTIONS = 5;
const MAX_INTEGRITY_FAILURES = 2;

export function sha256OfEtag(etag: string): string | null {
  return /^[0-9a-f]{64}$/.test(etag) ? etag : null;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** True when `path` has the expected size and (for a sha256 etag) content hash. */
export async function verifyBlob(path: string, size: number, etag: string): Promise<boolean> {
  if ((await sizeOf(path)) !== size) return false;
  const sha = sha256OfEtag(etag);
  if (!sha) return true;
  const h = createHash('sha256');
  await hashFile(path, h);
  return h.digest('hex') === sha;
}

function rangeStart(res: Response): number | null {
  const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

export async function fetchBlob(req: BlobRequest): Promise<void> {
  const partial = `${req.dest}.incomplete`;
  const sha = sha256OfEtag(req.etag);
  let interruptions = 0;
  let integrityFailures = 0;
  await mkdir(dirname(req.dest), { recursive: true });
  for (;;) {
    let have = await sizeOf(partial);
    if (have > req.size) {
      await rm(partial, { force: true });
      have = -1;
    }
    let hash = sha ? createHash('sha256') : null;
    if (have > 0 && hash) await hashFile(partial, hash);
    let offset = Math.max(have, 0);
    if (offset < req.size || req.size === 0) {
      const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
      let written = offset;
      try {
        const res = await hubFetch(req.url, { method: 'GET', headers, redirect: 'follow' });
        if (res.status === 416) {
          await res.body?.cancel();
          await rm(partial, { force: true });
          continue;
        }
        if (!res.ok) {
          await res.body?.cancel();
          const err = statusError(res, req.repoId, { revision: req.revision, file: req.file });
          throw res.status >= 500 ? Object.assign(err, { transient: true }) : err;
        }
        let flags = 'a';
        if (offset > 0 && res.status === 200) {
          // The server ignored the range and sends the whole file: rewrite from byte 0.
          offset = written = 0;
          flags = 'w';
          hash = sha ? createHash('sha256') : null;
        } else if (offset > 0 && rangeStart(res) !== offset) {
          await res.body?.cancel();
          await rm(partial, { force: true });
          continue;
        }
        req.progress?.start(req.size, offset);
        if (res.body) {
          const tap = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              hash?.update(chunk);
              written += chunk.length;
              req.progress?.update(written);
              cb(null, chunk);
            },
          });
          await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(partial, { flags }));
        } else if (offset === 0) {
          await open(partial, 'w').then((fh) => fh.close());
        }
      } catch (e) {
        const transient = (e as { transient?: boolean }).transient === true;
        if (e instanceof HubError && e.code !== 'unreachable' && !transient) throw e;
        if (!isNetworkError(e) && !(e instanceof HubError) && !isBodyError(e)) throw e;
        if (++interruptions > MAX_INTERRUPTIONS) throw e instanceof HubError ? e : unreachable(e);
        await sleep(Math.min(200 * interruptions, 2000));
        continue;
      }
      if ((await sizeOf(partial)) < req.size) {
        // The body ended early without an error: resume like after a cut connection.
        if (++interruptions > MAX_INTERRUPTIONS) {
          throw new HubError('unreachable', `${req.repoId}/${req.file}: the transfer keeps ending early (${await sizeOf(partial)} of ${req.size} bytes)`);
        }
        continue;
      }
    }
    if (await finish(req, partial, hash)) return;
    integrityFailures++;
    if (integrityFailures >= MAX_INTEGRITY_FAILURES) {
      throw new HubError('integrity',
        `${req.repoId}/${req.file}: downloaded content does not match the hub's size/sha256 (${req.size} bytes, ${req.etag}) after ${integrityFailures} tries`);
    }
  }
}

function isBodyError(e: unknown): boolean {
  // undici reports a connection cut mid-body as TypeError('terminated') with a socket cause.
  const err = e as { message?: string; code?: string };
  return err?.message === 'terminated' || err?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Verifies the partial file; renames it into place (true) or deletes it (false). */
async function finish(req: BlobRequest, partial: string, hash: Hash | null): Promise<boolean> {
  const size = await sizeOf(partial);
  const sha = sha256OfEtag(req.etag);
  const ok = size === req.size && (!sha || !hash || hash.digest('hex') === sha);
  if (!ok) {
    await rm(partial, { force: true });
    return false;
  }
  const fh = await open(partial, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(partial, req.dest);
  req.progress?.stop();
  return true;
}
