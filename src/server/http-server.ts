/**
 * The tsgl HTTP server: node:http, a small method+path router, CORS, --api-key, JSON bodies,
 * and graceful shutdown. Routes and bodies follow SGLang 0.5.2's http_server.py.
 *
 * Invariants:
 * - Middleware order: CORS headers -> OPTIONS preflight -> API key -> route -> body -> handler.
 * - With --api-key, every request but OPTIONS and paths starting with /health or /metrics needs
 *   `Authorization: Bearer <key>` exactly, else 401 {"error":"Unauthorized"}.
 * - /v1/completions and /v1/chat/completions require media type application/json.
 * - Unknown paths answer 404 {"detail":"Not Found"}; a known path with the wrong method 405.
 * - The server never imports scheduler/, cache/ or model/: everything goes through EngineClient.
 */
import http from 'node:http';
import type { EngineClient } from '../engine/client.js';
import {
  handleAbort,
  handleContinue,
  handleFlushCache,
  handleHealth,
  handleLoad,
  handleMetrics,
  handleModelInfo,
  handlePause,
  handleServerInfo,
} from './admin.js';
import type { ServerContext, ServerOptions } from './context.js';
import { RequestValidationError, nativeErrorReply, openaiErrorReply } from './errors.js';
import { handleGenerate } from './generate.js';
import { mediaType, parseJson, readBody, sendJson } from './http-util.js';
import { ServerMetrics } from './metrics.js';
import { handleChat } from './openai/chat.js';
import { handleParseFunctionCall, handleSeparateReasoning } from './parse-routes.js';
import { handleCompletions } from './openai/completions.js';
import { handleListModels, handleRetrieveModel } from './openai/models.js';

export type { ServerOptions } from './context.js';

type Family = 'native' | 'openai';
type BodyMode = 'none' | 'optional' | 'required';

interface Route {
  methods: string[];
  family: Family;
  body: BodyMode;
  jsonOnly?: boolean;
  handle: (ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, body: unknown, param: string) => unknown;
}

const ROUTES: Record<string, Route> = {
  '/health': { methods: ['GET'], family: 'native', body: 'none', handle: (c, _q, r) => handleHealth(c, r) },
  '/health_generate': { methods: ['GET'], family: 'native', body: 'none', handle: (c, _q, r) => handleHealth(c, r) },
  '/get_model_info': { methods: ['GET'], family: 'native', body: 'none', handle: (c, _q, r) => handleModelInfo(c, r) },
  '/get_weight_version': {
    methods: ['GET'],
    family: 'native',
    body: 'none',
    handle: (c, _q, r) => sendJson(r, 200, { weight_version: c.weightVersion }),
  },
  '/get_server_info': { methods: ['GET'], family: 'native', body: 'none', handle: (c, _q, r) => handleServerInfo(c, r) },
  '/get_load': { methods: ['GET'], family: 'native', body: 'none', handle: (c, _q, r) => handleLoad(c, r) },
  '/generate': { methods: ['POST', 'PUT'], family: 'native', body: 'required', handle: (c, q, r, b) => handleGenerate(c, q, r, b) },
  '/flush_cache': { methods: ['GET', 'POST'], family: 'native', body: 'none', handle: (c, _q, r) => handleFlushCache(c, r) },
  '/abort_request': { methods: ['POST'], family: 'native', body: 'optional', handle: (c, _q, r, b) => handleAbort(c, r, b) },
  '/pause_generation': { methods: ['POST'], family: 'native', body: 'none', handle: (c, _q, r) => handlePause(c, r) },
  '/continue_generation': { methods: ['POST'], family: 'native', body: 'none', handle: (c, _q, r) => handleContinue(c, r) },
  '/parse_function_call': { methods: ['POST'], family: 'native', body: 'required', handle: (_c, _q, r, b) => handleParseFunctionCall(r, b) },
  '/separate_reasoning': { methods: ['POST'], family: 'native', body: 'required', handle: (_c, _q, r, b) => handleSeparateReasoning(r, b) },
  '/ping': { methods: ['GET'], family: 'native', body: 'none', handle: (_c, _q, r) => sendJson(r, 200, null) },
  '/metrics': { methods: ['GET'], family: 'native', body: 'none', handle: (c, _q, r) => handleMetrics(c, r) },
  '/v1/completions': {
    methods: ['POST'],
    family: 'openai',
    body: 'required',
    jsonOnly: true,
    handle: (c, q, r, b) => handleCompletions(c, q, r, b),
  },
  '/v1/chat/completions': {
    methods: ['POST'],
    family: 'openai',
    body: 'required',
    jsonOnly: true,
    handle: (c, q, r, b) => handleChat(c, q, r, b),
  },
  '/invocations': { methods: ['POST'], family: 'openai', body: 'required', handle: (c, q, r, b) => handleChat(c, q, r, b) },
  '/v1/models': { methods: ['GET'], family: 'openai', body: 'none', handle: (c, _q, r) => handleListModels(c, r) },
};

const MODEL_PREFIX = '/v1/models/';
const RETRIEVE_MODEL: Route = {
  methods: ['GET'],
  family: 'openai',
  body: 'none',
  handle: (c, _q, r, _b, param) => handleRetrieveModel(c, r, param),
};

function lookup(path: string): { route: Route; param: string } | null {
  const r = ROUTES[path];
  if (r) return { route: r, param: '' };
  if (path.startsWith(MODEL_PREFIX) && path.length > MODEL_PREFIX.length) {
    return { route: RETRIEVE_MODEL, param: decodeURIComponent(path.slice(MODEL_PREFIX.length)) };
  }
  return null;
}

function setCors(req: http.IncomingMessage, res: http.ServerResponse): void {
  const origin = req.headers.origin;
  if (!origin) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-allow-credentials', 'true');
  res.setHeader('vary', 'Origin');
}

function preflight(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('access-control-allow-methods', 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT');
  res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? '*');
  res.setHeader('access-control-max-age', '600');
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2 });
  res.end('OK');
}

const UNSUPPORTED_MEDIA = "Unsupported Media Type: Only 'application/json' is allowed";

export interface TsglServer extends http.Server {
  readonly ctx: ServerContext;
  /** Lets /health answer 200 (after warmup). */
  markReady(): void;
  /** Stops accepting, waits up to `timeoutMs` for in-flight requests, then closes. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export function createServer(engine: EngineClient, opts: ServerOptions = {}): TsglServer {
  const modelName = opts.servedModelName ?? engine.modelInfo.servedModelName;
  const ctx: ServerContext = {
    engine,
    opts: {
      ...opts,
      allowAutoTruncate: opts.allowAutoTruncate ?? false,
      enableCacheReport: opts.enableCacheReport ?? false,
      skipTokenizerInit: opts.skipTokenizerInit ?? false,
      streamOutput: opts.streamOutput ?? false,
    },
    modelName,
    weightVersion: opts.weightVersion ?? 'default',
    metrics: opts.enableMetrics ? new ServerMetrics(engine, modelName) : null,
    status: opts.startReady === false ? 'starting' : 'ready',
    pauseGate: null,
    inflight: 0,
  };
  const maxBody = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const idleWaiters: (() => void)[] = [];

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    ctx.inflight++;
    res.once('close', () => {
      ctx.inflight--;
      if (ctx.inflight === 0) for (const w of idleWaiters.splice(0)) w();
    });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    setCors(req, res);
    if (method === 'OPTIONS') return preflight(req, res);

    if (opts.apiKey) {
      const open = path.startsWith('/health') || path.startsWith('/metrics');
      if (!open && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
        return sendJson(res, 401, { error: 'Unauthorized' });
      }
    }

    const found = lookup(path);
    if (!found || (path === '/metrics' && !ctx.metrics)) {
      req.resume();
      return sendJson(res, 404, { detail: 'Not Found' });
    }
    const { route, param } = found;
    if (!route.methods.includes(method) && !(method === 'HEAD' && route.methods.includes('GET'))) {
      req.resume();
      res.setHeader('allow', route.methods.join(', '));
      return sendJson(res, 405, { detail: 'Method Not Allowed' });
    }
    const reply = route.family === 'openai' ? openaiErrorReply : nativeErrorReply;
    try {
      if (route.jsonOnly && mediaType(req) !== 'application/json') {
        req.resume();
        throw new RequestValidationError([{ loc: ['header', 'content-type'], msg: UNSUPPORTED_MEDIA, type: 'value_error' }]);
      }
      let body: unknown = undefined;
      if (route.body !== 'none') {
        const buf = await readBody(req, maxBody);
        if (buf.length === 0) {
          if (route.body === 'required') {
            throw new RequestValidationError([{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
          }
        } else body = parseJson(buf);
      } else req.resume();
      await route.handle(ctx, req, res, body, param);
    } catch (e) {
      const { status, body } = reply(e);
      if (!res.headersSent) sendJson(res, status, body);
      else if (!res.writableEnded) res.end();
    }
  };

  const server = http.createServer((req, res) => {
    handler(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(e) } });
      else res.destroy();
    });
  }) as TsglServer;

  Object.defineProperty(server, 'ctx', { value: ctx });
  server.markReady = () => {
    if (ctx.status === 'starting') ctx.status = 'ready';
  };
  server.shutdown = async (timeoutMs = 30_000) => {
    ctx.status = 'shutting_down';
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (ctx.inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    server.closeAllConnections();
    await closed;
  };
  return server;
}
