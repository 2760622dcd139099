/*
 * Dtype table (block sizes, row bytes), the reference quantizers (ggml semantics) and the
 * C ABI for quantizeRows / dequantizeRows.
 *
 * Invariants: Q8_0 d = amax/127, q = roundf(x/d); Q4_0 d = max/-8 (signed max by magnitude),
 * q = min(15, (int8)(x/d + 8.5)); F16/BF16 round to nearest even.
 */
#include <cmath>

#include "../include/kernels.h"
#include "ops_internal.h"
#include "quant.h"
#include "thread_pool.h"

namespace tsgl {

void quantize_row_q8_0(const float *x, BlockQ8_0 *y, int64_t n) {
  for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

void quantize_row_q4_0(const float *x, BlockQ4_0 *y, int64_t n) {
  for (int64_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < 16; ++j) {
      const int q0 = static_cast<int8_t>(x[j] * id + 8.5f), q1 = static_cast<int8_t>(x[j + 16] * id + 8.5f);
      y[i].qs[j] = static_cast<uint8_t>((q0 < 15 ? q0 : 15) | ((q1 < 15 ? q1 : 15) << 4));
    }
  }
}

}  // namespace tsgl

using namespace tsgl;

extern "C" {

int tsgl_dtype_valid(int dtype) { return tsgl_block_elems(dtype) > 0; }

int64_t tsgl_block_elems(int dtype) {
  switch (dtype) {
    case TSGL_F32: case TSGL_F16: case TSGL_BF16: return 1;
    case TSGL_Q8_0: case TSGL_Q4_0: return 32;
    case TSGL_Q4_K: case TSGL_Q6_K: return QK_K;
    default: return 0;
  }
}

static int64_t block_bytes(int dtype) {
  switch (dtype) {
    case TSGL_F32: return 4;
    case TSGL_F16: case TSGL_BF16: return 2;
    case TSGL_Q8_0: return sizeof(BlockQ8_0);
    case TSGL_Q4_0: return sizeof(BlockQ4_0);
    case TSGL_Q4_K: return sizeof(BlockQ4_K);
    case TSGL_Q6_K: return sizeof(BlockQ6_K);
    default: return 0;
  }
}

int64_t tsgl_row_bytes(int dtype, int64_t cols) {
  const int64_t be = tsgl_block_elems(dtype);
  if (be == 0 || cols < 0 || cols % be != 0) return -1;
  return cols / be * block_bytes(dtype);
}

uint16_t tsgl_f32_to_f16(float f) { return f32_to_f16(f); }
float tsgl_f16_to_f32(uint16_t h) { return f16_to_f32(h); }
uint16_t tsgl_f32_to_bf16(float f) { return f32_to_bf16(f); }
float tsgl_bf16_to_f32(uint16_t h) { return bf16_to_f32(h); }

int tsgl_quantize_rows(void *dst, const float *src, int64_t rows, int64_t cols, int dtype) {
  const int64_t rb = tsgl_row_bytes(dtype, cols);
  if (rb < 0 || dtype == TSGL_Q4_K || dtype == TSGL_Q6_K) return -1;
  uint8_t *out = static_cast<uint8_t *>(dst);
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *x = src + r * cols;
      uint8_t *y = out + r * rb;
      switch (dtype) {
        case TSGL_Q8_0: quantize_row_q8_0(x, reinterpret_cast<BlockQ8_0 *>(y), cols); break;
        case TSGL_Q4_0: quantize_row_q4_0(x, reinterpret_cast<BlockQ4_0 *>(y), cols); break;
        default: scalar_kernels().store_row(dtype, y, x, cols); break;
      }
    }
  }, 4);
  return 0;
}

int tsgl_dequantize_rows(float *dst, const void *src, int64_t rows, int64_t cols, int dtype) {
  const int64_t rb = tsgl_row_bytes(dtype, cols);
  if (rb < 0) return -1;
  const IsaKernels &k = current_kernels();
  const uint8_t *in = static_cast<const uint8_t *>(src);
  parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) k.dequant_row(dtype, in + r * rb, dst + r * cols, cols);
  }, 4);
  return 0;
}

}  // extern "C"
