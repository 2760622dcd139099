/**
 * Tool-call and reasoning parsers: fixture texts in each family's format → calls, at once and
 * streamed in random chunks (seeded), including unknown tools and an unclosed reasoning block.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReasoningDetector, createToolFormat, ToolCallStream } from '../../../src/server/parsers/index.js';
import { A, chunks, TOOLS, W } from './tool-fixtures.js';

const FIXTURES: Record<string, { text: string; normal: string }> = {
  qwen25: {
    text: 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo", "days": 3}}\n</tool_call>\n<tool_call>\n{"name": "add", "arguments": {"a": 5, "b": 7}}\n</tool_call>',
    normal: 'Let me check.',
  },
  llama3: { text: '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Tokyo", "days": 3}};{"name": "add", "parameters": {"a": 5, "b": 7}}', normal: '' },
  mistral: { text: 'Sure. [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Tokyo", "days": 3}}, {"name": "add", "arguments": {"a": 5, "b": 7}}]', normal: 'Sure.' },
  deepseekv3: {
    text: 'Ok<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Tokyo", "days": 3}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n{"a": 5, "b": 7}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    normal: 'Ok',
  },
  pythonic: { text: '[get_weather(city="Tokyo", days=3), add(a=5, b=7)]', normal: '' },
  kimi_k2: {
    text: 'Hi<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Tokyo", "days": 3}<|tool_call_end|><|tool_call_begin|>functions.add:1<|tool_call_argument_begin|>{"a": 5, "b": 7}<|tool_call_end|><|tool_calls_section_end|>',
    normal: 'Hi',
  },
  qwen3_coder: {
    text: 'Hmm\n<tool_call>\n<function=get_weather>\n<parameter=city>\nTokyo\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=add>\n<parameter=a>\n5\n</parameter>\n<parameter=b>\n7\n</parameter>\n</function>\n</tool_call>',
    normal: 'Hmm\n',
  },
  glm45: {
    text: 'Checking\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Tokyo</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call><tool_call>add\n<arg_key>a</arg_key>\n<arg_value>5</arg_value>\n<arg_key>b</arg_key>\n<arg_value>7</arg_value>\n</tool_call>',
    normal: 'Checking',
  },
  deepseekv31: {
    text: 'Ok<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Tokyo", "days": 3}<｜tool▁call▁end｜><｜tool▁call▁begin｜>add<｜tool▁sep｜>{"a": 5, "b": 7}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    normal: 'Ok',
  },
  step3: {
    text: 'A<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="get_weather"><steptml:parameter name="city">Tokyo</steptml:parameter><steptml:parameter name="days">3</steptml:parameter></steptml:invoke><｜tool_call_end｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="add"><steptml:parameter name="a">5</steptml:parameter><steptml:parameter name="b">7</steptml:parameter></steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>B',
    normal: 'AB',
  },
};

describe('tool-call parsers', () => {
  for (const [name, fx] of Object.entries(FIXTURES)) {
    it(`${name}: one-shot`, () => {
      const f = createToolFormat(name);
      assert.ok(f.hasToolCall(fx.text));
      const r = f.detectAndParse(fx.text, TOOLS);
      assert.equal(r.normalText, fx.normal);
      assert.deepEqual(r.calls.map((c) => [c.toolIndex, c.name, JSON.parse(c.parameters)]), [[0, W.name, W.args], [1, A.name, A.args]]);
    });
    it(`${name}: streamed in random chunks`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const s = new ToolCallStream(createToolFormat(name), TOOLS);
        let normal = '';
        const calls: { name?: string; args: string; index: number }[] = [];
        const take = (r: ReturnType<ToolCallStream['push']>) => {
          normal += r.normalText;
          for (const d of r.calls) calls.push({ name: d.name, args: d.arguments, index: d.index });
        };
        for (const c of chunks(fx.text, seed)) take(s.push(c));
        take(s.finish());
        const byIndex = new Map<number, { name: string; args: string }>();
        for (const d of calls) {
          const e = byIndex.get(d.index) ?? { name: '', args: '' };
          if (d.name) e.name = d.name;
          e.args += d.args;
          byIndex.set(d.index, e);
        }
        assert.deepEqual([...byIndex.values()].map((e) => [e.name, JSON.parse(e.args)]), [[W.name, W.args], [A.name, A.args]], `seed ${seed}`);
        assert.equal(normal.trim(), fx.normal.trim(), `seed ${seed}`);
      }
    });
  }
  it('undefined functions are dropped; plain text has no calls', () => {
    const f = createToolFormat('qwen25');
    const r = f.detectAndParse('<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>', TOOLS);
    assert.deepEqual(r.calls, []);
    assert.equal(f.hasToolCall('just text'), false);
  });
  it('parameters use Python json.dumps spacing', () => {
    const r = createToolFormat('qwen25').detectAndParse('<tool_call>\n{"name":"add","arguments":{"a":5,"b":7}}\n</tool_call>', TOOLS);
    assert.equal(r.calls[0]!.parameters, '{"a": 5, "b": 7}');
  });
  it('deepseekv31: arguments that are not JSON make the whole output normal text', () => {
    const text = 'x<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>add<｜tool▁sep｜>{"a": 5,<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
    assert.deepEqual(createToolFormat('deepseekv31').detectAndParse(text, TOOLS), { normalText: text, calls: [] });
  });
  it('json_array (tool_choice required)', () => {
    const r = createToolFormat('json_array').detectAndParse('[{"name": "add", "parameters": {"a": 1, "b": 2}}]', TOOLS);
    assert.deepEqual(r.calls.map((c) => [c.name, c.parameters]), [['add', '{"a": 1, "b": 2}']]);
  });
});

describe('reasoning parsers', () => {
  const cases: [string, string, boolean | null, string, string][] = [
    ['deepseek-r1', 'I think hard.</think>The answer is 42.', null, 'I think hard.', 'The answer is 42.'],
    ['deepseek-r1', '<think>I think.</think>Answer', null, 'I think.', 'Answer'],
    ['qwen3', '<think>\nstep 1\n</think>\n\nDone.', null, 'step 1\n', 'Done.'],
    ['qwen3', 'No thinking here.', null, '', 'No thinking here.'],
    ['qwen3', 'forced reasoning</think>ok', true, 'forced reasoning', 'ok'],
    ['qwen3-thinking', 'thinking...</think>final', null, 'thinking...', 'final'],
    ['glm45', '<think>g</think>x', null, 'g', 'x'],
    ['step3', 'r</think>n', null, 'r', 'n'],
    ['kimi', '◁think▷k◁/think▷answer', null, 'k', 'answer'],
    ['gpt-oss', '<|channel|>analysis<|message|>Let me think.<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|return|>', null, 'Let me think.', 'Hello!'],
  ];
  for (const [name, text, force, reasoning, normal] of cases) {
    it(`${name}: ${JSON.stringify(text.slice(0, 24))}`, () => {
      const r = createReasoningDetector(name, true, force).detectAndParse(text);
      assert.deepEqual([r.reasoningText, r.normalText], [reasoning, normal]);
      for (const streamReasoning of [true, false]) {
        for (let seed = 1; seed <= 5; seed++) {
          const d = createReasoningDetector(name, streamReasoning, force);
          let rs = '';
          let ns = '';
          for (const c of chunks(text, seed)) {
            const x = d.parseStreamingIncrement(c);
            rs += x.reasoningText;
            ns += x.normalText;
          }
          const f = d.finish();
          rs += f.reasoningText;
          ns += f.normalText;
          assert.equal(rs.trim(), reasoning.trim(), `stream ${streamReasoning} seed ${seed}`);
          assert.equal(ns.trim(), normal, `stream ${streamReasoning} seed ${seed}`);
        }
      }
    });
  }
  it('a reasoning block that never closes is all reasoning (one-shot and streamed)', () => {
    const text = '<think>still thinking and thinking';
    assert.deepEqual(createReasoningDetector('qwen3').detectAndParse(text), { reasoningText: 'still thinking and thinking', normalText: '' });
    for (const sr of [true, false]) {
      const d = createReasoningDetector('deepseek-r1', sr);
      let rs = '';
      let ns = '';
      for (const c of chunks(text, 3)) {
        const x = d.parseStreamingIncrement(c);
        rs += x.reasoningText;
        ns += x.normalText;
      }
      rs += d.finish().reasoningText;
      assert.equal(rs, 'still thinking and thinking');
      assert.equal(ns, '');
    }
  });
  it('stream_reasoning false delivers reasoning in one piece at the end tag', () => {
    const d = createReasoningDetector('deepseek-r1', false);
    const pieces: string[] = [];
    for (const c of ['ab', 'cd', '</th', 'ink>', 'xy']) {
      const x = d.parseStreamingIncrement(c);
      if (x.reasoningText) pieces.push(x.reasoningText);
    }
    assert.deepEqual(pieces, ['abcd']);
  });
});
