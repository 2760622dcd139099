/* Small helpers shared by the matmul paths (ops.cc, arch/avx512/): row lookup in a weight made
 * of stacked parts, and per-thread scratch vectors that only grow (no allocation per call once
 * warm). Not part of the C ABI. */
#pragma once

#include <cstdint>
#include <vector>

#include "../include/kernels.h"

namespace tsgl {
// NOTE: internal linkage on purpose. These are included by files compiled under different
// `#pragma GCC target`s; a shared (COMDAT) copy could be the AVX-512-compiled one and fault on a
// CPU without AVX-512. Each translation unit keeps its own copy.
namespace {

/* Pointer to logical row n of a stacked weight (parts concatenated along rows), or nullptr if
 * n is out of range (unreachable for validated inputs). */
inline const uint8_t *weight_row(const tsgl_weight *w, int64_t n) {
  for (int p = 0; p < w->num_parts; ++p) {
    if (n < w->parts[p].rows) return w->parts[p].data + n * w->row_bytes;
    n -= w->parts[p].rows;
  }
  return nullptr;
}

/* v.data() with room for at least n elements; grows only. */
template <typename T>
inline T *grow(std::vector<T> &v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace
}  // namespace tsgl
