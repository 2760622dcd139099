/**
 * ServerOptions (the slice of the resolved config the HTTP layer reads) and the per-server
 * context handed to every route handler.
 *
 * Invariants:
 * - The context is created once per server; handlers never mutate options.
 * - `status` moves starting -> ready -> shutting_down; /health answers 503 unless ready.
 * - `contextLength` is the explicit --context-length flag (null when not given); the model's
 *   effective context length is `engine.modelInfo.contextLength`.
 */
import type { EngineClient } from '../engine/client.js';
import type { ServerMetrics } from './metrics.js';

export interface ServerOptions {
  /** --api-key: when set, requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string | null;
  /** --served-model-name (defaults to engine.modelInfo.servedModelName). */
  servedModelName?: string;
  /** --enable-metrics: mounts /metrics. */
  enableMetrics?: boolean;
  /** --enable-cache-report: usage.prompt_tokens_details.cached_tokens on OpenAI routes. */
  enableCacheReport?: boolean;
  /** --allow-auto-truncate: truncate long inputs / clamp max_new_tokens instead of a 400. */
  allowAutoTruncate?: boolean;
  /** --context-length as given on the command line (null when taken from the model config). */
  contextLength?: number | null;
  /** --preferred-sampling-params, already parsed from its JSON string. */
  preferredSamplingParams?: Record<string, unknown> | null;
  /** --skip-tokenizer-init: text prompts are rejected and responses carry output_ids only. */
  skipTokenizerInit?: boolean;
  /** --stream-output: disjoint output_ids segments in skip-tokenizer-init streams. */
  streamOutput?: boolean;
  /** --stream-interval (the engine applies it; kept for /get_server_info). */
  streamInterval?: number;
  /** --weight-version (default "default"). */
  weightVersion?: string;
  /** --model-path / --tokenizer-path for /get_model_info (default: engine.modelInfo). */
  modelPath?: string;
  tokenizerPath?: string;
  /** Raw --preferred-sampling-params string for /get_model_info (SGLang echoes the string). */
  preferredSamplingParamsRaw?: string | null;
  /** All server args as a flat dict, for /get_server_info. */
  serverInfo?: Record<string, unknown>;
  /** Package version reported by /get_server_info. */
  version?: string;
  /** Largest accepted request body in bytes (default 64 MiB). */
  maxBodyBytes?: number;
  /** Health-check timeout in ms (SGLANG_HEALTH_CHECK_TIMEOUT, default 20 s). */
  healthCheckTimeoutMs?: number;
  /** Start in "ready" state (default true); false = /health answers 503 until markReady(). */
  startReady?: boolean;
  /** --tool-call-parser (llama3, qwen25, mistral, deepseekv3, pythonic, kimi_k2, qwen3_coder, glm45, step3). */
  toolCallParser?: string | null;
  /** --reasoning-parser (deepseek-r1, deepseek-v3, qwen3, qwen3-thinking, kimi, glm45, step3, gpt-oss). */
  reasoningParser?: string | null;
}

export type ServerStatus = 'starting' | 'ready' | 'shutting_down';

export interface ServerContext {
  engine: EngineClient;
  opts: Required<Pick<ServerOptions, 'allowAutoTruncate' | 'enableCacheReport' | 'skipTokenizerInit' | 'streamOutput'>> &
    ServerOptions;
  modelName: string;
  weightVersion: string;
  metrics: ServerMetrics | null;
  status: ServerStatus;
  /** Set between /pause_generation and /continue_generation: new requests wait on it. */
  pauseGate: { promise: Promise<void>; release: () => void } | null;
  /** Requests being served (for graceful shutdown). */
  inflight: number;
}
