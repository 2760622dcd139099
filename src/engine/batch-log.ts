/**
 * SGLang's scheduler batch logs, same wording and fields (log scrapers keep working):
 *
 *   [2026-12-07 23:40:01] Prefill batch. #new-seq: 2, #new-token: 512, #cached-token: 0, token usage: 0.01, #running-req: 0, #queue-req: 0,
 *   [2026-12-07 23:40:02] Decode batch. #running-req: 2, #token: 590, token usage: 0.01, cuda graph: False, gen throughput (token/s): 61.02, #queue-req: 0,
 *
 * Invariants: one prefill line per extend (or mixed) step, one decode line every
 * `--decode-log-interval` decode steps (SGLang counts decode forwards and logs when the count is
 * a multiple of the interval); gen throughput = tokens decoded since the previous decode line /
 * the time since it. Lines are written only at --log-level debug or info (SGLang logs them at
 * INFO; the server's default is info, the in-process Engine's error, as SGLang's offline Engine).
 */
import type { ScheduledStep, SchedulerStats } from '../scheduler/scheduler.js';

export interface BatchLogOptions {
  decodeLogInterval: number;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class BatchLogger {
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private decodeSteps = 0;
  private decodedTokens = 0;
  private lastDecodeLog: number;

  constructor(private readonly o: BatchLogOptions) {
    this.write = o.write ?? ((line) => process.stderr.write(line));
    this.now = o.now ?? (() => performance.now());
    this.lastDecodeLog = this.now();
  }

  /** Whether the level lets these INFO lines through. */
  static enabled(logLevel: string): boolean {
    const level = logLevel.toLowerCase();
    return level === 'debug' || level === 'info';
  }

  /**
   * After scheduling a step, before its forward (SGLang logs the batch it is about to run).
   * `stats` is called only when a line is written, so a decode step that logs nothing costs two
   * additions.
   */
  onStep(step: ScheduledStep, getStats: () => SchedulerStats): void {
    if (step.kind === 'decode') {
      this.decodeSteps++;
      this.decodedTokens += step.reqs.length;
      if (this.decodeSteps % this.o.decodeLogInterval !== 0) return;
      const stats = getStats();
      const t = this.now();
      const throughput = this.decodedTokens / Math.max((t - this.lastDecodeLog) / 1000, 1e-9);
      this.lastDecodeLog = t;
      this.decodedTokens = 0;
      this.line(`Decode batch. #running-req: ${step.reqs.length}, #token: ${stats.numUsedTokens}, token usage: ${stats.tokenUsage.toFixed(2)}, `
        + `cuda graph: False, gen throughput (token/s): ${throughput.toFixed(2)}, #queue-req: ${stats.numQueueReqs}, `);
      return;
    }
    const p = step.prefill!;
    const stats = getStats();
    this.line(`Prefill batch. #new-seq: ${p.newSeqs}, #new-token: ${p.inputTokens}, #cached-token: ${p.hitTokens}, `
      + `token usage: ${stats.tokenUsage.toFixed(2)}, #running-req: ${p.runningReqs}, #queue-req: ${stats.numQueueReqs}, `);
  }

  private line(msg: string): void {
    this.write(`[${timestamp(new Date())}] ${msg}\n`);
  }
}

/** Local time as Python logging's %(asctime)s without milliseconds: 2026-12-07 23:40:01. */
function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
