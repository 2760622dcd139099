/*
 * AVX2 + FMA + F16C kernels (8 floats per vector). Enabled per file with #pragma GCC target;
 * only called after runtime detection chose this variant.
 *
 * Invariants (vs the scalar reference): conversions, dequantization, activation quantization,
 * add/bias/rope are bit-identical; reductions (dots, norms, attention) differ only by
 * summation order; gluMul uses a polynomial exp (a few ulp).
 * Standard headers are included before the target pragma so no baseline inline code is
 * emitted with AVX2 instructions.
 */
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

}  // namespace avx2
}  // namespace tsgl

#pragma GCC pop_options

namespace tsgl {
const IsaKernels &avx2_kernels() {
  static const IsaKernels k = {
      "avx2",           avx2::dequant_row, avx2::store_row,    avx2::dot_f32,
      avx2::quantize_q8a, avx2::dot_q8_0,  avx2::dot_q4_0,     avx2::rms_norm_row,
      avx2::add_rms_norm_row, avx2::add_row, avx2::rope_head,  avx2::glu_row,
      avx2::argmax_row, avx2::attention_head, scalar_kernels().mask_row,
  };
  return k;
}
}  // namespace tsgl
