/**
 * When the engine hands a request's new tokens to the client (SGLang
 * `scheduler_output_processor_mixin.stream_output_generation`):
 * - finished: always;
 * - stream, interval > 1: when outputLen % interval == 1 (so the first token goes out at once);
 * - stream, interval 1: every token;
 * - non-stream: every 50 tokens (DEFAULT_FORCE_STREAM_INTERVAL), an internal flush.
 * The interval is the request's `streamInterval` when set, else --stream-interval.
 */
import type { Req } from './req.js';

export const DEFAULT_FORCE_STREAM_INTERVAL = 50;

export function shouldEmit(req: Req, serverStreamInterval: number): boolean {
  if (req.finished) return true;
  const outputLen = req.outputIds.length;
  if (req.request.stream) {
    const interval = req.request.sampling.streamInterval || serverStreamInterval;
    return interval > 1 ? outputLen % interval === 1 : outputLen % interval === 0;
  }
  return outputLen % DEFAULT_FORCE_STREAM_INTERVAL === 0;
}
