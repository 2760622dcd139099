/**
 * POST /v1/completions (SGLang serving_completions.py).
 *
 * Invariants:
 * - The request becomes a GenerateReqInput-shaped body and runs through the same path as
 *   /generate (n copies, rids, length validation, sampling params).
 * - Response/chunk ids are meta_info.id; `model` echoes the request's model.
 * - Streams: one chunk per engine output with the text delta; finish_reason and matched_stop
 *   ride on the last chunk of each choice; optional usage chunk (choices [], no null fields);
 *   then [DONE]. Errors after the stream started arrive as `data: {"error":{...}}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from '../context.js';
import { BadRequestError, openaiErrorBody, openaiErrorReply } from '../errors.js';
import { type GenState, finishOf, metaInfo, runAll, type LogprobEntry } from '../gen-core.js';
import { parseGenerate, prepareRequests } from '../generate.js';
import { SseWriter, clientGone, sendJson } from '../http-util.js';
import { type CompletionRequest, isStringList, parseCompletionRequest, toOpenAILogprobs, usageOf } from './protocol.js';

function validate(r: CompletionRequest): void {
  const p = r.prompt;
  const empty = (x: unknown) => x === '' || (Array.isArray(x) && x.length === 0);
  if (empty(p) || (Array.isArray(p) && p.every((x) => typeof x !== 'number' && empty(x)))) {
    throw new BadRequestError('Prompt cannot be empty');
  }
}

function generateBody(r: CompletionRequest): Record<string, unknown> {
  const isText = typeof r.prompt === 'string' || isStringList(r.prompt);
  return {
    [isText ? 'text' : 'input_ids']: r.prompt,
    sampling_params: { ...r.sampling, n: r.n },
    return_logprob: r.logprobs != null,
    top_logprobs_num: r.logprobs ?? 0,
    logprob_start_len: r.echo && r.logprobs ? 0 : -1,
    return_text_in_logprobs: true,
    stream: r.stream,
    rid: r.rid,
  };
}

function echoText(ctx: ServerContext, r: CompletionRequest, index: number): string {
  const p = r.prompt;
  if (typeof p === 'string') return p;
  if (isStringList(p)) return p[Math.floor(index / r.n)] ?? '';
  if (p.length > 0 && typeof p[0] === 'number') return ctx.engine.decode(p as number[], true);
  return ctx.engine.decode((p as number[][])[Math.floor(index / r.n)] ?? [], true);
}

function logprobsOf(ctx: ServerContext, s: GenState, withInput: boolean, from = 0) {
  const m = metaInfo(ctx, s);
  const out = (m['output_token_logprobs'] as LogprobEntry[] | undefined) ?? [];
  const outTop = (m['output_top_logprobs'] as (LogprobEntry[] | null)[] | undefined) ?? null;
  return toOpenAILogprobs(
    withInput ? ((m['input_token_logprobs'] as LogprobEntry[] | undefined) ?? []) : null,
    out.slice(from),
    withInput ? ((m['input_top_logprobs'] as (LogprobEntry[] | null)[] | undefined) ?? null) : null,
    outTop ? outTop.slice(from) : null,
  );
}

export async function handleCompletions(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, body: unknown) {
  const signal = clientGone(req, res);
  let r: CompletionRequest;
  try {
    r = parseCompletionRequest(body);
    validate(r);
  } catch (e) {
    const { status, body: b } = openaiErrorReply(e);
    return sendJson(res, status, b);
  }
  const created = Math.floor(Date.now() / 1000);

  if (!r.stream) {
    let states: GenState[];
    try {
      const p = parseGenerate(generateBody(r));
      states = await runAll(ctx, await prepareRequests(ctx, p, signal), signal, true);
    } catch (e) {
      const { status, body: b } = openaiErrorReply(e);
      return sendJson(res, status, b);
    }
    if (signal.aborted) return;
    const choices = states.map((s, idx) => ({
      index: idx,
      text: (r.echo ? echoText(ctx, r, idx) : '') + s.text,
      logprobs: r.logprobs != null ? logprobsOf(ctx, s, r.echo) : null,
      ...finishOf(s),
    }));
    return sendJson(res, 200, {
      id: states[0]!.rid,
      object: 'text_completion',
      created,
      model: r.model,
      choices,
      usage: usageOf(states, r.n, ctx.opts.enableCacheReport),
      metadata: { weight_version: ctx.weightVersion },
    });
  }

  const sse = new SseWriter(res);
  sse.start();
  let lastId = '';
  try {
    const p = parseGenerate(generateBody(r));
    const reqs = await prepareRequests(ctx, p, signal);
    const started = new Set<number>();
    const nPrev = new Map<number, number>();
    const states = await runAll(ctx, reqs, signal, true, (index, s, out) => {
      lastId = s.rid;
      let text = out.text;
      const first = !started.has(index);
      started.add(index);
      if (first && r.echo) text = echoText(ctx, r, index) + text;
      let logprobs = null;
      if (r.logprobs != null) {
        const from = nPrev.get(index) ?? 0;
        logprobs = logprobsOf(ctx, s, first && r.echo, from);
        nPrev.set(index, s.outputTokenLogprobs.length);
      }
      sse.send({
        id: s.rid,
        object: 'text_completion',
        created,
        model: r.model,
        choices: [{ index, text, logprobs, ...finishOf(s) }],
        usage: null,
      });
    });
    if (r.includeUsage && !signal.aborted) {
      const usage = usageOf(states, r.n, ctx.opts.enableCacheReport);
      const u: Record<string, unknown> = { ...usage };
      if (u['prompt_tokens_details'] == null) delete u['prompt_tokens_details'];
      sse.send({ id: lastId, object: 'text_completion', created, model: r.model, choices: [], usage: u });
    }
  } catch (e) {
    if (signal.aborted) return;
    const msg = e instanceof Error ? e.message : String(e);
    sse.send({ error: openaiErrorBody(msg, 'BadRequestError', 400) });
  }
  if (!signal.aborted) sse.done();
}
