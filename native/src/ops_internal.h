/* Internal helpers shared by the op implementations (not part of the C ABI). */
#pragma once

#include "arch/isa_kernels.h"

namespace tsgl {

// The kernel table of the ISA selected by tsgl_set_isa (or the best one at load).
const IsaKernels &current_kernels();

}  // namespace tsgl
