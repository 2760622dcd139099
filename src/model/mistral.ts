/**
 * Mistral: the Llama layer (no sliding window in the checkpoints tsgl serves; a config with
 * sliding_window smaller than the context is served with full attention, which is exact for
 * prompts shorter than the window).
 */
import type { ModelFamily } from './family.js';
import { llama } from './llama.js';

export const mistral: ModelFamily = { name: 'mistral', layer: llama.layer };
