/**
 * Architecture registry: family name (from ModelConfig.architecture) → ModelFamily.
 */
import type { ModelFamily } from './family.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import type { Architecture } from './model-config.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';

const FAMILIES: Record<Architecture, ModelFamily> = { llama, mistral, qwen2, qwen3 };

export function familyFor(arch: Architecture): ModelFamily {
  return FAMILIES[arch];
}
