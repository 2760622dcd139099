/*
 * AVX-512 VNNI matmul for Q4_K and Q6_K weights (llama.cpp's k-quant super-blocks of 256), read
 * in place in their GGML layout, against activations quantized to Q8 blocks of 32 exactly as
 * the scalar reference does (dot_q4_k / dot_q6_k in arch/scalar).
 *
 * Activation prep, once per call and row: the int8 values contiguous (64 per zmm), d per block,
 * d * sum per block (Q4_K's min term) and, per 4 values, -32 * their sum (Q6_K's offset).
 *
 * Per super-block and weight row, the 256 weights are expanded in registers to 4 zmm of
 * unsigned bytes (Q4_K: the nibbles, 0..15; Q6_K: the 6-bit q, 0..63), each zmm covering 64
 * consecutive values, so lane l of `vpdpbusd(seed, w, x)` holds the exact integer dot of values
 * 4l..4l+3 (Q6_K seeded with -32 * sum x, making it the dot with q - 32). Lanes are scaled by
 * d_x * (d * sc) of their sub-block (a vpermps of the super-block's 8 or 16 factors) and
 * accumulated in f32; Q4_K subtracts sum_j (d_x * sum_x)_j * (dmin * m_j) in an 8-lane
 * accumulator. Up to 4 activation rows share each expanded super-block; each row's arithmetic
 * is the same whatever rows it is grouped with, so an output depends only on its (x row,
 * weight row): not on m, the grouping, or the thread count.
 */
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../../include/kernels.h"
#include "../../thread_pool.h"
#include "../isa_kernels.h"
#include "matmul_avx512.h"
#include "../../weight_rows.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,avx512vnni")
#include <immintrin.h>

namespace tsgl {
namespace avx512kq {
namespace {

constexpr int kRows = 4;        // activation rows sharing one expanded super-block
constexpr int64_t kRowBlock = 32;  // activation rows per pass over a weight row range (L1)

struct XPrep {
  int8_t *qs;    // [m, k] int8, 64-byte aligned rows
  float *d;      // [m, k / 32]
  float *dsum;   // [m, k / 32]: d * sum of the block
  int32_t *off;  // [m, k / 4]: -32 * sum of each 4 values (Q6_K)
  int64_t k, nb;
};

thread_local std::vector<BlockQ8A> t_xq;
thread_local std::vector<int8_t> t_qs;
thread_local std::vector<float> t_d;
thread_local std::vector<int32_t> t_off;

XPrep prepare(const float *x, int64_t m, int64_t k, bool q6, const IsaKernels &ks) {
  const int64_t nb = k / 32;
  BlockQ8A *xq = grow(t_xq, static_cast<size_t>(m * nb));
  XPrep p{};
  p.k = k;
  p.nb = nb;
  p.qs = grow(t_qs, static_cast<size_t>(m * k + 64));
  p.qs += (64 - reinterpret_cast<uintptr_t>(p.qs) % 64) % 64;
  p.d = grow(t_d, static_cast<size_t>(2 * m * nb));
  p.dsum = p.d + m * nb;
  p.off = q6 ? grow(t_off, static_cast<size_t>(m * k / 4)) : nullptr;
  parallel_for(m, [&](int64_t r0, int64_t r1, int) {
    const __m512i ones = _mm512_set1_epi8(1), m32 = _mm512_set1_epi32(-32);
    for (int64_t r = r0; r < r1; ++r) {
      ks.quantize_q8a(x + r * k, xq + r * nb, k);
      for (int64_t b = 0; b < nb; ++b) {
        const BlockQ8A &blk = xq[r * nb + b];
        std::memcpy(p.qs + r * k + 32 * b, blk.qs, 32);
        p.d[r * nb + b] = blk.d;
        p.dsum[r * nb + b] = blk.d * static_cast<float>(blk.sum);
      }
      if (!q6) continue;
      for (int64_t c = 0; c < k; c += 64) {
        const __m512i s4 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_load_si512(p.qs + r * k + c));
        _mm512_storeu_si512(p.off + (r * k + c) / 4, _mm512_mullo_epi32(s4, m32));
      }
    }
  });
  return p;
}

// Lane l of the result = factors[base + l / per] (per = 8: two sub-blocks of 32 per zmm;
// per = 4: four sub-blocks of 16).
static inline __m512 spread(__m512 factors, int base, int per) {
  const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(base),
                                       per == 8 ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                                                : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
  return _mm512_permutexvar_ps(idx, factors);
}

// The 8 (scale, min) pairs of a Q4_K block as two vectors of 8 floats (6-bit fields unpacked
// 4 at a time from 32-bit words; same values as q4k_scale_min).
static inline void q4k_scales(const uint8_t *s, __m256 *sc, __m256 *mn) {
  uint32_t w0, w1, w2;
  std::memcpy(&w0, s, 4);
  std::memcpy(&w1, s + 4, 4);
  std::memcpy(&w2, s + 8, 4);
  const uint32_t sc_lo = w0 & 0x3f3f3f3fu, mn_lo = w1 & 0x3f3f3f3fu;
  const uint32_t sc_hi = (w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4);
  *sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), 0, 0)));
  *mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32(static_cast<int>(mn_lo), static_cast<int>(mn_hi), 0, 0)));
}

// Q4_K weight row against activation rows i0 .. i0 + R - 1; out[r * ldo].
template <int R>
void q4k_rows(const XPrep &xp, int64_t i0, const BlockQ4_K *w, int64_t nsuper, float *out, int64_t ldo) {
  __m512 acc[R];
  __m256 macc[R];
  for (int r = 0; r < R; ++r) {
    acc[r] = _mm512_setzero_ps();
    macc[r] = _mm256_setzero_ps();
  }
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  for (int64_t sb = 0; sb < nsuper; ++sb) {
    const BlockQ4_K &b = w[sb];
    __m256 sc, mn;
    q4k_scales(b.scales, &sc, &mn);
    const __m256 a8 = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b.d)), sc);      // d * sc_j
    const __m256 b8 = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b.dmin)), mn);   // dmin * m_j
    __m512i u[4];
    for (int g = 0; g < 4; ++g) {  // group g: sub-blocks 2g (low nibbles) and 2g + 1 (high)
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs + 32 * g));
      u[g] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
    }
    for (int r = 0; r < R; ++r) {
      const int64_t xb = (i0 + r) * xp.nb + sb * 8;
      const __m512 f = _mm512_castps256_ps512(_mm256_mul_ps(_mm256_loadu_ps(xp.d + xb), a8));
      const int8_t *xs = xp.qs + (i0 + r) * xp.k + sb * 256;
      for (int g = 0; g < 4; ++g) {
        const __m512i dp = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[g], _mm512_load_si512(xs + 64 * g));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), spread(f, 2 * g, 8), acc[r]);
      }
      macc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(xp.dsum + xb), b8, macc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r * ldo] = _mm512_reduce_add_ps(acc[r]) - _mm512_reduce_add_ps(_mm512_castps256_ps512(macc[r]));
}

// Q6_K weight row against activation rows i0 .. i0 + R - 1; out[r * ldo].
template <int R>
void q6k_rows(const XPrep &xp, int64_t i0, const BlockQ6_K *w, int64_t nsuper, float *out, int64_t ldo) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  const __m512i pairs = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  for (int64_t sb = 0; sb < nsuper; ++sb) {
    const BlockQ6_K &b = w[sb];
    const __m512 a16 = _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(b.d)),
                                     _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.scales)))));
    __m512i u[4];
    for (int h = 0; h < 2; ++h) {  // values 128h + [0, 64) and 128h + [64, 128)
      const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qh + 32 * h));
      const __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
      // 5th/6th bits: values [0, 32) take qh bits 0-1, [32, 64) bits 2-3, [64, 96) bits 4-5,
      // [96, 128) bits 6-7, each moved to bits 4-5 of the byte.
      const __m512i h0 = _mm512_mask_blend_epi64(0xf0, _mm512_and_si512(_mm512_slli_epi16(qh2, 4), m30), _mm512_and_si512(_mm512_slli_epi16(qh2, 2), m30));
      const __m512i h1 = _mm512_mask_blend_epi64(0xf0, _mm512_and_si512(qh2, m30), _mm512_and_si512(_mm512_srli_epi16(qh2, 2), m30));
      u[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), h0);
      u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), h1);
    }
    for (int r = 0; r < R; ++r) {
      const int64_t xb = (i0 + r) * xp.nb + sb * 8;
      const __m512 f = _mm512_mul_ps(a16, _mm512_permutexvar_ps(pairs, _mm512_castps256_ps512(_mm256_loadu_ps(xp.d + xb))));
      const int8_t *xs = xp.qs + (i0 + r) * xp.k + sb * 256;
      const int32_t *off = xp.off + ((i0 + r) * xp.k + sb * 256) / 4;
      for (int z = 0; z < 4; ++z) {
        const __m512i dp = _mm512_dpbusd_epi32(_mm512_loadu_si512(off + 16 * z), u[z], _mm512_load_si512(xs + 64 * z));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), spread(f, 4 * z, 4), acc[r]);
      }
    }
  }
  for (int r = 0; r < R; ++r) out[r * ldo] = _mm512_reduce_add_ps(acc[r]);
}

template <typename Block, void (*Rows1)(const XPrep &, int64_t, const Block *, int64_t, float *, int64_t),
          void (*Rows2)(const XPrep &, int64_t, const Block *, int64_t, float *, int64_t),
          void (*Rows3)(const XPrep &, int64_t, const Block *, int64_t, float *, int64_t),
          void (*Rows4)(const XPrep &, int64_t, const Block *, int64_t, float *, int64_t)>
void matmul_rows(float *out, const XPrep &xp, const tsgl_weight *w, int64_t m) {
  const int64_t n = w->rows, nsuper = w->cols / 256;
  parallel_for(n, [&](int64_t n0, int64_t n1, int) {
    for (int64_t ib = 0; ib < m; ib += kRowBlock) {
      const int64_t ie = std::min(m, ib + kRowBlock);
      for (int64_t j = n0; j < n1; ++j) {
        const Block *row = reinterpret_cast<const Block *>(weight_row(w, j));
        for (int64_t i = ib; i < ie; i += kRows) {
          float *o = out + i * n + j;
          switch (std::min<int64_t>(kRows, ie - i)) {
            case 4: Rows4(xp, i, row, nsuper, o, n); break;
            case 3: Rows3(xp, i, row, nsuper, o, n); break;
            case 2: Rows2(xp, i, row, nsuper, o, n); break;
            default: Rows1(xp, i, row, nsuper, o, n); break;
          }
        }
      }
    }
  }, 4);
}

}  // namespace
}  // namespace avx512kq

bool avx512_matmul_kquant(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  using namespace avx512kq;
  if (w->cols % 256 != 0 || (w->dtype != TSGL_Q4_K && w->dtype != TSGL_Q6_K)) return false;
  const bool q6 = w->dtype == TSGL_Q6_K;
  const XPrep xp = prepare(x, m, w->cols, q6, k);
  if (q6) matmul_rows<BlockQ6_K, q6k_rows<1>, q6k_rows<2>, q6k_rows<3>, q6k_rows<4>>(out, xp, w, m);
  else matmul_rows<BlockQ4_K, q4k_rows<1>, q4k_rows<2>, q4k_rows<3>, q4k_rows<4>>(out, xp, w, m);
  return true;
}

}  // namespace tsgl

#pragma GCC pop_options
#pragma GCC diagnostic pop
