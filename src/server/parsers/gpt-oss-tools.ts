/**
 * gpt-oss tool calls (harmony format): a commentary message addressed to a function,
 * `<|channel|>commentary to=functions.NAME [<|constrain|>json]<|message|>{ARGS}<|call|>`
 * (the message may also end the text). NAME is the recipient's last dotted segment; empty
 * arguments mean `{}`; arguments that are not JSON drop the call (SGLang GptOssDetector).
 * A call is recognised from its channel, with or without the `<|start|>assistant` header before
 * it (the gpt-oss reasoning parser drops headers and hands commentary messages through).
 *
 * Invariants: normal text is the text outside call messages, trimmed; streaming names a call once
 * its header reaches `<|message|>` and then streams the canonical arguments as they grow.
 */
import { headedJsonCalls } from './json-calls.js';
import { type PartialCall, type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult, pyJson, toolIndexOf } from './types.js';

const BOT = '<|channel|>commentary to=';
const HEADER = /^([\w.-]+)[^<]*(?:<\|constrain\|>[^<]*)?<\|message\|>/;
const CALL = /(?:<\|start\|>assistant)?<\|channel\|>commentary to=([\w.-]+)[^<]*(?:<\|constrain\|>[^<]*)?<\|message\|>([\s\S]*?)(?:<\|call\|>|$)/g;

const shortName = (recipient: string) => recipient.split('.').pop()!;

export class GptOssToolFormat implements ToolFormat {
  readonly botToken = BOT;
  readonly startTokens = [`<|start|>assistant${BOT}`, BOT];
  hasToolCall(text: string): boolean {
    return text.includes(BOT);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    if (!this.hasToolCall(text)) return { normalText: text, calls: [] };
    const calls: ToolCallItem[] = [];
    for (const m of text.matchAll(CALL)) {
      const name = shortName(m[1]!);
      const toolIndex = toolIndexOf(name, tools);
      if (toolIndex < 0) continue;
      try {
        const args = m[2]!.trim() ? (JSON.parse(m[2]!) as unknown) : {};
        calls.push({ toolIndex, name, parameters: pyJson(args) });
      } catch {
        /* not JSON: dropped */
      }
    }
    return { normalText: text.replace(CALL, '').trim(), calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    return headedJsonCalls(section, BOT, tools, (from) => {
      const h = HEADER.exec(section.slice(from));
      return h && { name: shortName(h[1]!), argsFrom: from + h[0].length };
    });
  }
}
