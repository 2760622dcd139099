/*
 * BF16 dot path (AVX512_BF16): matmuls of BF16 weights flagged TSGL_WEIGHT_BF16_DOT against
 * activations rounded to bf16 (round to nearest even, vcvtne2ps2bf16), multiplied by vdpbf16ps:
 * 32 products per instruction against 16 for the exact f32 path, and the weight rows are read
 * in place (the f32 path widens every panel to f32 on every call).
 *
 * Arithmetic of one output (x row i, weight row n), shared by every m and thread count:
 *   lane l (0..15) starts at +0 and, for each 32-column chunk c in order, takes
 *   vdpbf16ps(lane, x[32c + 2l .. +1], w[32c + 2l .. +1]) (the hardware's fixed pair order,
 *   each bf16 product exact in f32; columns past cols are zero in both operands); then the 16
 *   lanes are summed by reduce4 (the f32 kernels' tree). The m <= 4 GEMV (weight rows streamed
 *   one at a time) and the m > 4 GEMM (4 weight rows x up to 6 activation rows in registers)
 *   run exactly this, so results do not depend on the batch.
 * Against the exact f32 path the only difference is the rounding of x to bf16 (relative error
 * <= 2^-9 per element); products and sums stay f32, as in SGLang's bf16 matmuls and llama.cpp's
 * BF16 vec_dot.
 */
#include <algorithm>
#include <cstdint>
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
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,avx512bf16")
#include <immintrin.h>

namespace tsgl {
namespace avx512bf16 {
namespace {

constexpr int kNR = 4;             // weight rows per panel (one reduce4)
constexpr int kMR = 6;             // activation rows per GEMM tile: 24 accumulators
constexpr int64_t kPrefetch = 1024;  // bytes ahead in a streamed weight row (GEMV)

#include "reduce_avx512.inc"

thread_local std::vector<uint16_t> t_xb;

// x [m, cols] f32 -> xb [m, chunks * 32] bf16, rounded to nearest even, zero padded.
void round_x(const float *x, int64_t m, int64_t cols, uint16_t *xb, int64_t chunks) {
  const int64_t ld = chunks * 32;
  parallel_for(m, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *xr = x + r * cols;
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t left = cols - c * 32;
        const __mmask16 m0 = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
        const __mmask16 m1 = static_cast<__mmask16>(left >= 32 ? 0xffff : left <= 16 ? 0 : (1u << (left - 16)) - 1);
        const __m512 lo = _mm512_maskz_loadu_ps(m0, xr + c * 32), hi = _mm512_maskz_loadu_ps(m1, xr + c * 32 + 16);
        _mm512_storeu_si512(xb + r * ld + c * 32, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
      }
    }
  }, 8);
}

// Chunk c of a weight row as 16 bf16 pairs: whole chunks, and the last one (columns past
// cols zero; `tail` = its column count, 1..31).
static inline __m512bh load_w(const uint8_t *row, int64_t c) {
  return (__m512bh)_mm512_loadu_si512(reinterpret_cast<const uint16_t *>(row) + c * 32);
}
static inline __m512bh load_w_tail(const uint8_t *row, int64_t c, int64_t tail) {
  return (__m512bh)_mm512_maskz_loadu_epi16(static_cast<__mmask32>((1u << tail) - 1), reinterpret_cast<const uint16_t *>(row) + c * 32);
}
static inline __m512bh load_x(const uint16_t *xb, int64_t c) { return (__m512bh)_mm512_loadu_si512(xb + c * 32); }

// GEMV tile (m <= 4): weight rows one at a time (one sequential stream per thread).
template <int MR>
void kern_stream(const uint16_t *xb, int64_t ld, int64_t cols, const uint8_t *const *rows, float *out, int64_t ldo, int nvalid) {
  const int64_t full = cols / 32, tail = cols % 32;
  __m512 acc[MR][kNR];
  for (int j = 0; j < kNR; ++j) {
    const uint8_t *row = rows[j];
    __m512 a[MR];
    for (int i = 0; i < MR; ++i) a[i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < full; ++c) {
      if ((c & 1) == 0) _mm_prefetch(reinterpret_cast<const char *>(row + c * 64 + kPrefetch), _MM_HINT_T0);
      const __m512bh wv = load_w(row, c);
      for (int i = 0; i < MR; ++i) a[i] = _mm512_dpbf16_ps(a[i], load_x(xb + i * ld, c), wv);
    }
    if (tail) {
      const __m512bh wv = load_w_tail(row, full, tail);
      for (int i = 0; i < MR; ++i) a[i] = _mm512_dpbf16_ps(a[i], load_x(xb + i * ld, full), wv);
    }
    for (int i = 0; i < MR; ++i) acc[i][j] = a[i];
  }
  for (int i = 0; i < MR; ++i) store_n(out + i * ldo, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nvalid);
}

// One 32-column chunk of a GEMM tile: x chunk c of each activation row against the 4 weight chunks.
template <int MR>
static inline void tile_chunk(__m512 (&acc)[MR][kNR], const uint16_t *xb, int64_t ld, int64_t c, const __m512bh (&w)[kNR]) {
  for (int i = 0; i < MR; ++i) {
    const __m512bh xv = load_x(xb + i * ld, c);
    for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, w[j]);
  }
}

// GEMM tile (m > 4): MR activation rows x the panel's 4 weight rows, all in registers.
template <int MR>
void kern_tile(const uint16_t *xb, int64_t ld, int64_t cols, const uint8_t *const *rows, float *out, int64_t ldo, int nvalid) {
  const int64_t full = cols / 32, tail = cols % 32;
  __m512 acc[MR][kNR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < full; ++c) {
    const __m512bh w[kNR] = {load_w(rows[0], c), load_w(rows[1], c), load_w(rows[2], c), load_w(rows[3], c)};
    tile_chunk<MR>(acc, xb, ld, c, w);
  }
  if (tail) {
    const __m512bh w[kNR] = {load_w_tail(rows[0], full, tail), load_w_tail(rows[1], full, tail),
                             load_w_tail(rows[2], full, tail), load_w_tail(rows[3], full, tail)};
    tile_chunk<MR>(acc, xb, ld, full, w);
  }
  for (int i = 0; i < MR; ++i) store_n(out + i * ldo, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), nvalid);
}

// Panels of kNR rows over several weights of one cols (the q/k/v projections share x).
#include "panels_avx512.inc"
using Panels = PanelSet<kNR>;

void gemv(const Panels &ps, const uint16_t *xb, int64_t ld, int64_t cols, int64_t m) {
  parallel_for(ps.panels(), [&](int64_t p0, int64_t p1, int) {
    ps.for_each_panel(p0, p1, [&](const uint8_t *const *rows, float *o, int64_t ldo, int nvalid) {
      switch (m) {
        case 4: kern_stream<4>(xb, ld, cols, rows, o, ldo, nvalid); break;
        case 3: kern_stream<3>(xb, ld, cols, rows, o, ldo, nvalid); break;
        case 2: kern_stream<2>(xb, ld, cols, rows, o, ldo, nvalid); break;
        default: kern_stream<1>(xb, ld, cols, rows, o, ldo, nvalid); break;
      }
    });
  }, 4);
}

// Each thread takes groups of panels (~256 KiB of weights, kept in L2) and runs every tile of
// kMR activation rows against them.
void gemm(const Panels &ps, const uint16_t *xb, int64_t ld, int64_t chunks, int64_t cols, int64_t m) {
  const int64_t panel_bytes = kNR * chunks * 64;
  const int64_t group = std::max<int64_t>(1, std::min<int64_t>(16, (256 << 10) / panel_bytes));
  parallel_for(ps.panels(), [&](int64_t p0, int64_t p1, int) {
    for (int64_t g0 = p0; g0 < p1; g0 += group) {
      const int64_t g1 = std::min(p1, g0 + group);
      for (int64_t i0 = 0; i0 < m; i0 += kMR) {
        const uint16_t *xr = xb + i0 * ld;
        ps.for_each_panel(g0, g1, [&](const uint8_t *const *rows, float *out, int64_t ldo, int nvalid) {
          float *o = out + i0 * ldo;
          switch (std::min<int64_t>(kMR, m - i0)) {
            case 6: kern_tile<6>(xr, ld, cols, rows, o, ldo, nvalid); break;
            case 5: kern_tile<5>(xr, ld, cols, rows, o, ldo, nvalid); break;
            case 4: kern_tile<4>(xr, ld, cols, rows, o, ldo, nvalid); break;
            case 3: kern_tile<3>(xr, ld, cols, rows, o, ldo, nvalid); break;
            case 2: kern_tile<2>(xr, ld, cols, rows, o, ldo, nvalid); break;
            default: kern_tile<1>(xr, ld, cols, rows, o, ldo, nvalid); break;
          }
        });
      }
    }
  });
}

}  // namespace
}  // namespace avx512bf16
}  // namespace tsgl

#pragma GCC pop_options
#pragma GCC diagnostic pop

namespace tsgl {

bool avx512_matmul_bf16dot(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m) {
  if (m < 1 || count < 1 || count > avx512bf16::kMaxPanelWeights) return false;
  for (int i = 0; i < count; ++i) {
    if (ws[i]->dtype != TSGL_BF16 || ws[i]->cols != ws[0]->cols || ws[i]->rows <= 0) return false;
  }
  const int64_t cols = ws[0]->cols, chunks = (cols + 31) / 32, ld = chunks * 32;
  uint16_t *xb = grow(avx512bf16::t_xb, static_cast<size_t>(m * ld));
  avx512bf16::round_x(x, m, cols, xb, chunks);
  const avx512bf16::Panels ps(outs, ws, count);
  if (m <= 4) avx512bf16::gemv(ps, xb, ld, cols, m);
  else avx512bf16::gemm(ps, xb, ld, chunks, cols, m);
  return true;
}

}  // namespace tsgl
