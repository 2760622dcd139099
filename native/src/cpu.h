/* Detected CPU features (internal). Detection runs once, on first use. */
#pragma once

namespace tsgl {

struct CpuFeatures {
  bool avx, avx2, fma, f16c, avx_vnni;
  bool avx512f, avx512dq, avx512bw, avx512vl, avx512_vnni, avx512_bf16;
  bool amx_tile, amx_int8, amx_bf16;
};

const CpuFeatures &cpu_features();

}  // namespace tsgl
