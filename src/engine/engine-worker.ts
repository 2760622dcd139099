/**
 * The engine worker thread: builds the EngineCore from the args in workerData and runs it with
 * an EngineLoop; forwards every step's outputs to the main thread in one message.
 *
 * Invariant: nothing here throws across the thread boundary — load failures become a
 * `failed` message, step failures are turned into 500 outputs by the EngineLoop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildEngineCore, type BuiltEngine } from './build.js';
import { EngineLoop } from './engine-loop.js';
import { StatsCollector } from './stats.js';
import type { EngineStats } from './client.js';
import type { EngineOutput } from './types.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const send = (m: FromWorker): void => port.postMessage(m);

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  let built: BuiltEngine;
  try {
    built = await buildEngineCore(init.args, { progress: init.progress });
  } catch (e) {
    send({ kind: 'failed', message: (e as Error).message });
    return;
  }
  const loop = new EngineLoop(built.core);
  const stats = new StatsCollector(built.core, built.plan);
  // Outputs of one step go out together; submit/abort outputs are flushed at the end of the tick.
  let pending: EngineOutput[] = [];
  let flushQueued = false;
  const flush = (): void => {
    flushQueued = false;
    if (pending.length) send({ kind: 'outputs', outputs: pending });
    pending = [];
  };
  const deliver = (o: EngineOutput): void => {
    pending.push(o);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flush);
    }
  };
  port.on('message', async (m: ToWorker) => {
    switch (m.kind) {
      case 'add': loop.submit(m.req, deliver); break;
      case 'abort': loop.abort(m.ridPrefix, m.abortAll); break;
      case 'resume': loop.resume(); break;
      case 'call': send({ kind: 'result', callId: m.callId, value: await adminCall(built, loop, stats, m.call) }); break;
    }
  });
  send({
    kind: 'ready',
    info: { modelInfo: built.modelInfo, eosTokenIds: [...(built.tokenizer?.eosTokenIds ?? [])], plan: built.plan, facts: built.facts },
  });
}

async function adminCall(built: BuiltEngine, loop: EngineLoop, stats: StatsCollector, call: string): Promise<boolean | string | null | undefined | EngineStats> {
  switch (call) {
    case 'flushCache': return built.core.flushCache();
    case 'stats': return stats.collect();
    case 'checkLeaks': await loop.waitIdle(); return built.core.scheduler.checkLeaks();
    case 'pause':
    case 'close': await loop.pause(); await built.core.close(); return undefined;
    default: return undefined;
  }
}

void main();
