/**
 * Streamed tool calls (ToolCallStream over every parser family): for fixture outputs fed one
 * character at a time, in seeded random chunks and whole, the deltas have SGLang's shape (a name
 * delta with arguments "" first, then argument fragments), indices come in order, the fragments
 * of each call concatenate to the non-streamed `parameters`, and normal text is preserved.
 * JSON-argument formats stream arguments in several fragments; glm45 and pythonic send a call
 * whole, as SGLang does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReasoningDetector, createToolFormat, ToolCallStream, type ToolDelta } from '../../../src/server/parsers/index.js';
import { A, BUILDERS, type Call, chunkings, F, TOOLS, W } from './tool-fixtures.js';

interface Streamed {
  normal: string;
  deltas: ToolDelta[];
}

function stream(parser: string, parts: string[]): Streamed {
  const s = new ToolCallStream(createToolFormat(parser), TOOLS, parser === 'json_array');
  const out: Streamed = { normal: '', deltas: [] };
  for (const p of [...parts.map((c) => s.push(c)), s.finish()]) {
    out.normal += p.normalText;
    out.deltas.push(...p.calls);
  }
  return out;
}

/** Checks the delta shape; returns per call [name, concatenated arguments, fragment count]. */
function assemble(deltas: ToolDelta[], ctx: string): [string, string, number][] {
  const calls: [string, string, number][] = [];
  for (const d of deltas) {
    if (d.name !== undefined) {
      assert.equal(d.index, calls.length, `${ctx}: call announced out of order`);
      assert.equal(d.arguments, '', `${ctx}: a name delta carries arguments ""`);
      calls.push([d.name, '', 0]);
      continue;
    }
    assert.ok(d.index < calls.length, `${ctx}: arguments before the name of call ${d.index}`);
    assert.ok(d.arguments.length > 0, `${ctx}: empty fragment`);
    const c = calls[d.index]!;
    c[1] += d.arguments;
    c[2]++;
  }
  return calls;
}

const CALLS: Call[] = [W, F, A];
const MULTI_FRAGMENT = ['qwen25', 'llama3', 'mistral', 'json_array', 'deepseekv3', 'deepseekv31', 'kimi_k2', 'qwen3_coder', 'step3', 'gpt-oss'];

describe('streamed tool calls', () => {
  for (const [parser, build] of Object.entries(BUILDERS)) {
    const text = build(CALLS, 'Let me check. ');
    it(`${parser}: every chunking gives the non-streamed calls in SGLang's delta shape`, () => {
      const whole = createToolFormat(parser).detectAndParse(text, TOOLS);
      assert.deepEqual(whole.calls.map((c) => [c.name, JSON.parse(c.parameters)]), CALLS.map((c) => [c.name, c.args]), 'fixture');
      for (const { label, parts } of chunkings(text)) {
        const got = stream(parser, parts);
        const calls = assemble(got.deltas, `${parser} ${label}`);
        assert.deepEqual(calls.map((c) => [c[0], c[1]]), whole.calls.map((c) => [c.name, c.parameters]), `${parser} ${label}`);
        assert.equal(got.normal.trim(), whole.normalText.trim(), `${parser} ${label}: normal text`);
      }
    });
    it(`${parser}: arguments arrive ${MULTI_FRAGMENT.includes(parser) ? 'in several fragments' : 'whole'} one character at a time`, () => {
      const calls = assemble(stream(parser, text.split('')).deltas, parser);
      for (const [name, , fragments] of calls) {
        if (MULTI_FRAGMENT.includes(parser)) assert.ok(fragments > 1, `${parser} ${name}: ${fragments} fragments`);
        else assert.equal(fragments, 1, `${parser} ${name}`);
      }
    });
  }

  it('a name is announced before its arguments are complete (qwen25)', () => {
    const s = new ToolCallStream(createToolFormat('qwen25'), TOOLS);
    const first = s.push('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tok');
    assert.deepEqual(first.calls, [{ index: 0, name: 'get_weather', arguments: '' }, { index: 0, arguments: '{"city": "Tok' }]);
    // An unfinished number is held back until a character that ends it arrives.
    assert.deepEqual(s.push('yo", "days": 1').calls, [{ index: 0, arguments: 'yo", "days": ' }]);
    assert.deepEqual(s.push('2}}\n</tool_call>').calls, [{ index: 0, arguments: '12}' }]);
    assert.deepEqual(s.finish().calls, []);
  });

  it('kimi_k2 streams the raw argument text, holding back a possible end marker', () => {
    const s = new ToolCallStream(createToolFormat('kimi_k2'), TOOLS);
    const a = s.push('<|tool_calls_section_begin|><|tool_call_begin|>functions.add:0<|tool_call_argument_begin|>{"a":5, ');
    assert.deepEqual(a.calls, [{ index: 0, name: 'add', arguments: '' }, { index: 0, arguments: '{"a":5,' }]);
    assert.deepEqual(s.push('"b":7} <|tool_').calls, [{ index: 0, arguments: ' "b":7}' }]);
    assert.deepEqual(s.push('call_end|><|tool_calls_section_end|>').calls, []);
    assert.deepEqual(s.finish().calls, []);
  });

  it('gpt-oss: a call behind the gpt-oss reasoning parser, streamed and whole', () => {
    const text = '<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>commentary to=functions.add <|constrain|>json<|message|>{"a": 5, "b": 7}<|call|>';
    const whole = createReasoningDetector('gpt-oss', true, null).detectAndParse(text);
    const parsed = createToolFormat('gpt-oss').detectAndParse(whole.normalText, TOOLS);
    assert.deepEqual([whole.reasoningText, parsed.normalText, parsed.calls], ['think', '', [{ toolIndex: 1, name: 'add', parameters: '{"a": 5, "b": 7}' }]]);
    const r = createReasoningDetector('gpt-oss', true, null);
    const s = new ToolCallStream(createToolFormat('gpt-oss'), TOOLS);
    let reasoning = '';
    let normal = '';
    const deltas: ToolDelta[] = [];
    for (const step of [...text.split('').map((c) => r.parseStreamingIncrement(c)), r.finish()]) {
      reasoning += step.reasoningText;
      const t = s.push(step.normalText);
      normal += t.normalText;
      deltas.push(...t.calls);
    }
    const end = s.finish();
    normal += end.normalText;
    deltas.push(...end.calls);
    assert.deepEqual([reasoning, normal.trim()], ['think', '']);
    assert.deepEqual(assemble(deltas, 'gpt-oss').map((c) => [c[0], c[1]]), [['add', '{"a": 5, "b": 7}']]);
  });

  it('an undeclared function is never announced', () => {
    const text = BUILDERS['qwen25']!([{ name: 'nope', args: { x: 1 } }, A], '');
    const calls = assemble(stream('qwen25', text.split('')).deltas, 'undeclared');
    assert.deepEqual(calls.map((c) => [c[0], c[1]]), [['add', '{"a": 5, "b": 7}']]);
  });

  it('text that only looks like a tool section stays content', () => {
    const got = stream('pythonic', 'a [b] c'.split(''));
    assert.deepEqual(got.deltas, []);
    assert.equal(got.normal, 'a [b] c');
  });
});
