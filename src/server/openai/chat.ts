/**
 * POST /v1/chat/completions (SGLang serving_chat.py, Jinja-template path).
 *
 * Invariants:
 * - The prompt is `engine.applyChatTemplate(messages, {tools, addGenerationPrompt: true,
 *   extra: {reasoning_effort, ...chat_template_kwargs}})` tokenized with
 *   `encode(prompt, false)`; tools reach the template as SGLang 0.5.2 passes them:
 *   `[t.function]` = {description, name, parameters, strict}.
 * - continue_final_message with a final assistant message: that message is dropped from the
 *   template input and its content is appended as tokens after the generation prompt.
 * - Streams: per choice a role chunk first, content deltas with finish_reason null, then after
 *   generation exactly one finish chunk per choice (empty delta), optional usage chunk, [DONE].
 * - Tools and reasoning (chat-tools.ts): tool_choice required/named adds SGLang's json_schema;
 *   with --reasoning-parser and separate_reasoning, reasoning goes to reasoning_content; with
 *   tools and a --tool-call-parser (or required/named), calls go to tool_calls and a stop
 *   finish becomes tool_calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from '../context.js';
import { BadRequestError, openaiErrorBody, openaiErrorReply } from '../errors.js';
import { type GenState, type LogprobEntry, finishOf, metaInfo, runAll } from '../gen-core.js';
import { parseGenerate, prepareRequests } from '../generate.js';
import { SseWriter, clientGone, sendJson } from '../http-util.js';
import type { Json } from '../validate.js';
import { ChoicePost, type ChoiceOutput, toolConstraint } from './chat-tools.js';
import { type ChatCompletionRequest, parseChatRequest, toChatLogprobs, usageOf } from './protocol.js';

function validate(ctx: ServerContext, r: ChatCompletionRequest): void {
  if (r.messages.length === 0) throw new BadRequestError('Messages cannot be empty.');
  if (r.toolChoice === 'required' && !r.tools) {
    throw new BadRequestError('Tools cannot be empty if tool choice is set to required.');
  }
  const maxOut = r.maxCompletionTokens || r.maxTokens;
  const explicitCtx = ctx.opts.contextLength;
  if (maxOut && explicitCtx && maxOut > explicitCtx) {
    throw new BadRequestError(
      `max_completion_tokens is too large: ${maxOut}.This model supports at most ${explicitCtx} completion tokens.`,
    );
  }
  if (r.responseFormatError) throw new BadRequestError(r.responseFormatError);
  if (r.tools && r.toolChoice !== 'none') {
    const hadConstraint = ['regex', 'ebnf', 'json_schema', 'structural_tag'].some((k) => r.sampling[k] != null);
    let schema: string | null;
    try {
      schema = toolConstraint(r);
    } catch (e) {
      throw new BadRequestError((e as Error).message);
    }
    if (schema) r.sampling['json_schema'] = schema;
    else if (hadConstraint && (r.toolChoice === 'required' || typeof r.toolChoice === 'object')) r.toolConstraintSkipped = true;
  }
}

/** _process_messages + _apply_jinja_template: the prompt token ids. */
export function chatPromptIds(ctx: ServerContext, r: ChatCompletionRequest): number[] {
  let tools: unknown[] | null = null;
  if (r.tools && r.toolChoice !== 'none') {
    const choice = r.toolChoice;
    const selected = typeof choice === 'string' ? r.tools : r.tools.filter((t) => t.function.name === choice.function.name);
    tools = selected.map((t) => ({ ...t.function }));
  }
  let messages: Json[] = r.messages;
  let prefix: string | null = null;
  const last = messages[messages.length - 1];
  if (r.continueFinalMessage && last && last['role'] === 'assistant') {
    prefix = typeof last['content'] === 'string' ? last['content'] : null;
    messages = messages.slice(0, -1);
  }
  let prompt: string;
  try {
    prompt = ctx.engine.applyChatTemplate(messages as Parameters<ServerContext['engine']['applyChatTemplate']>[0], {
      tools,
      addGenerationPrompt: true,
      extra: { reasoning_effort: r.reasoningEffort, ...(r.chatTemplateKwargs ?? {}) },
    });
  } catch (e) {
    throw new BadRequestError(e instanceof Error ? e.message : String(e));
  }
  const ids = ctx.engine.encode(prompt, false);
  if (prefix) ids.push(...ctx.engine.encode(prefix, false));
  return ids;
}

function generateBody(r: ChatCompletionRequest, ids: number[]): Record<string, unknown> {
  return {
    input_ids: ids,
    sampling_params: { ...r.sampling, n: r.n },
    return_logprob: r.logprobs,
    logprob_start_len: -1,
    top_logprobs_num: r.topLogprobs ?? 0,
    return_text_in_logprobs: true,
    stream: r.stream,
    rid: r.rid,
  };
}

function chatLogprobs(ctx: ServerContext, s: GenState, from = 0) {
  const m = metaInfo(ctx, s);
  const toks = ((m['output_token_logprobs'] as LogprobEntry[] | undefined) ?? []).slice(from);
  const tops = (m['output_top_logprobs'] as (LogprobEntry[] | null)[] | undefined)?.slice(from) ?? null;
  return toChatLogprobs(toks, tops);
}

const delta = (role: string | null, content: string | null) => ({ role, content, reasoning_content: null, tool_calls: null });

/** Content / reasoning / tool-call chunks of one choice output, in SGLang's order. */
function postDeltas(o: ChoiceOutput) {
  const out: Record<string, unknown>[] = [];
  if (o.reasoning) out.push({ role: null, content: null, reasoning_content: o.reasoning, tool_calls: null });
  if (o.content) out.push(delta(null, o.content));
  // One chunk per tool-call delta, as SGLang sends them.
  for (const tc of o.toolCalls) out.push({ role: null, content: null, reasoning_content: null, tool_calls: [tc] });
  return out;
}

export async function handleChat(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, body: unknown) {
  const signal = clientGone(req, res);
  let r: ChatCompletionRequest;
  let ids: number[];
  try {
    r = parseChatRequest(body);
    validate(ctx, r);
    ids = chatPromptIds(ctx, r);
  } catch (e) {
    const { status, body: b } = openaiErrorReply(e);
    return sendJson(res, status, b);
  }
  const created = () => Math.floor(Date.now() / 1000);

  if (!r.stream) {
    let states: GenState[];
    try {
      const p = parseGenerate(generateBody(r, ids));
      states = await runAll(ctx, await prepareRequests(ctx, p, signal), signal, true);
    } catch (e) {
      const { status, body: b } = openaiErrorReply(e);
      return sendJson(res, status, b);
    }
    if (signal.aborted) return;
    const choices = states.map((s, idx) => {
      const post = new ChoicePost(r, ctx.opts);
      const o = post.whole(s.text);
      return {
        index: idx,
        message: {
          role: 'assistant', content: o.content ? o.content : null, reasoning_content: o.reasoning ? o.reasoning : null,
          tool_calls: o.toolCalls.length ? o.toolCalls : null,
        },
        logprobs: r.logprobs ? chatLogprobs(ctx, s) : null,
        ...post.finishFields(finishOf(s)),
      };
    });
    return sendJson(res, 200, {
      id: states[0]!.rid,
      object: 'chat.completion',
      created: created(),
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
    const p = parseGenerate(generateBody(r, ids));
    const reqs = await prepareRequests(ctx, p, signal);
    const started = new Set<number>();
    const nPrev = new Map<number, number>();
    const finished: [number, GenState][] = [];
    const posts = new Map<number, ChoicePost>();
    const postOf = (i: number) => {
      let p = posts.get(i);
      if (!p) posts.set(i, (p = new ChoicePost(r, ctx.opts)));
      return p;
    };
    const chunk = (id: string, choices: unknown[]) => ({
      id,
      object: 'chat.completion.chunk',
      created: created(),
      model: r.model,
      choices,
      usage: null,
    });
    const states = await runAll(ctx, reqs, signal, true, (index, s, out) => {
      lastId = s.rid;
      let logprobs = null;
      if (r.logprobs) {
        logprobs = chatLogprobs(ctx, s, nPrev.get(index) ?? 0);
        nPrev.set(index, s.outputTokenLogprobs.length);
      }
      if (out.finished) finished.push([index, s]);
      if (!started.has(index)) {
        started.add(index);
        sse.send(chunk(s.rid, [{ index, delta: delta('assistant', ''), logprobs: null, finish_reason: null, matched_stop: null }]));
      }
      const post = postOf(index);
      const pieces = [...(out.text ? postDeltas(post.push(out.text)) : []), ...(out.finished ? postDeltas(post.finish()) : [])];
      pieces.forEach((d, k) => {
        sse.send(chunk(s.rid, [{ index, delta: d, logprobs: k === 0 ? logprobs : null, finish_reason: null, matched_stop: null }]));
      });
    });
    if (!signal.aborted) {
      for (const [index, s] of finished) {
        sse.send(chunk(lastId, [{ index, delta: delta(null, null), logprobs: null, ...postOf(index).finishFields(finishOf(s)) }]));
      }
      if (r.includeUsage) {
        sse.send({ ...chunk(lastId, []), usage: usageOf(states, r.n, ctx.opts.enableCacheReport) });
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    const msg = e instanceof Error ? e.message : String(e);
    sse.send({ error: openaiErrorBody(msg, 'BadRequestError', 400) });
  }
  if (!signal.aborted) sse.done();
}
