/* AVX-512 packed matmul (see matmul_avx512.cc). Only called after runtime detection. */
#pragma once

#include <cstdint>

#include "../../../include/kernels.h"
#include "../isa_kernels.h"

namespace tsgl {

// out[m, w->rows] = x[m, cols] * W^T. Returns false (nothing written) for a dtype it does not
// handle: Q8_0/Q4_0 need vnni (their int8 scheme); every other dtype is handled.
bool avx512_matmul(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni);

// Pre-packed weights for the int8 GEMM (Q8_0 and Q4_0, every m, needs avx512_vnni).
// Q4_0: the same panels of WNib16 { uint32 q[4 groups][16 rows] (GGML qs dwords: nibbles),
// float d[16] } (320 bytes, 20 per row per 32-block); see matmul_avx512.cc.
// Q8_0 layout of w->packed: ceil(rows / 32) panels of 32 weight rows, panel p at
// packed + p * 2 * (cols / 32) WBlock16s; within a panel, block b and half z (rows 32p + 16z
// .. +15) is WBlock16 [2b + z] = { uint32 q[8 groups][16 rows] (4 bytes w + 128 each),
// float d[16] } (576 bytes, 64-byte aligned). Rows past w->rows are padded (q = 128, d = 0).
// Exactly what the per-call packer writes, so results are bit-identical with or without it.
// Bytes: 36 per row per 32-block (Q8_0 rows are 34), plus the last panel's pad.
int64_t avx512_wide_packed_bytes(const tsgl_weight *w);  // 0 when w has no such layout
// Fills dst (64-byte aligned, avx512_wide_packed_bytes(w) bytes) in the pool's threads.
void avx512_wide_prepack(const tsgl_weight *w, void *dst);

// outs[i] = x @ ws[i]^T through the wide int8 GEMM for 1..4 pre-packed Q8_0 weights of one cols
// (one activation quantization, one pool job over all their panels); false otherwise.
bool avx512_matmul_wide_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m, const IsaKernels &k);

// out[m, rows / 2] = act(x @ gate^T) * (x @ up^T) for a TSGL_WEIGHT_GLU weight whose panels
// were pre-packed interleaved (Q8_0 / Q4_0, rows % 32 == 0; needs avx512_vnni): bit for bit the
// wide GEMM followed by the AVX-512 glu_row. False (nothing written) otherwise. Interleaved
// panels: panel p holds gate rows 16p..16p+15 as its first half and up rows 16p..16p+15 as its
// second; a plain matmul of such a weight packs its panels per call instead.
bool avx512_matmul_glu(float *out, const float *x, const tsgl_weight *w, int64_t m, int act, const IsaKernels &k);

// Unpacked streaming GEMV for 1 <= m <= 4 (F32/F16/BF16, and Q8_0/Q4_0 with vnni); false
// (nothing written) otherwise. Defined in gemv_avx512.cc.
// Q4_K / Q6_K weights against Q8 activations for any m (the scalar dot_q4_k / dot_q6_k
// semantics, summed in another order); false when the row length is not a whole number of
// super-blocks. Defined in kquant_avx512.cc; needs avx512_vnni.
bool avx512_matmul_kquant(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k);
bool avx512_gemv(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni);
// outs[i] = x @ ws[i]^T for up to 4 weights of one dtype and cols, in one pool job; false
// (nothing written) when the shapes / dtypes have no such path.
bool avx512_gemv_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m,
                       const IsaKernels &k, bool vnni);

// outs[i] = bf16(x) @ ws[i]^T for 1..4 BF16 weights of one cols (the TSGL_WEIGHT_BF16_DOT
// arithmetic, any m); false (nothing written) for other dtypes. Needs avx512_bf16. Defined in
// bf16dot_avx512.cc.
bool avx512_matmul_bf16dot(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m);

// Query heads kv_head * group + [gb, ge) (one GQA group) for queries j0..j1 of request req,
// each K/V tile read once for all of them; false when head_dim has no blocked variant
// (16/32/64/128/256 have one). Defined in kernels_avx512.cc.
bool avx512_attention_group(const AttnArgs &a, int64_t req, int64_t kv_head, int64_t gb, int64_t ge, int64_t j0, int64_t j1);

}  // namespace tsgl
