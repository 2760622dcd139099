/**
 * Parser registry: `--tool-call-parser` names → tool formats, and the reasoning parsers.
 * SGLang 0.5.2 names: llama3, qwen25, mistral, deepseekv3, deepseekv31, pythonic, kimi_k2,
 * qwen3_coder, glm45, step3, gpt-oss; json_array is the internal format of tool_choice
 * required / named.
 */
import { DeepSeekV3Format } from './deepseekv3.js';
import { DeepSeekV31Format } from './deepseekv31.js';
import { Glm45Format } from './glm45.js';
import { GptOssToolFormat } from './gpt-oss-tools.js';
import { JsonArrayFormat } from './json-array.js';
import { KimiK2Format } from './kimi-k2.js';
import { Llama3Format } from './llama3.js';
import { MistralFormat } from './mistral.js';
import { PythonicFormat } from './pythonic.js';
import { Qwen25Format } from './qwen25.js';
import { Qwen3CoderFormat } from './qwen3-coder.js';
import { Step3Format } from './step3.js';
import type { ToolFormat } from './types.js';

export * from './types.js';
export { ToolCallStream, type ToolDelta } from './tool-stream.js';
export { createReasoningDetector, REASONING_PARSERS, type ReasoningDetector, type ReasoningResult } from './reasoning.js';
export { JsonArrayFormat } from './json-array.js';

const FORMATS: Record<string, () => ToolFormat> = {
  llama3: () => new Llama3Format(),
  qwen25: () => new Qwen25Format(),
  mistral: () => new MistralFormat(),
  deepseekv3: () => new DeepSeekV3Format(),
  deepseekv31: () => new DeepSeekV31Format(),
  pythonic: () => new PythonicFormat(),
  kimi_k2: () => new KimiK2Format(),
  qwen3_coder: () => new Qwen3CoderFormat(),
  glm45: () => new Glm45Format(),
  step3: () => new Step3Format(),
  'gpt-oss': () => new GptOssToolFormat(),
  json_array: () => new JsonArrayFormat(),
};

export const TOOL_CALL_PARSERS = Object.keys(FORMATS).filter((k) => k !== 'json_array');

export function createToolFormat(name: string): ToolFormat {
  const f = FORMATS[name];
  if (!f) throw new Error(`Unsupported tool_call_parser: ${name}`);
  return f();
}
