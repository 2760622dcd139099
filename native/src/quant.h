/*
 * GGML block layouts and exact scalar conversions shared by every kernel variant.
 *
 * Invariants:
 * - Block structs match ggml-common.h byte for byte (static_asserts below).
 * - f16/bf16 -> f32 are exact; f32 -> f16/bf16 round to nearest even (NaN stays NaN).
 * - BlockQ8A is the internal activation format for int8 dot products: 32 int8 values, the
 *   scale d (already rounded through fp16, as llama.cpp's block_q8_0 stores it) and the sum of
 *   the 32 values (used by the unsigned-times-signed SIMD tricks).
 * - This header is included before any `#pragma GCC target` so its inline functions are
 *   compiled for the baseline ISA when emitted out of line.
 */
#pragma once

#include <cstdint>
#include <cstring>

namespace tsgl {

constexpr int QK8_0 = 32;
constexpr int QK4_0 = 32;
constexpr int QK_K = 256;

struct BlockQ8_0 {
  uint16_t d;     // fp16 scale
  int8_t qs[32];  // value = qs[j] * d
};
struct BlockQ4_0 {
  uint16_t d;      // fp16 scale
  uint8_t qs[16];  // j < 16: low nibble of qs[j]; j >= 16: high nibble of qs[j-16]; value (q-8)*d
};
struct BlockQ4_K {
  uint16_t d;          // fp16 super-scale for the 6-bit sub-block scales
  uint16_t dmin;       // fp16 super-scale for the 6-bit sub-block mins
  uint8_t scales[12];  // 8 (scale, min) pairs, 6 bits each
  uint8_t qs[128];     // 4-bit quants: 64-element groups, low nibbles then high nibbles
};
struct BlockQ6_K {
  uint8_t ql[128];    // low 4 bits
  uint8_t qh[64];     // high 2 bits
  int8_t scales[16];  // 8-bit sub-block scales (16 sub-blocks of 16)
  uint16_t d;         // fp16 super-scale
};
static_assert(sizeof(BlockQ8_0) == 34, "block_q8_0 layout");
static_assert(sizeof(BlockQ4_0) == 18, "block_q4_0 layout");
static_assert(sizeof(BlockQ4_K) == 144, "block_q4_K layout");
static_assert(sizeof(BlockQ6_K) == 210, "block_q6_K layout");

struct BlockQ8A {
  float d;        // fp16-rounded scale (amax / 127)
  int32_t sum;    // sum of qs
  int8_t qs[32];  // round-half-away-from-zero(x / d)
};

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0) {
    const float mag = static_cast<float>(mant) * 5.9604644775390625e-8f;  // mant * 2^-24, exact
    return bits_f32(sign | f32_bits(mag));
  }
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (mant << 13));
  return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7e00u;     // NaN
  if (ax >= 0x47800000u) return sign | 0x7c00u;    // >= 65536 (and inf) -> inf
  if (ax >= 0x38800000u) {                         // normal half range
    const uint32_t r = ax - 0x38000000u;           // rebias exponent 127 -> 15
    uint32_t h = r >> 13;
    const uint32_t rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into inf: correct
    return static_cast<uint16_t>(sign | h);
  }
  if (ax <= 0x33000000u) return sign;  // <= 2^-25 rounds to zero (tie to even)
  const uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  uint32_t h = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

inline float bf16_to_f32(uint16_t h) { return bits_f32(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// C roundf semantics (half away from zero) without calling libm, so SIMD code can match it.
inline float round_half_away(float x) {
  const float t = static_cast<float>(static_cast<int32_t>(x));  // |x| < 2^31 here
  const float diff = x - t;
  if (diff >= 0.5f) return t + 1.0f;
  if (diff <= -0.5f) return t - 1.0f;
  return t;
}

// 6-bit (scale, min) pair j of a Q4_K block.
inline void q4k_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Reference quantizers (quant.cc). n is a multiple of the block size.
void quantize_row_q8_0(const float *x, BlockQ8_0 *y, int64_t n);
void quantize_row_q4_0(const float *x, BlockQ4_0 *y, int64_t n);

}  // namespace tsgl
