/*
 * AVX2 + FMA + F16C kernels (8 floats per vector). Enabled per file with #pragma GCC target;
 * only called after runtime detection chose this variant.
 *
 * Invariants (vs the scalar reference): conversions, dequantization, activation quantization,
 * add/bias/rope are bit-identical; reductions (dots, norms, attention) differ only by
 * summation order; gluMul and the blocked attention use a polynomial exp (a few ulp).
 * Blocked attention (attention_group): see its section; results do not depend on threads.
 * Standard headers are included before the target pragma so no baseline inline code is
 * emitted with AVX2 instructions.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../../../include/kernels.h"
#include "../isa_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

namespace tsgl {
namespace avx2 {

#include "../simd_common.inc"
#include "../simd256.inc"

static void dequant_row(int dtype, const void *src, float *dst, int64_t n) {
  int64_t i = 0;
  switch (dtype) {
    case TSGL_F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
    case TSGL_F16: {
      const uint16_t *s = static_cast<const uint16_t *>(src);
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i))));
      tail_dequant_f16(s, dst, i, n);
      break;
    }
    case TSGL_BF16: {
      const uint16_t *s = static_cast<const uint16_t *>(src);
      for (; i + 8 <= n; i += 8) {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
      }
      tail_dequant_bf16(s, dst, i, n);
      break;
    }
    case TSGL_Q8_0: {
      const BlockQ8_0 *b = static_cast<const BlockQ8_0 *>(src);
      for (int64_t k = 0; k < n / 32; ++k) {
        const __m256 d = _mm256_set1_ps(f16_to_f32(b[k].d));
        i8x32_to_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(b[k].qs)), d, d, dst + 32 * k);
      }
      break;
    }
    case TSGL_Q4_0: {
      const BlockQ4_0 *b = static_cast<const BlockQ4_0 *>(src);
      for (int64_t k = 0; k < n / 32; ++k) {
        const __m256 d = _mm256_set1_ps(f16_to_f32(b[k].d));
        const __m256i q = _mm256_sub_epi8(nibbles_q4_0(b[k].qs), _mm256_set1_epi8(8));
        i8x32_to_f32(q, d, d, dst + 32 * k);
      }
      break;
    }
    case TSGL_Q4_K: dequant_q4_k(static_cast<const BlockQ4_K *>(src), dst, n / 256); break;
    case TSGL_Q6_K: dequant_q6_k(static_cast<const BlockQ6_K *>(src), dst, n / 256); break;
    default: break;
  }
}

static void store_row(int dtype, void *dst, const float *src, int64_t n) {
  int64_t i = 0;
  if (dtype == TSGL_F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  uint16_t *d = static_cast<uint16_t *>(dst);
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    const __m128i h = dtype == TSGL_F16 ? _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) : f32_to_bf16x8(v);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(d + i), h);
  }
  tail_store(dtype, dst, src, i, n);
}

static float dot_f32(const float *a, const float *b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

static void rms_norm_row(float *out, const float *x, const float *w, int64_t dim, float eps) {
  const float ss = dot_f32(x, x, dim);
  const float r = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
  const __m256 vr = _mm256_set1_ps(r);
  int64_t i = 0;
  for (; i + 8 <= dim; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vr), _mm256_loadu_ps(w + i)));
  for (; i < dim; ++i) out[i] = x[i] * r * w[i];
}

static void add_row(float *out, const float *b, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(out + i), _mm256_loadu_ps(b + i)));
  for (; i < n; ++i) out[i] += b[i];
}

static void add_rms_norm_row(float *res, const float *x, float *out, const float *w, int64_t dim, float eps) {
  add_row(res, x, dim);
  rms_norm_row(out, res, w, dim, eps);
}

static void rope_head(float *x, const float *c, const float *s, int64_t half, bool neox) {
  int64_t i = 0;
  if (neox) {
    for (; i + 8 <= half; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + half);
      const __m256 vc = _mm256_loadu_ps(c + i), vs = _mm256_loadu_ps(s + i);
      _mm256_storeu_ps(x + i, _mm256_sub_ps(_mm256_mul_ps(x0, vc), _mm256_mul_ps(x1, vs)));
      _mm256_storeu_ps(x + i + half, _mm256_add_ps(_mm256_mul_ps(x0, vs), _mm256_mul_ps(x1, vc)));
    }
  } else {
    for (; i + 4 <= half; i += 4) {  // 4 pairs per vector: [x0, x1, x0', x1', ...]
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

// exp(x) for f32 lanes: range reduction by ln2 and a degree-6 polynomial (~2 ulp); clamps
// to [-87.3, 88.7] (results saturate instead of overflowing to inf / underflowing to 0).
static inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static void glu_row(float *out, const float *gate, const float *up, int64_t dim, int act) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i), u = _mm256_loadu_ps(up + i);
    __m256 a;
    if (act == 0) {
      a = _mm256_div_ps(g, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    } else {
      const __m256 g3 = _mm256_mul_ps(_mm256_mul_ps(g, g), g);
      const __m256 z = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), g3, g));
      // 0.5 * (1 + tanh(z)) == 1 / (1 + exp(-2z)): no cancellation for negative z
      a = _mm256_div_ps(g, _mm256_add_ps(one, exp_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), z))));
    }
    _mm256_storeu_ps(out + i, _mm256_mul_ps(a, u));
  }
  if (i < dim) scalar_kernels().glu_row(out + i, gate + i, up + i, dim - i, act);
}

static int64_t argmax_row(const float *x, int64_t n) {
  __m256 mx = _mm256_set1_ps(-__builtin_inff());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) mx = _mm256_max_ps(_mm256_loadu_ps(x + i), mx);  // NaN in x keeps mx
  float m = hmax(mx);
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  const __m256 vm = _mm256_set1_ps(m);
  for (i = 0; i + 8 <= n; i += 8) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vm, _CMP_EQ_OQ));
    if (mask) return i + __builtin_ctz(static_cast<unsigned>(mask));
  }
  for (; i < n; ++i) if (x[i] == m) return i;
  return 0;  // all NaN
}

static inline __m256 load_kv8(const uint8_t *p, int64_t i, int dtype) {
  if (dtype == TSGL_F32) return _mm256_loadu_ps(reinterpret_cast<const float *>(p) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(reinterpret_cast<const uint16_t *>(p) + i));
  if (dtype == TSGL_F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline float load_kv1(const uint8_t *p, int64_t i, int dtype) {
  if (dtype == TSGL_F32) return reinterpret_cast<const float *>(p)[i];
  const uint16_t h = reinterpret_cast<const uint16_t *>(p)[i];
  return dtype == TSGL_F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

static float kv_dot(const float *q, const uint8_t *k, int64_t n, int dtype) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_kv8(k, i, dtype), acc);
  float s = hsum(acc);
  for (; i < n; ++i) s += q[i] * load_kv1(k, i, dtype);
  return s;
}

static void kv_axpy(float *acc, float p, const uint8_t *v, int64_t n, int dtype) {
  const __m256 vp = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(vp, load_kv8(v, i, dtype), _mm256_loadu_ps(acc + i)));
  for (; i < n; ++i) acc[i] += p * load_kv1(v, i, dtype);
}

static void scale_to(float *out, const float *acc, float s, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(acc + i), vs));
  for (; i < n; ++i) out[i] = acc[i] * s;
}

#include "../attention_impl.inc"

// --- Blocked online-softmax attention (flash-attention style), 8-key tiles ---
//
// The AVX-512 file's scheme on 8 lanes: a work item is a block of rows (query j, head g)
// sharing one KV head; keys are walked in tiles of 8 whose K/V rows are read from memory once
// (next tile prefetched) and reused from L1 by every row; per tile three passes over the rows
// (8 scores from one hadd tree, 8-lane polynomial exp with one max/rescale, then p * V).
// A row's arithmetic depends only on its own tiles (multiples of 8 from key 0): results do
// not depend on blocking or threads. Needs head_dim = 8 * NC, NC in {2, 4, 8, 16, 32}.
template <int DT>
static inline __m256 load_kv8t(const uint8_t *p, int64_t i) {
  if (DT == TSGL_F32) return _mm256_loadu_ps(reinterpret_cast<const float *>(p) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(reinterpret_cast<const uint16_t *>(p) + i));
  if (DT == TSGL_F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

constexpr int kKeyTile = 8;
constexpr int kStateFloats = 4096;  // per block: rows * head_dim floats of q and of accumulator

struct RowState {
  float *q, *acc;        // [head_dim] each: scaled query, V accumulator
  float mx, sum, corr;   // running max, sum of exp; this tile's rescale of acc
  int cnt;               // keys of this tile the row sees
  int64_t lim;           // keys visible to this row: [0, lim)
  alignas(32) float p[kKeyTile];  // this tile's scores, then their exp
};

// 8 vectors -> one whose lane t is the horizontal sum of v[t] (fixed order).
static inline __m256 transpose_reduce8(const __m256 *v) {
  const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

static inline __m256 valid_lanes(int cnt) {
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}

template <int NC, int DT>
static inline void row_scores(RowState &s, const uint8_t *const *kr) {
  __m256 part[kKeyTile];
  for (int t = 0; t < kKeyTile; ++t) {
    if (t < s.cnt) {
      __m256 d = _mm256_mul_ps(_mm256_load_ps(s.q), load_kv8t<DT>(kr[t], 0));
      for (int c = 1; c < NC; ++c) d = _mm256_fmadd_ps(_mm256_load_ps(s.q + 8 * c), load_kv8t<DT>(kr[t], 8 * c), d);
      part[t] = d;
    } else {
      part[t] = _mm256_setzero_ps();
    }
  }
  _mm256_store_ps(s.p, _mm256_blendv_ps(_mm256_set1_ps(-__builtin_inff()), transpose_reduce8(part), valid_lanes(s.cnt)));
}

static inline void row_softmax(RowState &s) {
  const __m256 sc = _mm256_load_ps(s.p);
  const float bmx = hmax(sc);
  const float nmx = bmx > s.mx ? bmx : s.mx;
  const __m256 p = _mm256_and_ps(valid_lanes(s.cnt), exp_ps(_mm256_sub_ps(sc, _mm256_set1_ps(nmx))));
  s.corr = 1.0f;  // acc * 1 is exact
  if (nmx != s.mx) {
    s.corr = s.mx == -__builtin_inff() ? 0.0f : expf(s.mx - nmx);
    s.sum *= s.corr;
    s.mx = nmx;
  }
  s.sum += hsum(p);
  _mm256_store_ps(s.p, p);
}

template <int NC, int DT>
static inline void row_accumulate(RowState &s, const uint8_t *const *vr) {
  const __m256 vc = _mm256_set1_ps(s.corr);
  for (int c0 = 0; c0 < NC; c0 += 8) {  // 8 accumulators at a time (16 ymm registers)
    constexpr int kW = NC < 8 ? NC : 8;
    __m256 acc[kW];
    for (int c = 0; c < kW; ++c) acc[c] = _mm256_mul_ps(_mm256_load_ps(s.acc + 8 * (c0 + c)), vc);
    for (int t = 0; t < s.cnt; ++t) {
      const __m256 vp = _mm256_set1_ps(s.p[t]);
      for (int c = 0; c < kW; ++c) acc[c] = _mm256_fmadd_ps(vp, load_kv8t<DT>(vr[t], 8 * (c0 + c)), acc[c]);
    }
    for (int c = 0; c < kW; ++c) _mm256_store_ps(s.acc + 8 * (c0 + c), acc[c]);
  }
}

template <int NC, int DT>
static inline void tile_rows(RowState *st, int64_t r0, int64_t rows, const uint8_t *const *kr, const uint8_t *const *vr) {
  for (int64_t r = r0; r < rows; ++r) row_scores<NC, DT>(st[r], kr);
  for (int64_t r = r0; r < rows; ++r) row_softmax(st[r]);
  for (int64_t r = r0; r < rows; ++r) row_accumulate<NC, DT>(st[r], vr);
}

// F16/BF16 rows of a tile widened once to f32 (exact). kt, vt: [kKeyTile, 8 * NC].
template <int NC, int DT>
static inline void widen_tile(float *kt, float *vt, const uint8_t **kr, const uint8_t **vr, int tile) {
  for (int t = 0; t < tile; ++t) {
    for (int c = 0; c < NC; ++c) {
      _mm256_store_ps(kt + t * 8 * NC + 8 * c, load_kv8t<DT>(kr[t], 8 * c));
      _mm256_store_ps(vt + t * 8 * NC + 8 * c, load_kv8t<DT>(vr[t], 8 * c));
    }
    kr[t] = reinterpret_cast<const uint8_t *>(kt + t * 8 * NC);
    vr[t] = reinterpret_cast<const uint8_t *>(vt + t * 8 * NC);
  }
}

static inline void prefetch_rows(const uint8_t *kb, const uint8_t *vb, const int32_t *slots, int64_t n,
                                 int64_t slot_bytes, int64_t head_bytes) {
  for (int64_t t = 0; t < n; ++t) {
    const int64_t off = slots[t] * slot_bytes;
    for (int64_t b = 0; b < head_bytes; b += 64) {
      _mm_prefetch(reinterpret_cast<const char *>(kb + off + b), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(vb + off + b), _MM_HINT_T0);
    }
  }
}

static inline int64_t block_row(const AttnArgs &a, int64_t req, int64_t kvh, int64_t g0, int64_t gh, int64_t jb, int64_t r) {
  return (a.q_indptr[req] + jb + r / gh) * a.num_heads + kvh * a.group + g0 + r % gh;
}

template <int NC>
static void init_rows(const AttnArgs &a, RowState *st, float *qs, float *accs, int64_t req, int64_t kvh, int64_t g0,
                      int64_t gh, int64_t jb, int64_t rows) {
  const int64_t q_len = a.q_indptr[req + 1] - a.q_indptr[req], kv_len = a.kv_indptr[req + 1] - a.kv_indptr[req];
  const __m256 vscale = _mm256_set1_ps(a.scale);
  for (int64_t r = 0; r < rows; ++r) {
    const float *qrow = a.q + block_row(a, req, kvh, g0, gh, jb, r) * 8 * NC;
    RowState &s = st[r];
    s.q = qs + r * 8 * NC;
    s.acc = accs + r * 8 * NC;
    for (int c = 0; c < NC; ++c) {
      _mm256_store_ps(s.q + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(qrow + 8 * c), vscale));  // fold the scale into q
      _mm256_store_ps(s.acc + 8 * c, _mm256_setzero_ps());
    }
    s.mx = -__builtin_inff();
    s.sum = 0.0f;
    s.lim = kv_len - q_len + jb + r / gh + 1;
  }
}

// Rows (j, g) for queries [jb, je) x heads [g0, g1) of kv head kvh's group, request req;
// rows * head_dim <= kStateFloats; row r = (j - jb) * (g1 - g0) + (g - g0).
template <int NC, int DT>
static void attention_block(const AttnArgs &a, int64_t req, int64_t kvh, int64_t g0, int64_t g1, int64_t jb, int64_t je) {
  constexpr int kMaxRows = kStateFloats / (8 * NC) < 64 ? kStateFloats / (8 * NC) : 64;
  alignas(32) float qs[kStateFloats], accs[kStateFloats];  // [rows, head_dim] each
  alignas(32) float kt[DT == TSGL_F32 ? 1 : kKeyTile * 8 * NC], vt[DT == TSGL_F32 ? 1 : kKeyTile * 8 * NC];
  RowState st[kMaxRows];
  const int64_t gh = g1 - g0, rows = (je - jb) * gh;
  init_rows<NC>(a, st, qs, accs, req, kvh, g0, gh, jb, rows);
  const int32_t *slots = a.kv_indices + a.kv_indptr[req];
  const uint8_t *kb = a.k + kvh * a.head_stride, *vb = a.v + kvh * a.head_stride;
  const int64_t n = st[rows - 1].lim;  // keys seen by the last row
  prefetch_rows(kb, vb, slots, std::min<int64_t>(n, kKeyTile), a.slot_bytes, a.head_bytes);
  for (int64_t i0 = 0; i0 < n; i0 += kKeyTile) {
    if (i0 + kKeyTile < n) prefetch_rows(kb, vb, slots + i0 + kKeyTile, std::min<int64_t>(kKeyTile, n - i0 - kKeyTile), a.slot_bytes, a.head_bytes);
    const uint8_t *kr[kKeyTile], *vr[kKeyTile];
    const int tile = static_cast<int>(std::min<int64_t>(kKeyTile, n - i0));
    for (int t = 0; t < tile; ++t) {
      kr[t] = kb + slots[i0 + t] * a.slot_bytes;
      vr[t] = vb + slots[i0 + t] * a.slot_bytes;
    }
    int64_t r0 = rows;  // rows [r0, rows) see part of this tile
    while (r0 > 0 && st[r0 - 1].lim > i0) {
      --r0;
      st[r0].cnt = static_cast<int>(std::min<int64_t>(kKeyTile, st[r0].lim - i0));
    }
    if (DT != TSGL_F32 && rows - r0 >= 2) {
      widen_tile<NC, DT>(kt, vt, kr, vr, tile);
      tile_rows<NC, TSGL_F32>(st, r0, rows, kr, vr);
    } else {
      tile_rows<NC, DT>(st, r0, rows, kr, vr);
    }
  }
  for (int64_t r = 0; r < rows; ++r) scale_to(a.out + block_row(a, req, kvh, g0, gh, jb, r) * 8 * NC, st[r].acc, 1.0f / st[r].sum, 8 * NC);
}

// Heads [gb, ge) x queries [j0, j1) in blocks that fit the state arrays.
template <int NC, int DT>
static void attention_group_fast(const AttnArgs &a, int64_t req, int64_t kvh, int64_t gb, int64_t ge, int64_t j0, int64_t j1) {
  constexpr int64_t kMaxRows = kStateFloats / (8 * NC) < 64 ? kStateFloats / (8 * NC) : 64;
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
    case 16: attention_group_dt<2>(a, req, kvh, gb, ge, j0, j1); return true;
    case 32: attention_group_dt<4>(a, req, kvh, gb, ge, j0, j1); return true;
    case 64: attention_group_dt<8>(a, req, kvh, gb, ge, j0, j1); return true;
    case 128: attention_group_dt<16>(a, req, kvh, gb, ge, j0, j1); return true;
    case 256: attention_group_dt<32>(a, req, kvh, gb, ge, j0, j1); return true;
    default: return false;
  }
}

}  // namespace avx2
}  // namespace tsgl

#pragma GCC pop_options

namespace tsgl {
bool avx2_attention_group(const AttnArgs &a, int64_t req, int64_t kv_head, int64_t gb, int64_t ge, int64_t j0, int64_t j1) {
  return avx2::attention_group(a, req, kv_head, gb, ge, j0, j1);
}

const IsaKernels &avx2_kernels() {
  static const IsaKernels k = {
      "avx2",           avx2::dequant_row, avx2::store_row,    avx2::dot_f32,
      avx2::quantize_q8a, avx2::dot_q8_0,  avx2::dot_q4_0,     avx2::rms_norm_row,
      avx2::add_rms_norm_row, avx2::add_row, avx2::rope_head,  avx2::glu_row,
      avx2::argmax_row, avx2::attention_head, scalar_kernels().mask_row, avx2::dot_q4_k,
      avx2::dot_q6_k, avx2::dot_q4_k_x4, avx2::dot_q6_k_x4,
  };
  return k;
}
}  // namespace tsgl
