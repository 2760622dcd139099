/* Memory read bandwidth of this machine (the bound of batch-1 decode): T threads each sum their
 * slice of a 1 GiB buffer of 64-bit integers (vectorized loads), best of 5 passes.
 * Built and run by `tsgl bench_compare` (cc -O3 -march=native -pthread); prints GB/s. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t *buf;
static size_t n;
static int nthreads;
static volatile uint64_t sink;

static void *work(void *arg) {
  size_t t = (size_t)arg, per = n / nthreads, lo = t * per, hi = lo + per;
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = lo; i < hi; i += 4) { s0 += buf[i]; s1 += buf[i + 1]; s2 += buf[i + 2]; s3 += buf[i + 3]; }
  sink += s0 + s1 + s2 + s3;
  return NULL;
}

static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }

int main(int argc, char **argv) {
  nthreads = argc > 1 ? atoi(argv[1]) : 2;
  size_t bytes = (size_t)(argc > 2 ? atof(argv[2]) : 1024) << 20;
  n = bytes / 8;
  buf = aligned_alloc(64, bytes);
  memset(buf, 1, bytes);
  double best = 0;
  for (int pass = 0; pass < 5; pass++) {
    pthread_t th[64];
    double t0 = now();
    for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, work, (void *)(size_t)t);
    for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
    double gbs = bytes / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
  }
  printf("%.2f\n", best);
  return 0;
}
