/**
 * Low-level node:http helpers: body reading with a size limit, JSON/text replies, the SSE
 * writer and the client-disconnect signal.
 *
 * Invariants:
 * - A reply is written at most once; writes after the socket closed are dropped silently.
 * - `clientGone(req, res)` aborts exactly when the connection closes before the response ended.
 * - SSE frames are `data: <json>\n\n`; the stream ends with `data: [DONE]\n\n`.
 */
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStatusError, RequestValidationError } from './errors.js';

export class BodyTooLargeError extends HttpStatusError {
  constructor(limit: number) {
    super(413, `Request body is larger than ${limit} bytes`);
  }
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      req.resume();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; malformed JSON is a body validation error (FastAPI json_invalid). */
export function parseJson(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new RequestValidationError([{ loc: ['body', 0], msg: `JSON decode error: ${detail}`, type: 'json_invalid' }]);
  }
}

/** Media type of the request, lower-cased, parameters dropped. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').toLowerCase().split(';', 1)[0]!.trim();
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

/** Server-sent events in SGLang's framing. */
export class SseWriter {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  start(): void {
    if (this.started || this.res.headersSent) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  send(obj: unknown): void {
    this.start();
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  done(): void {
    this.start();
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.end('data: [DONE]\n\n');
  }
}

/** An AbortSignal that fires when the client disconnects before the response finished. */
export function clientGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  // One listener per item of a batch request: no fixed bound.
  setMaxListeners(0, ac.signal);
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.once('close', onClose);
  req.once('error', onClose);
  return ac.signal;
}
