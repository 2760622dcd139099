/*
 * Persistent worker pool for the kernels.
 *
 * Invariants:
 * - Workers are created once (and on setNumThreads) and live until the process exits.
 * - Idle workers sleep on a condition variable after a bounded spin (~200 us, TSGL_POOL_SPIN_US): no busy loop while the
 *   server idles.
 * - parallel_for(n, fn) splits [0, n) into at most num_threads contiguous chunks; the calling
 *   thread runs chunk 0 and returns only when every chunk has finished. fn(begin, end, tid)
 *   receives a thread index in [0, num_threads) (unique within one call).
 * - Calls from several JS threads are serialized; a parallel_for issued from inside a task
 *   runs inline on the calling worker (no nesting, no deadlock).
 */
#pragma once

#include <cstdint>

namespace tsgl {

// A non-owning reference to a callable void(int64_t begin, int64_t end, int tid): no heap
// allocation per call (std::function allocates for lambdas with more than two captures).
// The callable must outlive the parallel_for call (it always does: it is a temporary argument).
class RangeFn {
 public:
  template <typename F>
  RangeFn(const F &f)  // NOLINT: implicit on purpose, callers pass lambdas
      : obj_(static_cast<const void *>(&f)),
        call_([](const void *o, int64_t b, int64_t e, int t) { (*static_cast<const F *>(o))(b, e, t); }) {}
  void operator()(int64_t b, int64_t e, int t) const { call_(obj_, b, e, t); }

 private:
  const void *obj_;
  void (*call_)(const void *, int64_t, int64_t, int);
};

void pool_set_num_threads(int n);
int pool_num_threads();
// Runs fn over [0, n) split into chunks of at least min_chunk items.
void parallel_for(int64_t n, const RangeFn &fn, int64_t min_chunk = 1);

}  // namespace tsgl
