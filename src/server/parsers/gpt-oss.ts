/**
 * gpt-oss reasoning (harmony format): `<|channel|>analysis<|message|>…<|end|>` is reasoning,
 * `<|channel|>final<|message|>…` (to `<|return|>`/`<|end|>`/end of text) is normal text; commentary
 * (tool-call) messages are kept, markers included, in the normal text for the tool parser.
 * Headers such as `<|start|>assistant` are dropped. Text with no channel marker is reasoning
 * (gpt-oss is always in reasoning mode).
 *
 * Invariants: streaming re-parses the accumulated text and emits only the growth of each part, so
 * a marker split across chunks is never leaked; with stream_reasoning false reasoning is held
 * until the first non-reasoning part starts (or finish()).
 */
import type { ReasoningDetector, ReasoningResult } from './reasoning.js';

const CH = '<|channel|>';
const MSG = '<|message|>';
const ENDS = ['<|end|>', '<|return|>', '<|call|>'];

export function parseHarmony(text: string): ReasoningResult & { complete: boolean } {
  let reasoning = '';
  let normal = '';
  let pos = 0;
  if (!text.includes(CH)) return { reasoningText: text, normalText: '', complete: false };
  while (pos < text.length) {
    const c = text.indexOf(CH, pos);
    if (c < 0) break;
    const m = text.indexOf(MSG, c);
    if (m < 0) break;
    const header = text.slice(c + CH.length, m);
    const bodyStart = m + MSG.length;
    let end = text.length;
    let endTok = '';
    for (const e of ENDS) {
      const k = text.indexOf(e, bodyStart);
      if (k >= 0 && k < end) {
        end = k;
        endTok = e;
      }
    }
    const body = text.slice(bodyStart, end);
    const channel = header.split(/\s/)[0];
    if (channel === 'analysis') reasoning += body;
    else if (channel === 'final') normal += body;
    else normal += text.slice(c, end + endTok.length);
    pos = end + endTok.length;
  }
  return { reasoningText: reasoning, normalText: normal, complete: true };
}

export class GptOssReasoning implements ReasoningDetector {
  private text = '';
  private sentR = 0;
  private sentN = 0;

  constructor(private readonly streamReasoning: boolean) {}

  detectAndParse(text: string): ReasoningResult {
    const r = parseHarmony(text);
    return { reasoningText: r.reasoningText, normalText: r.normalText };
  }

  parseStreamingIncrement(chunk: string): ReasoningResult {
    this.text += chunk;
    // Hold back a possible partial marker at the end.
    let safe = this.text;
    const lt = safe.lastIndexOf('<|');
    if (lt >= 0 && !safe.slice(lt).includes('|>')) safe = safe.slice(0, lt);
    if (safe.endsWith('<')) safe = safe.slice(0, -1);
    const r = parseHarmony(safe);
    if (!this.streamReasoning && r.normalText.length === 0) return { reasoningText: '', normalText: '' };
    const out = { reasoningText: r.reasoningText.slice(this.sentR), normalText: r.normalText.slice(this.sentN) };
    this.sentR = Math.max(this.sentR, r.reasoningText.length);
    this.sentN = Math.max(this.sentN, r.normalText.length);
    return out;
  }

  finish(): ReasoningResult {
    const r = parseHarmony(this.text);
    const out = { reasoningText: r.reasoningText.slice(this.sentR), normalText: r.normalText.slice(this.sentN) };
    this.sentR = r.reasoningText.length;
    this.sentN = r.normalText.length;
    return out;
  }
}
