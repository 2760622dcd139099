// TEMPORARY: aliases the scalar kernels until the SIMD variant lands.
#include "../isa_kernels.h"
namespace tsgl {
const IsaKernels &avx2_kernels() { return scalar_kernels(); }
}
