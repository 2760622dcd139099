/*
 * AVX-512 matmul: packed, register-blocked kernels (the kNR = 4 kernel and, for int8 at m > 4,
 * the wide lane-per-output GEMM for prefill and batched decode).
 *
 * Scheme: the weight rows are split into panels of kNR = 4 rows. A thread packs a group of
 * panels into L1/L2-resident scratch (int8 + expanded f32 scales for Q8_0/Q4_0; f32 for the
 * float and K-quant dtypes), then runs every tile of kMR = 4 activation rows against each
 * packed panel. Each (x row, weight row) pair owns one zmm accumulator, reduced at the end in
 * a fixed order, so an output does not depend on m, on the tile it falls in, or on the
 * thread count (the batch-vs-single and threads-1-vs-2 tests rely on that).
 *
 * Which int8 kernel runs: pre-packed Q8_0 / Q4_0 weights (every such weight under this ISA
 * unless TSGL_REPACK=0) take the wide lane-per-output GEMM (matmul_i8_wide, summing each output
 * once per 32-block) at every m, so their outputs do not depend on the batch. Without the
 * panels (TSGL_REPACK=0) m <= 4 takes the streaming GEMV (gemv_avx512.cc, bit-identical to the
 * kNR = 4 kernel here) and m > 4 the wide GEMM packing per call: the two orders differ, so there
 * an output's last bits depend on whether its batch has more than 4 rows. Float and K-quant
 * outputs do not depend on m at all.
 *
 * Measured for the Q8_0 switch (bench_one_batch, 2 threads, alternating pairs, SmolLM2-135M
 * decode tok/s, GEMV vs wide): quiet host 183/190, 194/216, 212/232, 219/233 at batch 1; busy
 * host 92/137 at batch 1 and 232/440 at batch 4; Qwen2.5-0.5B busy 33/42 (batch 1), 85/143
 * (batch 4). The GEMV prefetches 1 KiB ahead of one stream per thread, the wide kernel the
 * whole next panel (20-55 KiB) while the current one runs.
 *
 * Gate/up weights (TSGL_WEIGHT_GLU) pre-packed with interleaved panels take matmul_i8_glu: the
 * same kernel with the GLU applied to a panel's gate and up halves before the store.
 *
 * int8 path (needs avx512_vnni): activations are quantized per 32-block exactly as the
 * scalar reference does (BlockQ8A), then laid out in pairs of blocks (64 int8 + 16 lanes of
 * scale + the -128*sum bias lanes); weights are stored as unsigned (w + 128) so one vpdpbusd
 * gives the exact integer block dot of two blocks (8 lanes each), scaled by d_x * d_w and
 * accumulated in f32. Odd block counts are padded with a zero block (contributes exactly 0).
 *
 * Float path: weight rows are dequantized (exactly, via the ISA's dequant_row) into a panel
 * [k/16][4][16]; x rows are read in place (masked tail). Summation order differs from the
 * scalar reference only by reassociation (tolerance in test/kernels/matmul.test.ts).
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
namespace avx512mm {
namespace {

constexpr int kNR = 4;  // weight rows per panel
constexpr int kMR = 4;  // activation rows per tile
constexpr int64_t kWideMinRows = 4;  // int8: above this many rows, the lane-per-output GEMM

struct alignas(64) XPair {  // two Q8 activation blocks
  int8_t qs[64];
  float d[16];       // lanes 0-7: d of block 2p, 8-15: d of block 2p+1
  int32_t bias[16];  // lane l: -128 * sum of the 4 x values that lane's vpdpbusd covers
};
struct alignas(64) WPair {  // two weight blocks of one row
  uint8_t qs[64];  // w + 128
  float d[16];
};

static inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }  // exact (F16C)

#include "reduce_avx512.inc"
#include "math_avx512.inc"

// ---------------- int8 ----------------

void pack_x_row(const BlockQ8A *q, XPair *xp, int64_t nb) {
  const int64_t np = (nb + 1) / 2;
  for (int64_t p = 0; p < np; ++p) {
    XPair &o = xp[p];
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * p + h;
      if (b < nb) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q[b].qs));
        _mm256_store_si256(reinterpret_cast<__m256i *>(o.qs + 32 * h), v);
        _mm256_store_ps(o.d + 8 * h, _mm256_set1_ps(q[b].d));
        // Lane l: -128 * (sum of x[4l..4l+3]), so each lane ends up holding the exact signed
        // partial dot of its 4 elements (no large cancelling values before the f32 scaling).
        const __m256i s4 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), v);
        _mm256_store_si256(reinterpret_cast<__m256i *>(o.bias + 8 * h), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(s4, 7)));
      } else {
        std::memset(o.qs + 32 * h, 0, 32);
        _mm256_store_ps(o.d + 8 * h, _mm256_setzero_ps());
        _mm256_store_si256(reinterpret_cast<__m256i *>(o.bias + 8 * h), _mm256_setzero_si256());
      }
    }
  }
}

// Packs weight rows [r0, r0 + kNR) (rows >= n are zero) into wp[p * kNR + j].
void pack_w_panel_i8(const tsgl_weight *w, int64_t r0, WPair *wp, int64_t nb) {
  const int64_t np = (nb + 1) / 2;
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m128i m4 = _mm_set1_epi8(0x0f), b120 = _mm_set1_epi8(120);
  for (int j = 0; j < kNR; ++j) {
    const uint8_t *row = r0 + j < w->rows ? weight_row(w, r0 + j) : nullptr;
    for (int64_t p = 0; p < np; ++p) {
      WPair &o = wp[p * kNR + j];
      for (int h = 0; h < 2; ++h) {
        const int64_t b = 2 * p + h;
        __m256i q;
        float d;
        if (!row || b >= nb) {
          q = bias;
          d = 0.0f;
        } else if (w->dtype == TSGL_Q8_0) {
          const BlockQ8_0 *blk = reinterpret_cast<const BlockQ8_0 *>(row) + b;
          q = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(blk->qs)), bias);
          d = half_to_float(blk->d);
        } else {  // Q4_0: value q - 8, stored as q + 120
          const BlockQ4_0 *blk = reinterpret_cast<const BlockQ4_0 *>(row) + b;
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(blk->qs));
          const __m128i lo = _mm_add_epi8(_mm_and_si128(v, m4), b120);
          const __m128i hi = _mm_add_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), b120);
          q = _mm256_set_m128i(hi, lo);
          d = half_to_float(blk->d);
        }
        _mm256_store_si256(reinterpret_cast<__m256i *>(o.qs + 32 * h), q);
        _mm256_store_ps(o.d + 8 * h, _mm256_set1_ps(d));
      }
    }
  }
}

template <int MR>
void kern_i8(const XPair *x, int64_t x_stride, const WPair *wp, int64_t np, float *out, int64_t ldo, int nvalid) {
  __m512 acc[MR][kNR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < np; ++p) {
    const WPair *w = wp + p * kNR;
    __m512i wq[kNR];
    __m512 wd[kNR];
    for (int j = 0; j < kNR; ++j) {
      wq[j] = _mm512_load_si512(w[j].qs);
      wd[j] = _mm512_load_ps(w[j].d);
    }
    for (int i = 0; i < MR; ++i) {
      const XPair &xp = x[i * x_stride + p];
      const __m512i xq = _mm512_load_si512(xp.qs), xb = _mm512_load_si512(xp.bias);
      const __m512 xd = _mm512_load_ps(xp.d);
      for (int j = 0; j < kNR; ++j) {
        const __m512i s = _mm512_dpbusd_epi32(xb, wq[j], xq);
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(xd, wd[j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < MR; ++i) store_n(out + i * ldo, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nvalid);
}

thread_local std::vector<BlockQ8A> t_xq;
thread_local std::vector<XPair> t_xp;
thread_local std::vector<WPair> t_wp;

void matmul_i8(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  const int64_t n = w->rows, cols = w->cols, nb = cols / 32, np = (nb + 1) / 2;
  XPair *xp = grow(t_xp, static_cast<size_t>(m * np));
  parallel_for(m, [&](int64_t r0, int64_t r1, int) {
    BlockQ8A *q = grow(t_xq, static_cast<size_t>(nb));
    for (int64_t r = r0; r < r1; ++r) {
      k.quantize_q8a(x + r * cols, q, cols);
      pack_x_row(q, xp + r * np, nb);
    }
  }, 4);
  const int64_t panels = (n + kNR - 1) / kNR;
  const int64_t panel_bytes = np * kNR * static_cast<int64_t>(sizeof(WPair));
  // Panels packed per group: one for small m (stay in L1), up to ~256 KiB otherwise.
  const int64_t group = m <= kMR ? 1 : std::max<int64_t>(1, std::min<int64_t>(16, (256 << 10) / panel_bytes));
  parallel_for(panels, [&](int64_t p0, int64_t p1, int) {
    WPair *wp = grow(t_wp, static_cast<size_t>(group * np * kNR));
    for (int64_t g0 = p0; g0 < p1; g0 += group) {
      const int64_t g1 = std::min(p1, g0 + group);
      for (int64_t pp = g0; pp < g1; ++pp) pack_w_panel_i8(w, pp * kNR, wp + (pp - g0) * np * kNR, nb);
      for (int64_t i0 = 0; i0 < m; i0 += kMR) {
        const int64_t mr = std::min<int64_t>(kMR, m - i0);
        for (int64_t pp = g0; pp < g1; ++pp) {
          const WPair *pw = wp + (pp - g0) * np * kNR;
          const int nvalid = static_cast<int>(std::min<int64_t>(kNR, n - pp * kNR));
          float *o = out + i0 * n + pp * kNR;
          const XPair *xr = xp + i0 * np;
          switch (mr) {
            case 4: kern_i8<4>(xr, np, pw, np, o, n, nvalid); break;
            case 3: kern_i8<3>(xr, np, pw, np, o, n, nvalid); break;
            case 2: kern_i8<2>(xr, np, pw, np, o, n, nvalid); break;
            default: kern_i8<1>(xr, np, pw, np, o, n, nvalid); break;
          }
        }
      }
    }
  });
}

// ---------------- int8 GEMM, one lane per output (m > kMR) ----------------
//
// Panel of 32 weight rows, per block b and half z (16 rows): 8 zmm of 4-byte groups
// (lane r = bytes 4g..4g+3 of row 16z+r, as w + 128) and 16 f32 scales. A vpdpbusd with the
// x row's group g broadcast adds that group's products into lane r, so after 8 of them lane r
// holds the exact integer block dot (plus the -128*sum(x) bias it started from). Each output
// then accumulates float(I_b) * (d_x * d_w) over blocks in order: the scalar reference's
// formula, with one rounding less (fma).
//
// Pre-packed weights: a Q8_0 weight registered through tsgl_weight_prepack carries
// w->packed = every panel exactly as pack_w_panel_wide writes it ([panels][2 * nb] WBlock16,
// 64-byte aligned, owned by the weight; layout in matmul_avx512.h), and the GEMM reads those
// panels in place instead of packing each one into thread-local scratch on every call. Same
// bytes, same kernel: results are bit-identical either way (TSGL_REPACK=0 turns it off).
// Cost: a second copy, 36 bytes per row per 32-block (the Q8_0 rows take 34).

constexpr int kNRW = 32;  // weight rows per wide panel
constexpr int kPrefetchAhead = 256;  // bytes ahead in each weight row while packing
struct alignas(64) WBlock16 {
  uint32_t q[8][16];  // [group][row]
  float d[16];
};

// TSGL_WEIGHT_GLU weights ([gate; up], half = rows / 2 each) whose pre-packed panels interleave
// the two halves: panel p holds gate rows 16p..16p+15 (z = 0) and up rows 16p..16p+15 (z = 1),
// so one panel's two accumulator halves are the gate and up values of the same 16 outputs
// (matmul_i8_glu's epilogue). Needs half % 16 == 0; returns that half, else 0 (plain layout).
inline int64_t glu_half(const tsgl_weight *w) {
  return (w->flags & TSGL_WEIGHT_GLU) && w->rows % 32 == 0 ? w->rows / 2 : 0;
}

// First weight row of half z of the panel starting at plain row r0 (interleaved when half > 0).
inline int64_t panel_half_row(int64_t r0, int z, int64_t half) { return half > 0 ? z * half + r0 / 2 : r0 + 16 * z; }

void pack_w_panel_wide(const tsgl_weight *w, int64_t r0, WBlock16 *wp, int64_t nb, int64_t half = 0) {
  const bool q8 = w->dtype == TSGL_Q8_0;
  const int64_t bb = q8 ? 34 : 18;
  for (int z = 0; z < 2; ++z) {
    const int64_t rz = panel_half_row(r0, z, half);
    const uint8_t *base = rz < w->rows ? weight_row(w, rz) : nullptr;
    const bool contiguous = base && rz + 15 < w->rows && weight_row(w, rz + 15) == base + 15 * w->row_bytes;
    if (contiguous) {
      const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(static_cast<int>(w->row_bytes)));
      const __m512i flip = _mm512_set1_epi32(static_cast<int>(0x80808080u)), m4 = _mm512_set1_epi8(0x0f), b120 = _mm512_set1_epi8(120);
      for (int64_t b = 0; b < nb; ++b) {
        WBlock16 &o = wp[b * 2 + z];
        const uint8_t *blk = base + b * bb;
        if ((b & 1) == 0) {  // 16 row streams: the hardware prefetcher alone leaves this latency bound
          for (int r = 0; r < 16; ++r) _mm_prefetch(reinterpret_cast<const char *>(blk + r * w->row_bytes + kPrefetchAhead), _MM_HINT_T0);
        }
        const __m512i dh = _mm512_i32gather_epi32(idx, blk, 1);
        _mm512_store_ps(o.d, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh)));
        // z[k] = [row k | row k+8] (32 bytes each, as w + 128), then an 8x8 dword transpose
        // per 256-bit half gives group g of all 16 rows in one zmm.
        __m512i z[8];
        for (int r = 0; r < 8; ++r) {
          __m256i lo, hi;
          const uint8_t *p0 = blk + r * w->row_bytes, *p1 = blk + (r + 8) * w->row_bytes;
          if (q8) {
            lo = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p0 + 2));
            hi = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p1 + 2));
          } else {
            const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p0 + 2));
            const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p1 + 2));
            lo = _mm256_set_m128i(_mm_srli_epi16(v0, 4), v0);
            hi = _mm256_set_m128i(_mm_srli_epi16(v1, 4), v1);
          }
          z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
          z[r] = q8 ? _mm512_xor_si512(z[r], flip) : _mm512_add_epi8(_mm512_and_si512(z[r], m4), b120);
        }
        __m512i t[8], u[8];
        for (int h = 0; h < 2; ++h) {
          const __m512i *zz = z + 4 * h;
          t[4 * h + 0] = _mm512_unpacklo_epi32(zz[0], zz[1]);
          t[4 * h + 1] = _mm512_unpackhi_epi32(zz[0], zz[1]);
          t[4 * h + 2] = _mm512_unpacklo_epi32(zz[2], zz[3]);
          t[4 * h + 3] = _mm512_unpackhi_epi32(zz[2], zz[3]);
          u[4 * h + 0] = _mm512_unpacklo_epi64(t[4 * h + 0], t[4 * h + 2]);
          u[4 * h + 1] = _mm512_unpackhi_epi64(t[4 * h + 0], t[4 * h + 2]);
          u[4 * h + 2] = _mm512_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
          u[4 * h + 3] = _mm512_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
        }
        // u[c] (rows 0-3 / 8-11) and u[c+4] (rows 4-7 / 12-15): 128-bit lanes hold
        // [group c, group c+4, group c (upper rows), group c+4 (upper rows)].
        const __m512i sel_lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        const __m512i sel_hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
        for (int c = 0; c < 4; ++c) {
          _mm512_store_si512(o.q[c], _mm512_permutex2var_epi32(u[c], sel_lo, u[c + 4]));
          _mm512_store_si512(o.q[c + 4], _mm512_permutex2var_epi32(u[c], sel_hi, u[c + 4]));
        }
      }
      continue;
    }
    for (int r = 0; r < 16; ++r) {  // general case: row by row (part boundaries, padding)
      const uint8_t *row = rz + r < w->rows ? weight_row(w, rz + r) : nullptr;
      for (int64_t b = 0; b < nb; ++b) {
        WBlock16 &o = wp[b * 2 + z];
        uint8_t q[32];
        float d = 0.0f;
        if (!row) {
          std::memset(q, 0x80, 32);
        } else if (q8) {
          const BlockQ8_0 *blk = reinterpret_cast<const BlockQ8_0 *>(row) + b;
          for (int t = 0; t < 32; ++t) q[t] = static_cast<uint8_t>(blk->qs[t] ^ 0x80);
          d = half_to_float(blk->d);
        } else {
          const BlockQ4_0 *blk = reinterpret_cast<const BlockQ4_0 *>(row) + b;
          for (int t = 0; t < 16; ++t) {
            q[t] = static_cast<uint8_t>((blk->qs[t] & 0xf) + 120);
            q[t + 16] = static_cast<uint8_t>((blk->qs[t] >> 4) + 120);
          }
          d = half_to_float(blk->d);
        }
        for (int g = 0; g < 8; ++g) std::memcpy(&o.q[g][r], q + 4 * g, 4);
        o.d[r] = d;
      }
    }
  }
}

// The wide kernels' float step for block b, shared so Q8_0 and Q4_0 panels agree bit for bit:
// acc += float(I) * (d_x * d_w), the product rounded once, then one fma per output.
template <int MR>
static inline void scale_block(__m512 (&acc)[MR][2], const __m512i (&s)[MR][2], const BlockQ8A *x, int64_t nb, int64_t b,
                               const float *dw0, const float *dw1) {
  const __m512 d0 = _mm512_load_ps(dw0), d1 = _mm512_load_ps(dw1);
  for (int i = 0; i < MR; ++i) {
    const __m512 dx = _mm512_set1_ps(x[i * nb + b].d);
    acc[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i][0]), _mm512_mul_ps(dx, d0), acc[i][0]);
    acc[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i][1]), _mm512_mul_ps(dx, d1), acc[i][1]);
  }
}

// Stores the panel's first nvalid (<= 32) outputs of each of the MR rows.
template <int MR>
static inline void store_wide(const __m512 (&acc)[MR][2], float *out, int64_t ldo, int nvalid) {
  const __mmask16 m0 = static_cast<__mmask16>(nvalid >= 16 ? 0xffff : (1u << nvalid) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(nvalid >= 32 ? 0xffff : nvalid <= 16 ? 0 : (1u << (nvalid - 16)) - 1);
  for (int i = 0; i < MR; ++i) {
    _mm512_mask_storeu_ps(out + i * ldo, m0, acc[i][0]);
    _mm512_mask_storeu_ps(out + i * ldo + 16, m1, acc[i][1]);
  }
}

// Stores act(half 0) * half 1 of each of the MR rows: 16 outputs (the GLU epilogue).
template <int MR, int Act>
static inline void store_glu(const __m512 (&acc)[MR][2], float *out, int64_t ldo) {
  for (int i = 0; i < MR; ++i) _mm512_storeu_ps(out + i * ldo, glu16(acc[i][0], acc[i][1], Act));
}

// Act < 0: store the panel's 32 outputs; Act 0 / 1: store its 16 GLU outputs (silu / gelu).
template <int MR, int Act>
static inline void store_panel(const __m512 (&acc)[MR][2], float *out, int64_t ldo, int nvalid) {
  if constexpr (Act < 0) store_wide<MR>(acc, out, ldo, nvalid);
  else store_glu<MR, Act>(acc, out, ldo);
}

template <int MR, int Act>
void kern_wide(const BlockQ8A *x, int64_t nb, const WBlock16 *wp, float *out, int64_t ldo, int nvalid) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const WBlock16 *w = wp + 2 * b;
    __m512i s[MR][2];
    for (int i = 0; i < MR; ++i) s[i][0] = s[i][1] = _mm512_set1_epi32(-128 * x[i * nb + b].sum);
    for (int g = 0; g < 8; ++g) {
      const __m512i w0 = _mm512_load_si512(w[0].q[g]), w1 = _mm512_load_si512(w[1].q[g]);
      for (int i = 0; i < MR; ++i) {
        int32_t xg;
        std::memcpy(&xg, x[i * nb + b].qs + 4 * g, 4);
        const __m512i xv = _mm512_set1_epi32(xg);
        s[i][0] = _mm512_dpbusd_epi32(s[i][0], w0, xv);
        s[i][1] = _mm512_dpbusd_epi32(s[i][1], w1, xv);
      }
    }
    scale_block<MR>(acc, s, x, nb, b, w[0].d, w[1].d);
  }
  store_panel<MR, Act>(acc, out, ldo, nvalid);
}

// Pre-packed Q4_0 panels keep the nibbles: per 32-block and 16 rows, q[g][r] is dword g of row
// r's GGML qs (bytes 4g..4g+3: values 4g..4g+3 in the low nibbles, 4g+16..4g+19 in the high
// ones), so `v & 0x0f` is group g and `(v >> 4) & 0x0f` group g + 4 of all 16 rows, values
// 0..15 against a -8 * sum(x) seed: the same exact integer block dots as the 8-bit panels
// (w + 120 against -128 * sum(x)), hence the same outputs. 20 bytes per row per 32-block
// (the Q4_0 rows take 18; 8-bit panels would take 36).
struct alignas(64) WNib16 {
  uint32_t q[4][16];  // [group][row]
  float d[16];
};

void pack_w_panel_nib(const tsgl_weight *w, int64_t r0, WNib16 *wp, int64_t nb, int64_t half = 0) {
  for (int z = 0; z < 2; ++z) {
    for (int r = 0; r < 16; ++r) {
      const int64_t row_idx = panel_half_row(r0, z, half) + r;
      const uint8_t *row = row_idx < w->rows ? weight_row(w, row_idx) : nullptr;
      for (int64_t b = 0; b < nb; ++b) {
        WNib16 &o = wp[b * 2 + z];
        if (!row) {  // padding rows: q = 8 (weight 0), d = 0
          for (int g = 0; g < 4; ++g) o.q[g][r] = 0x88888888u;
          o.d[r] = 0.0f;
          continue;
        }
        const BlockQ4_0 *blk = reinterpret_cast<const BlockQ4_0 *>(row) + b;
        for (int g = 0; g < 4; ++g) std::memcpy(&o.q[g][r], blk->qs + 4 * g, 4);
        o.d[r] = half_to_float(blk->d);
      }
    }
  }
}

template <int MR, int Act>
void kern_wide(const BlockQ8A *x, int64_t nb, const WNib16 *wp, float *out, int64_t ldo, int nvalid) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    const WNib16 *w = wp + 2 * b;
    __m512i s[MR][2];
    for (int i = 0; i < MR; ++i) s[i][0] = s[i][1] = _mm512_set1_epi32(-8 * x[i * nb + b].sum);
    for (int g = 0; g < 4; ++g) {
      const __m512i v0 = _mm512_load_si512(w[0].q[g]), v1 = _mm512_load_si512(w[1].q[g]);
      const __m512i lo0 = _mm512_and_si512(v0, m4), hi0 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), m4);
      const __m512i lo1 = _mm512_and_si512(v1, m4), hi1 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), m4);
      for (int i = 0; i < MR; ++i) {
        int32_t xl, xh;
        std::memcpy(&xl, x[i * nb + b].qs + 4 * g, 4);
        std::memcpy(&xh, x[i * nb + b].qs + 4 * g + 16, 4);
        const __m512i xlv = _mm512_set1_epi32(xl), xhv = _mm512_set1_epi32(xh);
        s[i][0] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(s[i][0], lo0, xlv), hi0, xhv);
        s[i][1] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(s[i][1], lo1, xlv), hi1, xhv);
      }
    }
    scale_block<MR>(acc, s, x, nb, b, w[0].d, w[1].d);
  }
  store_panel<MR, Act>(acc, out, ldo, nvalid);
}

// kern_wide<rows> for 1..6 activation rows, over 8-bit (WBlock16) or nibble (WNib16) panels.
template <int Act, typename Panel>
void kern_wide_rows(int rows, const BlockQ8A *x, int64_t nb, const Panel *wp, float *out, int64_t ldo, int nvalid) {
  switch (rows) {
    case 6: kern_wide<6, Act>(x, nb, wp, out, ldo, nvalid); break;
    case 5: kern_wide<5, Act>(x, nb, wp, out, ldo, nvalid); break;
    case 4: kern_wide<4, Act>(x, nb, wp, out, ldo, nvalid); break;
    case 3: kern_wide<3, Act>(x, nb, wp, out, ldo, nvalid); break;
    case 2: kern_wide<2, Act>(x, nb, wp, out, ldo, nvalid); break;
    default: kern_wide<1, Act>(x, nb, wp, out, ldo, nvalid); break;
  }
}

// One panel against all m activation rows, in ceil(m / 6) kernel calls of balanced size
// (m = 32: 6 6 5 5 5 5, not 6 6 6 6 6 2): a call's panel reads are shared by its rows only.
// Each row's arithmetic is the same in every call size, so the split does not change results.
// A pre-packed next panel (of this weight or the next one) is read from DRAM while this one
// runs, its bytes prefetched in equal slices before each call, so the first call on a panel
// does not wait for it (the hardware prefetcher alone leaves that first pass latency bound).
template <int Act, typename Panel>
void panel_rows(const BlockQ8A *xq, int64_t nb, int64_t m, const Panel *panel, const char *next, int64_t next_bytes,
                float *out, int64_t ldo, int nvalid) {
  const int64_t calls = (m + 5) / 6;
  int64_t pf = 0;
  for (int64_t call = 0, i0 = 0; call < calls; ++call) {
    if (next) {
      for (const int64_t upto = next_bytes * (call + 1) / calls; pf < upto; pf += 64) _mm_prefetch(next + pf, _MM_HINT_T0);
    }
    const int64_t rows = m / calls + (call < m % calls ? 1 : 0);
    kern_wide_rows<Act>(static_cast<int>(rows), xq + i0 * nb, nb, panel, out + i0 * ldo, ldo, nvalid);
    i0 += rows;
  }
}

thread_local std::vector<WBlock16> t_wb;

// One panel's WBlock16s: 2 per 32-block (rows 0-15, 16-31 of the panel).
inline int64_t wide_panel_blocks(int64_t nb) { return 2 * nb; }

// Bytes of one pre-packed panel of w: 8-bit blocks for Q8_0, nibble blocks for Q4_0.
inline int64_t wide_panel_bytes(const tsgl_weight *w, int64_t nb) {
  return wide_panel_blocks(nb) * static_cast<int64_t>(w->dtype == TSGL_Q8_0 ? sizeof(WBlock16) : sizeof(WNib16));
}

// Panels of 32 rows over 1..kMaxPanelWeights weights of one cols (q/k/v share their x).
#include "panels_avx512.inc"
using WidePanels = PanelSet<kNRW>;

// x [m, cols] -> [m, cols / 32] BlockQ8A in this thread's scratch (the wide GEMMs' activations).
const BlockQ8A *quantize_rows(const float *x, int64_t m, int64_t cols, const IsaKernels &k) {
  const int64_t nb = cols / 32;
  BlockQ8A *xq = grow(t_xq, static_cast<size_t>(m * nb));
  parallel_for(m, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.quantize_q8a(x + r * cols, xq + r * nb, cols);
  }, 4);
  return xq;
}

void matmul_i8_wide_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m, const IsaKernels &k) {
  const int64_t cols = ws[0]->cols, nb = cols / 32;
  const BlockQ8A *xq = quantize_rows(x, m, cols, k);
  const WidePanels wp_all(outs, ws, count);
  // Panel q's pre-packed bytes ([panels][2 * nb] WBlock16 for Q8_0, WNib16 for Q4_0), or null.
  auto packed_panel = [&](int64_t q) -> const char * {
    const int qi = wp_all.weight_of(q);
    const char *base = glu_half(ws[qi]) > 0 ? nullptr : static_cast<const char *>(ws[qi]->packed);  // interleaved: pack per call
    return base ? base + (q - wp_all.start[qi]) * wide_panel_bytes(ws[qi], nb) : nullptr;
  };
  parallel_for(wp_all.panels(), [&](int64_t p0, int64_t p1, int) {
    WBlock16 *scratch = nullptr;
    for (int64_t pp = p0; pp < p1; ++pp) {
      const int wi = wp_all.weight_of(pp);
      const tsgl_weight *w = ws[wi];
      const int64_t n = w->rows, lp = pp - wp_all.start[wi];
      const char *panel = packed_panel(pp);
      const bool nib = panel && w->dtype == TSGL_Q4_0;
      const char *next = nullptr;  // prefetched while this panel runs (when both are pre-packed)
      if (panel) {
        next = pp + 1 < p1 ? packed_panel(pp + 1) : nullptr;
      } else {
        if (!scratch) scratch = grow(t_wb, static_cast<size_t>(wide_panel_blocks(nb)));
        pack_w_panel_wide(w, lp * kNRW, scratch, nb);
        panel = reinterpret_cast<const char *>(scratch);
      }
      const int nvalid = static_cast<int>(std::min<int64_t>(kNRW, n - lp * kNRW));
      const int64_t next_bytes = next ? wide_panel_bytes(ws[wp_all.weight_of(pp + 1)], nb) : 0;
      float *o = outs[wi] + lp * kNRW;
      if (nib) panel_rows<-1>(xq, nb, m, reinterpret_cast<const WNib16 *>(panel), next, next_bytes, o, n, nvalid);
      else panel_rows<-1>(xq, nb, m, reinterpret_cast<const WBlock16 *>(panel), next, next_bytes, o, n, nvalid);
    }
  });
}

// out[m, half] = act(x @ Wgate^T) * (x @ Wup^T) for a pre-packed TSGL_WEIGHT_GLU weight with
// interleaved panels (glu_half): the wide GEMM with the GLU applied to each panel's gate and
// up halves before they are stored, so the [m, 2 * half] gate/up product is never written.
// The same per-output arithmetic as matmul_i8_wide, then glu16 as glu_row computes it: bit for
// bit the unfused matmul + GLU.
template <int Act>
void matmul_i8_glu(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  const int64_t nb = w->cols / 32, half = glu_half(w), panels = half / 16;
  const BlockQ8A *xq = quantize_rows(x, m, w->cols, k);
  const char *base = static_cast<const char *>(w->packed);
  const int64_t bytes = wide_panel_bytes(w, nb);
  parallel_for(panels, [&](int64_t p0, int64_t p1, int) {
    for (int64_t pp = p0; pp < p1; ++pp) {
      const char *panel = base + pp * bytes, *next = pp + 1 < p1 ? panel + bytes : nullptr;
      if (w->dtype == TSGL_Q4_0) panel_rows<Act>(xq, nb, m, reinterpret_cast<const WNib16 *>(panel), next, bytes, out + pp * 16, half, 16);
      else panel_rows<Act>(xq, nb, m, reinterpret_cast<const WBlock16 *>(panel), next, bytes, out + pp * 16, half, 16);
    }
  });
}

void matmul_i8_wide(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  matmul_i8_wide_multi(&out, x, &w, 1, m, k);
}

// Q8_0 panels cost 36 bytes per row-block against the rows' 34; Q4_0 nibble panels 20 against 18.
int64_t wide_packed_bytes(const tsgl_weight *w) {
  if ((w->dtype != TSGL_Q8_0 && w->dtype != TSGL_Q4_0) || w->rows <= 0 || w->cols % 32 != 0) return 0;
  const int64_t panels = (w->rows + kNRW - 1) / kNRW;
  return panels * wide_panel_bytes(w, w->cols / 32);
}

void wide_prepack(const tsgl_weight *w, void *dst) {  // dst: [panels][2 * nb] WBlock16 (Q8_0) / WNib16 (Q4_0)
  const int64_t nb = w->cols / 32, panels = (w->rows + kNRW - 1) / kNRW;
  parallel_for(panels, [&](int64_t p0, int64_t p1, int) {
    for (int64_t pp = p0; pp < p1; ++pp) {
      if (w->dtype == TSGL_Q8_0) pack_w_panel_wide(w, pp * kNRW, static_cast<WBlock16 *>(dst) + pp * wide_panel_blocks(nb), nb, glu_half(w));
      else pack_w_panel_nib(w, pp * kNRW, static_cast<WNib16 *>(dst) + pp * wide_panel_blocks(nb), nb, glu_half(w));
    }
  });
}

// ---------------- float (F32, F16, BF16, Q4_K, Q6_K) ----------------

thread_local std::vector<float> t_row;
thread_local std::vector<float> t_wf;

// Panel layout: [kc][j][16] floats, kc < ceil(cols/16), zero padded.
void pack_w_panel_f32(const tsgl_weight *w, int64_t r0, float *wp, int64_t nk, const IsaKernels &k) {
  const int64_t cols = w->cols;
  for (int j = 0; j < kNR; ++j) {
    if (r0 + j >= w->rows) {
      for (int64_t c = 0; c < nk; ++c) _mm512_store_ps(wp + (c * kNR + j) * 16, _mm512_setzero_ps());
      continue;
    }
    const uint8_t *row = weight_row(w, r0 + j);
    const float *src;
    if (w->dtype == TSGL_F32) {
      src = reinterpret_cast<const float *>(row);
    } else {
      float *tmp = grow(t_row, static_cast<size_t>(cols));
      k.dequant_row(w->dtype, row, tmp, cols);
      src = tmp;
    }
    int64_t c = 0;
    for (; (c + 1) * 16 <= cols; ++c) _mm512_store_ps(wp + (c * kNR + j) * 16, _mm512_loadu_ps(src + c * 16));
    if (c < nk) {
      const __mmask16 msk = static_cast<__mmask16>((1u << (cols - c * 16)) - 1);
      _mm512_store_ps(wp + (c * kNR + j) * 16, _mm512_maskz_loadu_ps(msk, src + c * 16));
    }
  }
}

template <int MR>
void kern_f32(const float *x, int64_t cols, const float *wp, int64_t nk, float *out, int64_t ldo, int nvalid) {
  __m512 acc[MR][kNR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_setzero_ps();
  const int64_t full = cols / 16;
  for (int64_t c = 0; c < full; ++c) {
    const float *wc = wp + c * kNR * 16;
    for (int i = 0; i < MR; ++i) {
      const __m512 xv = _mm512_loadu_ps(x + i * cols + c * 16);
      for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_fmadd_ps(xv, _mm512_load_ps(wc + j * 16), acc[i][j]);
    }
  }
  if (full < nk) {
    const float *wc = wp + full * kNR * 16;
    const __mmask16 msk = static_cast<__mmask16>((1u << (cols - full * 16)) - 1);
    for (int i = 0; i < MR; ++i) {
      const __m512 xv = _mm512_maskz_loadu_ps(msk, x + i * cols + full * 16);
      for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_fmadd_ps(xv, _mm512_load_ps(wc + j * 16), acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) store_n(out + i * ldo, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nvalid);
}

void matmul_f32(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  const int64_t n = w->rows, cols = w->cols, nk = (cols + 15) / 16;
  const int64_t panels = (n + kNR - 1) / kNR;
  const int64_t panel_floats = nk * kNR * 16;
  const int64_t group = m <= kMR ? 1 : std::max<int64_t>(1, std::min<int64_t>(16, (256 << 10) / (panel_floats * 4)));
  parallel_for(panels, [&](int64_t p0, int64_t p1, int) {
    float *wp = grow(t_wf, static_cast<size_t>(group * panel_floats + 16));
    wp = reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(wp) + 63) & ~uintptr_t(63));
    for (int64_t g0 = p0; g0 < p1; g0 += group) {
      const int64_t g1 = std::min(p1, g0 + group);
      for (int64_t pp = g0; pp < g1; ++pp) pack_w_panel_f32(w, pp * kNR, wp + (pp - g0) * panel_floats, nk, k);
      for (int64_t i0 = 0; i0 < m; i0 += kMR) {
        const int64_t mr = std::min<int64_t>(kMR, m - i0);
        for (int64_t pp = g0; pp < g1; ++pp) {
          const float *pw = wp + (pp - g0) * panel_floats;
          const int nvalid = static_cast<int>(std::min<int64_t>(kNR, n - pp * kNR));
          float *o = out + i0 * n + pp * kNR;
          const float *xr = x + i0 * cols;
          switch (mr) {
            case 4: kern_f32<4>(xr, cols, pw, nk, o, n, nvalid); break;
            case 3: kern_f32<3>(xr, cols, pw, nk, o, n, nvalid); break;
            case 2: kern_f32<2>(xr, cols, pw, nk, o, n, nvalid); break;
            default: kern_f32<1>(xr, cols, pw, nk, o, n, nvalid); break;
          }
        }
      }
    }
  });
}

}  // namespace
}  // namespace avx512mm
}  // namespace tsgl

#pragma GCC pop_options
#pragma GCC diagnostic pop

namespace tsgl {

int64_t avx512_wide_packed_bytes(const tsgl_weight *w) { return avx512mm::wide_packed_bytes(w); }

void avx512_wide_prepack(const tsgl_weight *w, void *dst) {
  avx512mm::wide_prepack(w, dst);
}

bool avx512_matmul_wide_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m, const IsaKernels &k) {
  if (count < 1 || count > avx512mm::kMaxPanelWeights) return false;
  for (int i = 0; i < count; ++i) {
    if ((ws[i]->dtype != TSGL_Q8_0 && ws[i]->dtype != TSGL_Q4_0) || !ws[i]->packed || ws[i]->cols != ws[0]->cols) return false;
  }
  avx512mm::matmul_i8_wide_multi(outs, x, ws, count, m, k);
  return true;
}

bool avx512_matmul_glu(float *out, const float *x, const tsgl_weight *w, int64_t m, int act, const IsaKernels &k) {
  if ((w->dtype != TSGL_Q8_0 && w->dtype != TSGL_Q4_0) || !w->packed || avx512mm::glu_half(w) == 0 || (act != 0 && act != 1)) return false;
  if (act == 0) avx512mm::matmul_i8_glu<0>(out, x, w, m, k);
  else avx512mm::matmul_i8_glu<1>(out, x, w, m, k);
  return true;
}

bool avx512_matmul(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni) {
  if (w->dtype == TSGL_Q4_K || w->dtype == TSGL_Q6_K) return vnni && avx512_matmul_kquant(out, x, w, m, k);
  // Pre-packed Q8_0 / Q4_0 take the wide GEMM at every m, decode included: one arithmetic for every
  // batch size, and its next-panel prefetch beat the streaming GEMV at batch 1-4 (see below).
  // (A gate/up weight with interleaved panels also comes here, and is packed per call.)
  if ((w->dtype == TSGL_Q8_0 || w->dtype == TSGL_Q4_0) && w->packed && vnni) {
    avx512mm::matmul_i8_wide(out, x, w, m, k);
    return true;
  }
#ifndef TSGL_NO_GEMV  // (defined only by bench builds comparing against the packed path)
  if (m <= 4 && avx512_gemv(out, x, w, m, k, vnni)) return true;
#endif
  if (w->dtype == TSGL_Q8_0 || w->dtype == TSGL_Q4_0) {
    if (!vnni) return false;
    if (m > avx512mm::kWideMinRows) avx512mm::matmul_i8_wide(out, x, w, m, k);
    else avx512mm::matmul_i8(out, x, w, m, k);
  } else {
    avx512mm::matmul_f32(out, x, w, m, k);
  }
  return true;
}

}  // namespace tsgl
