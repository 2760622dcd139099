/*
 * Persistent thread pool: see thread_pool.h for the contract.
 *
 * One job at a time. The caller stores (fn, n) and pending_ = chunks - 1, then publishes the
 * job by bumping job_ (a counter in the high bits, the chunk count in the low 16 bits, so a
 * worker reads both in one atomic load). Worker w runs chunk w (w >= 1) when w < chunks, then
 * decrements pending_.
 *
 * Waking: after a job, workers spin (with _mm_pause) on job_ for kSpinNs, so the back-to-back
 * ops of one forward pass never pay a futex wake; only then do they sleep on wake_ (no busy
 * loop while the server idles). The caller takes the mutex and notifies only when a worker
 * is asleep (sleepers_ > 0), and it spins on pending_ the same way before sleeping on done_
 * (a worker notifies only when the caller is asleep). Both hand-offs are Dekker pairs of
 * seq_cst operations: the publisher stores then loads the sleeper count, the sleeper stores
 * its count then re-checks the condition under the mutex, so no wake-up is lost.
 */
#include "thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "../include/kernels.h"

namespace tsgl {
namespace {

thread_local bool t_in_task = false;

// How long an idle worker (or the waiting caller) spins before sleeping. TSGL_POOL_SPIN_US
// overrides it (0 = sleep at once).
int64_t spin_ns() {
  static const int64_t ns = [] {
    const char *e = std::getenv("TSGL_POOL_SPIN_US");
    const long us = e ? std::strtol(e, nullptr, 10) : 200;
    return static_cast<int64_t>(std::max(0L, std::min(us, 100000L))) * 1000;
  }();
  return ns;
}

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Spins until pred() holds or the spin window ends; returns pred()'s last value.
template <typename Pred>
bool spin_until(const Pred &pred) {
  if (pred()) return true;
  const int64_t limit = spin_ns();
  if (limit == 0) return false;
  const int64_t t0 = now_ns();
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      _mm_pause();
      if (pred()) return true;
    }
    if (now_ns() - t0 > limit) return pred();
    // Hand the core over when another thread wants it (an oversubscribed host): a spinner
    // must not hold the core that the thread it waits for needs. Cheap when nothing waits.
    sched_yield();
  }
}

constexpr uint64_t kChunkBits = 16;
constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;

class Pool {
 public:
  ~Pool() { stop_workers(); }

  void resize(int n) {
    std::lock_guard<std::mutex> run(run_mutex_);
    n = std::max(1, std::min(n, 1024));
    if (n == num_threads_) return;
    stop_workers();
    num_threads_ = n;
    stop_.store(false);
    // Workers start from the current job word (no job can be published while run_mutex_ is held).
    const uint64_t seen = job_.load(std::memory_order_acquire);
    for (int w = 1; w < n; ++w) workers_.emplace_back([this, w, seen] { worker_loop(w, seen); });
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
    fn_ = &fn;
    n_ = n;
    pending_.store(static_cast<int>(chunks - 1), std::memory_order_relaxed);
    const uint64_t counter = (job_.load(std::memory_order_relaxed) >> kChunkBits) + 1;
    job_.store((counter << kChunkBits) | static_cast<uint64_t>(chunks), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lk(mutex_); }
      wake_.notify_all();
    }
    run_chunk(0, chunks);
    wait_done();
    fn_ = nullptr;
  }

 private:
  void run_chunk(int64_t c, int64_t chunks) {
    const int64_t begin = n_ * c / chunks, end = n_ * (c + 1) / chunks;
    t_in_task = true;
    if (begin < end) (*fn_)(begin, end, static_cast<int>(c));
    t_in_task = false;
  }

  void wait_done() {
    auto done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (spin_until(done)) return;
    std::unique_lock<std::mutex> lk(mutex_);
    caller_asleep_.store(true, std::memory_order_seq_cst);
    done_.wait(lk, [this] { return pending_.load(std::memory_order_seq_cst) == 0; });
    caller_asleep_.store(false, std::memory_order_relaxed);
  }

  void worker_loop(int w, uint64_t seen) {
    for (;;) {
      auto changed = [&] { return stop_.load(std::memory_order_acquire) || job_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(changed)) {
        std::unique_lock<std::mutex> lk(mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(lk, [&] { return stop_.load(std::memory_order_seq_cst) || job_.load(std::memory_order_seq_cst) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = job_.load(std::memory_order_acquire);
      const int64_t chunks = static_cast<int64_t>(seen & kChunkMask);
      if (w < chunks) {
        // fn_ / n_ stay valid: the caller waits for this chunk before publishing another job.
        run_chunk(w, chunks);
        if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && caller_asleep_.load(std::memory_order_seq_cst)) {
          { std::lock_guard<std::mutex> lk(mutex_); }
          done_.notify_one();
        }
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (auto &t : workers_) t.join();
    workers_.clear();
  }

  std::mutex run_mutex_;  // one job at a time (several JS threads may call in)
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  alignas(64) std::atomic<uint64_t> job_{0};  // (counter << 16) | chunks
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_asleep_{false};
  std::atomic<bool> stop_{false};
  const RangeFn *fn_ = nullptr;
  int64_t n_ = 0;
  int num_threads_ = 1;
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
