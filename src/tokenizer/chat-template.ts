/**
 * Chat-template rendering with @huggingface/jinja, building the context the way transformers'
 * `apply_chat_template` does: `messages`, `tools` (null when absent), `documents` (null),
 * `add_generation_prompt`, the tokenizer's special tokens (`bos_token`, `eos_token`, …, only those
 * that are set) and any extra kwargs (chat_template_kwargs such as enable_thinking, date_string).
 *
 * Invariants: the template is compiled once; `raise_exception`/`strftime_now` come from the
 * library (never redefined); continue_final_message renders without a generation prompt and cuts
 * the text right after the final message's content, raising the same errors as transformers.
 */
import { Template } from '@huggingface/jinja';
import type { ChatTemplateOptions } from './tokenizer.js';

export type SpecialTokensMap = Record<string, string | string[]>;

export class ChatTemplate {
  private readonly compiled: Template;

  constructor(
    readonly source: string,
    private readonly specialTokens: SpecialTokensMap,
    private readonly origin: string,
  ) {
    try {
      this.compiled = new Template(source);
    } catch (e) {
      throw new Error(`cannot parse chat template from ${origin}: ${(e as Error).message}`);
    }
  }

  render(messages: object[], opts: ChatTemplateOptions = {}): string {
    const continueFinal = opts.continueFinalMessage === true;
    const ctx: Record<string, unknown> = {
      ...this.specialTokens,
      ...(opts.extra ?? {}),
      messages,
      tools: opts.tools ?? null,
      documents: null,
      add_generation_prompt: continueFinal ? false : (opts.addGenerationPrompt ?? false),
    };
    let text: string;
    try {
      text = this.compiled.render(ctx);
    } catch (e) {
      throw new Error(`chat template (${this.origin}) failed: ${(e as Error).message}`);
    }
    return continueFinal ? cutAfterFinalMessage(text, messages) : text;
  }
}

/** transformers' continue_final_message: keep the text up to the end of the final message. */
function cutAfterFinalMessage(rendered: string, messages: object[]): string {
  const last = messages[messages.length - 1] as { content?: unknown } | undefined;
  let finalMessage: unknown = last?.content;
  if (Array.isArray(finalMessage)) {
    const block = [...finalMessage].reverse().find((b) => b !== null && typeof b === 'object' && 'text' in b) as
      | { text: unknown }
      | undefined;
    if (!block) throw new Error('continue_final_message is set but we could not find any text to continue in the final message!');
    finalMessage = block.text;
  }
  if (typeof finalMessage !== 'string') {
    throw new Error('continue_final_message is set but the final message has no text content');
  }
  const stripped = pyStrip(finalMessage);
  const loc = rendered.lastIndexOf(stripped);
  if (!rendered.includes(stripped)) {
    throw new Error(
      'continue_final_message is set but the final message does not appear in the chat after applying the chat template! ' +
        'This can happen if the chat template deletes portions of the final message.',
    );
  }
  const lstripped = pyLstrip(finalMessage);
  if (rendered.slice(loc, loc + lstripped.length) === finalMessage) return rendered.slice(0, loc + lstripped.length);
  return rendered.slice(0, loc + stripped.length);
}

// Python's str.strip() with no argument strips Unicode whitespace; JS trim is close enough here
// except for U+FEFF (JS trims it, Python does not), handled below.
const PY_WS = /^[\s]+/u;
function pyLstrip(s: string): string {
  const m = PY_WS.exec(s);
  if (!m) return s;
  let n = m[0].length;
  const bom = m[0].indexOf('\uFEFF');
  if (bom >= 0) n = bom;
  return s.slice(n);
}
function pyStrip(s: string): string {
  const l = pyLstrip(s);
  let end = l.length;
  while (end > 0 && /\s/u.test(l[end - 1]!) && l[end - 1] !== '\uFEFF') end--;
  return l.slice(0, end);
}

/**
 * Picks the template from a tokenizer_config `chat_template` value: a string, or a list of
 * `{name, template}` (transformers: "tool_use" when tools are given and present, else "default").
 */
export function selectTemplate(value: unknown, hasTools = false): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = new Map<string, string>();
    for (const t of value) {
      if (t && typeof t === 'object' && typeof t.name === 'string' && typeof t.template === 'string') named.set(t.name, t.template);
    }
    if (hasTools && named.has('tool_use')) return named.get('tool_use')!;
    return named.get('default') ?? null;
  }
  return null;
}
