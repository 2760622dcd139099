/**
 * Tool calling and reasoning for /v1/chat/completions (SGLang 0.5.2 serving_chat.py):
 * - `toolConstraint`: tool_choice "required" / a named function → SGLang's JSON schema of the call
 *   array (`[{name, parameters}]`, minItems 1; a named function: exactly one item of that tool);
 *   skipped when the request already carries a constraint.
 * - `ChoicePost`: per choice, reasoning split (parser + separate_reasoning) then tool-call
 *   extraction (json array for required/named, else --tool-call-parser), streamed or at once.
 *
 * Invariants: tool call ids are `call_<24 hex>` (kimi_k2: `functions.NAME:IDX`, IDX counting the
 * calls already in the conversation); finish_reason stop becomes tool_calls (matched_stop null)
 * whenever a call was produced, or always under required/named (as SGLang does).
 */
import { randomUUID } from 'node:crypto';
import {
  createReasoningDetector,
  createToolFormat,
  type ReasoningDetector,
  ToolCallStream,
  type ToolDef,
  type ToolFormat,
} from '../parsers/index.js';
import type { Json } from '../validate.js';
import type { ChatCompletionRequest } from './protocol.js';

export interface ChatParsersConfig {
  toolCallParser?: string | null;
  reasoningParser?: string | null;
}

const forcedChoice = (r: ChatCompletionRequest) => r.toolChoice === 'required' || typeof r.toolChoice === 'object';

function toolSchema(t: NonNullable<ChatCompletionRequest['tools']>[number]): Json {
  return {
    properties: {
      name: { type: 'string', enum: [t.function.name] },
      parameters: t.function.parameters ? (t.function.parameters as Json) : { type: 'object', properties: {} },
    },
    required: ['name', 'parameters'],
  };
}

/** The json_schema constraint for required / named tool_choice, or null. Throws on an unknown name. */
export function toolConstraint(r: ChatCompletionRequest): string | null {
  if (!r.tools || !forcedChoice(r)) return null;
  const s = r.sampling;
  if (s['regex'] || s['ebnf'] || s['json_schema'] || s['structural_tag']) return null;
  if (typeof r.toolChoice === 'object') {
    const name = r.toolChoice.function.name;
    const t = r.tools.find((x) => x.function.name === name);
    if (!t) throw new Error(`Tool '${name}' not found in tools list.`);
    return JSON.stringify({ type: 'array', minItems: 1, maxItems: 1, items: toolSchema(t) });
  }
  const schema: Json = { type: 'array', minItems: 1, items: { type: 'object', anyOf: r.tools.map(toolSchema) } };
  const defs: Json = {};
  for (const t of r.tools) Object.assign(defs, ((t.function.parameters as Json | null)?.['$defs'] as Json | undefined) ?? {});
  if (Object.keys(defs).length > 0) schema['$defs'] = defs;
  return JSON.stringify(schema);
}

export interface OpenAIToolCall {
  id: string | null;
  index: number;
  type: 'function';
  function: { name: string | null; arguments: string };
}

export interface ChoiceOutput {
  content: string;
  reasoning: string;
  toolCalls: OpenAIToolCall[];
}

/** Post-processing of one choice: reasoning split, then tool calls. */
export class ChoicePost {
  private readonly reasoning: ReasoningDetector | null;
  private readonly format: ToolFormat | null;
  private readonly tools: ToolDef[];
  private readonly stream: ToolCallStream | null;
  private readonly historyCalls: number;
  private readonly kimi: boolean;
  private readonly ids = new Map<number, string>();
  madeCalls = false;

  constructor(r: ChatCompletionRequest, cfg: ChatParsersConfig) {
    this.reasoning =
      cfg.reasoningParser && r.separateReasoning
        ? createReasoningDetector(cfg.reasoningParser, r.stream ? r.streamReasoning : false, forceReasoning(r))
        : null;
    this.tools = (r.tools ?? []).map((t) => ({ name: t.function.name ?? '', parameters: t.function.parameters }));
    const useTools = r.tools != null && r.toolChoice !== 'none';
    const fmtName = useTools ? (forcedChoice(r) && !hasOtherConstraint(r) ? 'json_array' : (cfg.toolCallParser ?? null)) : null;
    this.format = fmtName ? createToolFormat(fmtName) : null;
    this.kimi = fmtName === 'kimi_k2';
    this.stream = this.format && r.stream ? new ToolCallStream(this.format, this.tools, fmtName === 'json_array') : null;
    this.historyCalls = r.messages.reduce((n, m) => n + (Array.isArray(m['tool_calls']) ? (m['tool_calls'] as unknown[]).length : 0), 0);
    this.forced = forcedChoice(r) && useTools;
  }

  readonly forced: boolean;

  /** Whole-output processing (non-stream). */
  whole(text: string): ChoiceOutput {
    let reasoning = '';
    if (this.reasoning) {
      const rr = this.reasoning.detectAndParse(text);
      reasoning = rr.reasoningText;
      text = rr.normalText;
    }
    let toolCalls: OpenAIToolCall[] = [];
    if (this.format && this.format.hasToolCall(text)) {
      const res = this.format.detectAndParse(text, this.tools);
      text = res.normalText;
      toolCalls = res.calls.map((c, i) => ({ id: this.idFor(i, c.name), index: i, type: 'function', function: { name: c.name, arguments: c.parameters } }));
      this.madeCalls = true;
    }
    return { content: text, reasoning, toolCalls };
  }

  /** One streamed text delta → reasoning, content and tool-call deltas. */
  push(delta: string): ChoiceOutput {
    let reasoning = '';
    let text = delta;
    if (this.reasoning) {
      const rr = this.reasoning.parseStreamingIncrement(delta);
      reasoning = rr.reasoningText;
      text = rr.normalText;
    }
    return { reasoning, ...this.tool(text, false) };
  }

  /** End of the stream: whatever the parsers still hold. */
  finish(): ChoiceOutput {
    let reasoning = '';
    let text = '';
    if (this.reasoning) {
      const rr = this.reasoning.finish();
      reasoning = rr.reasoningText;
      text = rr.normalText;
    }
    return { reasoning, ...this.tool(text, true) };
  }

  private tool(text: string, end: boolean): { content: string; toolCalls: OpenAIToolCall[] } {
    if (!this.stream) return { content: text, toolCalls: [] };
    const a = this.stream.push(text);
    const b = end ? this.stream.finish() : { normalText: '', calls: [] };
    const calls = [...a.calls, ...b.calls].map((d) => ({
      id: d.name !== undefined ? this.idFor(d.index, d.name) : null,
      index: d.index,
      type: 'function' as const,
      function: { name: d.name ?? null, arguments: d.arguments },
    }));
    if (calls.length) this.madeCalls = true;
    return { content: a.normalText + b.normalText, toolCalls: calls };
  }

  private idFor(i: number, name: string): string {
    let id = this.ids.get(i);
    if (!id) {
      id = this.kimi ? `functions.${name}:${this.historyCalls + i}` : `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
      this.ids.set(i, id);
    }
    return id;
  }

  /** finish_reason / matched_stop after tool processing. */
  finishFields(f: { finish_reason: string | null; matched_stop: number | string | null }) {
    if (f.finish_reason === 'stop' && (this.madeCalls || this.forced)) return { finish_reason: 'tool_calls', matched_stop: null };
    return f;
  }
}

function hasOtherConstraint(r: ChatCompletionRequest): boolean {
  return r.toolConstraintSkipped === true;
}

/** enable_thinking / thinking in chat_template_kwargs force reasoning mode (null = family default). */
function forceReasoning(r: ChatCompletionRequest): boolean | null {
  const k = r.chatTemplateKwargs;
  if (!k) return null;
  if (k['enable_thinking'] != null) return Boolean(k['enable_thinking']);
  if (k['thinking'] != null) return Boolean(k['thinking']);
  return null;
}
