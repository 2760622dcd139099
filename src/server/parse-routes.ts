/**
 * POST /parse_function_call ({text, tools, tool_call_parser} → {normal_text, calls:[{tool_index,
 * name, parameters}]}) and POST /separate_reasoning ({text, reasoning_parser} → {reasoning_text,
 * text}), as SGLang 0.5.2's http_server.py. Both are pure text operations (no engine call).
 *
 * Invariants: a missing field or unknown parser name is a 400 (native error envelope).
 */
import type { ServerResponse } from 'node:http';
import { BadRequestError } from './errors.js';
import { sendJson } from './http-util.js';
import { createReasoningDetector, createToolFormat, type ToolDef } from './parsers/index.js';
import { isObject } from './validate.js';

function field(body: unknown, k: string): unknown {
  if (!isObject(body)) throw new BadRequestError('Request body must be a JSON object.');
  if (body[k] === undefined) throw new BadRequestError(`Field required: ${k}`);
  return body[k];
}

export function handleParseFunctionCall(res: ServerResponse, body: unknown): void {
  const text = field(body, 'text');
  const tools = field(body, 'tools');
  const parser = field(body, 'tool_call_parser');
  if (typeof text !== 'string' || typeof parser !== 'string' || !Array.isArray(tools)) {
    throw new BadRequestError('text and tool_call_parser must be strings and tools a list.');
  }
  const defs: ToolDef[] = tools.map((t) => {
    const f = isObject(t) && isObject(t['function']) ? t['function'] : {};
    return { name: typeof f['name'] === 'string' ? f['name'] : '', parameters: f['parameters'] };
  });
  let fmt;
  try {
    fmt = createToolFormat(parser);
  } catch (e) {
    throw new BadRequestError((e as Error).message);
  }
  const r = fmt.hasToolCall(text) ? fmt.detectAndParse(text, defs) : { normalText: text, calls: [] };
  sendJson(res, 200, {
    normal_text: r.normalText,
    calls: r.calls.map((c) => ({ tool_index: c.toolIndex, name: c.name, parameters: c.parameters })),
  });
}

export function handleSeparateReasoning(res: ServerResponse, body: unknown): void {
  const text = field(body, 'text');
  const parser = field(body, 'reasoning_parser');
  if (typeof text !== 'string' || typeof parser !== 'string') throw new BadRequestError('text and reasoning_parser must be strings.');
  let det;
  try {
    det = createReasoningDetector(parser, false);
  } catch (e) {
    throw new BadRequestError((e as Error).message);
  }
  const r = det.detectAndParse(text);
  sendJson(res, 200, { reasoning_text: r.reasoningText, text: r.normalText });
}
