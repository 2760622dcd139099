/**
 * EngineClient: everything the HTTP server may ask of the engine. The server imports only this
 * interface (and the types in ./types.ts); it never reaches into the scheduler, cache or model.
 *
 * Invariants:
 * - `generate` yields EngineOutput deltas for one request and ends after the output with
 *   `finished == true`; it never throws for a bad request: failures arrive as a finished output
 *   with an abort finish reason and `errorStatus`.
 * - Breaking out of the iterator (client gone) aborts the request and frees its memory.
 * - Tokenizer methods run on the caller's thread and are pure.
 */
import type { EngineOutput, EngineRequest, ModelInfo } from './types.js';

export interface ChatMessage {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  tools?: unknown[] | null;
  addGenerationPrompt?: boolean;
  continueFinalMessage?: boolean;
  /** Extra template variables such as enable_thinking (chat_template_kwargs). */
  extra?: Record<string, unknown>;
}

export interface EngineStats {
  /** Used KV tokens - evictable + waiting input tokens (SGLang get_load). */
  load: number;
  numRunningReqs: number;
  numQueueReqs: number;
  maxTotalNumTokens: number;
  maxReqInputLen: number;
  tokenUsage: number;
  genThroughput: number;
  cacheHitRate: number;
}

export interface EngineClient {
  readonly modelInfo: ModelInfo;
  /** Token ids of text (special-token text is matched as special tokens). */
  encode(text: string, addSpecialTokens: boolean): number[];
  decode(ids: number[], skipSpecialTokens: boolean): string;
  /** Renders the chat template; throws a descriptive Error for a template failure. */
  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions): string;
  /** Stop token ids the engine honours besides a request's own (eos lists). */
  readonly eosTokenIds: readonly number[];

  generate(req: EngineRequest): AsyncIterable<EngineOutput>;
  /** Aborts every request whose rid starts with ridPrefix, or all of them. */
  abort(ridPrefix: string, abortAll?: boolean): void;
  /** Resets the prefix cache; false (nothing done) when requests are running or waiting. */
  flushCache(): Promise<boolean>;
  pause(): Promise<void>;
  resume(): void;
  stats(): Promise<EngineStats>;
  /** Free + cached + used == total; returns a description of the mismatch or null. */
  checkLeaks(): Promise<string | null>;
  close(): Promise<void>;
}
