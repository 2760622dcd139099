/* AVX-512 packed matmul (see matmul_avx512.cc). Only called after runtime detection. */
#pragma once

#include <cstdint>

#include "../../../include/kernels.h"
#include "../isa_kernels.h"

namespace tsgl {

// out[m, w->rows] = x[m, cols] * W^T. Returns false (nothing written) for a dtype it does not
// handle: Q8_0/Q4_0 need vnni (their int8 scheme); every other dtype is handled.
bool avx512_matmul(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k, bool vnni);

}  // namespace tsgl
