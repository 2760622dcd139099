/**
 * Request functions of `tsgl bench_serving`: one streaming request, timed per chunk.
 *
 * - `sglang` (alias `sglang-native`): POST /generate {input_ids, sampling_params, stream};
 *   token count from meta_info.completion_tokens (works with --skip-tokenizer-init, where
 *   chunks carry output_ids and no text).
 * - `sglang-oai` / `openai` / `vllm`: POST /v1/completions {prompt: [ids], stream}; token count
 *   from usage.completion_tokens or llama.cpp's timings.predicted_n when a chunk has them (we
 *   ask with stream_options.include_usage and timings_per_token), else one per chunk with text.
 * - `llama.cpp`: POST /completion {prompt: [ids], n_predict, stream, return_tokens};
 *   token count from tokens_predicted (exact even when a chunk carries two tokens because
 *   llama.cpp holds back incomplete UTF-8).
 * All send temperature 0 and ignore_eos, so every request generates its full output length.
 * Uses node:http directly (no client-side timeouts, unlimited sockets, no connection reuse).
 */
import http from 'node:http';
import https from 'node:https';
import { StreamTimer, type RequestOutput } from './stats.js';

export const BACKENDS = ['sglang', 'sglang-native', 'sglang-oai', 'openai', 'vllm', 'llama.cpp'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface RequestInput {
  prompt: number[];
  promptLen: number;
  outputLen: number;
  model?: string;
  extraBody?: Record<string, unknown>;
  group?: number;
}

export function apiPath(backend: Backend): string {
  switch (backend) {
    case 'sglang':
    case 'sglang-native':
      return '/generate';
    case 'llama.cpp':
      return '/completion';
    default:
      return '/v1/completions';
  }
}

export function requestBody(backend: Backend, r: RequestInput): Record<string, unknown> {
  switch (backend) {
    case 'sglang':
    case 'sglang-native':
      return {
        input_ids: r.prompt,
        sampling_params: { temperature: 0, max_new_tokens: r.outputLen, ignore_eos: true },
        stream: true,
        ...r.extraBody,
      };
    case 'llama.cpp':
      return {
        prompt: r.prompt,
        n_predict: r.outputLen,
        temperature: 0,
        ignore_eos: true,
        stream: true,
        return_tokens: true,
        cache_prompt: true,
        ...r.extraBody,
      };
    default:
      return {
        model: r.model ?? 'default',
        prompt: r.prompt,
        temperature: 0,
        max_tokens: r.outputLen,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
        timings_per_token: true,
        ...r.extraBody,
      };
  }
}

/**
 * Cumulative completion-token count a parsed chunk reports, or null when it carries no token
 * information. `prev` is the count so far (for the one-per-text-chunk fallback).
 */
export function tokensInChunk(backend: Backend, data: Record<string, unknown>, prev: number): number | null {
  if (backend === 'sglang' || backend === 'sglang-native') {
    const meta = data['meta_info'] as Record<string, unknown> | undefined;
    const n = meta?.['completion_tokens'];
    if (typeof n === 'number') return n;
    const ids = data['output_ids'];
    if (Array.isArray(ids) && ids.length > 0) return prev + ids.length;
    return typeof data['text'] === 'string' && data['text'] ? prev + 1 : null;
  }
  if (backend === 'llama.cpp') {
    const n = data['tokens_predicted'];
    if (typeof n === 'number') return n;
    const toks = data['tokens'];
    if (Array.isArray(toks) && toks.length > 0) return prev + toks.length;
    return typeof data['content'] === 'string' && data['content'] ? prev + 1 : null;
  }
  const usage = data['usage'] as Record<string, unknown> | null | undefined;
  const timings = data['timings'] as Record<string, unknown> | undefined;
  const choices = data['choices'] as Array<Record<string, unknown>> | undefined;
  const text = choices?.[0]?.['text'];
  if (typeof timings?.['predicted_n'] === 'number' && (choices?.length ?? 0) > 0) return timings['predicted_n'] as number;
  if (typeof usage?.['completion_tokens'] === 'number') {
    // A usage-only closing chunk does not mark a new token's arrival if the count is unchanged.
    return usage['completion_tokens'] as number;
  }
  return typeof text === 'string' && text ? prev + 1 : null;
}

export function errorOutput(r: RequestInput, error: string, startTime: number): RequestOutput {
  return { success: false, error, promptLen: r.promptLen, outputLen: 0, ttft: 0, latency: 0, itl: [], startTime, group: r.group };
}

// A fresh connection per request, as SGLang's client does (one aiohttp session per request):
// llama-server closes a connection after a streamed response without saying so, and a reused
// keep-alive socket then fails the next request with "socket hang up".
const agents = {
  http: new http.Agent({ keepAlive: false, maxSockets: Infinity }),
  https: new https.Agent({ keepAlive: false, maxSockets: Infinity }),
};

/** Sends one streaming request and times its chunks. Never throws. */
export function sendRequest(
  backend: Backend,
  baseUrl: string,
  r: RequestInput,
  benchStart: number,
  headers: Record<string, string> = {},
): Promise<RequestOutput> {
  const url = new URL(apiPath(backend), baseUrl.endsWith('/') ? baseUrl : baseUrl + '/');
  const body = JSON.stringify(requestBody(backend, r));
  const lib = url.protocol === 'https:' ? https : http;
  const st = performance.now() / 1000;
  const startTime = st - benchStart;
  return new Promise((resolve) => {
    const timer = new StreamTimer(st);
    let buf = '';
    let failed: string | null = null;
    let done = false;
    const finish = (out: RequestOutput) => {
      if (!done) {
        done = true;
        resolve(out);
      }
    };
    const onLine = (line: string) => {
      const s = line.trim();
      if (!s) return;
      const now = performance.now() / 1000;
      const payload = s.startsWith('data:') ? s.slice(5).trim() : s;
      timer.onChunk(now);
      if (payload === '[DONE]') return;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        return; // SSE comments or keep-alives
      }
      if (data['error']) {
        const e = data['error'] as { message?: string } | string;
        failed = typeof e === 'string' ? e : (e.message ?? JSON.stringify(e));
        return;
      }
      const n = tokensInChunk(backend, data, timer.tokens);
      if (n !== null) timer.onTokens(now, n);
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        agent: url.protocol === 'https:' ? agents.https : agents.http,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => finish(errorOutput(r, `HTTP ${res.statusCode}: ${text.slice(0, 500)}`, startTime)));
          return;
        }
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => {
          if (buf) onLine(buf);
          if (failed !== null) return finish(errorOutput(r, failed, startTime));
          if (timer.tokens === 0) return finish(errorOutput(r, 'no tokens in the stream', startTime));
          finish({
            success: true,
            error: '',
            promptLen: r.promptLen,
            outputLen: timer.tokens,
            ttft: timer.ttft,
            latency: timer.latency,
            itl: timer.itl,
            startTime,
            group: r.group,
          });
        });
        res.on('error', (e) => finish(errorOutput(r, e.message, startTime)));
      },
    );
    req.on('error', (e) => finish(errorOutput(r, e.message, startTime)));
    req.end(body);
  });
}

/** GET a JSON document; null on any failure. */
export function getJson(baseUrl: string, path: string, timeoutMs = 5000): Promise<unknown> {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : baseUrl + '/');
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const req = lib.get(url, { timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(null);
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
  });
}

/** Status code of a GET (0 on a network error or timeout). */
export function getStatus(baseUrl: string, path: string, timeoutMs = 5000): Promise<number> {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : baseUrl + '/');
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const req = lib.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

/** POST JSON, non-streaming; resolves with the status code (0 on a network error). */
export function postJson(baseUrl: string, path: string, body: unknown): Promise<number> {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : baseUrl + '/');
  const lib = url.protocol === 'https:' ? https : http;
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = lib.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(data);
  });
}
