/**
 * The hub's HTTP routes, as huggingface_hub uses them, and the mapping of failures to clear
 * HubErrors:
 *   GET  {endpoint}/api/models/{repo}/revision/{rev}  -> { sha, siblings[].rfilename }
 *   HEAD {endpoint}/{repo}/resolve/{rev}/{file}       -> X-Repo-Commit, ETag / X-Linked-Etag,
 *        X-Linked-Size / Content-Length (only relative redirects are followed, as huggingface_hub
 *        does, so the X-Linked-* headers of an LFS file's CDN redirect are the ones read)
 * Invariant: nothing here opens a connection when HF_HUB_OFFLINE is set (hubFetch refuses).
 */
import { hubEndpoint, hubOffline, hubToken } from './env.js';
import { HubError } from './errors.js';

const USER_AGENT = 'tsgl/0.1.0; hf_hub-compatible';
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT',
]);

export function hubHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...extra };
  const token = hubToken();
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

function errorCode(e: unknown): string {
  const err = e as { code?: string; name?: string; cause?: { code?: string; name?: string } };
  return err.cause?.code ?? err.code ?? err.cause?.name ?? err.name ?? 'unknown';
}

/** True for a failure of the connection itself (as opposed to an HTTP status). */
export function isNetworkError(e: unknown): boolean {
  if (e instanceof HubError) return false;
  const code = errorCode(e);
  return CONNECT_CODES.has(code) || code === 'TimeoutError' || code === 'AbortError' || (e as Error)?.message === 'fetch failed';
}

export function unreachable(e: unknown): HubError {
  return new HubError('unreachable',
    `cannot reach ${hubEndpoint()} (${errorCode(e)}); set HF_HUB_OFFLINE=1 to use only the local cache`);
}

/** fetch() with the hub's headers; connection failures become HubError('unreachable'). */
export async function hubFetch(url: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
  if (hubOffline()) throw new HubError('offline_miss', `HF_HUB_OFFLINE is set: refusing to request ${url}`);
  try {
    return await fetch(url, { ...init, headers: hubHeaders(init.headers) });
  } catch (e) {
    throw isNetworkError(e) ? unreachable(e) : e;
  }
}

/** A HubError for a non-success status, worded for the user. */
export function statusError(res: Response, repoId: string, what: { revision?: string; file?: string } = {}): HubError {
  const endpoint = hubEndpoint();
  const code = res.headers.get('x-error-code') ?? '';
  const tokenHint = hubToken()
    ? `the HF_TOKEN given has no access to it; request access at ${endpoint}/${repoId} or use another token`
    : `set HF_TOKEN to a token with access to it (and accept its terms at ${endpoint}/${repoId} if it is gated)`;
  if (code === 'RevisionNotFound') {
    return new HubError('not_found', `Revision ${what.revision ?? '?'} not found in repository ${repoId} on ${endpoint}`);
  }
  if (code === 'EntryNotFound') {
    return new HubError('not_found', `File ${what.file ?? '?'} not found in repository ${repoId} at revision ${what.revision ?? '?'}`);
  }
  if (res.status === 404 || code === 'RepoNotFound') {
    const hint = res.status === 401 && !hubToken() ? ' (if it is private or gated, set HF_TOKEN)' : '';
    return new HubError('not_found', `Repository ${repoId} not found on ${endpoint}${hint}`);
  }
  if (res.status === 401 || res.status === 403) {
    return new HubError('unauthorized', `Repository ${repoId} on ${endpoint} is gated or private (HTTP ${res.status}): ${tokenHint}`);
  }
  return new HubError('http', `HTTP ${res.status} ${res.statusText} from ${endpoint} for ${repoId}${what.file ? `/${what.file}` : ''}`);
}

export interface RepoInfo {
  sha: string;
  siblings: string[];
}

export async function fetchRepoInfo(repoId: string, revision: string): Promise<RepoInfo> {
  const url = `${hubEndpoint()}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
  const res = await hubFetch(url, { method: 'GET', signal: AbortSignal.timeout(30_000) });
  if (!res.ok) {
    await res.body?.cancel();
    throw statusError(res, repoId, { revision });
  }
  const body = (await res.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) {
    throw new HubError('http', `unexpected answer from ${url}: no sha/siblings`);
  }
  return { sha: body.sha, siblings: body.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === 'string') };
}

export function resolveUrl(repoId: string, revision: string, file: string): string {
  const quoted = file.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint()}/${repoId}/resolve/${encodeURIComponent(revision)}/${quoted}`;
}

export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '');
}

export interface FileMeta {
  commit: string | null;
  /** Blob name: X-Linked-Etag (sha256 of an LFS file) or ETag (git oid otherwise). */
  etag: string;
  size: number;
}

export async function headFile(repoId: string, revision: string, file: string): Promise<FileMeta> {
  let url = resolveUrl(repoId, revision, file);
  for (let hop = 0; ; hop++) {
    const res = await hubFetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(30_000) });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location && !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//') && hop < 5) {
      url = new URL(location, url).toString(); // relative redirect (renamed repository): follow
      continue;
    }
    if (res.status >= 400) throw statusError(res, repoId, { revision, file });
    const etag = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
    if (!etag) throw new HubError('http', `${url} has no ETag; cannot store it in the cache`);
    if (!Number.isFinite(size) || size < 0) throw new HubError('http', `${url} gives no file size`);
    return { commit: res.headers.get('x-repo-commit'), etag: normalizeEtag(etag), size };
  }
}
