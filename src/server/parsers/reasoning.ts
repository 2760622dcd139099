/**
 * Reasoning parsers (SGLang 0.5.2 parser/reasoning_parser.py): split model output into
 * reasoning text and normal text, in one go or streamed.
 *
 * Families (think start / end, force_reasoning default):
 *   deepseek-r1, step3: <think> / </think>, always in reasoning (R1 omits the opening tag);
 *   qwen3, glm45, deepseek-v3: <think> / </think>, reasoning only after <think> unless forced;
 *   qwen3-thinking: as qwen3 but forced; kimi: ◁think▷ / ◁/think▷; gpt-oss: harmony (gpt-oss.ts).
 * The serving layer forces reasoning when the request sets chat_template_kwargs.enable_thinking
 * (or thinking) true, or the chat template opens the think block itself.
 *
 * Invariants:
 * - One-shot: if in reasoning and no end tag appears, everything (tags stripped, trimmed) is reasoning.
 * - Streaming: text that could still become a tag is held back (SGLang holds only a buffer that
 *   is wholly a tag prefix; tags are single tokens there, but chunks may split them here); with stream_reasoning false the
 *   reasoning is returned in one piece when the end tag arrives (or from finish()).
 */
import { GptOssReasoning } from './gpt-oss.js';
import { holdBack } from './tool-stream.js';

export interface ReasoningResult {
  reasoningText: string;
  normalText: string;
}

export interface ReasoningDetector {
  detectAndParse(text: string): ReasoningResult;
  parseStreamingIncrement(text: string): ReasoningResult;
  /** End of stream: reasoning still buffered (stream_reasoning false, unclosed block). */
  finish(): ReasoningResult;
}

export class ThinkTagDetector implements ReasoningDetector {
  private inReasoning: boolean;
  private buffer = '';
  private strippedStart = false;

  constructor(
    readonly start: string,
    readonly end: string,
    forceReasoning: boolean,
    private readonly streamReasoning: boolean,
  ) {
    this.inReasoning = forceReasoning;
  }

  detectAndParse(text: string): ReasoningResult {
    const inReasoning = this.inReasoning || text.includes(this.start);
    if (!inReasoning) return { reasoningText: '', normalText: text };
    const processed = text.split(this.start).join('').trim();
    const i = processed.indexOf(this.end);
    if (i < 0) return { reasoningText: processed, normalText: '' };
    return { reasoningText: processed.slice(0, i), normalText: processed.slice(i + this.end.length).trim() };
  }

  parseStreamingIncrement(text: string): ReasoningResult {
    this.buffer += text;
    let cur = this.buffer;
    if ([this.start, this.end].some((t) => t.startsWith(cur) && t !== cur)) return { reasoningText: '', normalText: '' };
    if (!this.strippedStart && cur.includes(this.start)) {
      cur = cur.split(this.start).join('');
      this.strippedStart = true;
      this.inReasoning = true;
    }
    if (this.inReasoning && cur.includes(this.end)) {
      const i = cur.indexOf(this.end);
      this.buffer = '';
      this.inReasoning = false;
      return { reasoningText: cur.slice(0, i).trimEnd(), normalText: cur.slice(i + this.end.length) };
    }
    if (this.inReasoning) {
      if (this.streamReasoning) {
        // Hold back a suffix that may begin the end tag (tags split across chunks).
        const keep = holdBack(cur, this.end);
        this.buffer = cur.slice(cur.length - keep);
        return { reasoningText: cur.slice(0, cur.length - keep), normalText: '' };
      }
      this.buffer = cur;
      return { reasoningText: '', normalText: '' };
    }
    const keep = this.strippedStart ? 0 : holdBack(cur, this.start);
    this.buffer = cur.slice(cur.length - keep);
    return { reasoningText: '', normalText: cur.slice(0, cur.length - keep) };
  }

  finish(): ReasoningResult {
    const b = this.buffer;
    this.buffer = '';
    if (!b) return { reasoningText: '', normalText: '' };
    return this.inReasoning ? { reasoningText: b.split(this.start).join(''), normalText: '' } : { reasoningText: '', normalText: b };
  }
}

export const REASONING_PARSERS = ['deepseek-r1', 'deepseek-v3', 'glm45', 'gpt-oss', 'kimi', 'qwen3', 'qwen3-thinking', 'step3'] as const;

/**
 * ReasoningParser(model_type, stream_reasoning, force_reasoning): `force` null = the family's
 * default. qwen3-thinking and gpt-oss are always forced; deepseek-r1 and step3 always reason.
 */
export function createReasoningDetector(name: string, streamReasoning = true, force: boolean | null = null): ReasoningDetector {
  const n = name.toLowerCase();
  const forced = n === 'qwen3-thinking' || n === 'gpt-oss' ? true : force;
  switch (n) {
    case 'deepseek-r1':
    case 'step3':
      return new ThinkTagDetector('<think>', '</think>', true, streamReasoning);
    case 'qwen3':
    case 'qwen3-thinking':
    case 'glm45':
    case 'deepseek-v3':
      return new ThinkTagDetector('<think>', '</think>', forced ?? false, streamReasoning);
    case 'kimi':
      return new ThinkTagDetector('◁think▷', '◁/think▷', false, streamReasoning);
    case 'gpt-oss':
      return new GptOssReasoning(streamReasoning);
    default:
      throw new Error(`Unsupported reasoning parser: ${name}`);
  }
}
