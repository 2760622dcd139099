/*
 * The per-ISA kernel table: the inner loops each variant (scalar, avx2, avx512) provides.
 * ops.cc does the threading and calls these through the table of the selected ISA.
 *
 * Invariants:
 * - Every variant implements the same semantics as the scalar one; results may differ only
 *   by float summation order (dequantization, conversions, activation quantization and
 *   element-wise maps that need no reduction are bit-identical, except the SIMD exp used by
 *   gluMul, which is within a few ulp).
 * - Lengths are element counts; quantized lengths are multiples of the block size.
 * - No function allocates.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "../quant.h"

namespace tsgl {

struct AttnArgs {
  float *out;                 // [num_tokens, num_heads, head_dim]
  const float *q;             // [num_tokens, num_heads, head_dim]
  const uint8_t *k, *v;       // this layer: [num_kv_heads, num_slots, head_dim] in dtype
  int64_t num_heads, num_kv_heads, head_dim, group;  // group = num_heads / num_kv_heads
  // KV head h's row of slot s: k + h * head_stride + s * slot_bytes, head_bytes long
  int64_t slot_bytes, head_bytes, head_stride;
  int dtype;                                          // F32, F16 or BF16
  const int32_t *q_indptr, *kv_indptr, *kv_indices;
  float scale;
};

struct IsaKernels {
  const char *name;
  // dst[0..n) = dequant(src), any of the seven dtypes.
  void (*dequant_row)(int dtype, const void *src, float *dst, int64_t n);
  // F32, F16, BF16 only (KV pool rows); round to nearest even.
  void (*store_row)(int dtype, void *dst, const float *src, int64_t n);
  float (*dot_f32)(const float *a, const float *b, int64_t n);
  // Activation row -> n/32 BlockQ8A blocks.
  void (*quantize_q8a)(const float *x, BlockQ8A *y, int64_t n);
  // sum over blocks of d_x * d_w * int_dot(x, w).
  float (*dot_q8_0)(const BlockQ8A *x, const BlockQ8_0 *w, int64_t nblocks);
  float (*dot_q4_0)(const BlockQ8A *x, const BlockQ4_0 *w, int64_t nblocks);
  void (*rms_norm_row)(float *out, const float *x, const float *w, int64_t dim, float eps);
  // res += x; out = rmsnorm(res) * w.
  void (*add_rms_norm_row)(float *res, const float *x, float *out, const float *w, int64_t dim, float eps);
  void (*add_row)(float *out, const float *b, int64_t n);
  // Rotates pairs (i, i+half) if neox else (2i, 2i+1), i < half, with precomputed cos/sin.
  void (*rope_head)(float *x, const float *cos, const float *sin, int64_t half, bool neox);
  void (*glu_row)(float *out, const float *gate, const float *up, int64_t dim, int act);
  int64_t (*argmax_row)(const float *x, int64_t n);
  // One (request, head) pair; scores: scratch of at least kv_len floats, acc: head_dim floats.
  void (*attention_head)(const AttnArgs &a, int64_t req, int64_t head, float *scores, float *acc);
  // logits[j] = -inf where bit j of mask (bit j % 32 of word j / 32) is 0, j < vocab.
  void (*mask_row)(float *logits, const uint32_t *mask, int64_t vocab);
  // K-quants against Q8 activations (8 BlockQ8A per super-block), integer dots per sub-block
  // scaled by d_x and the sub-block's scale (Q4_K also subtracts d_x * sum_x * dmin * m).
  // AVX2 and AVX-512 share 256-bit versions (simd256.inc); AVX-512 VNNI runs its own matmul
  // (kquant_avx512.cc).
  float (*dot_q4_k)(const BlockQ8A *x, const BlockQ4_K *w, int64_t nsuper);
  float (*dot_q6_k)(const BlockQ8A *x, const BlockQ6_K *w, int64_t nsuper);
  // The same for 4 activation rows (x + r * x_stride blocks) sharing each weight decode;
  // out[r] is bit-identical to the one-row dot of row r.
  void (*dot_q4_k_x4)(const BlockQ8A *x, int64_t x_stride, const BlockQ4_K *w, int64_t nsuper, float *out);
  void (*dot_q6_k_x4)(const BlockQ8A *x, int64_t x_stride, const BlockQ6_K *w, int64_t nsuper, float *out);
};

const IsaKernels &scalar_kernels();
const IsaKernels &avx2_kernels();
const IsaKernels &avx512_kernels();      // maddubs int8 path
const IsaKernels &avx512vnni_kernels();  // dpbusd int8 path

// Blocked attention of query heads kv_head * group + [gb, ge) (one GQA group) for queries
// j0..j1 of request req, each K/V tile read once for all of them; false (nothing written)
// when head_dim is not 16/32/64/128/256. AVX2 twin of avx512_attention_group (kernels_avx2.cc).
bool avx2_attention_group(const AttnArgs &a, int64_t req, int64_t kv_head, int64_t gb, int64_t ge, int64_t j0, int64_t j1);

}  // namespace tsgl
