/**
 * Prometheus metrics under SGLang 0.5.2's names (python/sglang/srt/metrics/collector.py):
 * TokenizerMetricsCollector counters/histograms, observed per request by the HTTP layer, and
 * SchedulerMetricsCollector gauges, read from `engine.stats()` at scrape time.
 *
 * Invariants:
 * - One private Registry per server (never the global one), so tests can run many servers.
 * - Every series carries `model_name`; scheduler gauges also carry engine_type/tp_rank/pp_rank.
 * - Health-check requests are never observed (SGLang: log_metrics=False).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineClient } from '../engine/client.js';

const TTFT_BUCKETS = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400];
const E2E_BUCKETS = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400];
const ITL_BUCKETS = [
  0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.06, 0.08, 0.1, 0.2, 0.4, 0.6, 0.8, 1,
  2, 4, 6, 8,
];

/** Per-request observation handle: call `output` for each engine output, `finish` once. */
export interface RequestObserver {
  output(newTokens: number): void;
  finish(promptTokens: number, completionTokens: number, cachedTokens: number, aborted: boolean): void;
}

const NOOP: RequestObserver = { output() {}, finish() {} };

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly labels: { model_name: string };
  private readonly promptTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly cachedTokens: Counter;
  private readonly numRequests: Counter;
  private readonly numAborted: Counter;
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly e2e: Histogram;

  constructor(engine: EngineClient, modelName: string) {
    this.labels = { model_name: modelName };
    const registers = [this.registry];
    const labelNames = ['model_name'];
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
    this.promptTokens = counter('sglang:prompt_tokens_total', 'Number of prefill tokens processed.');
    this.generationTokens = counter('sglang:generation_tokens_total', 'Number of generation tokens processed.');
    this.cachedTokens = counter('sglang:cached_tokens_total', 'Number of cached prompt tokens.');
    this.numRequests = counter('sglang:num_requests_total', 'Number of requests processed.');
    this.numAborted = counter('sglang:num_aborted_requests_total', 'Number of requests aborted.');
    const hist = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, labelNames, registers });
    this.ttft = hist('sglang:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
    this.itl = hist('sglang:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
    this.e2e = hist('sglang:e2e_request_latency_seconds', 'Histogram of End-to-end request latency in seconds', E2E_BUCKETS);
    // Initialise the labelled children so the series exist before the first request.
    for (const m of [this.promptTokens, this.generationTokens, this.cachedTokens, this.numRequests, this.numAborted]) {
      m.labels(this.labels).inc(0);
    }
    for (const h of [this.ttft, this.itl, this.e2e]) h.labels(this.labels);

    const gaugeLabels = { ...this.labels, engine_type: 'unified', tp_rank: '0', pp_rank: '0' };
    const gaugeLabelNames = Object.keys(gaugeLabels);
    let snapshot: Promise<Record<string, number>> | null = null;
    const read = (): Promise<Record<string, number>> => {
      snapshot ??= engine
        .stats()
        .then((s) => ({
          num_running_reqs: s.numRunningReqs,
          num_used_tokens: Math.round(s.tokenUsage * s.maxTotalNumTokens),
          token_usage: s.tokenUsage,
          gen_throughput: s.genThroughput,
          num_queue_reqs: s.numQueueReqs,
          num_grammar_queue_reqs: 0,
          cache_hit_rate: s.cacheHitRate,
          spec_accept_length: 0,
        }))
        .catch(() => ({}) as Record<string, number>)
        .finally(() => setTimeout(() => (snapshot = null), 0));
      return snapshot;
    };
    const gauges: [string, string][] = [
      ['num_running_reqs', 'The number of running requests.'],
      ['num_used_tokens', 'The number of used tokens.'],
      ['token_usage', 'The token usage.'],
      ['gen_throughput', 'The generation throughput (token/s).'],
      ['num_queue_reqs', 'The number of requests in the waiting queue.'],
      ['num_grammar_queue_reqs', 'The number of requests in the grammar waiting queue.'],
      ['cache_hit_rate', 'The prefix cache hit rate.'],
      ['spec_accept_length', 'The average acceptance length of speculative decoding.'],
    ];
    for (const [key, help] of gauges) {
      new Gauge({
        name: `sglang:${key}`,
        help,
        labelNames: gaugeLabelNames,
        registers,
        async collect() {
          const s = await read();
          this.labels(gaugeLabels).set(s[key] ?? 0);
        },
      });
    }
  }

  /** Starts observing one request (t0 = now). */
  begin(enabled = true): RequestObserver {
    if (!enabled) return NOOP;
    const t0 = performance.now();
    let last = t0;
    let first = true;
    return {
      output: (newTokens: number) => {
        const now = performance.now();
        if (first) {
          if (newTokens > 0) {
            this.ttft.labels(this.labels).observe((now - t0) / 1000);
            first = false;
          }
        } else if (newTokens > 0) {
          const per = (now - last) / 1000 / newTokens;
          for (let i = 0; i < newTokens; i++) this.itl.labels(this.labels).observe(per);
        }
        if (newTokens > 0) last = now;
      },
      finish: (promptTokens, completionTokens, cachedTokens, aborted) => {
        this.promptTokens.labels(this.labels).inc(promptTokens);
        this.generationTokens.labels(this.labels).inc(completionTokens);
        this.cachedTokens.labels(this.labels).inc(cachedTokens);
        this.numRequests.labels(this.labels).inc(1);
        if (aborted) this.numAborted.labels(this.labels).inc(1);
        this.e2e.labels(this.labels).observe((performance.now() - t0) / 1000);
      },
    };
  }

  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
