/* AVX-512 packed matmul (see matmul_avx512.cc). Only called after runtime detection. */
#pragma once

#include <cstdint>

#include "../../../include/kernels.h"
#include "../isa_kernels.h"

namespace tsgl {

// out[m, w->rows] = x[m, cols] * W^T. Returns false (nothing written) for a dtype it does not
// handle: Q8_0/Q4_0 need vnni (their int8 scheme); every other dtype is handled.
bool avx512_matmul(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni);

// Unpacked streaming GEMV for 1 <= m <= 4 (F32/F16/BF16, and Q8_0/Q4_0 with vnni); false
// (nothing written) otherwise. Defined in gemv_avx512.cc.
bool avx512_gemv(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni);
// outs[i] = x @ ws[i]^T for up to 4 weights of one dtype and cols, in one pool job; false
// (nothing written) when the shapes / dtypes have no such path.
bool avx512_gemv_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t m,
                       const IsaKernels &k, bool vnni);

// Query heads kv_head * group + [gb, ge) (one GQA group) for queries j0..j1 of request req,
// each K/V tile read once for all of them; false when head_dim has no blocked variant
// (16/32/64/128/256 have one). Defined in kernels_avx512.cc.
bool avx512_attention_group(const AttnArgs &a, int64_t req, int64_t kv_head, int64_t gb, int64_t ge, int64_t j0, int64_t j1);

}  // namespace tsgl
