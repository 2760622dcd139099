// Standalone: achieved GB/s of tsgl_matmul at m = 1..4 vs a plain AVX-512 read loop over the
// same bytes, alternating, same moment (built with -mavx512f: an AVX-512 host only). Build: bench/native/build.sh; run: gemv_bw [threads].
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#include "../../native/include/kernels.h"
#include "../../native/src/thread_pool.h"

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

static float read_all(const uint8_t *p, int64_t bytes) {
  std::vector<float> part(64, 0.f);
  const int64_t lines = bytes / 64;
  tsgl::parallel_for(lines, [&](int64_t a, int64_t b, int t) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = a;
    for (; i + 4 <= b; i += 4) {
      s0 = _mm512_add_ps(s0, _mm512_load_ps(p + 64 * i));
      s1 = _mm512_add_ps(s1, _mm512_load_ps(p + 64 * i + 64));
      s2 = _mm512_add_ps(s2, _mm512_load_ps(p + 64 * i + 128));
      s3 = _mm512_add_ps(s3, _mm512_load_ps(p + 64 * i + 192));
    }
    part[t] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  });
  return part[0] + part[1];
}

int main(int argc, char **argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  const char *only = argc > 2 ? argv[2] : nullptr;  // e.g. q8_0
  const int64_t only_cols = argc > 3 ? atoll(argv[3]) : 0;
  tsgl_set_num_threads(threads);
  struct { int dtype; const char *name; } dts[] = {{TSGL_Q8_0, "q8_0"}, {TSGL_Q4_0, "q4_0"}, {TSGL_F16, "f16"}, {TSGL_BF16, "bf16"}, {TSGL_F32, "f32"}};
  const int64_t target = (argc > 4 ? atoll(argv[4]) : 160) << 20;  // MiB of weights
  std::mt19937 rng(1);
  for (int64_t cols : {576, 1536}) {
    if (only_cols && cols != only_cols) continue;
    for (auto &d : dts) {
      if (only && strcmp(only, d.name) != 0) continue;
      const int64_t rb = tsgl_row_bytes(d.dtype, cols), rows = target / rb, bytes = rows * rb;
      uint8_t *buf = static_cast<uint8_t *>(aligned_alloc(64, (bytes + 63) / 64 * 64));
      std::vector<float> src(cols);
      std::normal_distribution<float> nd;
      for (int64_t r = 0; r < rows; ++r) {
        if (r < 64) for (auto &v : src) v = nd(rng);
        tsgl_quantize_rows(buf + r * rb, src.data(), 1, cols, d.dtype);
      }
      tsgl_weight_part part{buf, rows};
      tsgl_weight w{&part, 1, rows, cols, d.dtype, rb, nullptr};
      std::vector<float> x(4 * cols), out(4 * rows);
      for (auto &v : x) v = nd(rng);
      for (int m : {1, 2, 4}) {
        double best_mm = 1e9, best_rd = 1e9;
        float sink = 0;
        for (int it = 0; it < (target < (16 << 20) ? 200 : 7); ++it) {
          double t0 = now();
          tsgl_matmul(out.data(), x.data(), &w, m);
          best_mm = std::min(best_mm, now() - t0);
          t0 = now();
          sink += read_all(buf, bytes);
          best_rd = std::min(best_rd, now() - t0);
        }
        printf("%-5s cols %5lld m=%d  gemv %6.1f GB/s   read %6.1f GB/s   ratio %.2f  (%.3g)\n", d.name, (long long)cols, m,
               bytes / best_mm / 1e9, bytes / best_rd / 1e9, best_rd / best_mm, sink * 0 + out[0] * 0);
      }
      free(buf);
    }
  }
}
