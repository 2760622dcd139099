/**
 * Batch sampler: turns a logits buffer [numRows, vocabSize] into one token per row, following
 * SGLang 0.5.2's pipeline (layers/sampler.py, sampling_batch_info.py, penaltylib):
 *   1. frequency / presence penalties over the request's OUTPUT token counts;
 *   2. min_new_tokens: -inf on stop_token_ids ∪ eos ids while output is shorter;
 *   3. grammar vocab mask (bit = 1 allowed);
 *   4. logit_bias;
 *   5. top_k == 1: argmax (lowest id on ties), logprobs = log_softmax(processed logits);
 *      else probs = softmax(logits / T), keep the sorted prefix allowed by top_k, top_p (exclusive
 *      cumsum <= top_p, on the unfiltered probs) and min_p (p >= p_max * min_p), sample from what
 *      survives; logprobs = log(probs) after temperature, before filtering (-inf clamped to the
 *      float32 minimum, as torch's clamp does).
 *
 * Invariants:
 * - Steps 1-4 modify the logits buffer in place (as SGLang does); callers must not reuse it.
 * - Each request owns a `SamplerState` (output counts + its own RNG). A request with a seed draws
 *   from an RNG seeded by it; one without draws from an RNG seeded once, at state creation, by the
 *   server generator (`randomSeed`). Either way a request's tokens do not depend on which other
 *   requests share its batch. Only non-greedy rows consume random numbers (one float per token).
 * - No full sort of the vocabulary: one pass finds the max, one pass builds a histogram of the
 *   scaled gaps g = (max - l) / T (counts, and probability mass when needed) in NB buckets, the
 *   bucket histogram bounds the candidate set for top_k / top_p / min_p, and only those candidates
 *   are copied and (natively) sorted. Scratch buffers are allocated once per Sampler.
 * - Ties: argmax and top-k/top-p boundaries keep the lowest token ids.
 * - A top_k == 1 row always gets the all-greedy formula (log_softmax without temperature).
 *   SGLang gives such a row log(softmax(l / T)) when its batch also holds sampled rows; we
 *   choose the batch-independent reading.
 * - exp is `expNeg` (table + polynomial, ~2x Math.exp, relative error < 3e-10).
 * - The result of `sample()` holds views into scratch buffers, valid until the next call.
 */
import type { SamplingParams, TokenLogprob } from '../engine/types.js';
import { Rng } from './rng.js';

/** Float32 lowest finite value: where torch clamps log(0). */
export const F32_LOWEST = -3.4028234663852886e38;

/** Histogram layout: NB buckets of width 1/BPU over g in [0, NB/BPU); the last one also takes the rest. */
const BPU = 16;
const NB = 512;
const G_MAX = (NB - 1) / BPU;

/** Per-request sampling state, created once per request (`Sampler.newState`). */
export class SamplerState {
  /** token id -> times it appeared in the output (kept only when a penalty needs it). */
  readonly counts = new Map<number, number>();
  /** Output tokens so far (min_new_tokens). */
  numOutput = 0;
  readonly rng: Rng;
  private readonly trackCounts: boolean;

  constructor(params: SamplingParams, rng: Rng) {
    this.rng = rng;
    this.trackCounts = params.frequencyPenalty !== 0 || params.presencePenalty !== 0;
  }

  /** Record one output token (sample() does this unless told not to). */
  record(tokenId: number): void {
    this.numOutput++;
    if (this.trackCounts) this.counts.set(tokenId, (this.counts.get(tokenId) ?? 0) + 1);
  }
}

/** One row of a batch. */
export interface SampleRow {
  params: SamplingParams;
  state: SamplerState;
  /** [ceil(vocabSize / 32)] bit (id & 31) of word (id >> 5) = 1 if allowed; null = no grammar. */
  grammarMask?: Uint32Array | null;
  returnLogprob?: boolean;
  /** Top-N logprobs to return (0 = none). */
  topLogprobsNum?: number;
  /** Token ids whose logprobs to return. */
  tokenIdsLogprob?: readonly number[] | null;
}

export interface SampleOutput {
  tokenIds: Int32Array; // [numRows]
  /** Logprob of each sampled token; NaN where the row did not ask. */
  logprobs: Float64Array; // [numRows]
  /** Per row: [logprob, id] sorted by logprob descending (ties: lower id first), or null. */
  topLogprobs: (TokenLogprob[] | null)[];
  /** Per row: [logprob, id] in request order (logprob null for an id outside the vocab), or null. */
  tokenIdsLogprobs: (TokenLogprob[] | null)[];
}

export interface SamplerOptions {
  vocabSize: number;
  /** Ids min_new_tokens blocks besides stop_token_ids: tokenizer eos + additional stop ids. */
  eosTokenIds?: readonly number[];
  /** `--random-seed`: seeds the generator that seeds requests without their own seed. */
  randomSeed?: number;
  /** RETURN_ORIGINAL_LOGPROB: logprobs from the pre-temperature distribution. */
  returnOriginalLogprob?: boolean;
  /**
   * A faster row-wise argmax (e.g. the native multithreaded one): out[r] = argmax of row r of
   * x [rows, n], lowest index on ties. Used when every row of a batch is plain greedy.
   */
  argmaxRows?: (out: Int32Array, x: Float32Array, rows: number, n: number) => void;
}

/** Greedy with nothing that changes the logits or asks for logprobs: argmax of the raw row. */
function isPlainGreedy(row: SampleRow): boolean {
  const p = row.params;
  return p.topK === 1 && p.frequencyPenalty === 0 && p.presencePenalty === 0 && !p.logitBias?.size &&
    p.minNewTokens <= row.state.numOutput && !row.grammarMask && !row.returnLogprob &&
    !row.topLogprobsNum && !row.tokenIdsLogprob?.length;
}

/** Log-softmax statistics of a row in some scale: logprob(i) = (l[i] - max) * scale - logZ. */
interface LpStats {
  max: number;
  scale: number;
  logZ: number;
  clamp: boolean;
}

export class Sampler {
  readonly vocabSize: number;
  private readonly eosIds: readonly number[];
  private readonly serverRng: Rng;
  private readonly returnOriginal: boolean;
  private readonly fastArgmax: SamplerOptions['argmaxRows'];
  // Scratch, allocated once.
  private tokenIds = new Int32Array(0); // [capacity rows]
  private logprobs = new Float64Array(0); // [capacity rows]
  private readonly counts = new Int32Array(NB); // [NB] tokens per gap bucket
  private readonly mass = new Float64Array(NB); // [NB] unnormalized probability per gap bucket
  private readonly candIdx: Int32Array; // [vocab] candidate token ids, ascending
  private readonly candVal: Float32Array; // [vocab] their logits, then sorted copy
  private readonly weights: Float64Array; // [vocab] exp(-g) of candidates / of all tokens

  constructor(opts: SamplerOptions) {
    this.vocabSize = opts.vocabSize;
    this.eosIds = opts.eosTokenIds ?? [];
    this.serverRng = new Rng(opts.randomSeed ?? 0);
    this.returnOriginal = opts.returnOriginalLogprob ?? false;
    this.fastArgmax = opts.argmaxRows;
    this.candIdx = new Int32Array(opts.vocabSize);
    this.candVal = new Float32Array(opts.vocabSize);
    this.weights = new Float64Array(opts.vocabSize);
  }

  /** Create a request's state (once per request, in arrival order for unseeded requests). */
  newState(params: SamplingParams): SamplerState {
    // Unseeded: a 53-bit seed from the server generator (two draws).
    const seed = params.seed ?? this.serverRng.nextU32() * 2097152 + (this.serverRng.nextU32() >>> 11);
    return new SamplerState(params, new Rng(seed));
  }

  /**
   * Sample one token per row. `logits`: [rows.length, vocabSize] (modified in place).
   * `record` (default true): append each sampled token to its row's state.
   */
  sample(logits: Float32Array, rows: readonly SampleRow[], record = true): SampleOutput {
    const n = rows.length;
    const V = this.vocabSize;
    if (logits.length < n * V) throw new RangeError(`logits has ${logits.length} values, need ${n * V}.`);
    if (this.tokenIds.length < n) {
      this.tokenIds = new Int32Array(n);
      this.logprobs = new Float64Array(n);
    }
    const out: SampleOutput = {
      tokenIds: this.tokenIds.subarray(0, n),
      logprobs: this.logprobs.subarray(0, n),
      topLogprobs: new Array(n).fill(null),
      tokenIdsLogprobs: new Array(n).fill(null),
    };
    if (this.fastArgmax && n > 1 && rows.every(isPlainGreedy)) {
      this.fastArgmax(out.tokenIds, logits, n, V);
      out.logprobs.fill(NaN);
      if (record) for (let r = 0; r < n; r++) rows[r]!.state.record(out.tokenIds[r]!);
      return out;
    }
    for (let r = 0; r < n; r++) {
      const row = rows[r]!;
      const off = r * V;
      this.processLogits(logits, off, row);
      const tok = this.pickToken(logits, off, row, out, r);
      out.tokenIds[r] = tok;
      if (record) row.state.record(tok);
    }
    return out;
  }

  /** Steps 1-4: penalties, min_new_tokens, grammar mask, logit_bias (in place). */
  private processLogits(l: Float32Array, off: number, row: SampleRow): void {
    const p = row.params;
    const st = row.state;
    if (p.frequencyPenalty !== 0 || p.presencePenalty !== 0) {
      for (const [id, c] of st.counts) {
        if (p.frequencyPenalty !== 0) l[off + id] = l[off + id]! - p.frequencyPenalty * c;
        if (p.presencePenalty !== 0) l[off + id] = l[off + id]! - p.presencePenalty;
      }
    }
    if (st.numOutput < p.minNewTokens) {
      for (const id of p.stopTokenIds) if (id >= 0 && id < this.vocabSize) l[off + id] = -Infinity;
      for (const id of this.eosIds) if (id >= 0 && id < this.vocabSize) l[off + id] = -Infinity;
    }
    if (row.grammarMask) applyGrammarMask(l, off, this.vocabSize, row.grammarMask);
    if (p.logitBias) for (const [id, b] of p.logitBias) l[off + id] = l[off + id]! + b;
  }

  /** Step 5 and logprobs for one row. */
  private pickToken(l: Float32Array, off: number, row: SampleRow, out: SampleOutput, r: number): number {
    const V = this.vocabSize;
    const wantLp = row.returnLogprob === true || (row.topLogprobsNum ?? 0) > 0 || (row.tokenIdsLogprob?.length ?? 0) > 0;
    let tok: number;
    let stats: LpStats | null = null;
    if (row.params.topK === 1) {
      tok = argmax(l, off, V);
      if (wantLp) stats = lseStats(l, off, V, 1, false, l[off + tok]!);
    } else {
      const invT = 1 / row.params.temperature;
      const max = l[off + argmax(l, off, V)]!;
      if (max === -Infinity || Number.isNaN(max)) {
        tok = argmax(l, off, V); // every token masked: nothing to sample from
        if (wantLp) stats = { max: 0, scale: invT, logZ: Infinity, clamp: true };
      } else {
        const logZ = this.sampleFiltered(l, off, row, max, invT, wantLp && !this.returnOriginal);
        tok = this.lastToken;
        if (wantLp) stats = this.returnOriginal ? lseStats(l, off, V, 1, true) : { max, scale: invT, logZ, clamp: true };
      }
    }
    out.logprobs[r] = stats ? lpOf(l, off, tok, stats) : NaN;
    if (stats && (row.topLogprobsNum ?? 0) > 0) out.topLogprobs[r] = topLogprobs(l, off, V, row.topLogprobsNum!, stats);
    if (stats && row.tokenIdsLogprob?.length) {
      out.tokenIdsLogprobs[r] = row.tokenIdsLogprob.map((id): TokenLogprob =>
        Number.isInteger(id) && id >= 0 && id < V ? [lpOf(l, off, id, stats), id] : [null, id]);
    }
    return tok;
  }

  private lastToken = 0;

  /**
   * Non-greedy sampling with top_k / top_p / min_p. Sets `lastToken`; returns log Z of the
   * scaled distribution when `needZ` or top_p needs it (else NaN).
   */
  private sampleFiltered(l: Float32Array, off: number, row: SampleRow, max: number, invT: number, needZ: boolean): number {
    const p = row.params;
    const V = this.vocabSize;
    const topK = Math.min(p.topK, V);
    const filterK = topK < V;
    const filterP = p.topP < 1;
    const gMinP = p.minP > 0 ? -Math.log(p.minP) : Infinity;
    const u = row.state.rng.nextFloat();
    if (!filterK && !filterP && gMinP === Infinity) {
      return this.sampleFull(l, off, max, invT, u);
    }
    const z = this.histogram(l, off, max, invT, filterP || needZ);
    const bLimit = this.bucketLimit(topK, filterK, filterP ? p.topP * z : -1, gMinP);
    const nc = this.collect(l, off, max, invT, bLimit, gMinP);
    const keep = this.keepCount(nc, topK, filterP ? p.topP * z : -1, max, invT);
    this.lastToken = this.drawFromCandidates(this.numCand, keep, max, invT, u);
    return needZ || filterP ? Math.log(z) : NaN;
  }

  /** No filter: inverse-CDF draw over the whole vocabulary. Returns log Z. */
  private sampleFull(l: Float32Array, off: number, max: number, invT: number, u: number): number {
    const V = this.vocabSize;
    const w = this.weights;
    let z = 0;
    for (let i = 0; i < V; i++) {
      const e = expNeg((max - l[off + i]!) * invT);
      w[i] = e;
      z += e;
    }
    const target = u * z;
    let acc = 0;
    let last = 0;
    for (let i = 0; i < V; i++) {
      const e = w[i]!;
      if (e === 0) continue;
      last = i;
      acc += e;
      if (acc > target) break;
    }
    this.lastToken = last;
    return Math.log(z);
  }

  /** Gap histogram: counts (and mass when `withMass`) per bucket. Returns Z (or NaN). */
  private histogram(l: Float32Array, off: number, max: number, invT: number, withMass: boolean): number {
    const V = this.vocabSize;
    const counts = this.counts;
    const mass = this.mass;
    counts.fill(0);
    if (!withMass) {
      for (let i = 0; i < V; i++) counts[bucketOf((max - l[off + i]!) * invT)]!++;
      return NaN;
    }
    mass.fill(0);
    let z = 0;
    for (let i = 0; i < V; i++) {
      const g = (max - l[off + i]!) * invT;
      const b = bucketOf(g);
      const e = expNeg(g);
      counts[b]!++;
      mass[b]! += e;
      z += e;
    }
    return z;
  }

  /** Last bucket that can hold a survivor: bounded by top_k (counts), top_p (mass), min_p (gap). */
  private bucketLimit(topK: number, filterK: boolean, pMass: number, gMinP: number): number {
    let limit = NB - 1;
    if (filterK) {
      let c = 0;
      for (let b = 0; b < NB; b++) {
        c += this.counts[b]!;
        if (c >= topK) {
          limit = b;
          break;
        }
      }
    }
    if (pMass >= 0) {
      let m = 0;
      for (let b = 0; b < limit; b++) {
        m += this.mass[b]!;
        if (m >= pMass) {
          limit = Math.min(limit, b + 1); // one bucket of margin for rounding
          break;
        }
      }
    }
    return Math.min(limit, bucketOf(gMinP));
  }

  /** Copy tokens in buckets <= limit with g <= gMinP into candIdx/candVal (ascending ids). */
  private collect(l: Float32Array, off: number, max: number, invT: number, limit: number, gMinP: number): number {
    const V = this.vocabSize;
    const idx = this.candIdx;
    const val = this.candVal;
    let n = 0;
    for (let i = 0; i < V; i++) {
      const v = l[off + i]!;
      const g = (max - v) * invT;
      if (bucketOf(g) <= limit && g <= gMinP) {
        idx[n] = i;
        val[n++] = v;
      }
    }
    return n;
  }

  /**
   * How many of the nc candidates survive top_k and top_p (they are a prefix of the sorted
   * order). Returns nc when all survive; otherwise sets cutValue/cutCount: values above the cut
   * survive, plus the first cutCount (lowest ids) equal to it. Uses `weights` as sort space.
   * May first compact the candidates to exactly top_k (quickselect) when there are many more.
   */
  private keepCount(nc: number, topK: number, pMass: number, max: number, invT: number): number {
    if (nc > 2 * topK + 256) nc = this.compactTopK(nc, topK);
    this.numCand = nc;
    if (nc <= topK && pMass < 0) return nc;
    const sorted = new Float32Array(this.weights.buffer, 0, nc); // scratch bytes, free until the draw
    sorted.set(this.candVal.subarray(0, nc));
    sorted.sort(); // ascending; read from the end
    let keep = Math.min(nc, topK);
    if (pMass >= 0) {
      let excl = 0;
      for (let r = 0; r < keep; r++) {
        if (excl > pMass) {
          keep = r;
          break;
        }
        excl += expNeg((max - sorted[nc - 1 - r]!) * invT);
      }
    }
    if (keep === nc) return nc;
    const cut = sorted[nc - keep]!;
    let atCut = 0;
    for (let r = 0; r < keep; r++) if (sorted[nc - 1 - r] === cut) atCut++;
    this.cutValue = cut;
    this.cutCount = atCut;
    return keep;
  }

  /** Keep exactly the top_k candidates (ties at the boundary: lowest ids), in id order. */
  private compactTopK(nc: number, topK: number): number {
    const tmp = new Float32Array(this.weights.buffer, 0, nc);
    tmp.set(this.candVal.subarray(0, nc));
    const cut = selectNth(tmp, nc, nc - topK);
    let above = 0;
    for (let j = 0; j < nc; j++) if (this.candVal[j]! > cut) above++;
    let atCut = topK - above;
    let m = 0;
    for (let j = 0; j < nc; j++) {
      const v = this.candVal[j]!;
      if (v > cut || (v === cut && atCut-- > 0)) {
        this.candVal[m] = v;
        this.candIdx[m++] = this.candIdx[j]!;
      }
    }
    return m;
  }

  /** Candidates left after compaction (drawFromCandidates reads this many). */
  private numCand = 0;
  private cutValue = 0;
  private cutCount = 0;

  /** Inverse-CDF draw among the surviving candidates (weights exp(-g), renormalized). */
  private drawFromCandidates(nc: number, keep: number, max: number, invT: number, u: number): number {
    const idx = this.candIdx;
    const val = this.candVal;
    const w = this.weights;
    const all = keep === nc;
    let atCut = this.cutCount;
    let s = 0;
    for (let j = 0; j < nc; j++) {
      const v = val[j]!;
      let e = 0;
      if (all || v > this.cutValue || (v === this.cutValue && atCut-- > 0)) e = expNeg((max - v) * invT);
      w[j] = e;
      s += e;
    }
    const target = u * s;
    let acc = 0;
    let last = idx[0]!;
    for (let j = 0; j < nc; j++) {
      const e = w[j]!;
      if (e === 0) continue;
      last = idx[j]!;
      acc += e;
      if (acc > target) break;
    }
    return last;
  }
}

/** Value at ascending position `pos` of a[0, n) (quickselect; reorders a). */
function selectNth(a: Float32Array, n: number, pos: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const x = a[lo]!;
    const y = a[(lo + hi) >> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y; // median of 3
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (pos <= j) hi = j;
    else if (pos >= i) lo = i;
    else return a[pos]!;
  }
  return a[pos]!;
}

const POW2_NEG = Float64Array.from({ length: 1101 }, (_, i) => Math.pow(2, i - 1100)); // [1101] 2^(i-1100)

/**
 * exp(-g) for g >= 0, about twice as fast as Math.exp in V8: 2^-g*log2(e) split into an integer
 * power (table) and 2^f, f in [-0.5, 0.5], by a degree-8 Taylor polynomial (relative error
 * < 3e-10 outside the subnormal range). +inf → 0, NaN → NaN.
 */
export function expNeg(g: number): number {
  if (!(g < 745)) return g === g ? 0 : NaN;
  const x = -g * Math.LOG2E;
  const k = (x + 1100.5) | 0;
  const t = (x - (k - 1100)) * Math.LN2;
  const p = 1 + t * (1 + t * (0.5 + t * (1 / 6 + t * (1 / 24 + t * (1 / 120 + t * (1 / 720 + t * (1 / 5040 + t / 40320)))))));
  return POW2_NEG[k]! * p;
}

/** Bucket of a scaled gap g >= 0 (NaN and +inf go to the last bucket). */
function bucketOf(g: number): number {
  return g < G_MAX ? (g * BPU) | 0 : NB - 1;
}

/** Index of the largest value in l[off, off+V); lowest index on ties; 0 if all are NaN. */
export function argmax(l: Float32Array, off: number, V: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < V; i++) {
    const v = l[off + i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** Set disallowed tokens to -inf. mask: [ceil(V/32)], bit = 1 allowed. */
export function applyGrammarMask(l: Float32Array, off: number, V: number, mask: Uint32Array): void {
  const words = Math.ceil(V / 32);
  for (let w = 0; w < words; w++) {
    const m = mask[w]! >>> 0;
    if (m === 0xffffffff) continue;
    const base = w * 32;
    const end = Math.min(32, V - base);
    for (let b = 0; b < end; b++) if (((m >>> b) & 1) === 0) l[off + base + b] = -Infinity;
  }
}

/** log-sum-exp stats of l * scale over a row. */
function lseStats(l: Float32Array, off: number, V: number, scale: number, clamp: boolean, max = l[off + argmax(l, off, V)]!): LpStats {
  return { max, scale, logZ: Math.log(sumExpNeg(l, off, V, max, scale)), clamp };
}

/** Σ exp((l[i] - max) * scale) over a row. (Hot loop kept alone so V8 optimizes it whole.) */
function sumExpNeg(l: Float32Array, off: number, V: number, max: number, scale: number): number {
  let z = 0;
  for (let i = 0; i < V; i++) z += expNeg((max - l[off + i]!) * scale);
  return z;
}

function lpOf(l: Float32Array, off: number, id: number, s: LpStats): number {
  const lp = (l[off + id]! - s.max) * s.scale - s.logZ;
  if (s.clamp && !(lp >= F32_LOWEST)) return F32_LOWEST;
  return Number.isNaN(lp) ? -Infinity : lp;
}

/**
 * Top-N [logprob, id] of a row: one scan keeping a small descending list (no sort of the
 * vocabulary). Ids are visited in ascending order and only a strictly larger value enters, so
 * ties keep the lower id first.
 */
function topLogprobs(l: Float32Array, off: number, V: number, topN: number, s: LpStats): TokenLogprob[] {
  const k = Math.min(topN, V);
  const ids = new Int32Array(k); // [k] kept ids, best first
  const vals = new Float64Array(k); // [k] their logits
  for (let i = 0; i < k; i++) insertTop(ids, vals, i, i, l[off + i]!);
  const last = k - 1;
  let floor = vals[last]!;
  for (let i = k; i < V; i++) {
    const v = l[off + i]!;
    if (v > floor) {
      insertTop(ids, vals, last, i, v);
      floor = vals[last]!;
    }
  }
  return Array.from(ids, (id): TokenLogprob => [lpOf(l, off, id, s), id]);
}

/** Insert (id, v) into the descending list ids/vals[0, n] (n = last slot it may take). */
function insertTop(ids: Int32Array, vals: Float64Array, n: number, id: number, v: number): void {
  let p = n;
  while (p > 0 && vals[p - 1]! < v) {
    vals[p] = vals[p - 1]!;
    ids[p] = ids[p - 1]!;
    p--;
  }
  vals[p] = v;
  ids[p] = id;
}

/**
 * Plain log_softmax logprobs of one row (no temperature): for input-token logprobs and for
 * re-scoring. Returns the logprob of `tokenId` (null if < 0), the top-N and the requested ids.
 */
export function rowLogprobs(
  logits: Float32Array,
  off: number,
  vocabSize: number,
  tokenId: number,
  topN = 0,
  tokenIds: readonly number[] | null = null,
): { logprob: number | null; top: TokenLogprob[] | null; ids: TokenLogprob[] | null } {
  const s = lseStats(logits, off, vocabSize, 1, false);
  return {
    logprob: tokenId >= 0 && tokenId < vocabSize ? lpOf(logits, off, tokenId, s) : null,
    top: topN > 0 ? topLogprobs(logits, off, vocabSize, topN, s) : null,
    ids: tokenIds?.length
      ? tokenIds.map((id): TokenLogprob => (id >= 0 && id < vocabSize ? [lpOf(logits, off, id, s), id] : [null, id]))
      : null,
  };
}
