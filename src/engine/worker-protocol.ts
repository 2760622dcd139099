/**
 * Messages between the main thread (WorkerEngine) and the engine worker (engine-worker.ts).
 * Requests cross once (`add`); outputs come back batched per step; admin calls are
 * request/response pairs matched by `callId`.
 */
import type { EngineStats } from './client.js';
import type { EngineArgs, BuiltEngine } from './build.js';
import type { EngineOutput, EngineRequest, ModelInfo } from './types.js';

export interface WorkerInit {
  args: EngineArgs;
  progress: boolean;
  /** Under tsx: the .ts worker module the bootstrap imports. */
  tsEntry?: string;
}

export type AdminCall = 'flushCache' | 'stats' | 'checkLeaks' | 'pause' | 'close';

export type ToWorker =
  | { kind: 'add'; req: EngineRequest }
  | { kind: 'abort'; ridPrefix: string; abortAll: boolean }
  | { kind: 'resume' }
  | { kind: 'call'; callId: number; call: AdminCall };

export interface ReadyInfo {
  modelInfo: ModelInfo;
  eosTokenIds: number[];
  plan: BuiltEngine['plan'];
  facts: BuiltEngine['facts'];
}

export type FromWorker =
  | { kind: 'ready'; info: ReadyInfo }
  | { kind: 'failed'; message: string }
  | { kind: 'outputs'; outputs: EngineOutput[] }
  | { kind: 'result'; callId: number; value: boolean | EngineStats | string | null | undefined };
