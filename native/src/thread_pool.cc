/*
 * Persistent thread pool: see thread_pool.h for the contract.
 *
 * One job at a time: the caller publishes (fn, n, chunks) under the mutex and bumps a
 * generation counter; each worker w runs chunk w (w >= 1) for that generation, then
 * decrements `pending_`. Workers spin briefly on the generation before sleeping on `wake_`;
 * the caller spins briefly on `pending_` before sleeping on `done_`.
 */
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "../include/kernels.h"

namespace tsgl {
namespace {

thread_local bool t_in_task = false;

class Pool {
 public:
  ~Pool() { stop_workers(); }

  void resize(int n) {
    std::lock_guard<std::mutex> run(run_mutex_);
    n = std::max(1, std::min(n, 1024));
    if (n == num_threads_) return;
    stop_workers();
    num_threads_ = n;
    stop_ = false;
    // Workers start from the current generation (no job can be published while run_mutex_ is held).
    const uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int w = 1; w < n; ++w) workers_.emplace_back([this, w, gen] { worker_loop(w, gen); });
  }

  int size() const { return num_threads_; }

  void run(int64_t n, const RangeFn &fn, int64_t min_chunk) {
    if (n <= 0) return;
    int64_t chunks = std::min<int64_t>(num_threads_, (n + min_chunk - 1) / std::max<int64_t>(1, min_chunk));
    if (chunks <= 1 || t_in_task) {
      fn(0, n, 0);
      return;
    }
    std::lock_guard<std::mutex> run(run_mutex_);
    chunks = std::min<int64_t>(chunks, num_threads_);
    {
      std::lock_guard<std::mutex> lk(mutex_);
      fn_ = &fn;
      n_ = n;
      chunks_ = chunks;
      pending_.store(static_cast<int>(chunks - 1), std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_chunk(0);
    wait_done();
    fn_ = nullptr;
  }

 private:
  void run_chunk(int64_t c) {
    const int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
    t_in_task = true;
    if (begin < end) (*fn_)(begin, end, static_cast<int>(c));
    t_in_task = false;
  }

  void wait_done() {
    for (int spin = 0; spin < 20000; ++spin) {
      if (pending_.load(std::memory_order_acquire) == 0) return;
    }
    std::unique_lock<std::mutex> lk(mutex_);
    done_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }

  void worker_loop(int w, uint64_t seen) {
    for (;;) {
      for (int spin = 0; spin < 20000; ++spin) {
        if (generation_.load(std::memory_order_acquire) != seen) break;
      }
      int64_t chunks;
      {
        // Snapshot (generation, chunks) consistently: both are published under mutex_.
        std::unique_lock<std::mutex> lk(mutex_);
        wake_.wait(lk, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
        if (stop_) return;
        seen = generation_.load(std::memory_order_relaxed);
        chunks = chunks_;
      }
      if (w < chunks) {
        run_chunk(w);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard<std::mutex> lk(mutex_);
          done_.notify_one();
        }
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto &t : workers_) t.join();
    workers_.clear();
  }

  std::mutex run_mutex_;  // one job at a time (several JS threads may call in)
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const RangeFn *fn_ = nullptr;
  int64_t n_ = 0, chunks_ = 0;
  int num_threads_ = 1;
  bool stop_ = false;
};

Pool &pool() {
  static Pool *p = [] {
    auto *q = new Pool();  // leaked on purpose: workers must outlive static destructors
    q->resize(tsgl_physical_cores());
    return q;
  }();
  return *p;
}

}  // namespace

void pool_set_num_threads(int n) { pool().resize(n); }
int pool_num_threads() { return pool().size(); }
void parallel_for(int64_t n, const RangeFn &fn, int64_t min_chunk) { pool().run(n, fn, min_chunk); }

}  // namespace tsgl

extern "C" void tsgl_set_num_threads(int n) { tsgl::pool_set_num_threads(n); }
extern "C" int tsgl_get_num_threads(void) { return tsgl::pool_num_threads(); }
