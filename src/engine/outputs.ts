/**
 * Builders for outputs that end a request without generating: engine failures (500), duplicate
 * rids (400). One place, so every path reports the same shape.
 */
import type { EngineOutput } from './types.js';

export function failedOutput(rid: string, message: string, status: number, errType: string): EngineOutput {
  return {
    rid, outputIds: [], text: '', finished: true, promptTokens: 0, completionTokens: 0, cachedTokens: 0,
    finishReason: { type: 'abort', message, status_code: status, err_type: errType },
    errorStatus: status,
  };
}
