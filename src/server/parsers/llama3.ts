/**
 * llama3 (Llama 3.1/3.2 JSON tool calls): optional `<|python_tag|>` then one or more JSON objects
 * `{"name": ..., "parameters": {...}}` separated by ";". Without the tag, a call must start the text.
 */
import { scanCallList } from './json-calls.js';
import { type PartialCall, type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

export class Llama3Format implements ToolFormat {
  readonly botToken = '<|python_tag|>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken) || text.startsWith('{');
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    if (!this.hasToolCall(text)) return { normalText: text, calls: [] };
    let normalText = '';
    let action = text;
    const i = text.indexOf(this.botToken);
    if (i >= 0) {
      normalText = text.slice(0, i);
      action = text.slice(i + this.botToken.length);
    }
    const objs: unknown[] = [];
    for (const part of action.split(';').map((p) => p.trim()).filter(Boolean)) {
      try {
        objs.push(JSON.parse(part));
      } catch {
        /* skipped */
      }
    }
    return { normalText, calls: objs.length ? parseBaseJson(objs, tools) : [] };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const from = section.startsWith(this.botToken) ? this.botToken.length : 0;
    return scanCallList(section, from, ';', tools);
  }
}
