/**
 * OpenAI request parsing (SGLang 0.5.2 entrypoints/openai/protocol.py) and the shared response
 * pieces: usage, completion-style logprobs, chat-style logprobs, sampling dicts.
 *
 * Invariants:
 * - Defaults are SGLang's: completions max_tokens 16 and temperature 1.0; chat max tokens
 *   unbounded (null) and temperature 0.7; seed is accepted and ignored.
 * - Type errors are RequestValidationError (400 "Bad Request" envelope), semantic checks done
 *   by the serving classes are BadRequestError (400 "BadRequestError").
 * - Sampling dicts use SGLang's SamplingParams keys; null values mean "not given".
 */
import { invalid } from '../errors.js';
import type { LogprobEntry } from '../gen-core.js';
import {
  type Json,
  isInt,
  isIntList,
  isObject,
  optBool,
  optDict,
  optInt,
  optIntList,
  optNumber,
  optString,
  optStringOrList,
  requireObject,
} from '../validate.js';

/** Fields shared by CompletionRequest and ChatCompletionRequest. */
export interface CommonRequest {
  model: string;
  n: number;
  stream: boolean;
  includeUsage: boolean;
  rid: string | string[] | null;
  user: string | null;
  seed: number | null;
  sampling: Json;
}

export interface CompletionRequest extends CommonRequest {
  prompt: string | string[] | number[] | number[][];
  echo: boolean;
  logprobs: number | null;
  suffix: string | null;
}

export interface ChatToolFunction {
  description: string | null;
  name: string | null;
  parameters: unknown;
  strict: boolean;
}

export interface ChatCompletionRequest extends CommonRequest {
  messages: Json[];
  logprobs: boolean;
  topLogprobs: number | null;
  maxTokens: number | null;
  maxCompletionTokens: number | null;
  tools: { type: string; function: ChatToolFunction }[] | null;
  toolChoice: 'auto' | 'required' | 'none' | { type: 'function'; function: { name: string | null } };
  reasoningEffort: string | null;
  continueFinalMessage: boolean;
  separateReasoning: boolean;
  streamReasoning: boolean;
  chatTemplateKwargs: Json | null;
  responseFormatError: string | null;
  /** Set by the chat route when tool_choice required/named could not add its schema (another constraint exists). */
  toolConstraintSkipped?: boolean;
}

function parseLogitBias(body: Json): Json | null {
  const v = optDict(body, 'logit_bias');
  if (v) {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'number') throw invalid(['logit_bias', k], 'Input should be a valid number', 'float_type');
    }
  }
  return v;
}

/** The sampling fields both endpoints forward (serving_*._build_sampling_params). */
function commonSampling(body: Json, temperatureDefault: number): Json {
  return {
    temperature: optNumber(body, 'temperature', temperatureDefault),
    min_new_tokens: optInt(body, 'min_tokens', 0),
    stop: optStringOrList(body, 'stop'),
    stop_token_ids: optIntList(body, 'stop_token_ids'),
    top_p: optNumber(body, 'top_p', 1.0),
    top_k: optInt(body, 'top_k', -1),
    min_p: optNumber(body, 'min_p', 0.0),
    presence_penalty: optNumber(body, 'presence_penalty', 0.0),
    frequency_penalty: optNumber(body, 'frequency_penalty', 0.0),
    repetition_penalty: optNumber(body, 'repetition_penalty', 1.0),
    regex: optString(body, 'regex'),
    ebnf: optString(body, 'ebnf'),
    no_stop_trim: optBool(body, 'no_stop_trim', false),
    ignore_eos: optBool(body, 'ignore_eos', false),
    skip_special_tokens: optBool(body, 'skip_special_tokens', true),
    logit_bias: parseLogitBias(body),
  };
}

/** response_format -> json_schema / structural_tag; returns an error message for a bad schema. */
function applyResponseFormat(body: Json, sampling: Json): string | null {
  const rf = body['response_format'];
  if (rf == null) return null;
  if (!isObject(rf)) throw invalid(['response_format'], 'Input should be a valid dictionary', 'dict_type');
  const type = rf['type'];
  if (type === 'json_schema') {
    const js = rf['json_schema'];
    if (js != null && !isObject(js)) throw invalid(['response_format', 'json_schema'], 'Input should be a valid dictionary', 'dict_type');
    const schema = js ? js['schema'] : undefined;
    if (schema == null) return 'schema_ is required for json_schema response format request.';
    sampling['json_schema'] = JSON.stringify(schema);
  } else if (type === 'json_object') {
    sampling['json_schema'] = '{"type": "object"}';
  } else if (type === 'structural_tag') {
    if (!Array.isArray(rf['structures']) || !Array.isArray(rf['triggers'])) {
      throw invalid(['response_format'], 'structural_tag needs structures and triggers', 'value_error');
    }
    sampling['structural_tag'] = JSON.stringify({ type: 'structural_tag', structures: rf['structures'], triggers: rf['triggers'] });
  } else if (type !== 'text') {
    throw invalid(['response_format', 'type'], "Input should be 'text', 'json_object', 'json_schema' or 'structural_tag'", 'literal_error');
  }
  return null;
}

function commonFields(body: Json): Omit<CommonRequest, 'sampling'> {
  const so = optDict(body, 'stream_options');
  const rid = body['rid'];
  if (rid != null && typeof rid !== 'string' && !(Array.isArray(rid) && rid.every((r) => typeof r === 'string'))) {
    throw invalid(['rid'], 'Input should be a valid string or a list of strings', 'string_type');
  }
  return {
    model: optString(body, 'model') ?? 'default',
    n: optInt(body, 'n', 1),
    stream: optBool(body, 'stream', false),
    includeUsage: so ? optBool(so, 'include_usage', false) : false,
    rid: (rid as string | string[] | null) ?? null,
    user: optString(body, 'user'),
    seed: optInt(body, 'seed', null),
  };
}

export function parseCompletionRequest(raw: unknown): CompletionRequest {
  const body = requireObject(raw);
  const prompt = body['prompt'];
  if (prompt === undefined) throw invalid(['prompt'], 'Field required', 'missing');
  const okPrompt =
    typeof prompt === 'string' ||
    (Array.isArray(prompt) &&
      (prompt.every((p) => typeof p === 'string') || isIntList(prompt) || prompt.every(isIntList)));
  if (!okPrompt) throw invalid(['prompt'], 'Input should be a string, a list of strings or a list of token ids', 'union_tag_invalid');
  const maxTokens = optInt(body, 'max_tokens', 16);
  if (maxTokens <= 0) throw invalid(['max_tokens'], 'Value error, max_tokens must be positive', 'value_error');
  const logprobs = optInt(body, 'logprobs', null);
  const sampling: Json = { ...commonSampling(body, 1.0), max_new_tokens: maxTokens };
  sampling['json_schema'] = optString(body, 'json_schema');
  const rfError = applyResponseFormat(body, sampling);
  if (rfError) throw invalid(['response_format'], rfError);
  return {
    ...commonFields(body),
    prompt: prompt as CompletionRequest['prompt'],
    echo: optBool(body, 'echo', false),
    logprobs,
    suffix: optString(body, 'suffix'),
    sampling,
  };
}

const GENERIC_ROLES = new Set(['system', 'assistant', 'tool', 'function']);

/** ChatCompletionMessageParam validation + model_dump() with None values dropped. */
function parseMessage(m: unknown, i: number): Json {
  if (!isObject(m)) throw invalid(['messages', i], 'Input should be a valid dictionary', 'dict_type');
  const role = m['role'];
  if (typeof role !== 'string') throw invalid(['messages', i, 'role'], "'role' must be a string");
  const content = m['content'];
  if (role === 'user') {
    if (typeof content === 'string') return { role, content };
    if (Array.isArray(content)) {
      const text: string[] = [];
      for (const [j, part] of content.entries()) {
        if (!isObject(part) || typeof part['type'] !== 'string') {
          throw invalid(['messages', i, 'content', j], 'Input should be a valid content part', 'union_tag_invalid');
        }
        if (part['type'] === 'text') {
          if (typeof part['text'] !== 'string') throw invalid(['messages', i, 'content', j, 'text'], 'Field required', 'missing');
          text.push(part['text']);
        } else if (!['image_url', 'video_url', 'audio_url'].includes(part['type'])) {
          throw invalid(['messages', i, 'content', j, 'type'], "Input should be 'text', 'image_url', 'video_url' or 'audio_url'", 'literal_error');
        }
      }
      return { role, content: text.join(' ') };
    }
    throw invalid(['messages', i, 'content'], 'Input should be a valid string or a list of content parts', 'string_type');
  }
  const r = role.toLowerCase();
  if (!GENERIC_ROLES.has(r)) {
    throw invalid(['messages', i, 'role'], "'role' must be one of 'system', 'assistant', 'tool', or 'function' (case-insensitive).");
  }
  let c: string;
  if (content == null) c = '';
  else if (typeof content === 'string') c = content;
  else if (Array.isArray(content) && content.every((p) => isObject(p) && p['type'] === 'text' && typeof p['text'] === 'string')) {
    c = (content as Json[]).map((p) => p['text'] as string).join(' ');
  } else throw invalid(['messages', i, 'content'], 'Input should be a valid string or a list of text parts', 'string_type');
  const out: Json = { role: r, content: c };
  for (const k of ['tool_call_id', 'name', 'reasoning_content']) {
    if (m[k] != null) {
      if (typeof m[k] !== 'string') throw invalid(['messages', i, k], 'Input should be a valid string', 'string_type');
      out[k] = m[k];
    }
  }
  if (m['tool_calls'] != null) {
    if (!Array.isArray(m['tool_calls'])) throw invalid(['messages', i, 'tool_calls'], 'Input should be a valid list', 'list_type');
    out['tool_calls'] = (m['tool_calls'] as unknown[]).map((tc, j) => {
      if (!isObject(tc) || !isObject(tc['function'])) {
        throw invalid(['messages', i, 'tool_calls', j], 'Input should be a valid tool call', 'dict_type');
      }
      const fn: Json = {};
      for (const k of ['name', 'arguments']) if (tc['function'][k] != null) fn[k] = tc['function'][k];
      // Assistant tool_call arguments given as JSON strings are parsed for the template.
      if (typeof fn['arguments'] === 'string') {
        try {
          fn['arguments'] = JSON.parse(fn['arguments']);
        } catch {
          /* keep the string */
        }
      }
      const call: Json = { type: 'function', function: fn };
      if (tc['id'] != null) call['id'] = tc['id'];
      if (tc['index'] != null) call['index'] = tc['index'];
      return call;
    });
  }
  return out;
}

function parseTools(body: Json): ChatCompletionRequest['tools'] {
  const tools = body['tools'];
  if (tools == null) return null;
  if (!Array.isArray(tools)) throw invalid(['tools'], 'Input should be a valid list', 'list_type');
  return tools.map((t, i) => {
    if (!isObject(t) || !isObject(t['function'])) throw invalid(['tools', i, 'function'], 'Field required', 'missing');
    const f = t['function'];
    const strict = f['strict'] ?? false;
    if (typeof strict !== 'boolean') throw invalid(['tools', i, 'function', 'strict'], 'Input should be a valid boolean', 'bool_type');
    return {
      type: typeof t['type'] === 'string' ? t['type'] : 'function',
      function: {
        description: typeof f['description'] === 'string' ? f['description'] : null,
        name: typeof f['name'] === 'string' ? f['name'] : null,
        parameters: f['parameters'] ?? null,
        strict,
      },
    };
  });
}

function parseToolChoice(body: Json, hasTools: boolean): ChatCompletionRequest['toolChoice'] {
  const tc = body['tool_choice'];
  if (tc == null) return hasTools ? 'auto' : 'none';
  if (tc === 'auto' || tc === 'required' || tc === 'none') return tc;
  if (isObject(tc) && isObject(tc['function'])) {
    const name = tc['function']['name'];
    return { type: 'function', function: { name: typeof name === 'string' ? name : null } };
  }
  throw invalid(['tool_choice'], "Input should be 'auto', 'required', 'none' or a function choice", 'literal_error');
}

export function parseChatRequest(raw: unknown): ChatCompletionRequest {
  const body = requireObject(raw);
  // normalize_reasoning_inputs
  let chatTemplateKwargs = optDict(body, 'chat_template_kwargs');
  let reasoningEffort: string | null = 'medium';
  if (body['reasoning_effort'] !== undefined) {
    const re = body['reasoning_effort'];
    if (re !== null && re !== 'low' && re !== 'medium' && re !== 'high') {
      throw invalid(['reasoning_effort'], "Input should be 'low', 'medium' or 'high'", 'literal_error');
    }
    reasoningEffort = re as string | null;
  }
  const r = body['reasoning'];
  if (isObject(r)) {
    const effort = r['effort'] ?? r['reasoning_effort'];
    if (effort === 'low' || effort === 'medium' || effort === 'high') reasoningEffort = effort;
    let enabled = r['enabled'] != null ? r['enabled'] : (r['enable'] ?? false);
    if (typeof enabled === 'string') enabled = ['1', 'true', 'yes', 'y', 'on'].includes(enabled.trim().toLowerCase());
    if (enabled) chatTemplateKwargs = { thinking: true, ...(chatTemplateKwargs ?? {}) };
  }
  if (chatTemplateKwargs && 'reasoning_effort' in chatTemplateKwargs) {
    const { reasoning_effort, ...rest } = chatTemplateKwargs;
    if (reasoning_effort != null) reasoningEffort = reasoning_effort as string;
    chatTemplateKwargs = rest;
  }
  // set_json_schema: {type:"json_schema", schema:{...}} without the json_schema wrapper
  const rf = body['response_format'];
  if (isObject(rf) && rf['type'] === 'json_schema' && rf['json_schema'] == null && isObject(rf['schema'])) {
    const schema = rf['schema'];
    body['response_format'] = {
      type: 'json_schema',
      json_schema: { name: typeof schema['title'] === 'string' ? schema['title'] : 'Schema', schema, strict: false },
    };
  }

  const messages = body['messages'];
  if (messages === undefined) throw invalid(['messages'], 'Field required', 'missing');
  if (!Array.isArray(messages)) throw invalid(['messages'], 'Input should be a valid list', 'list_type');
  const parsedMessages = messages.map(parseMessage);
  const tools = parseTools(body);
  const toolChoice = parseToolChoice(body, tools != null);
  const maxTokens = optInt(body, 'max_tokens', null);
  const maxCompletionTokens = optInt(body, 'max_completion_tokens', null);
  const sampling: Json = {
    ...commonSampling(body, 0.7),
    max_new_tokens: maxTokens || maxCompletionTokens || null,
  };
  const responseFormatError = applyResponseFormat(body, sampling);
  if (tools && toolChoice !== 'none') sampling['skip_special_tokens'] = false;
  return {
    ...commonFields(body),
    messages: parsedMessages,
    logprobs: optBool(body, 'logprobs', false),
    topLogprobs: optInt(body, 'top_logprobs', null),
    maxTokens,
    maxCompletionTokens,
    tools,
    toolChoice,
    reasoningEffort,
    continueFinalMessage: optBool(body, 'continue_final_message', false),
    separateReasoning: optBool(body, 'separate_reasoning', true),
    streamReasoning: optBool(body, 'stream_reasoning', true),
    chatTemplateKwargs,
    responseFormatError,
    sampling,
  };
}

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number } | null;
  reasoning_tokens: number;
}

/** UsageProcessor: prompts counted once per n choices; cached details only when > 0. */
export function usageOf(
  items: { promptTokens: number; completionTokens: number; cachedTokens: number }[],
  n: number,
  cacheReport: boolean,
): Usage {
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  items.forEach((it, i) => {
    if (i % n === 0) prompt += it.promptTokens;
    completion += it.completionTokens;
    cached += it.cachedTokens;
  });
  return {
    prompt_tokens: prompt,
    total_tokens: prompt + completion,
    completion_tokens: completion,
    prompt_tokens_details: cacheReport && cached > 0 ? { cached_tokens: cached } : null,
    reasoning_tokens: 0,
  };
}

export interface CompletionLogprobs {
  text_offset: number[];
  token_logprobs: (number | null)[];
  tokens: string[];
  top_logprobs: (Record<string, number | null> | null)[];
}

/** to_openai_style_logprobs. */
export function toOpenAILogprobs(
  inputTokens: LogprobEntry[] | null,
  outputTokens: LogprobEntry[],
  inputTop: (LogprobEntry[] | null)[] | null,
  outputTop: (LogprobEntry[] | null)[] | null,
): CompletionLogprobs {
  const r: CompletionLogprobs = { text_offset: [], token_logprobs: [], tokens: [], top_logprobs: [] };
  for (const [lp, , text] of [...(inputTokens ?? []), ...outputTokens]) {
    r.tokens.push(text ?? '');
    r.token_logprobs.push(lp);
    r.text_offset.push(-1);
  }
  for (const row of [...(inputTop ?? []), ...(outputTop ?? [])]) {
    if (row == null) r.top_logprobs.push(null);
    else r.top_logprobs.push(Object.fromEntries(row.map(([lp, , t]) => [t ?? '', lp])));
  }
  return r;
}

function utf8Bytes(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

/** Chat logprobs content: one entry per output token with its top alternatives. */
export function toChatLogprobs(tokens: LogprobEntry[], tops: (LogprobEntry[] | null)[] | null) {
  return {
    content: tokens.map(([lp, , text], i) => {
      const t = text ?? '';
      const row = tops?.[i] ?? [];
      return {
        token: t,
        bytes: utf8Bytes(t),
        logprob: lp,
        top_logprobs: row.map(([tlp, , tt]) => ({ token: tt ?? '', bytes: utf8Bytes(tt ?? ''), logprob: tlp })),
      };
    }),
  };
}

export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export { isInt };
