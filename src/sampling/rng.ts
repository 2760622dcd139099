/**
 * Seeded pseudo-random generator for sampling: xoshiro128** (32-bit state words, period 2^128-1),
 * seeded through splitmix32 so that nearby seeds give unrelated streams.
 *
 * Invariants:
 * - The same seed always yields the same sequence, on every platform (only 32-bit integer ops).
 * - The state is never all zero (xoshiro's one forbidden state).
 * - `nextFloat()` is uniform on [0, 1) with 53 random bits; it consumes two 32-bit draws.
 */

/** One splitmix32 step: returns the mixed output for counter `x` (any int32). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

const TWO_POW_32 = 4294967296;

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** `seed`: any finite number; integers up to 2^53 (and negatives) are all distinct seeds. */
  constructor(seed: number) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be finite, got ${seed}.`);
    const int = Math.trunc(seed);
    const lo = int % TWO_POW_32 | 0;
    const hi = Math.floor(int / TWO_POW_32) | 0;
    // Counter-based splitmix over (lo, hi): every state word depends on both halves.
    let x = lo ^ Math.imul(splitmix32(hi), 0x85ebca6b);
    x = (x + 0x632be5ab) | 0;
    this.s0 = splitmix32(x);
    this.s1 = splitmix32(x + 0x3c6ef372);
    this.s2 = splitmix32(x + 0xdaa66d2b);
    this.s3 = splitmix32(x + 0x78dde6e4);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform float in [0, 1) with 53 bits of precision. */
  nextFloat(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Snapshot of the 128-bit state (for checkpointing a request). */
  getState(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  setState(state: readonly [number, number, number, number]): void {
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v | 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }
}
