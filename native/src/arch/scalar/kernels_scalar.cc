/*
 * Portable scalar kernels: the reference every SIMD variant is tested against.
 *
 * Invariants: plain sequential f32 loops (no reassociation), exact dequantization formulas
 * of ggml (Q4_K: d*sc*q - dmin*m; Q6_K: (d*sc)*q), activation quantization with roundf
 * semantics, integer block dots scaled by d_x * d_w.
 */
#include <cmath>
#include <limits>
#include <cstdint>

#include "../../../include/kernels.h"
#include "../isa_kernels.h"

namespace tsgl {
namespace scalar {

static void dequant_q8_0(const BlockQ8_0 *b, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

static void dequant_q4_0(const BlockQ4_0 *b, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((b[i].qs[j] & 0xf) - 8) * d;
      y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

static void dequant_q4_k(const BlockQ4_K *b, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t *q = b[i].qs;
    for (int g = 0; g < 4; ++g, q += 32, y += 64) {  // 4 groups of 64: low then high nibbles
      uint8_t sc, mn;
      q4k_scale_min(2 * g, b[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      q4k_scale_min(2 * g + 1, b[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0xf) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// Q6_K value e (0..255) of a super-block: 6-bit q - 32. Half h = e / 128, quarter c, lane l:
// low bits from the low (c < 2) or high nibble of ql[64h + l + 32 (c % 2)], the two high bits
// from bits 2c, 2c + 1 of qh[32h + l]; its scale is scales[e / 16].
static int q6k_value(const BlockQ6_K &b, int e) {
  const int h = e / 128, c = (e % 128) / 32, l = e % 32;
  const uint8_t ql = b.ql[64 * h + l + 32 * (c % 2)], qh = b.qh[32 * h + l];
  const int lo = c < 2 ? ql & 0xf : ql >> 4;
  return (lo | (((qh >> (2 * c)) & 3) << 4)) - 32;
}

static void dequant_q6_k(const BlockQ6_K *b, float *y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = f16_to_f32(b[i].d);
    for (int e = 0; e < 256; ++e) y[e] = d * static_cast<float>(b[i].scales[e / 16]) * static_cast<float>(q6k_value(b[i], e));
  }
}

static void dequant_row(int dtype, const void *src, float *dst, int64_t n) {
  switch (dtype) {
    case TSGL_F32: {
      const float *s = static_cast<const float *>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = s[i];
      break;
    }
    case TSGL_F16: {
      const uint16_t *s = static_cast<const uint16_t *>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      break;
    }
    case TSGL_BF16: {
      const uint16_t *s = static_cast<const uint16_t *>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      break;
    }
    case TSGL_Q8_0: dequant_q8_0(static_cast<const BlockQ8_0 *>(src), dst, n / 32); break;
    case TSGL_Q4_0: dequant_q4_0(static_cast<const BlockQ4_0 *>(src), dst, n / 32); break;
    case TSGL_Q4_K: dequant_q4_k(static_cast<const BlockQ4_K *>(src), dst, n / 256); break;
    case TSGL_Q6_K: dequant_q6_k(static_cast<const BlockQ6_K *>(src), dst, n / 256); break;
    default: break;
  }
}

static void store_row(int dtype, void *dst, const float *src, int64_t n) {
  if (dtype == TSGL_F32) {
    float *d = static_cast<float *>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = src[i];
  } else if (dtype == TSGL_F16) {
    uint16_t *d = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
  } else if (dtype == TSGL_BF16) {
    uint16_t *d = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
  }
}

static float dot_f32(const float *a, const float *b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

static void quantize_q8a(const float *x, BlockQ8A *y, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fabs(x[j]) > amax ? std::fabs(x[j]) : amax;
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
      const int8_t q = static_cast<int8_t>(round_half_away(x[j] * id));
      y[i].qs[j] = q;
      sum += q;
    }
    y[i].d = f16_to_f32(f32_to_f16(d));
    y[i].sum = sum;
  }
}

static float dot_q8_0(const BlockQ8A *x, const BlockQ8_0 *w, int64_t nb) {
  float s = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    int32_t acc = 0;
    for (int j = 0; j < 32; ++j) acc += static_cast<int32_t>(x[i].qs[j]) * w[i].qs[j];
    s += (x[i].d * f16_to_f32(w[i].d)) * static_cast<float>(acc);
  }
  return s;
}

static float dot_q4_0(const BlockQ8A *x, const BlockQ4_0 *w, int64_t nb) {
  float s = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    int32_t acc = 0;
    for (int j = 0; j < 16; ++j) {
      acc += static_cast<int32_t>(x[i].qs[j]) * ((w[i].qs[j] & 0xf) - 8);
      acc += static_cast<int32_t>(x[i].qs[j + 16]) * ((w[i].qs[j] >> 4) - 8);
    }
    s += (x[i].d * f16_to_f32(w[i].d)) * static_cast<float>(acc);
  }
  return s;
}

// Q4_K: per 32-value sub-block j of a super-block, with x the activation block over it:
// isum = sum x.qs * q (q = 0..15), then s += (x.d * (d * sc_j)) * isum - (x.d * x.sum) * (dmin * m_j).
static float dot_q4_k(const BlockQ8A *x, const BlockQ4_K *w, int64_t nsuper) {
  float s = 0.0f;
  for (int64_t i = 0; i < nsuper; ++i) {
    const float d = f16_to_f32(w[i].d), dmin = f16_to_f32(w[i].dmin);
    for (int j = 0; j < 8; ++j) {
      const BlockQ8A &xb = x[i * 8 + j];
      const uint8_t *q = w[i].qs + 32 * (j / 2);
      int32_t isum = 0;
      for (int l = 0; l < 32; ++l) isum += static_cast<int32_t>(xb.qs[l]) * (j % 2 ? q[l] >> 4 : q[l] & 0xf);
      uint8_t sc, mn;
      q4k_scale_min(j, w[i].scales, &sc, &mn);
      s += (xb.d * (d * static_cast<float>(sc))) * static_cast<float>(isum) - (xb.d * static_cast<float>(xb.sum)) * (dmin * static_cast<float>(mn));
    }
  }
  return s;
}

// Q6_K: per 16-value sub-block t (scale sc_t), with x the activation block holding it:
// isum = sum x.qs * (q - 32), then s += (x.d * (d * sc_t)) * isum.
static float dot_q6_k(const BlockQ8A *x, const BlockQ6_K *w, int64_t nsuper) {
  float s = 0.0f;
  for (int64_t i = 0; i < nsuper; ++i) {
    const float d = f16_to_f32(w[i].d);
    for (int t = 0; t < 16; ++t) {
      const BlockQ8A &xb = x[i * 8 + t / 2];
      int32_t isum = 0;
      for (int l = 0; l < 16; ++l) isum += static_cast<int32_t>(xb.qs[16 * (t % 2) + l]) * q6k_value(w[i], 16 * t + l);
      s += (xb.d * (d * static_cast<float>(w[i].scales[t]))) * static_cast<float>(isum);
    }
  }
  return s;
}

static void dot_q4_k_x4(const BlockQ8A *x, int64_t x_stride, const BlockQ4_K *w, int64_t nsuper, float *out) {
  for (int r = 0; r < 4; ++r) out[r] = dot_q4_k(x + r * x_stride, w, nsuper);
}

static void dot_q6_k_x4(const BlockQ8A *x, int64_t x_stride, const BlockQ6_K *w, int64_t nsuper, float *out) {
  for (int r = 0; r < 4; ++r) out[r] = dot_q6_k(x + r * x_stride, w, nsuper);
}

static void rms_norm_row(float *out, const float *x, const float *w, int64_t dim, float eps) {
  float ss = 0.0f;
  for (int64_t i = 0; i < dim; ++i) ss += x[i] * x[i];
  const float r = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
  for (int64_t i = 0; i < dim; ++i) out[i] = x[i] * r * w[i];
}

static void add_rms_norm_row(float *res, const float *x, float *out, const float *w, int64_t dim, float eps) {
  for (int64_t i = 0; i < dim; ++i) res[i] += x[i];
  rms_norm_row(out, res, w, dim, eps);
}

static void add_row(float *out, const float *b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += b[i];
}

static void rope_head(float *x, const float *c, const float *s, int64_t half, bool neox) {
  for (int64_t i = 0; i < half; ++i) {
    float *p0 = neox ? x + i : x + 2 * i;
    float *p1 = neox ? x + i + half : x + 2 * i + 1;
    const float x0 = *p0, x1 = *p1;
    *p0 = x0 * c[i] - x1 * s[i];
    *p1 = x0 * s[i] + x1 * c[i];
  }
}

static float silu(float g) { return g / (1.0f + std::exp(-g)); }

static float gelu_tanh(float g) {
  // 0.5 * g * (1 + tanh(u)) written as g / (1 + exp(-2u)): same value, no cancellation for u < 0.
  const float u = 0.7978845608028654f * (g + 0.044715f * g * g * g);
  return g / (1.0f + std::exp(-2.0f * u));
}

static void glu_row(float *out, const float *gate, const float *up, int64_t dim, int act) {
  if (act == 0) {
    for (int64_t i = 0; i < dim; ++i) out[i] = silu(gate[i]) * up[i];
  } else {
    for (int64_t i = 0; i < dim; ++i) out[i] = gelu_tanh(gate[i]) * up[i];
  }
}

static int64_t argmax_row(const float *x, int64_t n) {
  int64_t best = -1;
  float bv = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    if (x[j] == x[j] && (best < 0 || x[j] > bv)) {
      best = j;
      bv = x[j];
    }
  }
  return best < 0 ? 0 : best;
}

static float kv_dot(const float *q, const uint8_t *k, int64_t n, int dtype) {
  float s = 0.0f;
  if (dtype == TSGL_F32) {
    const float *kk = reinterpret_cast<const float *>(k);
    for (int64_t i = 0; i < n; ++i) s += q[i] * kk[i];
  } else {
    const uint16_t *kk = reinterpret_cast<const uint16_t *>(k);
    const bool f16 = dtype == TSGL_F16;
    for (int64_t i = 0; i < n; ++i) s += q[i] * (f16 ? f16_to_f32(kk[i]) : bf16_to_f32(kk[i]));
  }
  return s;
}

static void kv_axpy(float *acc, float p, const uint8_t *v, int64_t n, int dtype) {
  if (dtype == TSGL_F32) {
    const float *vv = reinterpret_cast<const float *>(v);
    for (int64_t i = 0; i < n; ++i) acc[i] += p * vv[i];
  } else {
    const uint16_t *vv = reinterpret_cast<const uint16_t *>(v);
    const bool f16 = dtype == TSGL_F16;
    for (int64_t i = 0; i < n; ++i) acc[i] += p * (f16 ? f16_to_f32(vv[i]) : bf16_to_f32(vv[i]));
  }
}

static void scale_to(float *out, const float *acc, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = acc[i] * s;
}

#include "../attention_impl.inc"

static void mask_row(float *logits, const uint32_t *mask, int64_t vocab) {
  for (int64_t j = 0; j < vocab; ++j) {
    if (!((mask[j >> 5] >> (j & 31)) & 1u)) logits[j] = -std::numeric_limits<float>::infinity();
  }
}

}  // namespace scalar

const IsaKernels &scalar_kernels() {
  static const IsaKernels k = {
      "scalar",          scalar::dequant_row,  scalar::store_row,    scalar::dot_f32,
      scalar::quantize_q8a, scalar::dot_q8_0,  scalar::dot_q4_0,     scalar::rms_norm_row,
      scalar::add_rms_norm_row, scalar::add_row, scalar::rope_head,  scalar::glu_row,
      scalar::argmax_row, scalar::attention_head, scalar::mask_row, scalar::dot_q4_k,
      scalar::dot_q6_k, scalar::dot_q4_k_x4, scalar::dot_q6_k_x4,
  };
  return k;
}

}  // namespace tsgl
