/*
 * CPU feature detection (cpuid + xgetbv), physical core count, and the process-wide choice
 * of kernel variant.
 *
 * Invariants:
 * - Detection runs once; the best supported ISA is selected at load:
 *   avx512f+bw+vl+dq (+OS ZMM state) -> avx512; avx2+fma+f16c (+OS YMM state) -> avx2; else scalar.
 * - tsgl_set_isa refuses variants this CPU cannot run.
 */
#include <cpuid.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../include/kernels.h"
#include "cpu.h"

namespace tsgl {
namespace {

uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f{};
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  f.avx = c & (1u << 28);
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool ymm_os = (xcr0 & 0x6) == 0x6;
  const bool zmm_os = ymm_os && (xcr0 & 0xe0) == 0xe0;
  f.avx = f.avx && ymm_os;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = f.avx && (b & (1u << 5));
    f.avx512f = zmm_os && (b & (1u << 16));
    f.avx512dq = f.avx512f && (b & (1u << 17));
    f.avx512bw = f.avx512f && (b & (1u << 30));
    f.avx512vl = f.avx512f && (b & (1u << 31));
    f.avx512_vnni = f.avx512f && (c & (1u << 11));
    f.amx_bf16 = d & (1u << 22);
    f.amx_tile = d & (1u << 24);
    f.amx_int8 = d & (1u << 25);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    f.avx_vnni = f.avx && (a & (1u << 4));
    f.avx512_bf16 = f.avx512f && (a & (1u << 5));
  }
  f.fma = f.fma && f.avx;
  f.f16c = f.f16c && f.avx;
  return f;
}

int count_physical_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const bool have_mask = sched_getaffinity(0, sizeof(set), &set) == 0;
  std::set<std::pair<int, int>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (have_mask && !CPU_ISSET(cpu, &set)) continue;
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream core(base + "core_id"), pkg(base + "physical_package_id");
    int core_id = -1, pkg_id = -1;
    if (!(core >> core_id) || !(pkg >> pkg_id)) {
      if (!have_mask) break;
      continue;
    }
    cores.insert({pkg_id, core_id});
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  const unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

}  // namespace

const CpuFeatures &cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace tsgl

using tsgl::cpu_features;

namespace {
std::atomic<int> g_isa{-1};
}

extern "C" {

const char *tsgl_isa_name(tsgl_isa isa) {
  switch (isa) {
    case TSGL_ISA_SCALAR: return "scalar";
    case TSGL_ISA_AVX2: return "avx2";
    case TSGL_ISA_AVX512: return "avx512";
  }
  return "unknown";
}

int tsgl_isa_supported(tsgl_isa isa) {
  const auto &f = cpu_features();
  switch (isa) {
    case TSGL_ISA_SCALAR: return 1;
    case TSGL_ISA_AVX2: return f.avx2 && f.fma && f.f16c;
    case TSGL_ISA_AVX512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c && f.avx2;
  }
  return 0;
}

tsgl_isa tsgl_best_isa(void) {
  if (tsgl_isa_supported(TSGL_ISA_AVX512)) return TSGL_ISA_AVX512;
  if (tsgl_isa_supported(TSGL_ISA_AVX2)) return TSGL_ISA_AVX2;
  return TSGL_ISA_SCALAR;
}

int tsgl_set_isa(tsgl_isa isa) {
  if (!tsgl_isa_supported(isa)) return -1;
  g_isa.store(isa);
  return 0;
}

tsgl_isa tsgl_get_isa(void) {
  int isa = g_isa.load();
  if (isa < 0) {
    isa = tsgl_best_isa();
    g_isa.store(isa);
  }
  return static_cast<tsgl_isa>(isa);
}

int tsgl_cpu_features(const char **names, int max_names) {
  const auto &f = cpu_features();
  const std::pair<bool, const char *> all[] = {
      {f.avx, "avx"},           {f.avx2, "avx2"},           {f.fma, "fma"},
      {f.f16c, "f16c"},         {f.avx_vnni, "avx_vnni"},   {f.avx512f, "avx512f"},
      {f.avx512dq, "avx512dq"}, {f.avx512bw, "avx512bw"},   {f.avx512vl, "avx512vl"},
      {f.avx512_vnni, "avx512_vnni"}, {f.avx512_bf16, "avx512_bf16"}, {f.amx_tile, "amx_tile"},
      {f.amx_int8, "amx_int8"}, {f.amx_bf16, "amx_bf16"},
  };
  int n = 0;
  for (const auto &e : all) {
    if (e.first && n < max_names) names[n++] = e.second;
  }
  return n;
}

int tsgl_physical_cores(void) {
  static const int n = tsgl::count_physical_cores();
  return n;
}

int tsgl_logical_cores(void) {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // extern "C"
