/**
 * Rotary embedding frequencies. All scaling schemes are folded into one inverse-frequency table,
 * so the native kernel only computes angle = position * invFreq[i].
 *
 * Invariants: the table has rotaryDim / 2 entries; computed in float64, stored as float32.
 */
import type { RopeScaling } from './model-config.js';

export function ropeInvFreq(
  rotaryDim: number, theta: number, scaling: RopeScaling, freqFactors?: Float32Array,
): Float32Array {
  const half = rotaryDim / 2;
  const out = new Float32Array(half); // [rotaryDim / 2]
  for (let i = 0; i < half; i++) {
    let inv = 1 / Math.pow(theta, (2 * i) / rotaryDim);
    if (scaling.type === 'linear') inv /= scaling.factor;
    else if (scaling.type === 'llama3') inv = llama3Scale(inv, scaling);
    if (freqFactors) inv /= freqFactors[i]!;
    out[i] = inv;
  }
  return out;
}

/** Llama 3.1 frequency-dependent scaling (transformers `_compute_llama3_parameters`). */
function llama3Scale(inv: number, s: Extract<RopeScaling, { type: 'llama3' }>): number {
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  const wavelen = (2 * Math.PI) / inv;
  if (wavelen < highFreqWavelen) return inv;
  if (wavelen > lowFreqWavelen) return inv / s.factor;
  const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return (1 - smooth) * (inv / s.factor) + smooth * inv;
}
