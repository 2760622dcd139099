/*
 * AVX-512 (F, BW, VL, DQ) kernels, 16 floats per vector, in two tables that differ only in
 * the int8 block dots: `avx512` (maddubs, like AVX2) and `avx512vnni` (vpdpbusd, used when
 * the CPU has avx512_vnni). VNNI code is enabled per function, so nothing else in this file
 * can pick up VNNI instructions. Only called after runtime detection.
 *
 * Invariants: as for AVX2 (bit-identical conversions / dequantization / quantization /
 * element-wise ops; reductions differ from scalar only by summation order; polynomial exp).
 * Standard headers come before the target pragma.
 */
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdint>
#include <cstring>

#include "../../../include/kernels.h"
#include "../isa_kernels.h"

#pragma GCC push_options
// GCC 12's own avx512fintrin.h trips -Wuninitialized in the reduce helpers (_mm512_undefined_*).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#include <immintrin.h>

#define TSGL_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,avx512vnni")))

namespace tsgl {
namespace avx512 {

#include "../simd_common.inc"
#include "../simd256.inc"

static inline __m512 load_bf16x16(const uint16_t *s) {
  const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(s)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

static inline __m512 load_f16x16(const uint16_t *s) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(s)));
}

static void dequant_row(int dtype, const void *src, float *dst, int64_t n) {
  int64_t i = 0;
  const uint16_t *s = static_cast<const uint16_t *>(src);
  switch (dtype) {
    case TSGL_F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
    case TSGL_F16:
      for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load_f16x16(s + i));
      tail_dequant_f16(s, dst, i, n);
      break;
    case TSGL_BF16:
      for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load_bf16x16(s + i));
      tail_dequant_bf16(s, dst, i, n);
      break;
    case TSGL_Q8_0: {
      const BlockQ8_0 *b = static_cast<const BlockQ8_0 *>(src);
      for (int64_t k = 0; k < n / 32; ++k) {
        const __m512 d = _mm512_set1_ps(f16_to_f32(b[k].d));
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(b[k].qs));
        const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(b[k].qs + 16));
        _mm512_storeu_ps(dst + 32 * k, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), d));
        _mm512_storeu_ps(dst + 32 * k + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), d));
      }
      break;
    }
    case TSGL_Q4_0: {
      const BlockQ4_0 *b = static_cast<const BlockQ4_0 *>(src);
      const __m128i m4 = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
      for (int64_t k = 0; k < n / 32; ++k) {
        const __m512 d = _mm512_set1_ps(f16_to_f32(b[k].d));
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(b[k].qs));
        const __m128i lo = _mm_sub_epi8(_mm_and_si128(q, m4), eight);
        const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m4), eight);
        _mm512_storeu_ps(dst + 32 * k, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)), d));
        _mm512_storeu_ps(dst + 32 * k + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), d));
      }
      break;
    }
    case TSGL_Q4_K: dequant_q4_k(static_cast<const BlockQ4_K *>(src), dst, n / 256); break;
    case TSGL_Q6_K: dequant_q6_k(static_cast<const BlockQ6_K *>(src), dst, n / 256); break;
    default: break;
  }
}

static void store_row(int dtype, void *dst, const float *src, int64_t n) {
  if (dtype == TSGL_F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  uint16_t *d = static_cast<uint16_t *>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    const __m128i h = dtype == TSGL_F16 ? _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) : f32_to_bf16x8(v);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(d + i), h);
  }
  tail_store(dtype, dst, src, i, n);
}

static float dot_f32(const float *a, const float *b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

// --- int8 block dots with VNNI: (w + 128) as unsigned times x, minus 128 * sum(x) ---

TSGL_VNNI static float dot_q8_0_vnni(const BlockQ8A *x, const BlockQ8_0 *w, int64_t nb) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[i].qs));
    const __m256i wu = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(w[i].qs)), bias);
    __m256i p = _mm256_dpbusd_epi32(_mm256_setr_epi32(-128 * x[i].sum, 0, 0, 0, 0, 0, 0, 0), wu, xq);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(x[i].d * f16_to_f32(w[i].d)), acc);
  }
  return hsum(acc);
}

TSGL_VNNI static float dot_q4_0_vnni(const BlockQ8A *x, const BlockQ4_0 *w, int64_t nb) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[i].qs));
    __m256i p = _mm256_dpbusd_epi32(_mm256_setr_epi32(-8 * x[i].sum, 0, 0, 0, 0, 0, 0, 0), nibbles_q4_0(w[i].qs), xq);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(x[i].d * f16_to_f32(w[i].d)), acc);
  }
  return hsum(acc);
}

static void rms_norm_row(float *out, const float *x, const float *w, int64_t dim, float eps) {
  const float ss = dot_f32(x, x, dim);
  const float r = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
  const __m512 vr = _mm512_set1_ps(r);
  int64_t i = 0;
  for (; i + 16 <= dim; i += 16)
    _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), vr), _mm512_loadu_ps(w + i)));
  for (; i < dim; ++i) out[i] = x[i] * r * w[i];
}

static void add_row(float *out, const float *b, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_loadu_ps(out + i), _mm512_loadu_ps(b + i)));
  for (; i < n; ++i) out[i] += b[i];
}

static void add_rms_norm_row(float *res, const float *x, float *out, const float *w, int64_t dim, float eps) {
  add_row(res, x, dim);
  rms_norm_row(out, res, w, dim, eps);
}

static void rope_head(float *x, const float *c, const float *s, int64_t half, bool neox) {
  int64_t i = 0;
  if (neox) {
    for (; i + 16 <= half; i += 16) {
      const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + half);
      const __m512 vc = _mm512_loadu_ps(c + i), vs = _mm512_loadu_ps(s + i);
      _mm512_storeu_ps(x + i, _mm512_sub_ps(_mm512_mul_ps(x0, vc), _mm512_mul_ps(x1, vs)));
      _mm512_storeu_ps(x + i + half, _mm512_add_ps(_mm512_mul_ps(x0, vs), _mm512_mul_ps(x1, vc)));
    }
  } else {
    for (; i + 4 <= half; i += 4) {  // 4 pairs per 256-bit vector: [x0, x1, x0', x1', ...]
      const __m256 v = _mm256_loadu_ps(x + 2 * i), sw = _mm256_permute_ps(v, 0xb1);
      const __m128 c4 = _mm_loadu_ps(c + i), s4 = _mm_loadu_ps(s + i);
      const __m256 cc = _mm256_set_m128(_mm_unpackhi_ps(c4, c4), _mm_unpacklo_ps(c4, c4));
      const __m256 ss = _mm256_set_m128(_mm_unpackhi_ps(s4, s4), _mm_unpacklo_ps(s4, s4));
      _mm256_storeu_ps(x + 2 * i, _mm256_addsub_ps(_mm256_mul_ps(v, cc), _mm256_mul_ps(sw, ss)));
    }
  }
  for (; i < half; ++i) {
    float *p0 = neox ? x + i : x + 2 * i, *p1 = neox ? x + i + half : x + 2 * i + 1;
    const float x0 = *p0, x1 = *p1;
    *p0 = x0 * c[i] - x1 * s[i];
    *p1 = x0 * s[i] + x1 * c[i];
  }
}

#include "math_avx512.inc"

static void glu_row(float *out, const float *gate, const float *up, int64_t dim, int act) {
  int64_t i = 0;
  for (; i + 16 <= dim; i += 16) _mm512_storeu_ps(out + i, glu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i), act));
  if (i < dim) scalar_kernels().glu_row(out + i, gate + i, up + i, dim - i, act);
}

// 32 logits per mask word: two masked stores of -inf under the word's zero bits.
static void mask_row(float *logits, const uint32_t *mask, int64_t vocab) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  const int64_t words = (vocab + 31) / 32;
  for (int64_t w = 0; w < words; ++w) {
    uint32_t off = ~mask[w];
    const int64_t left = vocab - 32 * w;
    if (left < 32) off &= (1u << left) - 1;
    if (!off) continue;
    _mm512_mask_storeu_ps(logits + 32 * w, static_cast<__mmask16>(off), ninf);
    _mm512_mask_storeu_ps(logits + 32 * w + 16, static_cast<__mmask16>(off >> 16), ninf);
  }
}

static int64_t argmax_row(const float *x, int64_t n) {
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) mx = _mm512_max_ps(_mm512_loadu_ps(x + i), mx);  // NaN in x keeps mx
  float m = _mm512_reduce_max_ps(mx);
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  const __m512 vm = _mm512_set1_ps(m);
  for (i = 0; i + 16 <= n; i += 16) {
    const __mmask16 k = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), vm, _CMP_EQ_OQ);
    if (k) return i + __builtin_ctz(static_cast<unsigned>(k));
  }
  for (; i < n; ++i) if (x[i] == m) return i;
  return 0;  // all NaN
}

static inline __m512 load_kv16(const uint8_t *p, int64_t i, int dtype) {
  if (dtype == TSGL_F32) return _mm512_loadu_ps(reinterpret_cast<const float *>(p) + i);
  const uint16_t *h = reinterpret_cast<const uint16_t *>(p) + i;
  return dtype == TSGL_F16 ? load_f16x16(h) : load_bf16x16(h);
}

static inline float load_kv1(const uint8_t *p, int64_t i, int dtype) {
  if (dtype == TSGL_F32) return reinterpret_cast<const float *>(p)[i];
  const uint16_t h = reinterpret_cast<const uint16_t *>(p)[i];
  return dtype == TSGL_F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

static float kv_dot(const float *q, const uint8_t *k, int64_t n, int dtype) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load_kv16(k, i, dtype), acc);
  float s = _mm512_reduce_add_ps(acc);
  for (; i < n; ++i) s += q[i] * load_kv1(k, i, dtype);
  return s;
}

static void kv_axpy(float *acc, float p, const uint8_t *v, int64_t n, int dtype) {
  const __m512 vp = _mm512_set1_ps(p);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(acc + i, _mm512_fmadd_ps(vp, load_kv16(v, i, dtype), _mm512_loadu_ps(acc + i)));
  for (; i < n; ++i) acc[i] += p * load_kv1(v, i, dtype);
}

static void scale_to(float *out, const float *acc, float s, int64_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_loadu_ps(acc + i), vs));
  for (; i < n; ++i) out[i] = acc[i] * s;
}

#include "../attention_impl.inc"

// 16 zmm -> one zmm whose lane t combines v[t]'s 16 lanes with `op` (add or max) in a fixed
// tree: interleave pairs of vectors, then pairs of pairs, then 128-bit lanes.
template <typename Op>
static inline __m512 transpose_tree16(const __m512 *v, Op op) {
  __m512 t[8], u[4];
  for (int p = 0; p < 8; ++p) t[p] = op(_mm512_unpacklo_ps(v[2 * p], v[2 * p + 1]), _mm512_unpackhi_ps(v[2 * p], v[2 * p + 1]));
  for (int q = 0; q < 4; ++q) {
    const __m512d a = _mm512_castps_pd(t[2 * q]), b = _mm512_castps_pd(t[2 * q + 1]);
    u[q] = op(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  const __m512 v01 = op(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xdd));
  const __m512 v23 = op(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xdd));
  return op(_mm512_shuffle_f32x4(v01, v23, 0x88), _mm512_shuffle_f32x4(v01, v23, 0xdd));
}

struct AddPs {
  __m512 operator()(__m512 x, __m512 y) const { return _mm512_add_ps(x, y); }
};
struct MaxPs {
  __m512 operator()(__m512 x, __m512 y) const { return _mm512_max_ps(x, y); }
};

// Lane t = horizontal sum of v[t] (fixed order).
static inline __m512 transpose_reduce16(const __m512 *v) { return transpose_tree16(v, AddPs{}); }

// Lane t = maximum of v[t]'s lanes (max is exact in any order).
static inline __m512 transpose_max16(const __m512 *v) { return transpose_tree16(v, MaxPs{}); }

// round_half_away(v) as int32 for integral-range v (|v| <= 127 here): truncate, then step
// away from zero when the exact remainder is >= 0.5 in magnitude (the scalar formula).
static inline __m512i round_half_away_epi32(__m512 v) {
  const __m512i t = _mm512_cvttps_epi32(v);
  const __m512 diff = _mm512_sub_ps(v, _mm512_cvtepi32_ps(t));
  const __mmask16 up = _mm512_cmp_ps_mask(diff, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __mmask16 down = _mm512_cmp_ps_mask(diff, _mm512_set1_ps(-0.5f), _CMP_LE_OQ);
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i r = _mm512_mask_add_epi32(t, up, t, one);
  return _mm512_mask_sub_epi32(r, down, r, one);
}

// Activation quantization (BlockQ8A), 16 blocks at a time: the 16 block maxima come from one
// transposed reduction and d, 1/d and the fp16 rounding of d are computed for all 16 in one
// vector each, instead of per block in scalar code. Bit-identical to the scalar reference
// (same IEEE operations; vcvtps2ph rounds to nearest even like f32_to_f16). Remaining
// blocks go through the 256-bit version.
static void quantize_q8a_x16(const float *x, BlockQ8A *y, int64_t n) {
  const int64_t nb = n / 32;
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  int64_t i = 0;
  for (; i + 16 <= nb; i += 16) {
    const float *xb = x + i * 32;
    __m512 m[16];
    for (int b = 0; b < 16; ++b) {
      m[b] = _mm512_max_ps(_mm512_and_ps(_mm512_loadu_ps(xb + 32 * b), absmask), _mm512_and_ps(_mm512_loadu_ps(xb + 32 * b + 16), absmask));
    }
    const __m512 d = _mm512_div_ps(transpose_max16(m), _mm512_set1_ps(127.0f));
    const __mmask16 nz = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_UQ);  // scalar: d != 0
    alignas(64) float ids[16], ds[16];
    _mm512_store_ps(ids, _mm512_maskz_div_ps(nz, _mm512_set1_ps(1.0f), d));
    _mm512_store_ps(ds, _mm512_cvtph_ps(_mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    for (int b = 0; b < 16; ++b) {
      const __m512 id = _mm512_set1_ps(ids[b]);
      const __m512i q0 = round_half_away_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 32 * b), id));
      const __m512i q1 = round_half_away_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 32 * b + 16), id));
      BlockQ8A &o = y[i + b];
      _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), _mm512_cvtsepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs + 16), _mm512_cvtsepi32_epi8(q1));
      o.sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
      o.d = ds[b];
    }
  }
  if (i < nb) quantize_q8a(x + i * 32, y + i, (nb - i) * 32);
}

// --- Blocked online-softmax attention (flash-attention style) ---
//
// A work item is a block of "rows" (query j, head g) that share one KV head: the queries of a
// chunk times the GQA heads of a group. Keys are walked in tiles of 16; each tile's K and V
// rows are read from memory once and reused from L1 by every row of the block, while the next
// tiles' rows are prefetched (slots are scattered, so the hardware prefetcher cannot). Per row
// and tile: 16 scores from one transposed reduction, a 16-lane polynomial exp, one max/rescale,
// then the V accumulation. A row's arithmetic depends only on its own tiles (multiples of 16
// from key 0), never on the block it sits in: results do not depend on blocking or threads.
// Needs head_dim = 16 * NC, NC in {1, 2, 4, 8, 16}.
template <int DT>
static inline __m512 load_kv16t(const uint8_t *p, int64_t i) {
  if (DT == TSGL_F32) return _mm512_loadu_ps(reinterpret_cast<const float *>(p) + i);
  const uint16_t *h = reinterpret_cast<const uint16_t *>(p) + i;
  return DT == TSGL_F16 ? load_f16x16(h) : load_bf16x16(h);
}

constexpr int kKeyTile = 16;     // keys per tile (one zmm of scores)
constexpr int kPrefetchTiles = 1;    // tiles ahead whose K/V rows are prefetched into L1 (1 and 2 measured alike)
// Tile further ahead prefetched into L2 only: more misses in flight than the L1 can track, which
// scattered decode slots need (batch-32 decode over interleaved slots, 3 alternating pairs:
// 21.1 -> 19.2 ms per step; 2 and 8 tiles measured slower than 4).
constexpr int kL2PrefetchTiles = 4;
constexpr int kStateFloats = 4096;  // per block: rows * head_dim floats of q and of accumulator (16 KiB each)

// Running state of one row: scaled query, V accumulator [16 * NC], max and sum of exp, and
// this tile's exp'd scores p [16] with the factor corr that rescales acc before p * V.
struct RowState {
  float *q, *acc;
  float mx, sum, corr;
  int cnt;      // keys of this tile the row sees
  int64_t lim;  // keys visible to this row: [0, lim)
  alignas(64) float p[kKeyTile];
};

// A tile is processed in three passes over the rows (scores, softmax, V) so that the long
// dependency chains of different rows (transposed reduction, max, exp, sum) overlap in the
// out-of-order window; each row's arithmetic is the same as in one fused pass.

// Phase 1: the row's 16 scores (keys past cnt are -inf), into s.p.
template <int NC, int DT>
static inline void row_scores(RowState &s, const uint8_t *const *kr) {
  __m512 qv[NC], part[kKeyTile];
  for (int c = 0; c < NC; ++c) qv[c] = _mm512_load_ps(s.q + 16 * c);
  for (int t = 0; t < kKeyTile; ++t) {
    if (t < s.cnt) {
      __m512 d = _mm512_mul_ps(qv[0], load_kv16t<DT>(kr[t], 0));
      for (int c = 1; c < NC; ++c) d = _mm512_fmadd_ps(qv[c], load_kv16t<DT>(kr[t], 16 * c), d);
      part[t] = d;
    } else {
      part[t] = _mm512_setzero_ps();
    }
  }
  const __mmask16 valid = static_cast<__mmask16>(s.cnt == 16 ? 0xffff : (1u << s.cnt) - 1);
  _mm512_store_ps(s.p, _mm512_mask_blend_ps(valid, _mm512_set1_ps(-__builtin_inff()), transpose_reduce16(part)));
}

// Phase 2: online softmax update: s.p = exp(score - new max) (0 past cnt), s.corr, mx, sum.
static inline void row_softmax(RowState &s) {
  const __m512 sc = _mm512_load_ps(s.p);
  const float bmx = _mm512_reduce_max_ps(sc);
  const float nmx = bmx > s.mx ? bmx : s.mx;
  const __mmask16 valid = static_cast<__mmask16>(s.cnt == 16 ? 0xffff : (1u << s.cnt) - 1);
  const __m512 p = _mm512_maskz_mov_ps(valid, exp_ps(_mm512_sub_ps(sc, _mm512_set1_ps(nmx))));
  s.corr = 1.0f;  // acc * 1 is exact: same result as not rescaling
  if (nmx != s.mx) {
    s.corr = s.mx == -__builtin_inff() ? 0.0f : expf(s.mx - nmx);
    s.sum *= s.corr;
    s.mx = nmx;
  }
  s.sum += _mm512_reduce_add_ps(p);
  _mm512_store_ps(s.p, p);
}

// Phase 3 for R rows that see the same keys of the tile: acc = acc * corr + sum_t p[t] * V[t],
// each V chunk loaded (and widened) once for all R rows; per row the fma sequence does not
// depend on R.
template <int NC, int DT, int R>
static inline void rows_accumulate(RowState *st, const uint8_t *const *vr) {
  __m512 acc[R][NC];
  for (int r = 0; r < R; ++r) {
    const __m512 vc = _mm512_set1_ps(st[r].corr);
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_mul_ps(_mm512_load_ps(st[r].acc + 16 * c), vc);
  }
  for (int t = 0; t < st[0].cnt; ++t) {
    for (int c = 0; c < NC; ++c) {
      const __m512 v = load_kv16t<DT>(vr[t], 16 * c);
      for (int r = 0; r < R; ++r) acc[r][c] = _mm512_fmadd_ps(_mm512_set1_ps(st[r].p[t]), v, acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) _mm512_store_ps(st[r].acc + 16 * c, acc[r][c]);
}

// Prefetches the head_bytes of one head (K or V) of n keys' slots.
template <_mm_hint Hint = _MM_HINT_T0>
static inline void prefetch_rows(const uint8_t *base, const int32_t *slots, int64_t n, int64_t slot_bytes, int64_t head_bytes) {
  for (int64_t t = 0; t < n; ++t) {
    const int64_t off = slots[t] * slot_bytes;
    for (int64_t b = 0; b < head_bytes; b += 64) _mm_prefetch(reinterpret_cast<const char *>(base + off + b), Hint);
  }
}

// One tile for rows [r0, rows): the three passes.
template <int NC, int DT>
static inline void tile_rows(RowState *st, int64_t r0, int64_t rows, const uint8_t *const *kr, const uint8_t *const *vr) {
  for (int64_t r = r0; r < rows; ++r) row_scores<NC, DT>(st[r], kr);
  for (int64_t r = r0; r < rows; ++r) row_softmax(st[r]);
  // Rows that see the same keys of the tile (all of a decode block; all but the diagonal tiles
  // of a prefill block) go in groups of up to 16 / NC sharing each V chunk's load (and, unless
  // widened, its conversion); the R * NC accumulators stay in registers.
  constexpr int64_t kGroup = 16 / NC < 4 ? 16 / NC : 4;
  int64_t r = r0;
  while (r < rows) {
    int64_t g = 1;
    while (g < kGroup && r + g < rows && st[r + g].cnt == st[r].cnt) ++g;
    switch (g) {  // g <= kGroup
      case 4: if constexpr (kGroup >= 4) rows_accumulate<NC, DT, 4>(st + r, vr); break;
      case 3: if constexpr (kGroup >= 3) rows_accumulate<NC, DT, 3>(st + r, vr); break;
      case 2: if constexpr (kGroup >= 2) rows_accumulate<NC, DT, 2>(st + r, vr); break;
      default: rows_accumulate<NC, DT, 1>(st + r, vr); break;
    }
    r += g;
  }
}

// F16/BF16 K and V rows of a tile widened once to f32 (exact), so the rows of a block do not
// each convert them again. kt, vt: [kKeyTile, 16 * NC]; kr, vr now point into them.
template <int NC, int DT>
static inline void widen_tile(float *kt, float *vt, const uint8_t **kr, const uint8_t **vr, int tile) {
  for (int t = 0; t < tile; ++t) {
    for (int c = 0; c < NC; ++c) {
      _mm512_store_ps(kt + t * 16 * NC + 16 * c, load_kv16t<DT>(kr[t], 16 * c));
      _mm512_store_ps(vt + t * 16 * NC + 16 * c, load_kv16t<DT>(vr[t], 16 * c));
    }
    kr[t] = reinterpret_cast<const uint8_t *>(kt + t * 16 * NC);
    vr[t] = reinterpret_cast<const uint8_t *>(vt + t * 16 * NC);
  }
}

// Row r = (query jb + r / gh, head g0 + r % gh) of a block: its q / out row index.
static inline int64_t block_row(const AttnArgs &a, int64_t req, int64_t kvh, int64_t g0, int64_t gh, int64_t jb, int64_t r) {
  return (a.q_indptr[req] + jb + r / gh) * a.num_heads + kvh * a.group + g0 + r % gh;
}

// Rows (j, g) for queries [jb, je) x heads [g0, g1) of kv head kvh's group, request req;
// (je - jb) * (g1 - g0) * head_dim <= kStateFloats. Row index (j - jb) * (g1 - g0) + (g - g0),
// so rows are ordered by visible length.
template <int NC, int DT>
static void attention_block(const AttnArgs &a, int64_t req, int64_t kvh, int64_t g0, int64_t g1, int64_t jb, int64_t je) {
  constexpr int kMaxRows = kStateFloats / (16 * NC) < 64 ? kStateFloats / (16 * NC) : 64;
  alignas(64) float qs[kStateFloats], accs[kStateFloats];  // [rows, head_dim] each
  alignas(64) float kt[DT == TSGL_F32 ? 1 : kKeyTile * 16 * NC], vt[DT == TSGL_F32 ? 1 : kKeyTile * 16 * NC];
  RowState st[kMaxRows];
  const int64_t q_len = a.q_indptr[req + 1] - a.q_indptr[req];
  const int64_t kv0 = a.kv_indptr[req], kv_len = a.kv_indptr[req + 1] - kv0;
  const int32_t *slots = a.kv_indices + kv0;
  const int64_t gh = g1 - g0, rows = (je - jb) * gh;
  const uint8_t *kb = a.k + kvh * a.head_stride, *vb = a.v + kvh * a.head_stride;
  const __m512 vscale = _mm512_set1_ps(a.scale);
  for (int64_t r = 0; r < rows; ++r) {
    const float *qrow = a.q + block_row(a, req, kvh, g0, gh, jb, r) * 16 * NC;
    RowState &s = st[r];
    s.q = qs + r * 16 * NC;
    s.acc = accs + r * 16 * NC;
    for (int c = 0; c < NC; ++c) {
      _mm512_store_ps(s.q + 16 * c, _mm512_mul_ps(_mm512_loadu_ps(qrow + 16 * c), vscale));  // fold the scale into q
      _mm512_store_ps(s.acc + 16 * c, _mm512_setzero_ps());
    }
    s.mx = -__builtin_inff();
    s.sum = 0.0f;
    s.lim = kv_len - q_len + jb + r / gh + 1;
  }
  const int64_t n = kv_len - q_len + je;  // keys seen by the last row
  const int64_t sb = a.slot_bytes, hb = a.head_bytes;
  const int64_t l1_end = std::min<int64_t>(n, kPrefetchTiles * kKeyTile), l2_end = std::min<int64_t>(n, kL2PrefetchTiles * kKeyTile);
  for (const uint8_t *base : {kb, vb}) {
    prefetch_rows(base, slots, l1_end, sb, hb);
    prefetch_rows<_MM_HINT_T1>(base, slots + l1_end, l2_end - l1_end, sb, hb);
  }
  for (int64_t i0 = 0; i0 < n; i0 += kKeyTile) {
    // The K rows of the tiles ahead are requested before this tile runs, their V rows after
    // it: half the burst of misses at a time (batch-32 decode over scattered slots 259-285 ->
    // 221-229 us per layer against requesting both together).
    const int64_t pf = i0 + kPrefetchTiles * kKeyTile, pf2 = i0 + kL2PrefetchTiles * kKeyTile;
    const int64_t npf = std::max<int64_t>(0, std::min<int64_t>(kKeyTile, n - pf)), npf2 = std::max<int64_t>(0, std::min<int64_t>(kKeyTile, n - pf2));
    if (npf > 0) prefetch_rows(kb, slots + pf, npf, sb, hb);
    if (npf2 > 0) prefetch_rows<_MM_HINT_T1>(kb, slots + pf2, npf2, sb, hb);
    const uint8_t *kr[kKeyTile], *vr[kKeyTile];
    const int tile = static_cast<int>(std::min<int64_t>(kKeyTile, n - i0));
    for (int t = 0; t < tile; ++t) {
      kr[t] = kb + slots[i0 + t] * a.slot_bytes;
      vr[t] = vb + slots[i0 + t] * a.slot_bytes;
    }
    int64_t r0 = rows;  // rows [r0, rows) see part of this tile (ordered by visible length)
    while (r0 > 0 && st[r0 - 1].lim > i0) {
      --r0;
      st[r0].cnt = static_cast<int>(std::min<int64_t>(kKeyTile, st[r0].lim - i0));
    }
    // Widen F16/BF16 tiles once when more than 4 rows read them (prefill/extend blocks); a
    // decode group of <= 4 rows converts K per row and V once per group (rows_accumulate),
    // which measured faster than storing the widened tile and reading it back.
    if (DT != TSGL_F32 && rows - r0 > 4) {
      widen_tile<NC, DT>(kt, vt, kr, vr, tile);
      tile_rows<NC, TSGL_F32>(st, r0, rows, kr, vr);
    } else {
      tile_rows<NC, DT>(st, r0, rows, kr, vr);
    }
    if (npf > 0) prefetch_rows(vb, slots + pf, npf, sb, hb);
    if (npf2 > 0) prefetch_rows<_MM_HINT_T1>(vb, slots + pf2, npf2, sb, hb);
  }
  for (int64_t r = 0; r < rows; ++r) {
    float *o = a.out + block_row(a, req, kvh, g0, gh, jb, r) * 16 * NC;
    const __m512 inv = _mm512_set1_ps(1.0f / st[r].sum);
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(o + 16 * c, _mm512_mul_ps(_mm512_load_ps(st[r].acc + 16 * c), inv));
  }
}

// Heads [gb, ge) x queries [j0, j1) in blocks that fit the state arrays: heads in passes of
// at most kMaxRows, queries in sub-blocks of kMaxRows / heads.
template <int NC, int DT>
static void attention_group_fast(const AttnArgs &a, int64_t req, int64_t kvh, int64_t gb, int64_t ge, int64_t j0, int64_t j1) {
  constexpr int64_t kMaxRows = kStateFloats / (16 * NC) < 64 ? kStateFloats / (16 * NC) : 64;
  for (int64_t g0 = gb; g0 < ge; g0 += kMaxRows) {
    const int64_t g1 = std::min(ge, g0 + kMaxRows), qb = kMaxRows / (g1 - g0);
    for (int64_t jb = j0; jb < j1; jb += qb) attention_block<NC, DT>(a, req, kvh, g0, g1, jb, std::min(j1, jb + qb));
  }
}

template <int NC>
static void attention_group_dt(const AttnArgs &a, int64_t req, int64_t kvh, int64_t gb, int64_t ge, int64_t j0, int64_t j1) {
  switch (a.dtype) {
    case TSGL_F32: attention_group_fast<NC, TSGL_F32>(a, req, kvh, gb, ge, j0, j1); break;
    case TSGL_F16: attention_group_fast<NC, TSGL_F16>(a, req, kvh, gb, ge, j0, j1); break;
    default: attention_group_fast<NC, TSGL_BF16>(a, req, kvh, gb, ge, j0, j1); break;
  }
}

static bool attention_group(const AttnArgs &a, int64_t req, int64_t kvh, int64_t gb, int64_t ge, int64_t j0, int64_t j1) {
  switch (a.head_dim) {
    case 16: attention_group_dt<1>(a, req, kvh, gb, ge, j0, j1); return true;
    case 32: attention_group_dt<2>(a, req, kvh, gb, ge, j0, j1); return true;
    case 64: attention_group_dt<4>(a, req, kvh, gb, ge, j0, j1); return true;
    case 128: attention_group_dt<8>(a, req, kvh, gb, ge, j0, j1); return true;
    case 256: attention_group_dt<16>(a, req, kvh, gb, ge, j0, j1); return true;
    default: return false;
  }
}
}  // namespace avx512
}  // namespace tsgl

#undef TSGL_VNNI
#pragma GCC pop_options
#pragma GCC diagnostic pop

namespace tsgl {

bool avx512_attention_group(const AttnArgs &a, int64_t req, int64_t kv_head, int64_t gb, int64_t ge, int64_t j0, int64_t j1) {
  return avx512::attention_group(a, req, kv_head, gb, ge, j0, j1);
}

const IsaKernels &avx512_kernels() {
  static const IsaKernels k = {
      "avx512",           avx512::dequant_row, avx512::store_row,  avx512::dot_f32,
      avx512::quantize_q8a_x16, avx512::dot_q8_0,  avx512::dot_q4_0,   avx512::rms_norm_row,
      avx512::add_rms_norm_row, avx512::add_row, avx512::rope_head, avx512::glu_row,
      avx512::argmax_row, avx512::attention_head, avx512::mask_row, avx512::dot_q4_k,
      avx512::dot_q6_k, avx512::dot_q4_k_x4, avx512::dot_q6_k_x4,
  };
  return k;
}

const IsaKernels &avx512vnni_kernels() {
  static const IsaKernels k = [] {
    IsaKernels t = avx512_kernels();
    t.name = "avx512vnni";
    t.dot_q8_0 = avx512::dot_q8_0_vnni;
    t.dot_q4_0 = avx512::dot_q4_0_vnni;
    return t;
  }();
  return k;
}

}  // namespace tsgl
