/**
 * Engine stats for /get_load, /get_server_info and /metrics, from the scheduler and the core's
 * counters. `genThroughput` is output tokens per second since the previous call.
 */
import type { EngineStats } from './client.js';
import type { EngineCore } from './engine-core.js';
import type { MemoryPlan } from '../scheduler/memory-plan.js';

export class StatsCollector {
  private lastTokens = 0;
  private lastTime = performance.now();
  private lastThroughput = 0;

  constructor(private readonly core: EngineCore, private readonly plan: MemoryPlan) {}

  collect(): EngineStats {
    const s = this.core.scheduler.stats();
    const now = performance.now();
    const dt = (now - this.lastTime) / 1000;
    if (dt >= 1) {
      this.lastThroughput = (this.core.numGeneratedTokens - this.lastTokens) / dt;
      this.lastTokens = this.core.numGeneratedTokens;
      this.lastTime = now;
    }
    return {
      load: this.core.scheduler.getLoad().numTokens,
      numRunningReqs: s.numRunningReqs,
      numQueueReqs: s.numQueueReqs,
      maxTotalNumTokens: this.plan.maxTotalNumTokens,
      maxReqInputLen: this.plan.maxReqInputLen,
      tokenUsage: s.tokenUsage,
      genThroughput: this.lastThroughput,
      cacheHitRate: s.cacheHitRate,
    };
  }
}
