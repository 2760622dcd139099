/*
 * AVX-512 GEMV for m <= 4 activation rows (batch-1 decode): bandwidth-bound, so the weights
 * are read once, in place, in their GGML layout (no packing copy), with software prefetch;
 * each thread streams a disjoint contiguous range of 4-row panels.
 *
 * int8 (Q8_0, Q4_0; needs avx512_vnni): activations are quantized per 32-block exactly as the
 * scalar reference (BlockQ8A) and laid out per pair of blocks in the byte order the weight
 * pair lands in a zmm:
 *   Q8_0: [b0 x0..31 | b1 x0..31]; weights as w ^ 0x80 (= w + 128), bias -128 * sum(x group);
 *   Q4_0: [b0 x0..15 | b1 x0..15 | b0 x16..31 | b1 x16..31], which is [lo nibbles | hi
 *         nibbles] of the 2 x 16 weight bytes; weights as q (0..15), bias -8 * sum(x group).
 * One vpdpbusd (seeded with the bias) gives each dword lane the exact signed partial dot of
 * its 4 elements; lanes are scaled by d_x * d_w (the two fp16 scales expanded in register
 * with vpermw + vcvtph2ps) and accumulated in f32; 4 rows' accumulators are reduced in one
 * fixed order. Each output depends only on its own (x row, weight row): not on m <= 4, the
 * panel, or the thread count. Q8_0 matches the kNR = 4 packed kernel bit for bit (not the wide
 * m > 4 GEMM, which sums per 32-block; see matmul_avx512.cc).
 *
 * Both walk a panel row by row (one sequential stream per thread: interleaving the 4 rows'
 * streams cost ~30% of the achieved bandwidth).
 *
 * Pre-packed Q8_0 weights do not come here: matmul_avx512.cc runs the wide GEMM over their
 * panels at every m (batch-independent outputs, and faster at batch 1-4 since its next-panel
 * prefetch, measured on a Zen 5 host; an earlier measurement on a Zen 4 host, before that
 * prefetch, had it 5-20% slower). The int8 path here serves Q4_0 (whose panels would hold 8-bit
 * values, 2x the bytes: 2.99 vs 4.29 ms/step at SmolLM2-135M Q4_0 decode) and Q8_0 under
 * TSGL_REPACK=0.
 *
 * Float (F32, F16, BF16): lane l of an output accumulates x[16c + l] * w[16c + l] over c by
 * fma (masked tail), then the same reduce4 as the packed kernel: bit-identical to it. F16 is
 * converted in register (vcvtph2ps), BF16 by a 16-bit shift; both exact.
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
namespace avx512gemv {
namespace {

constexpr int kNR = 4;                 // weight rows per panel
constexpr int64_t kPrefetch = 4096;    // bytes ahead of the read position (one stream); 1024 before: f16 decode
                                       // SmolLM2 111/117, 114/120, 115/122 and Qwen3-0.6B 26.5/27.0, 27.1/29.0,
                                       // 27.1/28.6 tok/s (before/after pairs)

struct alignas(64) XPair {
  int8_t qs[64];
  float d[16];
  int32_t bias[16];
};

#include "reduce_avx512.inc"

// ---------------- int8 ----------------

template <bool Q4>
void pack_x(const BlockQ8A *q, XPair *xp, int64_t nb) {
  const int64_t np = (nb + 1) / 2;
  for (int64_t p = 0; p < np; ++p) {
    XPair &o = xp[p];
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * p + h;
      const bool have = b < nb;
      const __m256i v = have ? _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q[b].qs)) : _mm256_setzero_si256();
      const float d = have ? q[b].d : 0.0f;
      // group sums of 4 (8 lanes: elements 4l..4l+3)
      const __m256i s4 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), v);
      if (!Q4) {
        _mm256_store_si256(reinterpret_cast<__m256i *>(o.qs + 32 * h), v);
        _mm256_store_ps(o.d + 8 * h, _mm256_set1_ps(d));
        _mm256_store_si256(reinterpret_cast<__m256i *>(o.bias + 8 * h), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(s4, 7)));
      } else {
        // elements 0..15 -> bytes 16h.., elements 16..31 -> bytes 32 + 16h..
        _mm_store_si128(reinterpret_cast<__m128i *>(o.qs + 16 * h), _mm256_castsi256_si128(v));
        _mm_store_si128(reinterpret_cast<__m128i *>(o.qs + 32 + 16 * h), _mm256_extracti128_si256(v, 1));
        _mm_store_ps(o.d + 4 * h, _mm_set1_ps(d));
        _mm_store_ps(o.d + 8 + 4 * h, _mm_set1_ps(d));
        const __m256i b8 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(s4, 3));
        _mm_store_si128(reinterpret_cast<__m128i *>(o.bias + 4 * h), _mm256_castsi256_si128(b8));
        _mm_store_si128(reinterpret_cast<__m128i *>(o.bias + 8 + 4 * h), _mm256_extracti128_si256(b8, 1));
      }
    }
  }
}

// Weight pair (blocks 2p, 2p+1 of one row, or the last single block) -> (q, d) in register.
template <bool Q4>
static inline void load_wpair(const uint8_t *blk, bool single, __m512i &q, __m512 &d) {
  if (!Q4) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(blk + 2));
    if (!single) {
      q = _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256(reinterpret_cast<const __m256i *>(blk + 36)), 1);
      const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0x00110011, 0x00110011, 0x00110011, 0x00110011, 0, 0, 0, 0, 0, 0, 0, 0);
      const __m512i h = _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(blk));
      d = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
    } else {
      q = _mm512_zextsi256_si512(lo);
      uint16_t h;
      std::memcpy(&h, blk, 2);
      d = _mm512_set1_ps(_cvtsh_ss(h));
    }
    q = _mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80)));
  } else {
    __m256i v;
    if (!single) {
      v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(blk + 2))),
                                  _mm_loadu_si128(reinterpret_cast<const __m128i *>(blk + 20)), 1);
      const __m256i idx = _mm256_setr_epi16(0, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 0, 9, 9, 9, 9);
      d = _mm512_cvtph_ps(_mm256_permutexvar_epi16(idx, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(blk))));
    } else {
      v = _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(blk + 2)));
      uint16_t h;
      std::memcpy(&h, blk, 2);
      d = _mm512_set1_ps(_cvtsh_ss(h));
    }
    q = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1), _mm512_set1_epi8(0x0f));
  }
}

template <int MR, bool Q4>
void kern_i8(const XPair *x, int64_t np, const uint8_t *const *rows, int64_t nb, float *out, int64_t ldo, int nvalid) {
  constexpr int64_t bb = Q4 ? 18 : 34, pb = 2 * bb;
  __m512 acc[MR][kNR];
  const int64_t full = nb / 2;
  // Row by row (one sequential stream), two accumulators per (x row) for latency.
  for (int j = 0; j < kNR; ++j) {
    __m512 a0[MR], a1[MR];
    for (int i = 0; i < MR; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
    const uint8_t *row = rows[j];
    auto step = [&](int64_t p, bool single, __m512 *a) {
      const uint8_t *blk = row + p * pb;
      _mm_prefetch(reinterpret_cast<const char *>(blk + kPrefetch), _MM_HINT_T0);
      __m512i wq;
      __m512 wd;
      load_wpair<Q4>(blk, single, wq, wd);
      for (int i = 0; i < MR; ++i) {
        const XPair &xp = x[i * np + p];
        const __m512i s = _mm512_dpbusd_epi32(_mm512_load_si512(xp.bias), wq, _mm512_load_si512(xp.qs));
        a[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(_mm512_load_ps(xp.d), wd), a[i]);
      }
    };
    int64_t p = 0;
    for (; p + 2 <= full; p += 2) {
      step(p, false, a0);
      step(p + 1, false, a1);
    }
    if (p < full) step(p++, false, a0);
    if (nb & 1) step(p, true, a1);
    for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_add_ps(a0[i], a1[i]);
  }
  for (int i = 0; i < MR; ++i) store_n(out + i * ldo, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nvalid);
}

thread_local std::vector<BlockQ8A> t_xq;
thread_local std::vector<XPair> t_xp;

// Several weights (same cols) against one activation: one quantization of x and one
// parallel_for over the panels of all of them (a GQA q/k/v projection in one pool job).
#include "panels_avx512.inc"
using Multi = PanelSet<kNR>;

template <bool Q4>
void gemv_i8(const Multi &mw, const float *x, int64_t m, const IsaKernels &k) {
  const int64_t cols = mw.ws[0]->cols, nb = cols / 32, np = (nb + 1) / 2;
  XPair *xp = grow(t_xp, static_cast<size_t>(m * np));
  BlockQ8A *q = grow(t_xq, static_cast<size_t>(nb));
  for (int64_t r = 0; r < m; ++r) {
    k.quantize_q8a(x + r * cols, q, cols);
    pack_x<Q4>(q, xp + r * np, nb);
  }
  parallel_for(mw.panels(), [&](int64_t p0, int64_t p1, int) {
    mw.for_each_panel(p0, p1, [&](const uint8_t *const *rows, float *o, int64_t n, int nvalid) {
      switch (m) {
        case 4: kern_i8<4, Q4>(xp, np, rows, nb, o, n, nvalid); break;
        case 3: kern_i8<3, Q4>(xp, np, rows, nb, o, n, nvalid); break;
        case 2: kern_i8<2, Q4>(xp, np, rows, nb, o, n, nvalid); break;
        default: kern_i8<1, Q4>(xp, np, rows, nb, o, n, nvalid); break;
      }
    });
  }, 4);
}

// ---------------- float ----------------

template <int DT>
static inline __m512 load_w16(const uint8_t *row, int64_t c) {
  if (DT == TSGL_F32) return _mm512_loadu_ps(reinterpret_cast<const float *>(row) + c);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + 2 * c));
  if (DT == TSGL_F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <int DT>
static inline __m512 load_w16_mask(const uint8_t *row, int64_t c, __mmask16 msk) {
  if (DT == TSGL_F32) return _mm512_maskz_loadu_ps(msk, reinterpret_cast<const float *>(row) + c);
  const __m256i h = _mm256_maskz_loadu_epi16(msk, row + 2 * c);
  if (DT == TSGL_F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <int MR, int DT>
void kern_f(const float *x, int64_t cols, const uint8_t *const *rows, float *out, int64_t ldo, int nvalid) {
  constexpr int64_t eb = DT == TSGL_F32 ? 4 : 2;
  __m512 acc[MR][kNR];
  const int64_t full = cols / 16;
  const __mmask16 msk = static_cast<__mmask16>((1u << (cols - full * 16)) - 1);
  for (int j = 0; j < kNR; ++j) {  // row by row: one sequential stream
    const uint8_t *row = rows[j];
    __m512 a[MR];
    for (int i = 0; i < MR; ++i) a[i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < full; ++c) {
      if ((c & 1) == 0) _mm_prefetch(reinterpret_cast<const char *>(row + c * 16 * eb + kPrefetch), _MM_HINT_T0);
      const __m512 wv = load_w16<DT>(row, c * 16);
      for (int i = 0; i < MR; ++i) a[i] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i * cols + c * 16), wv, a[i]);
    }
    if (full * 16 < cols) {
      const __m512 wv = load_w16_mask<DT>(row, full * 16, msk);
      for (int i = 0; i < MR; ++i) a[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(msk, x + i * cols + full * 16), wv, a[i]);
    }
    for (int i = 0; i < MR; ++i) acc[i][j] = a[i];
  }
  for (int i = 0; i < MR; ++i) store_n(out + i * ldo, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nvalid);
}

template <int DT>
void gemv_f(const Multi &mw, const float *x, int64_t m) {
  const int64_t cols = mw.ws[0]->cols;
  parallel_for(mw.panels(), [&](int64_t p0, int64_t p1, int) {
    mw.for_each_panel(p0, p1, [&](const uint8_t *const *rows, float *o, int64_t n, int nvalid) {
      switch (m) {
        case 4: kern_f<4, DT>(x, cols, rows, o, n, nvalid); break;
        case 3: kern_f<3, DT>(x, cols, rows, o, n, nvalid); break;
        case 2: kern_f<2, DT>(x, cols, rows, o, n, nvalid); break;
        default: kern_f<1, DT>(x, cols, rows, o, n, nvalid); break;
      }
    });
  }, 4);
}

}  // namespace
}  // namespace avx512gemv
}  // namespace tsgl

#pragma GCC pop_options
#pragma GCC diagnostic pop

namespace tsgl {

bool avx512_gemv_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m,
                       const IsaKernels &k, bool vnni) {
  if (m < 1 || m > 4 || count < 1 || count > avx512gemv::kMaxPanelWeights) return false;
  const int dt = ws[0]->dtype;
  for (int i = 1; i < count; ++i) {
    if (ws[i]->dtype != dt || ws[i]->cols != ws[0]->cols) return false;
  }
  const avx512gemv::Multi mw(outs, ws, count);
  switch (dt) {
    case TSGL_Q8_0:
      if (!vnni) return false;
      avx512gemv::gemv_i8<false>(mw, x, m, k);
      return true;
    case TSGL_Q4_0:
      if (!vnni) return false;
      avx512gemv::gemv_i8<true>(mw, x, m, k);
      return true;
    case TSGL_F32: avx512gemv::gemv_f<TSGL_F32>(mw, x, m); return true;
    case TSGL_F16: avx512gemv::gemv_f<TSGL_F16>(mw, x, m); return true;
    case TSGL_BF16: avx512gemv::gemv_f<TSGL_BF16>(mw, x, m); return true;
    default: return false;
  }
}

bool avx512_gemv(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni) {
  return avx512_gemv_multi(&out, x, &w, 1, m, k, vnni);
}

}  // namespace tsgl
