// TEMPORARY: aliases the scalar kernels until the SIMD variant lands.
#include "../isa_kernels.h"
namespace tsgl {
const IsaKernels &avx512_kernels() { return scalar_kernels(); }
const IsaKernels &avx512vnni_kernels() { return scalar_kernels(); }
}
