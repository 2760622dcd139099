/**
 * EngineCore: the synchronous heart of the engine. One `step()` = schedule → forward → input
 * logprobs → sample → detokenize + finish checks → scheduler.complete → outputs.
 * It runs on the engine thread (a worker for the server, the caller's thread for the in-process
 * Engine); it never blocks on I/O and never throws for a bad request (those finish with an
 * abort reason and `errorStatus`).
 *
 * Invariants:
 * - Per request, `ReqExtras` lives from `add` until the output with finished == true.
 * - Emitted `outputIds`/`text` are deltas; their concatenation is the request's full output
 *   (text: stop strings trimmed as SGLang does, unless no_stop_trim).
 * - Sampling rows are contiguous in the logits buffer, or are gathered into scratch first.
 * - Grammar requests (json_schema/regex/ebnf/structural_tag) wait in `grammars` (outside the
 *   scheduler) until the grammar worker has compiled them; each step gets every constrained
 *   row's mask before `sampler.sample`, the matchers accept the sampled tokens after it (one call
 *   for the batch), and a terminated grammar finishes the request through the stop checker. A
 *   request's matcher slot is freed when its extras are dropped.
 */
import type { BatchLogger } from './batch-log.js';
import { FLAG_ACCEPTED, FLAG_TERMINATED, type GrammarQueue } from '../constrain/grammar-queue.js';
import type { Sampler, SamplerState, SampleRow } from '../sampling/sampler.js';
import { rowLogprobs } from '../sampling/sampler.js';
import { StopChecker } from '../sampling/stop-checker.js';
import type { Req } from '../scheduler/req.js';
import type { ScheduledStep, Scheduler } from '../scheduler/scheduler.js';
import { shouldEmit } from '../scheduler/stream-cadence.js';
import { IncrementalDetokenizer } from '../tokenizer/detokenizer.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { failedOutput } from './outputs.js';
import type { EngineOutput, EngineRequest, FinishReason, LogprobDelta, ModelRunner, TokenLogprob } from './types.js';

interface ReqExtras {
  samplerState: SamplerState;
  detok: IncrementalDetokenizer | null;
  stop: StopChecker;
  /** Finish decided by the stop checker for the token sampled this step. */
  pendingFinish: FinishReason | null;
  /** Visible text not yet emitted. */
  pendingText: string;
  /** Logprobs accumulated since the last output (input ones until the prompt is done). */
  logprobs: LogprobDelta | null;
  /** The prompt is fully scored (its leading null entry added); input logprobs go out next. */
  inputLogprobsDone: boolean;
  inputLogprobsSent: boolean;
  /** The request's grammar matcher slot in the grammar worker (null without a constraint). */
  grammar: number | null;
}

export interface EngineCoreOptions {
  streamInterval: number;
  /** Every id that ends a request unless ignore_eos: model eos list ∪ tokenizer eos ids. */
  eosTokenIds: readonly number[];
  /** Grammar stage for constrained requests (absent: constraints are rejected as with --grammar-backend none). */
  grammars?: GrammarQueue | null;
  /**
   * Applies grammar bitmasks to a whole batch in one pass (native): logits [rows, vocab] get -inf
   * where the bit of mask [rows, maskStride] is 0.
   */
  applyTokenBitmask: (logits: Float32Array, rows: number, vocab: number, mask: Uint32Array, maskStride: number) => void;
  /** SGLang's prefill / decode batch log lines (absent: none). */
  batchLog?: BatchLogger | null;
}

export class EngineCore {
  private readonly extras = new Map<Req, ReqExtras>();
  private sampleScratch = new Float32Array(0);
  /** [numSampleRows, maskWords] batch masks (all ones for unconstrained rows). */
  private batchMask = new Uint32Array(0);
  /** Steps run and tokens generated, for throughput stats. */
  numSteps = 0;
  numGeneratedTokens = 0;

  constructor(
    readonly runner: ModelRunner,
    readonly scheduler: Scheduler,
    readonly sampler: Sampler,
    readonly tokenizer: Tokenizer | null,
    private readonly opts: EngineCoreOptions,
  ) {}

  get isIdle(): boolean {
    return this.scheduler.isIdle && (this.opts.grammars?.numWaiting ?? 0) === 0;
  }

  /** A step now would do something (false while only grammar compilations are pending). */
  get canStep(): boolean {
    return !this.scheduler.isIdle || (this.opts.grammars?.hasResolved ?? false);
  }

  /** Calls `wake` whenever a pending grammar resolves (the loop sleeps on `!canStep`). */
  setWake(wake: () => void): void {
    if (this.opts.grammars) this.opts.grammars.onWake = wake;
  }

  /** /flush_cache: the prefix cache (only when idle, as SGLang) and the grammar cache. */
  flushCache(): boolean {
    const ok = this.scheduler.flushCache();
    if (ok) this.opts.grammars?.flush();
    return ok;
  }

  /** Stops the grammar worker (if one was started). */
  close(): Promise<void> {
    return this.opts.grammars?.close() ?? Promise.resolve();
  }

  /** Queues a request; returns outputs at once only when it was rejected. */
  add(request: EngineRequest): EngineOutput[] {
    const g = this.opts.grammars;
    if (g) {
      const a = g.admit(request);
      if (a.kind === 'queued') return [];
      if (a.kind === 'error') return [grammarRejected(request, a.message)];
      return this.addNow(request, null);
    }
    if (request.sampling.jsonSchema ?? request.sampling.regex ?? request.sampling.ebnf ?? request.sampling.structuralTag) {
      return [grammarRejected(request, 'Grammar-based generation (json_schema, regex, ebnf, structural_tag) is not supported when the server is launched with --grammar-backend none')];
    }
    return this.addNow(request, null);
  }

  private addNow(request: EngineRequest, grammar: number | null): EngineOutput[] {
    const req = this.scheduler.addRequest(request);
    if (req.finished) {
      if (grammar !== null) this.opts.grammars?.free(grammar);
      return [this.rejected(req)];
    }
    const p = request.sampling;
    this.extras.set(req, {
      samplerState: this.sampler.newState(p),
      detok: this.tokenizer
        ? new IncrementalDetokenizer(this.tokenizer, { promptIds: req.originInputIds, skipSpecialTokens: p.skipSpecialTokens })
        : null,
      stop: new StopChecker(p, { eosTokenIds: this.opts.eosTokenIds, vocabSize: this.runner.vocabSize, maxNewTokens: req.maxNewTokens }),
      pendingFinish: null,
      pendingText: '',
      logprobs: request.returnLogprob ? emptyLogprobs(request) : null,
      inputLogprobsDone: false,
      inputLogprobsSent: false,
      grammar,
    });
    return [];
  }

  /**
   * A step that threw (a kernel error, a bug): its requests end with a 500, their memory is freed
   * without caching this step's (invalid) KV, and every other request carries on.
   */
  private failStep(step: ScheduledStep, e: Error): EngineOutput[] {
    process.stderr.write(`tsgl: engine step failed; aborting its ${step.reqs.length} request(s): ${e.stack ?? e.message}\n`);
    const message = `Internal server error: ${e.message}`;
    const failed = this.scheduler.failStep(step, { type: 'abort', message, status_code: 500, err_type: 'InternalServerError' });
    return failed.map((req) => {
      this.dropExtras(req);
      return failedOutput(req.rid, message, 500, 'InternalServerError');
    });
  }

  private dropExtras(req: Req): void {
    const slot = this.extras.get(req)?.grammar ?? null;
    if (slot !== null) this.opts.grammars?.free(slot);
    this.extras.delete(req);
  }

  /** Aborts by rid prefix (or all); waiting requests finish now, running ones after their step. */
  abort(ridPrefix: string, abortAll = false): EngineOutput[] {
    const waiting = (this.opts.grammars?.abort(ridPrefix, abortAll) ?? []).map(([r, msg]) => grammarRejected(r, msg));
    return waiting.concat(this.scheduler.abort(ridPrefix, abortAll).map((req) => {
      this.dropExtras(req);
      return this.output(req, '', [], null);
    }));
  }

  /** Runs one step; returns the outputs to deliver ([] when idle). */
  step(): EngineOutput[] {
    const outputs: EngineOutput[] = [];
    if (this.opts.grammars && this.opts.grammars.numWaiting > 0) {
      const { ready, failed } = this.opts.grammars.poll();
      for (const [r, msg] of failed) outputs.push(grammarRejected(r, msg));
      for (const [r, m] of ready) outputs.push(...this.addNow(r, m));
    }
    const step = this.scheduler.schedule();
    if (step === null) return outputs;
    this.opts.batchLog?.onStep(step, () => this.scheduler.stats());
    let sampled: Int32Array;
    try {
      const logits = this.runner.forward(step.batch);
      this.inputLogprobs(step, logits);
      sampled = this.sample(step, logits);
    } catch (e) {
      return outputs.concat(this.failStep(step, e as Error));
    }
    const updated = this.scheduler.complete(step, sampled, (req) => this.extras.get(req)?.pendingFinish ?? null);
    this.numSteps++;
    this.numGeneratedTokens += step.sampleReqs.length;
    for (const req of updated) {
      const ex = this.extras.get(req);
      if (!ex || !shouldEmit(req, this.opts.streamInterval)) continue;
      if (req.finished) {
        ex.pendingText += ex.stop.finishReason ? '' : ex.stop.flush();
        this.dropExtras(req);
      }
      const text = ex.pendingText;
      ex.pendingText = '';
      const ids = req.outputIds.slice(req.sentOutputLen);
      req.sentOutputLen = req.outputIds.length;
      outputs.push(this.output(req, text, ids, takeLogprobs(ex)));
    }
    return outputs;
  }

  /** Samples one token per sampling request and runs detokenization and finish checks on it. */
  private sample(step: ScheduledStep, logits: Float32Array): Int32Array {
    const V = this.runner.vocabSize;
    const n = step.sampleReqs.length;
    let rowsBuf = logits;
    if (!step.sampleLogitRow.every((row, i) => row === i)) {
      if (this.sampleScratch.length < n * V) this.sampleScratch = new Float32Array(n * V);
      step.sampleLogitRow.forEach((row, i) => this.sampleScratch.set(logits.subarray(row * V, (row + 1) * V), i * V));
      rowsBuf = this.sampleScratch;
    }
    this.applyBatchMasks(step, rowsBuf);
    const rows: SampleRow[] = step.sampleReqs.map((req) => {
      const ex = this.extras.get(req)!;
      const r = req.request;
      return {
        params: r.sampling, state: ex.samplerState, returnLogprob: r.returnLogprob,
        topLogprobsNum: r.topLogprobsNum, tokenIdsLogprob: r.tokenIdsLogprob,
      };
    });
    const out = this.sampler.sample(rowsBuf, rows);
    const terminated = this.acceptGrammars(step, out.tokenIds);
    step.sampleReqs.forEach((req, i) => {
      const ex = this.extras.get(req)!;
      const token = out.tokenIds[i]!;
      const delta = ex.detok ? ex.detok.push([token]) : '';
      const res = ex.stop.check(token, delta, terminated?.has(i) ?? false);
      ex.pendingFinish = res.finishReason;
      ex.pendingText += res.text;
      if (ex.logprobs) {
        ex.logprobs.outputTokenLogprobs.push([out.logprobs[i]!, token]);
        if (req.request.topLogprobsNum > 0) ex.logprobs.outputTopLogprobs!.push(out.topLogprobs[i] ?? []);
        if (req.request.tokenIdsLogprob) ex.logprobs.outputTokenIdsLogprobs!.push(out.tokenIdsLogprobs[i] ?? []);
      }
    });
    return out.tokenIds;
  }

  /**
   * Gets every constrained row's mask from the grammar worker into [n, words] rows (all ones for
   * unconstrained rows) and applies them all to the logits in one native pass, so the sampler
   * sees already-masked rows. Nothing to do when no row is constrained.
   */
  private applyBatchMasks(step: ScheduledStep, rowsBuf: Float32Array): void {
    const g = this.opts.grammars;
    if (!g) return;
    const slots = step.sampleReqs.map((req) => this.extras.get(req)!.grammar);
    if (slots.every((s) => s === null)) return;
    const words = g.words;
    const n = slots.length;
    if (this.batchMask.length < n * words) this.batchMask = new Uint32Array(n * words);
    g.fillMasks(slots, this.batchMask);
    this.opts.applyTokenBitmask(rowsBuf, n, this.runner.vocabSize, this.batchMask, words);
  }

  /** Advances the constrained rows' matchers on their sampled tokens; returns the rows whose grammar terminated. */
  private acceptGrammars(step: ScheduledStep, tokens: Int32Array): Set<number> | null {
    const g = this.opts.grammars;
    if (!g) return null;
    const rows: number[] = [];
    const slots: number[] = [];
    const toks: number[] = [];
    step.sampleReqs.forEach((req, i) => {
      const slot = this.extras.get(req)!.grammar;
      if (slot === null) return;
      rows.push(i);
      slots.push(slot);
      toks.push(tokens[i]!);
    });
    if (rows.length === 0) return null;
    const flags = g.accept(slots, toks);
    const terminated = new Set<number>();
    rows.forEach((row, k) => {
      if (!(flags[k]! & FLAG_ACCEPTED)) console.warn(`[tsgl] grammar rejected sampled token ${toks[k]} (rid ${step.sampleReqs[row]!.rid})`);
      if (flags[k]! & FLAG_TERMINATED) terminated.add(row);
    });
    return terminated;
  }

  /** Logprobs of prompt tokens from the input-logprob logit rows (row at position p scores token p+1). */
  private inputLogprobs(step: ScheduledStep, logits: Float32Array): void {
    const V = this.runner.vocabSize;
    // Rows beyond the sampled ones exist only when some request asked for input logprobs (no
    // set built, nothing allocated, on the common step).
    const sampleRows = step.batch.numLogitRows > step.sampleLogitRow.length ? new Set(step.sampleLogitRow) : null;
    for (let k = 0; sampleRows !== null && k < step.batch.numLogitRows; k++) {
      if (sampleRows.has(k)) continue;
      const req = step.logitRowReqs[k]!;
      const ex = this.extras.get(req);
      if (!ex?.logprobs) continue;
      const pos = step.logitRowPos[k]!;
      const r = req.request;
      const lp = rowLogprobs(logits, k * V, V, req.originInputIds[pos + 1]!, r.topLogprobsNum, r.tokenIdsLogprob);
      ex.logprobs.inputTokenLogprobs!.push([lp.logprob, req.originInputIds[pos + 1]!]);
      if (r.topLogprobsNum > 0) ex.logprobs.inputTopLogprobs!.push(lp.top);
      if (r.tokenIdsLogprob) ex.logprobs.inputTokenIdsLogprobs!.push(lp.ids);
    }
    for (const req of step.sampleReqs) {
      const ex = this.extras.get(req);
      if (!ex?.logprobs || ex.inputLogprobsDone) continue;
      // The first input logprob entry (at logprobStartLen) is always null, as SGLang returns it.
      const first: TokenLogprob = [null, req.originInputIds[req.logprobStartLen]!];
      ex.logprobs.inputTokenLogprobs!.unshift(first);
      if (req.request.topLogprobsNum > 0) ex.logprobs.inputTopLogprobs!.unshift(null);
      if (req.request.tokenIdsLogprob) ex.logprobs.inputTokenIdsLogprobs!.unshift(null);
      ex.inputLogprobsDone = true;
    }
  }

  private rejected(req: Req): EngineOutput {
    return { ...this.output(req, '', [], null), errorStatus: req.errorStatus };
  }

  private output(req: Req, text: string, outputIds: number[], logprobs: LogprobDelta | null): EngineOutput {
    const beforePrefill = req.finishReason?.type === 'abort' && req.finishReason.message === 'Abort before prefill';
    const o: EngineOutput = {
      rid: req.rid,
      outputIds,
      text,
      finished: req.finished,
      finishReason: req.finishReason,
      promptTokens: beforePrefill ? 0 : req.originInputIds.length,
      completionTokens: req.outputIds.length,
      cachedTokens: req.cachedTokens,
    };
    if (logprobs) o.logprobs = logprobs;
    if (req.errorStatus !== undefined) o.errorStatus = req.errorStatus;
    return o;
  }
}

/** The finished output of a request that never reached the scheduler (grammar errors, 400). */
function grammarRejected(r: EngineRequest, message: string): EngineOutput {
  return {
    rid: r.rid, outputIds: [], text: '', finished: true,
    finishReason: { type: 'abort', message, status_code: 400, err_type: 'BadRequestError' },
    promptTokens: r.inputIds.length, completionTokens: 0, cachedTokens: 0, errorStatus: 400,
  };
}

function emptyLogprobs(r: EngineRequest): LogprobDelta {
  const d: LogprobDelta = { inputTokenLogprobs: [], outputTokenLogprobs: [] };
  if (r.topLogprobsNum > 0) { d.inputTopLogprobs = []; d.outputTopLogprobs = []; }
  if (r.tokenIdsLogprob) { d.inputTokenIdsLogprobs = []; d.outputTokenIdsLogprobs = []; }
  return d;
}

/** Hands over the accumulated logprob deltas; input logprobs go out once, with the first output. */
function takeLogprobs(ex: ReqExtras): LogprobDelta | null {
  const d = ex.logprobs;
  if (!d) return null;
  const next: LogprobDelta = { outputTokenLogprobs: [] };
  if (d.outputTopLogprobs) next.outputTopLogprobs = [];
  if (d.outputTokenIdsLogprobs) next.outputTokenIdsLogprobs = [];
  const out: LogprobDelta = { ...d };
  if (ex.inputLogprobsDone && !ex.inputLogprobsSent) {
    ex.inputLogprobsSent = true;
  } else {
    delete out.inputTokenLogprobs;
    delete out.inputTopLogprobs;
    delete out.inputTokenIdsLogprobs;
    // Still scoring the prompt: keep its input arrays for the next output.
    if (!ex.inputLogprobsDone) {
      next.inputTokenLogprobs = d.inputTokenLogprobs;
      next.inputTopLogprobs = d.inputTopLogprobs;
      next.inputTokenIdsLogprobs = d.inputTokenIdsLogprobs;
    }
  }
  ex.logprobs = next;
  return out;
}
