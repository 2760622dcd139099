/**
 * Metric math of `tsgl bench_serving`, with SGLang 0.5.2 bench_serving's definitions:
 * - TTFT: request start to the first chunk that carries a generated token;
 * - ITL: gaps between later token-carrying chunks (a chunk carrying k tokens adds k gaps of 1/k
 *   of its interval each);
 * - TPOT: (e2e latency - TTFT) / (output_len - 1), only for requests with output_len > 1;
 * - e2e latency: request start to the last chunk;
 * - concurrency: sum of e2e latencies / benchmark duration;
 * - throughputs: completed requests, input tokens, output tokens per second of wall time.
 * Percentiles interpolate linearly between order statistics (numpy's default); std is the
 * population standard deviation (numpy's default).
 */

/** Outcome of one request, times in seconds. */
export interface RequestOutput {
  success: boolean;
  error: string;
  promptLen: number;
  outputLen: number;
  ttft: number;
  latency: number;
  itl: number[];
  /** seconds from the benchmark start to the request start. */
  startTime: number;
  /** generated-shared-prefix: group index of the prompt, else undefined. */
  group?: number;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function std(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / xs.length);
}

/** numpy.percentile(xs, p) with linear interpolation; 0 for an empty list (SGLang's `xs or 0`). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

/**
 * Milliseconds per call of fn over n calls: the minimum wall time of one call, or with `cpu` the
 * process CPU time (user + system) averaged over the calls (robust to preemption on a shared
 * host when the work runs on one thread).
 */
export function msPerCall(fn: () => void, n: number, cpu: boolean): number {
  if (cpu) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / n;
  }
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

export interface ServingMetrics {
  completed: number;
  failed: number;
  duration: number;
  total_input_tokens: number;
  total_output_tokens: number;
  request_throughput: number;
  input_throughput: number;
  output_throughput: number;
  total_throughput: number;
  mean_e2e_latency_ms: number;
  median_e2e_latency_ms: number;
  std_e2e_latency_ms: number;
  p99_e2e_latency_ms: number;
  mean_ttft_ms: number;
  median_ttft_ms: number;
  std_ttft_ms: number;
  p99_ttft_ms: number;
  mean_tpot_ms: number;
  median_tpot_ms: number;
  std_tpot_ms: number;
  p99_tpot_ms: number;
  mean_itl_ms: number;
  median_itl_ms: number;
  std_itl_ms: number;
  p95_itl_ms: number;
  p99_itl_ms: number;
  max_itl_ms: number;
  concurrency: number;
}

/** SGLang's calculate_metrics over the outputs of one benchmark of `durationS` seconds. */
export function computeMetrics(outputs: readonly RequestOutput[], durationS: number): ServingMetrics {
  const ttfts: number[] = [];
  const tpots: number[] = [];
  const itls: number[] = [];
  const e2e: number[] = [];
  let totalIn = 0;
  let totalOut = 0;
  let completed = 0;
  for (const o of outputs) {
    if (!o.success) continue;
    completed++;
    totalIn += o.promptLen;
    totalOut += o.outputLen;
    if (o.outputLen > 1) tpots.push((o.latency - o.ttft) / (o.outputLen - 1));
    for (const x of o.itl) itls.push(x);
    ttfts.push(o.ttft);
    e2e.push(o.latency);
  }
  const ms = (x: number) => x * 1000;
  const d = durationS > 0 ? durationS : Number.NaN;
  return {
    completed,
    failed: outputs.length - completed,
    duration: durationS,
    total_input_tokens: totalIn,
    total_output_tokens: totalOut,
    request_throughput: completed / d,
    input_throughput: totalIn / d,
    output_throughput: totalOut / d,
    total_throughput: (totalIn + totalOut) / d,
    mean_e2e_latency_ms: ms(mean(e2e)),
    median_e2e_latency_ms: ms(median(e2e)),
    std_e2e_latency_ms: ms(std(e2e)),
    p99_e2e_latency_ms: ms(percentile(e2e, 99)),
    mean_ttft_ms: ms(mean(ttfts)),
    median_ttft_ms: ms(median(ttfts)),
    std_ttft_ms: ms(std(ttfts)),
    p99_ttft_ms: ms(percentile(ttfts, 99)),
    mean_tpot_ms: ms(mean(tpots)),
    median_tpot_ms: ms(median(tpots)),
    std_tpot_ms: ms(std(tpots)),
    p99_tpot_ms: ms(percentile(tpots, 99)),
    mean_itl_ms: ms(mean(itls)),
    median_itl_ms: ms(median(itls)),
    std_itl_ms: ms(std(itls)),
    p95_itl_ms: ms(percentile(itls, 95)),
    p99_itl_ms: ms(percentile(itls, 99)),
    max_itl_ms: ms(itls.length ? Math.max(...itls) : 0),
    concurrency: e2e.reduce((a, b) => a + b, 0) / d,
  };
}

/**
 * Shared-prefix view (tsgl's addition): per group, the request that started first pays for the
 * system prompt; requests of the group that start after its first token (when the prefix can
 * be cached) are the "later" ones; requests that overlap the first one's prefill are counted
 * as concurrent and left out. Medians over groups of the first request's TTFT and over all
 * later requests' TTFTs, in ms, and their ratio (later / first).
 */
export function sharedPrefixTtft(
  outputs: readonly RequestOutput[],
): { first_ttft_ms: number; later_ttft_ms: number; ratio: number; later: number; concurrent: number } | null {
  const byGroup = new Map<number, RequestOutput[]>();
  for (const o of outputs) {
    if (!o.success || o.group === undefined) continue;
    const g = byGroup.get(o.group) ?? [];
    g.push(o);
    byGroup.set(o.group, g);
  }
  if (byGroup.size === 0) return null;
  const first: number[] = [];
  const later: number[] = [];
  let concurrent = 0;
  for (const g of byGroup.values()) {
    g.sort((a, b) => a.startTime - b.startTime);
    const f = g[0]!;
    first.push(f.ttft);
    for (const o of g.slice(1)) {
      if (o.startTime >= f.startTime + f.ttft) later.push(o.ttft);
      else concurrent++;
    }
  }
  const f = median(first) * 1000;
  const l = later.length ? median(later) * 1000 : Number.NaN;
  return { first_ttft_ms: f, later_ttft_ms: l, ratio: f > 0 ? l / f : Number.NaN, later: later.length, concurrent };
}

/**
 * Token-carrying stream event: SGLang's rule for turning chunk arrival times into TTFT and
 * ITLs. `tokensSoFar` is the cumulative completion token count the chunk reports.
 */
export class StreamTimer {
  ttft = 0;
  latency = 0;
  readonly itl: number[] = [];
  tokens = 0;
  private last: number;
  private seenFirst = false;

  constructor(readonly start: number) {
    this.last = start;
  }

  /** A chunk arrived at `now` (seconds) bringing the count to `tokensSoFar` (>= previous). */
  onTokens(now: number, tokensSoFar: number): void {
    const n = tokensSoFar - this.tokens;
    if (n <= 0) return;
    if (!this.seenFirst) {
      this.seenFirst = true;
      this.ttft = now - this.start;
    } else {
      const gap = (now - this.last) / n;
      for (let i = 0; i < n; i++) this.itl.push(gap);
    }
    this.tokens = tokensSoFar;
    this.last = now;
  }

  /** Any chunk (including the closing one) moves the end-to-end latency. */
  onChunk(now: number): void {
    this.latency = now - this.start;
  }
}
