/*
 * The C ABI ops: threading, tiling and scratch around the per-ISA inner loops.
 *
 * Invariants:
 * - Work is split with parallel_for over independent output rows / tokens / (request, head)
 *   pairs, so results do not depend on the thread count.
 * - Scratch (quantized activations, dequantized weight tiles, attention scores, rope tables)
 *   lives in thread_local vectors that only grow: no allocation once warmed up.
 * - matmul numerics: F32/F16/BF16 weights are widened exactly to f32 and dotted with f32
 *   activations; Q8_0/Q4_0/Q4_K/Q6_K use llama.cpp's scheme (activations quantized to Q8
 *   blocks of 32, integer dots per weight (sub-)block scaled by both scales; Q4_K also
 *   subtracts its per-sub-block min times the activation block's sum).
 * - tsgl_weight_prepack (at registration) may give a weight a packed copy for its ISA's
 *   GEMM; kernels use it only when the current ISA is the one it was packed for, and it
 *   never changes results (the same panels the kernel would pack per call).
 */
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../include/kernels.h"
#include "cpu.h"
#include "ops_internal.h"
#include "quant.h"
#include "thread_pool.h"
#include "arch/avx512/matmul_avx512.h"
#include "weight_rows.h"

namespace tsgl {

const IsaKernels &current_kernels() {
  switch (tsgl_get_isa()) {
    case TSGL_ISA_AVX512: return cpu_features().avx512_vnni ? avx512vnni_kernels() : avx512_kernels();
    case TSGL_ISA_AVX2: return avx2_kernels();
    default: return scalar_kernels();
  }
}

namespace {

constexpr int64_t kTileN = 16;  // weight rows per tile
constexpr int64_t kTileM = 64;  // activation rows per tile

// Tiles [mb * kTileM, +kTileM) x [nb * kTileN, +kTileN); task index = mb * n_tiles + nb so
// a thread's contiguous chunk walks the weight rows of one activation tile.
template <typename TileFn>
void for_each_tile(int64_t m, int64_t n, const TileFn &fn) {
  const int64_t n_tiles = (n + kTileN - 1) / kTileN, m_tiles = (m + kTileM - 1) / kTileM;
  parallel_for(n_tiles * m_tiles, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t mb = t / n_tiles, nb = t % n_tiles;
      fn(mb * kTileM, std::min(m, (mb + 1) * kTileM), nb * kTileN, std::min(n, (nb + 1) * kTileN));
    }
  });
}

thread_local std::vector<BlockQ8A> t_xq;  // caller's quantized activations [m, cols/32]
thread_local std::vector<float> t_tile;    // worker's dequantized weight tile [kTileN, cols]

void matmul_int8(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  const int64_t n = w->rows, nbk = w->cols / 32;
  BlockQ8A *xq = grow(t_xq, static_cast<size_t>(m * nbk));
  parallel_for(m, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.quantize_q8a(x + r * w->cols, xq + r * nbk, w->cols);
  });
  const int dt = w->dtype;
  const bool kquant = dt == TSGL_Q4_K || dt == TSGL_Q6_K;
  for_each_tile(m, n, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const uint8_t *rows[kTileN];
    for (int64_t j = n0; j < n1; ++j) rows[j - n0] = weight_row(w, j);
    int64_t i = m0;
    // K-quants: 4 activation rows per weight decode (bit-identical to one row at a time).
    for (; kquant && i + 4 <= m1; i += 4) {
      float o4[4];
      for (int64_t j = n0; j < n1; ++j) {
        const void *row = rows[j - n0];
        if (dt == TSGL_Q4_K) k.dot_q4_k_x4(xq + i * nbk, nbk, static_cast<const BlockQ4_K *>(row), nbk / 8, o4);
        else k.dot_q6_k_x4(xq + i * nbk, nbk, static_cast<const BlockQ6_K *>(row), nbk / 8, o4);
        for (int r = 0; r < 4; ++r) out[(i + r) * n + j] = o4[r];
      }
    }
    for (; i < m1; ++i) {
      const BlockQ8A *xr = xq + i * nbk;
      float *o = out + i * n;
      for (int64_t j = n0; j < n1; ++j) {
        const void *row = rows[j - n0];
        switch (dt) {
          case TSGL_Q8_0: o[j] = k.dot_q8_0(xr, static_cast<const BlockQ8_0 *>(row), nbk); break;
          case TSGL_Q4_0: o[j] = k.dot_q4_0(xr, static_cast<const BlockQ4_0 *>(row), nbk); break;
          case TSGL_Q4_K: o[j] = k.dot_q4_k(xr, static_cast<const BlockQ4_K *>(row), nbk / 8); break;
          default: o[j] = k.dot_q6_k(xr, static_cast<const BlockQ6_K *>(row), nbk / 8); break;
        }
      }
    }
  });
}

void matmul_float(float *out, const float *x, const tsgl_weight *w, int64_t m, const IsaKernels &k) {
  const int64_t n = w->rows, cols = w->cols;
  for_each_tile(m, n, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const float *rows[kTileN];
    if (w->dtype == TSGL_F32) {
      for (int64_t j = n0; j < n1; ++j) rows[j - n0] = reinterpret_cast<const float *>(weight_row(w, j));
    } else {
      float *tile = grow(t_tile, static_cast<size_t>(kTileN * cols));  // [kTileN, cols]
      for (int64_t j = n0; j < n1; ++j) {
        rows[j - n0] = tile + (j - n0) * cols;
        k.dequant_row(w->dtype, weight_row(w, j), tile + (j - n0) * cols, cols);
      }
    }
    for (int64_t i = m0; i < m1; ++i) {
      for (int64_t j = n0; j < n1; ++j) out[i * n + j] = k.dot_f32(x + i * cols, rows[j - n0], cols);
    }
  });
}

}  // namespace
}  // namespace tsgl

using namespace tsgl;

struct tsgl_kv_pool {
  // each [num_layers][num_kv_heads][num_slots][head_dim] in dtype: a KV head's rows of
  // consecutive slots are contiguous, so attention over a request's slot runs streams them.
  uint8_t *k, *v;
  int64_t num_layers, num_slots, num_kv_heads, head_dim;
  int dtype;
  int64_t elem_bytes, row_bytes, head_stride, layer_bytes;  // row: one head of one slot
  size_t map_bytes;  // bytes of each mapping
};

namespace tsgl {
namespace {

bool bf16_dot(const tsgl_weight *w) { return (w->flags & TSGL_WEIGHT_BF16_DOT) && w->dtype == TSGL_BF16; }

bool has_bf16_dot_kernel() { return tsgl_get_isa() == TSGL_ISA_AVX512 && cpu_features().avx512_bf16; }

// x rounded to bf16 and back (nearest even, denormals to signed zero: what vcvtne2ps2bf16 and
// vdpbf16ps do), for the paths without the vdpbf16ps kernel. Per-thread buffer, grows only.
const float *round_to_bf16(const float *x, int64_t n) {
  thread_local std::vector<float> buf;
  float *r = grow(buf, static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, &x[i], 4);
    const float v = (b & 0x7f800000u) == 0 ? (b & 0x80000000u ? -0.0f : 0.0f) : x[i];
    r[i] = bf16_to_f32(f32_to_bf16(v));
  }
  return r;
}

}  // namespace
}  // namespace tsgl

extern "C" {

void tsgl_embed(float *out, const tsgl_weight *w, const int32_t *ids, int64_t n) {
  const IsaKernels &k = current_kernels();
  parallel_for(n, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) k.dequant_row(w->dtype, weight_row(w, ids[t]), out + t * w->cols, w->cols);
  });
}

void tsgl_rms_norm(float *out, const float *x, const float *w, int64_t rows, int64_t dim, float eps) {
  const IsaKernels &k = current_kernels();
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.rms_norm_row(out + r * dim, x + r * dim, w, dim, eps);
  });
}

void tsgl_add_rms_norm(float *residual, const float *x, float *out, const float *w, int64_t rows,
                       int64_t dim, float eps) {
  const IsaKernels &k = current_kernels();
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.add_rms_norm_row(residual + r * dim, x + r * dim, out + r * dim, w, dim, eps);
  });
}

void tsgl_matmul(float *out, const float *x, const tsgl_weight *w, int64_t rows) {
  if (rows <= 0 || w->rows <= 0) return;
  if (bf16_dot(w)) {
    if (has_bf16_dot_kernel() && avx512_matmul_bf16dot(&out, x, &w, 1, rows)) return;
    x = round_to_bf16(x, rows * w->cols);
  }
  const IsaKernels &k = current_kernels();
  if (tsgl_get_isa() == TSGL_ISA_AVX512 && avx512_matmul(out, x, w, rows, k, cpu_features().avx512_vnni)) return;
  if (w->dtype == TSGL_Q8_0 || w->dtype == TSGL_Q4_0 || w->dtype == TSGL_Q4_K || w->dtype == TSGL_Q6_K) {
    matmul_int8(out, x, w, rows, k);
  } else {
    matmul_float(out, x, w, rows, k);
  }
}

int64_t tsgl_weight_prepack(tsgl_weight *w) {
  // TSGL_REPACK=0: no pre-packed copies (the kernels pack per call, as before). Read once.
  static const bool enabled = [] {
    const char *e = std::getenv("TSGL_REPACK");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  if (!enabled || w->packed || tsgl_get_isa() != TSGL_ISA_AVX512 || !cpu_features().avx512_vnni) return 0;
  const int64_t bytes = avx512_wide_packed_bytes(w);
  if (bytes <= 0) return 0;
  void *buf = nullptr;
  if (posix_memalign(&buf, 64, static_cast<size_t>(bytes)) != 0) return 0;  // no memory: per-call packing
  avx512_wide_prepack(w, buf);
  w->packed = buf;
  return bytes;
}

void tsgl_weight_unprepack(tsgl_weight *w) {
  std::free(const_cast<void *>(w->packed));
  w->packed = nullptr;
}

void tsgl_matmul_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t rows) {
  if (count <= 0 || rows <= 0) return;
  int dots = 0;
  for (int i = 0; i < count; ++i) dots += bf16_dot(ws[i]) ? 1 : 0;
  if (dots == count && has_bf16_dot_kernel()) {
    if (avx512_matmul_bf16dot(outs, x, ws, count, rows)) return;
  } else if (dots == 0 && tsgl_get_isa() == TSGL_ISA_AVX512) {
    // Pre-packed Q8_0 / Q4_0 (all of them): the wide GEMM at every m, as tsgl_matmul does.
    if (cpu_features().avx512_vnni && avx512_matmul_wide_multi(outs, x, ws, count, rows, current_kernels())) return;
    bool nonempty = true;
    for (int i = 0; i < count; ++i) nonempty = nonempty && ws[i]->rows > 0;
    if (nonempty && avx512_gemv_multi(outs, x, ws, count, rows, current_kernels(), cpu_features().avx512_vnni)) return;
  }
  for (int i = 0; i < count; ++i) tsgl_matmul(outs[i], x, ws[i], rows);
}

void tsgl_matmul_glu(float *out, float *gate_up, const float *x, const tsgl_weight *w, int64_t rows, int act) {
  if (rows <= 0 || w->rows <= 0) return;
  if (tsgl_get_isa() == TSGL_ISA_AVX512 && cpu_features().avx512_vnni && !bf16_dot(w) &&
      avx512_matmul_glu(out, x, w, rows, act, current_kernels())) return;
  tsgl_matmul(gate_up, x, w, rows);
  tsgl_glu_mul(out, gate_up, rows, w->rows / 2, act);
}

void tsgl_add_bias(float *out, const float *bias, int64_t rows, int64_t n) {
  const IsaKernels &k = current_kernels();
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.add_row(out + r * n, bias, n);
  }, 16);
}

// cos / sin of position * inv_freq[i], i < rot_half: the one place these angles are computed,
// so tsgl_rope and tsgl_rope_table give the same values.
static inline void rope_cos_sin(float *c, float *s, int32_t position, const float *inv_freq, int64_t rot_half) {
  for (int64_t i = 0; i < rot_half; ++i) {
    const float angle = static_cast<float>(position) * inv_freq[i];
    c[i] = std::cos(angle);
    s[i] = std::sin(angle);
  }
}

void tsgl_rope(float *x, const int32_t *positions, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
               const float *inv_freq, int64_t rot_half, int neox) {
  const IsaKernels &k = current_kernels();
  parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
    thread_local std::vector<float> table;  // [2, rot_half]: cos then sin
    float *c = grow(table, static_cast<size_t>(2 * rot_half)), *s = c + rot_half;
    for (int64_t t = t0; t < t1; ++t) {
      rope_cos_sin(c, s, positions[t], inv_freq, rot_half);
      for (int64_t h = 0; h < n_heads; ++h) k.rope_head(x + (t * n_heads + h) * head_dim, c, s, rot_half, neox != 0);
    }
  });
}

void tsgl_rope_table(float *table, const int32_t *positions, int64_t n_tokens, const float *inv_freq, int64_t rot_half) {
  parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) rope_cos_sin(table + t * 2 * rot_half, table + t * 2 * rot_half + rot_half, positions[t], inv_freq, rot_half);
  }, 16);
}

void tsgl_rope_qk(float *q, float *k, const float *table, int64_t n_tokens, int64_t n_q_heads, int64_t n_k_heads,
                  int64_t head_dim, int64_t rot_half, int neox) {
  const IsaKernels &ks = current_kernels();
  parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      const float *c = table + t * 2 * rot_half, *s = c + rot_half;
      for (int64_t h = 0; h < n_q_heads; ++h) ks.rope_head(q + (t * n_q_heads + h) * head_dim, c, s, rot_half, neox != 0);
      for (int64_t h = 0; h < n_k_heads; ++h) ks.rope_head(k + (t * n_k_heads + h) * head_dim, c, s, rot_half, neox != 0);
    }
  });
}

void tsgl_glu_mul(float *out, const float *gate_up, int64_t rows, int64_t dim, int act) {
  const IsaKernels &k = current_kernels();
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.glu_row(out + r * dim, gate_up + r * 2 * dim, gate_up + r * 2 * dim + dim, dim, act);
  });
}

void tsgl_gather_rows(float *out, const float *x, const int32_t *idx, int64_t n, int64_t dim) {
  parallel_for(n, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) std::copy(x + idx[r] * dim, x + idx[r] * dim + dim, out + r * dim);
  }, 16);
}

void tsgl_argmax_rows(int32_t *out, const float *x, int64_t rows, int64_t n) {
  const IsaKernels &k = current_kernels();
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) out[r] = static_cast<int32_t>(k.argmax_row(x + r * n, n));
  });
}

void tsgl_apply_token_bitmask(float *logits, int64_t rows, int64_t vocab, const uint32_t *mask, int64_t mask_stride) {
  const IsaKernels &k = current_kernels();
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.mask_row(logits + r * vocab, mask + r * mask_stride, vocab);
  }, 8);
}

tsgl_kv_pool *tsgl_kv_pool_create(int64_t num_layers, int64_t num_slots, int64_t num_kv_heads,
                                  int64_t head_dim, int dtype) {
  if (dtype != TSGL_F32 && dtype != TSGL_F16 && dtype != TSGL_BF16) return nullptr;
  auto *p = new tsgl_kv_pool{};
  p->num_layers = num_layers;
  p->num_slots = num_slots;
  p->num_kv_heads = num_kv_heads;
  p->head_dim = head_dim;
  p->dtype = dtype;
  p->elem_bytes = dtype == TSGL_F32 ? 4 : 2;
  p->row_bytes = head_dim * p->elem_bytes;
  p->head_stride = num_slots * p->row_bytes;
  p->layer_bytes = num_kv_heads * p->head_stride;
  p->map_bytes = static_cast<size_t>(num_layers * p->layer_bytes);
  const size_t len = p->map_bytes ? p->map_bytes : 1;
  void *k = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  // zeroed, lazy
  void *v = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (k == MAP_FAILED || v == MAP_FAILED) {
    if (k != MAP_FAILED) munmap(k, len);
    if (v != MAP_FAILED) munmap(v, len);
    delete p;
    return nullptr;
  }
#ifdef MADV_HUGEPAGE
  // Transparent huge pages where the system allows them on request (THP "madvise" mode):
  // attention reads rows of scattered slots, and 2 MiB pages keep those reads off the TLB
  // miss path. Advisory; failure is harmless.
  madvise(k, len, MADV_HUGEPAGE);
  madvise(v, len, MADV_HUGEPAGE);
#endif
  p->k = static_cast<uint8_t *>(k);
  p->v = static_cast<uint8_t *>(v);
  return p;
}

void tsgl_kv_pool_free(tsgl_kv_pool *p) {
  if (!p) return;
  const size_t len = p->map_bytes ? p->map_bytes : 1;
  munmap(p->k, len);
  munmap(p->v, len);
  delete p;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

// The pool is mapped lazily: a slot's memory is backed at its first store, which costs a page
// fault (and, in a VM, the hypervisor backing the page) inside a forward pass. Committing the
// slots the allocator hands out first moves that cost to start-up, as engines that zero their
// KV cache at start do. Layers are committed in parallel; page contents stay zero.
int64_t tsgl_kv_pool_commit(tsgl_kv_pool *p, int64_t n) {
  n = std::min(n, p->num_slots);
  if (n <= 0) return 0;
  const size_t len = static_cast<size_t>(n * p->row_bytes);  // slots [0, n) of one KV head
  const long page = sysconf(_SC_PAGESIZE);
  const int64_t heads = p->num_kv_heads;
  parallel_for(p->num_layers * 2 * heads, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t kv = i / heads, h = i % heads;  // kv = layer * 2 + (0: K, 1: V)
      uint8_t *base = (kv & 1 ? p->v : p->k) + (kv >> 1) * p->layer_bytes + h * p->head_stride;
      uint8_t *start = reinterpret_cast<uint8_t *>(reinterpret_cast<uintptr_t>(base) & ~static_cast<uintptr_t>(page - 1));
      if (madvise(start, len + (base - start), MADV_POPULATE_WRITE) == 0) continue;
      for (size_t off = 0; off < len; off += static_cast<size_t>(page)) *reinterpret_cast<volatile uint8_t *>(base + off) = 0;
      *reinterpret_cast<volatile uint8_t *>(base + len - 1) = 0;
    }
  });
  return static_cast<int64_t>(len) * 2 * heads * p->num_layers;
}

void tsgl_kv_pool_shape(const tsgl_kv_pool *p, int64_t *num_layers, int64_t *num_slots, int64_t *num_kv_heads,
                        int64_t *head_dim, int *dtype) {
  *num_layers = p->num_layers;
  *num_slots = p->num_slots;
  *num_kv_heads = p->num_kv_heads;
  *head_dim = p->head_dim;
  *dtype = p->dtype;
}

void tsgl_store_kv(tsgl_kv_pool *p, int64_t layer, const float *k, const float *v, const int32_t *loc, int64_t n) {
  const IsaKernels &ks = current_kernels();
  const int64_t hd = p->head_dim, heads = p->num_kv_heads, row = heads * hd;
  uint8_t *kl = p->k + layer * p->layer_bytes, *vl = p->v + layer * p->layer_bytes;
  parallel_for(n, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t off = h * p->head_stride + loc[t] * p->row_bytes;
        ks.store_row(p->dtype, kl + off, k + t * row + h * hd, hd);
        ks.store_row(p->dtype, vl + off, v + t * row + h * hd, hd);
      }
    }
  }, 8);
}

void tsgl_load_kv(const tsgl_kv_pool *p, int64_t layer, float *k, float *v, const int32_t *slots, int64_t n) {
  const IsaKernels &ks = current_kernels();
  const int64_t hd = p->head_dim, heads = p->num_kv_heads, row = heads * hd;
  const uint8_t *kl = p->k + layer * p->layer_bytes, *vl = p->v + layer * p->layer_bytes;
  parallel_for(n, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t off = h * p->head_stride + slots[t] * p->row_bytes;
        ks.dequant_row(p->dtype, kl + off, k + t * row + h * hd, hd);
        ks.dequant_row(p->dtype, vl + off, v + t * row + h * hd, hd);
      }
    }
  }, 8);
}

void tsgl_attention(float *out, const float *q, const tsgl_kv_pool *p, int64_t layer, int64_t num_heads,
                    int64_t num_reqs, const int32_t *q_indptr, const int32_t *kv_indptr,
                    const int32_t *kv_indices, float scale) {
  const IsaKernels &ks = current_kernels();
  AttnArgs a{};
  a.out = out;
  a.q = q;
  a.k = p->k + layer * p->layer_bytes;
  a.v = p->v + layer * p->layer_bytes;
  a.num_heads = num_heads;
  a.num_kv_heads = p->num_kv_heads;
  a.head_dim = p->head_dim;
  a.group = num_heads / p->num_kv_heads;
  a.slot_bytes = p->row_bytes;
  a.head_bytes = p->row_bytes;
  a.head_stride = p->head_stride;
  a.dtype = p->dtype;
  a.q_indptr = q_indptr;
  a.kv_indptr = kv_indptr;
  a.kv_indices = kv_indices;
  a.scale = scale;
  const int64_t hd = a.head_dim;
  const int isa = tsgl_get_isa();
  if ((isa == TSGL_ISA_AVX512 || isa == TSGL_ISA_AVX2) && (hd == 16 || hd == 32 || hd == 64 || hd == 128 || hd == 256)) {
    const auto group_fn = isa == TSGL_ISA_AVX512 ? avx512_attention_group : avx2_attention_group;
    // Work items (request, kv head, head split, chunk of kQChunk queries): the heads of one GQA
    // group share each K/V read. Few items (decode at small batch) split each group into
    // `splits` head ranges so every thread gets work; a long prefill spreads by query chunks.
    constexpr int64_t kQChunk = 16;
    thread_local std::vector<int64_t> chunk_start;  // per request, prefix sums of its chunks
    int64_t *cs = grow(chunk_start, static_cast<size_t>(num_reqs + 1));
    cs[0] = 0;
    for (int64_t r = 0; r < num_reqs; ++r) cs[r + 1] = cs[r] + (q_indptr[r + 1] - q_indptr[r] + kQChunk - 1) / kQChunk;
    const int64_t group = a.group, nkv = a.num_kv_heads;
    const int64_t base = cs[num_reqs] * nkv, want = 2 * static_cast<int64_t>(pool_num_threads());
    const int64_t splits = base >= want ? 1 : std::min<int64_t>(group, (want + base - 1) / std::max<int64_t>(1, base));
    // Items are claimed one at a time from a shared counter: KV lengths differ per request
    // and another process may take a core, so a static split would leave a thread idle.
    // Each item writes its own output rows, so who runs it does not change the result.
    const int64_t items = cs[num_reqs] * nkv * splits;
    std::atomic<int64_t> next{0};
    parallel_for(std::min<int64_t>(items, pool_num_threads()), [&](int64_t, int64_t, int) {
      for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < items; i = next.fetch_add(1, std::memory_order_relaxed)) {
        // item = (request r, kv head h, split s, chunk c): ordered by request, kv head, split, chunk
        const int64_t r = std::upper_bound(cs + 1, cs + num_reqs + 1, i / (nkv * splits)) - (cs + 1);
        const int64_t local = i - cs[r] * nkv * splits, nch = cs[r + 1] - cs[r];
        const int64_t hs = local / nch, c = local % nch, h = hs / splits, s = hs % splits;
        const int64_t q_len = q_indptr[r + 1] - q_indptr[r];
        group_fn(a, r, h, group * s / splits, group * (s + 1) / splits, c * kQChunk, std::min(q_len, (c + 1) * kQChunk));
      }
    });
    return;
  }
  parallel_for(num_reqs * num_heads, [&](int64_t i0, int64_t i1, int) {
    thread_local std::vector<float> scratch;  // [kv_len] scores then [head_dim] accumulator
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t r = i / num_heads, h = i % num_heads;
      const int64_t kv_len = kv_indptr[r + 1] - kv_indptr[r];
      float *s = grow(scratch, static_cast<size_t>(kv_len + a.head_dim));
      ks.attention_head(a, r, h, s, s + kv_len);
    }
  });
}

}  // extern "C"
