/**
 * A local stand-in for huggingface.co, for tests: a node:http server on 127.0.0.1:<random port>
 * that serves fixture folders as repositories through the hub's routes and headers
 *   GET  /api/models/{repo}/revision/{rev}   {id, sha, siblings:[{rfilename}]}
 *   HEAD/GET /{repo}/resolve/{rev}/{file}    X-Repo-Commit, ETag (git oid, or sha256 for LFS),
 *        X-Linked-Etag/X-Linked-Size for LFS files (.safetensors/.gguf), which redirect (302) to
 *        /cdn/{sha256} when `redirectLfs` is set; Range requests answer 206
 * plus faults: 404 for unknown repos/revisions/files (with X-Error-Code), 401 for a gated repo
 * without its token, `fail503Once` (one 503 answer), `cutOnce` (send half a file then drop the connection), `corruptOnce`
 * (flip one byte). Every request is recorded in `requests`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface FakeRepo {
  dir: string;
  /** Files to serve (default: every file in dir). */
  files?: string[];
  /** Commit hash of "main" (default: derived from the repo id). */
  sha?: string;
  /** When set, the repository is gated: requests need `Authorization: Bearer <token>`. */
  token?: string;
}

export interface FileInfo {
  data: Buffer;
  size: number;
  sha256: string;
  gitOid: string;
  lfs: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  range: string | null;
}

export function fileInfo(path: string): FileInfo {
  const data = readFileSync(path);
  return {
    data, size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    gitOid: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
    lfs: /\.(safetensors|gguf|bin)$/.test(path),
  };
}

export function fakeSha(repoId: string): string {
  return createHash('sha1').update(`commit:${repoId}`).digest('hex');
}

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  readonly cutOnce = new Set<string>();
  readonly corruptOnce = new Set<string>();
  readonly fail503Once = new Set<string>();
  redirectLfs = false;
  private server: Server | null = null;
  private infos = new Map<string, FileInfo>();
  url = '';

  constructor(readonly repos: Record<string, FakeRepo>) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Requests that fetch or describe a file (HEAD/GET of resolve or cdn routes). */
  fileRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.includes('/resolve/') || r.path.startsWith('/cdn/'));
  }

  /** Forgets the recorded requests (faults and redirects stay as set). */
  reset(): void {
    this.requests.length = 0;
  }

  /** Back to a well-behaved hub: no pending one-shot faults, no CDN redirects. */
  clearFaults(): void {
    this.cutOnce.clear();
    this.corruptOnce.clear();
    this.fail503Once.clear();
    this.redirectLfs = false;
  }

  filesOf(repoId: string): string[] {
    const repo = this.repos[repoId]!;
    return repo.files ?? readdirSync(repo.dir).sort();
  }

  shaOf(repoId: string): string {
    return this.repos[repoId]!.sha ?? fakeSha(repoId);
  }

  info(repoId: string, file: string): FileInfo {
    const key = `${repoId}/${file}`;
    let i = this.infos.get(key);
    if (!i) this.infos.set(key, (i = fileInfo(join(this.repos[repoId]!.dir, file))));
    return i;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, this.url);
    const path = url.pathname;
    this.requests.push({ method: req.method!, path, range: (req.headers.range as string | undefined) ?? null });
    const fail = (status: number, code?: string): void => {
      if (code) res.setHeader('x-error-code', code);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: code ?? status }));
    };
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (m) {
      const repoId = m[1]!;
      const rev = decodeURIComponent(m[2]!);
      if (!this.repos[repoId]) return fail(404, 'RepoNotFound');
      if (!this.authorized(repoId, req)) return fail(401, 'GatedRepo');
      if (rev !== 'main' && rev !== this.shaOf(repoId)) return fail(404, 'RevisionNotFound');
      const body = { id: repoId, sha: this.shaOf(repoId), siblings: this.filesOf(repoId).map((rfilename) => ({ rfilename })) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (m) {
      const file = url.searchParams.get('file')!;
      const repoId = url.searchParams.get('repo')!;
      return this.serveBytes(req, res, repoId, file, {});
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return fail(404);
    const repoId = m[1]!;
    const rev = decodeURIComponent(m[2]!);
    const file = m[3]!.split('/').map(decodeURIComponent).join('/');
    if (!this.repos[repoId]) return fail(404, 'RepoNotFound');
    if (!this.authorized(repoId, req)) return fail(401, 'GatedRepo');
    if (rev !== 'main' && rev !== this.shaOf(repoId)) return fail(404, 'RevisionNotFound');
    if (!this.filesOf(repoId).includes(file)) return fail(404, 'EntryNotFound');
    const info = this.info(repoId, file);
    const headers: Record<string, string> = { 'x-repo-commit': this.shaOf(repoId) };
    if (info.lfs) {
      headers.etag = `"${info.sha256}"`;
      headers['x-linked-etag'] = `"${info.sha256}"`;
      headers['x-linked-size'] = String(info.size);
      if (this.redirectLfs) {
        headers.location = `${this.url}/cdn/${info.sha256}?repo=${encodeURIComponent(repoId)}&file=${encodeURIComponent(file)}`;
        res.writeHead(302, headers).end();
        return;
      }
    } else {
      headers.etag = `"${info.gitOid}"`;
    }
    this.serveBytes(req, res, repoId, file, headers);
  }

  private authorized(repoId: string, req: IncomingMessage): boolean {
    const token = this.repos[repoId]!.token;
    return !token || req.headers.authorization === `Bearer ${token}`;
  }

  private serveBytes(req: IncomingMessage, res: ServerResponse, repoId: string, file: string, headers: Record<string, string>): void {
    const info = this.info(repoId, file);
    let data = info.data;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec((req.headers.range as string | undefined) ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= info.size) {
        res.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
        return;
      }
    }
    if (req.method === 'GET' && this.fail503Once.delete(file)) {
      res.writeHead(503).end('busy');
      return;
    }
    if (req.method === 'GET' && this.corruptOnce.delete(file)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    const body = data.subarray(start);
    const h: Record<string, string> = { ...headers, 'content-length': String(body.length), 'accept-ranges': 'bytes' };
    if (range) h['content-range'] = `bytes ${start}-${info.size - 1}/${info.size}`;
    res.writeHead(range ? 206 : 200, h);
    if (req.method === 'HEAD') return void res.end();
    if (this.cutOnce.delete(file)) {
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  }
}
