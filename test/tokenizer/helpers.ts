/**
 * Shared test helpers: where the shared model fixtures live (../shared/models from the repo root)
 * and small readers for golden/vector files. Tokenizers are cached per test process.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODELS = resolve(REPO_ROOT, '..', 'shared', 'models');

export function modelPath(rel: string): string {
  return join(MODELS, rel);
}

export function readJson<T = any>(rel: string): T {
  return JSON.parse(readFileSync(modelPath(rel), 'utf8')) as T;
}

const cache = new Map<string, Promise<Tokenizer>>();
export function tokenizerAt(rel: string): Promise<Tokenizer> {
  let t = cache.get(rel);
  if (!t) {
    t = loadTokenizer(modelPath(rel));
    cache.set(rel, t);
  }
  return t;
}

export interface GoldenCase {
  id?: string;
  prompt: string;
  prompt_ids: number[];
  messages?: object[];
  tools?: unknown[];
  template_tools?: unknown[];
  chat_template_kwargs?: Record<string, unknown>;
  add_generation_prompt?: boolean;
  add_special_tokens?: boolean;
  greedy_output_ids: number[];
  text?: string;
}

export function goldenCases(name: string): GoldenCase[] {
  return readJson<{ cases: GoldenCase[] }>(`golden/${name}.greedy.json`).cases;
}
