# Builds build/Release/tsgl_native.node: the C++17 kernel addon (see native/include/kernels.h).
# No -march=native: each ISA's kernels live in their own file and enable their instructions
# with `#pragma GCC target`, and the variant is chosen at run time, so one build runs on any
# x86-64 CPU.
{
  "targets": [
    {
      "target_name": "tsgl_native",
      "sources": [
        "native/src/binding.cc",
        "native/src/cpu.cc",
        "native/src/ops.cc",
        "native/src/quant.cc",
        "native/src/thread_pool.cc",
        "native/src/arch/scalar/kernels_scalar.cc",
        "native/src/arch/avx2/kernels_avx2.cc",
        "native/src/arch/avx512/kernels_avx512.cc",
        "native/src/arch/avx512/matmul_avx512.cc",
        "native/src/arch/avx512/gemv_avx512.cc",
        "native/src/arch/avx512/kquant_avx512.cc",
        "native/src/arch/avx512/bf16dot_avx512.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include"
      ],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-O2", "-O0"],
      "cflags": ["-O3", "-fPIC", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3"],
      "ldflags": ["-pthread"],
      "libraries": ["-pthread"]
    }
  ]
}
