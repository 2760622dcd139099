#!/bin/sh
# Links bench/native/gemv_bw.cc against the addon's objects (npm run build:native first).
set -e
cd "$(dirname "$0")/../.."
O=build/Release/obj.target/tsgl_native/native/src
g++ -O2 -mavx512f -std=c++17 -pthread -o build/gemv_bw bench/native/gemv_bw.cc $O/cpu.o $O/ops.o $O/quant.o $O/thread_pool.o \
  $O/arch/scalar/kernels_scalar.o $O/arch/avx2/kernels_avx2.o $O/arch/avx512/kernels_avx512.o $O/arch/avx512/matmul_avx512.o $O/arch/avx512/gemv_avx512.o
echo build/gemv_bw
