/**
 * Synthetic datasets of `tsgl bench_serving`, as token ids (no tokenizer needed), following
 * SGLang 0.5.2 bench_serving:
 * - `random-ids`: input lengths uniform in [max(floor(in * ratio), 1), in], output lengths in
 *   [floor(out * ratio), out] (raised to at least 1 here; SGLang allows 0); prompt i is
 *   (offset_i + i + j) % vocab for j < len with a random offset_i.
 * - `generated-shared-prefix`: per group a system prompt of random vocabulary ids, per prompt a
 *   random question; prompt = system + question, all prompts shuffled. SGLang joins the two
 *   texts with "\n\n"; with ids the separator is optional (`separator`).
 * Deterministic for a seed (own PRNG: xoshiro128**, seeded by splitmix32).
 */

export interface DatasetRow {
  prompt: number[];
  promptLen: number;
  outputLen: number;
  /** generated-shared-prefix: the group (system prompt) index. */
  group?: number;
}

/** Seeded PRNG; same seed, same sequence, on every platform. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Exponential with the given mean. */
  exponential(meanValue: number): number {
    return -Math.log(1 - this.next()) * meanValue;
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export interface RandomIdsOptions {
  inputLen: number;
  outputLen: number;
  numPrompts: number;
  rangeRatio: number;
  vocabSize: number;
}

export function sampleRandomIds(o: RandomIdsOptions, rng: Rng): DatasetRow[] {
  if (o.vocabSize < 1) throw new RangeError('vocab size must be >= 1');
  const inLo = Math.max(Math.floor(o.inputLen * o.rangeRatio), 1);
  const outLo = Math.max(Math.floor(o.outputLen * o.rangeRatio), 1);
  const inLens = Array.from({ length: o.numPrompts }, () => rng.int(inLo, Math.max(o.inputLen, inLo)));
  const outLens = Array.from({ length: o.numPrompts }, () => rng.int(outLo, Math.max(o.outputLen, outLo)));
  const rows: DatasetRow[] = [];
  for (let i = 0; i < o.numPrompts; i++) {
    const offset = rng.int(0, o.vocabSize - 1);
    const len = inLens[i]!;
    const prompt = new Array<number>(len);
    for (let j = 0; j < len; j++) prompt[j] = (offset + i + j) % o.vocabSize;
    rows.push({ prompt, promptLen: len, outputLen: outLens[i]! });
  }
  return rows;
}

export interface SharedPrefixOptions {
  numGroups: number;
  promptsPerGroup: number;
  systemPromptLen: number;
  questionLen: number;
  outputLen: number;
  vocabSize: number;
  /** ids placed between system prompt and question (default none). */
  separator?: number[];
  /** keep group order (group 0's prompts first) instead of SGLang's shuffle. */
  noShuffle?: boolean;
}

export function sampleGeneratedSharedPrefix(o: SharedPrefixOptions, rng: Rng): DatasetRow[] {
  const randIds = (n: number) => Array.from({ length: n }, () => rng.int(0, o.vocabSize - 1));
  const systems = Array.from({ length: o.numGroups }, () => randIds(o.systemPromptLen));
  const questions = Array.from({ length: o.numGroups * o.promptsPerGroup }, () => randIds(o.questionLen));
  const sep = o.separator ?? [];
  const rows: DatasetRow[] = [];
  for (let g = 0; g < o.numGroups; g++) {
    for (let p = 0; p < o.promptsPerGroup; p++) {
      const prompt = [...systems[g]!, ...sep, ...questions[g * o.promptsPerGroup + p]!];
      rows.push({ prompt, promptLen: prompt.length, outputLen: o.outputLen, group: g });
    }
  }
  return o.noShuffle ? rows : rng.shuffle(rows);
}

/**
 * Send times (seconds from start) of n requests: all at 0 for an infinite rate, else a Poisson
 * process (SGLang sends request k, then sleeps an exponential interval of mean 1/rate).
 */
export function arrivalTimes(n: number, requestRate: number, rng: Rng): number[] {
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    out.push(t);
    if (Number.isFinite(requestRate)) t += rng.exponential(1 / requestRate);
  }
  return out;
}
