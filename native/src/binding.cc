/*
 * N-API binding: the only file that includes napi.h. Implements src/native/binding.ts.
 *
 * Invariants:
 * - Each export unpacks its arguments, runs cheap checks (types, lengths, handle validity,
 *   index ranges) and throws a JS Error naming the function and the argument; then it calls
 *   the C ABI in kernels.h. No kernel ever sees an out-of-range index.
 * - Weight and KV pool handles are per-env (AddonState, freed with the env); weights keep
 *   references to their part views so the bytes stay alive without a copy.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <napi.h>

#include "../include/kernels.h"

namespace {

struct WeightEntry {
  std::vector<tsgl_weight_part> parts;
  std::vector<Napi::ObjectReference> refs;  // keep the part views alive
  tsgl_weight w{};                          // w.packed: owned here (tsgl_weight_prepack)
  int64_t packed_bytes = 0;
  WeightEntry() = default;
  WeightEntry(const WeightEntry &) = delete;
  WeightEntry &operator=(const WeightEntry &) = delete;
  ~WeightEntry() { tsgl_weight_unprepack(&w); }
};

struct AddonState {
  std::unordered_map<int64_t, std::unique_ptr<WeightEntry>> weights;
  std::unordered_map<int64_t, tsgl_kv_pool *> pools;
  int64_t next_handle = 1;
  ~AddonState() {
    for (auto &e : pools) tsgl_kv_pool_free(e.second);
  }
};

constexpr int64_t kMaxDim = int64_t{1} << 40;

// Argument unpacking with errors of the form "<fn>: <arg> <problem>".
class Args {
 public:
  Args(const Napi::CallbackInfo &info, const char *fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() < count) fail("expected " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }
  Napi::Env env() const { return info_.Env(); }
  [[noreturn]] void fail(const std::string &msg) const { throw Napi::Error::New(info_.Env(), std::string(fn_) + ": " + msg); }

  int64_t integer(size_t i, const char *name, int64_t lo = 0, int64_t hi = kMaxDim) const {
    if (!info_[i].IsNumber()) fail(std::string(name) + " must be a number");
    const double d = info_[i].As<Napi::Number>().DoubleValue();
    if (!(d == std::floor(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
      fail(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + num(d));
    return static_cast<int64_t>(d);
  }
  double number(size_t i, const char *name) const {
    if (!info_[i].IsNumber()) fail(std::string(name) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  std::string string(size_t i, const char *name) const {
    if (!info_[i].IsString()) fail(std::string(name) + " must be a string");
    return info_[i].As<Napi::String>().Utf8Value();
  }
  template <typename T>
  T *array(size_t i, const char *name, napi_typedarray_type type, const char *type_name, int64_t need) const {
    if (!info_[i].IsTypedArray() || info_[i].As<Napi::TypedArray>().TypedArrayType() != type)
      fail(std::string(name) + " must be a " + type_name);
    auto a = info_[i].As<Napi::TypedArrayOf<T>>();
    if (static_cast<int64_t>(a.ElementLength()) < need)
      fail(std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, needs at least " + std::to_string(need));
    return a.Data();
  }
  float *f32(size_t i, const char *name, int64_t need) const { return array<float>(i, name, napi_float32_array, "Float32Array", need); }
  int32_t *i32(size_t i, const char *name, int64_t need) const { return array<int32_t>(i, name, napi_int32_array, "Int32Array", need); }
  uint8_t *u8(size_t i, const char *name, int64_t need) const { return array<uint8_t>(i, name, napi_uint8_array, "Uint8Array", need); }
  uint32_t *u32(size_t i, const char *name, int64_t need) const { return array<uint32_t>(i, name, napi_uint32_array, "Uint32Array", need); }

  int64_t mul(int64_t a, int64_t b) const {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) fail("shape too large");
    return r;
  }
  int dtype(size_t i, const char *name) const {
    const int64_t d = integer(i, name, 0, 255);
    if (!tsgl_dtype_valid(static_cast<int>(d))) fail(std::string(name) + " " + std::to_string(d) + " is not a supported GGML type id");
    return static_cast<int>(d);
  }
  int64_t row_bytes(int dtype, int64_t cols) const {
    const int64_t rb = tsgl_row_bytes(dtype, cols);
    if (rb < 0) fail("cols " + std::to_string(cols) + " is not a multiple of the block size " + std::to_string(tsgl_block_elems(dtype)));
    return rb;
  }
  static std::string num(double d) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }

  const Napi::CallbackInfo &info_;
  const char *fn_;
};

AddonState &state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

WeightEntry &weight(const Args &a, size_t i) {
  const int64_t h = a.integer(i, "weight", 0, INT64_C(1) << 52);
  auto &ws = state(a.env()).weights;
  auto it = ws.find(h);
  if (it == ws.end()) a.fail("unknown weight handle " + std::to_string(h));
  return *it->second;
}

tsgl_kv_pool *pool(const Args &a, size_t i) {
  const int64_t h = a.integer(i, "pool", 0, INT64_C(1) << 52);
  auto &ps = state(a.env()).pools;
  auto it = ps.find(h);
  if (it == ps.end()) a.fail("unknown KV pool handle " + std::to_string(h));
  return it->second;
}

struct PoolShape {
  int64_t layers, slots, kv_heads, head_dim;
  int dtype;
};
PoolShape shape_of(const tsgl_kv_pool *p) {
  PoolShape s{};
  tsgl_kv_pool_shape(p, &s.layers, &s.slots, &s.kv_heads, &s.head_dim, &s.dtype);
  return s;
}

void check_indices(const Args &a, const char *name, const int32_t *idx, int64_t n, int64_t limit) {
  for (int64_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || idx[i] >= limit)
      a.fail(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(idx[i]) + " is out of range [0, " + std::to_string(limit) + ")");
  }
}

// --- system ---

Napi::Value CpuInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", tsgl_isa_name(tsgl_best_isa()));
  Napi::Array isas = Napi::Array::New(env);
  uint32_t n = 0;
  for (tsgl_isa isa : {TSGL_ISA_SCALAR, TSGL_ISA_AVX2, TSGL_ISA_AVX512})
    if (tsgl_isa_supported(isa)) isas.Set(n++, tsgl_isa_name(isa));
  o.Set("supportedIsas", isas);
  const char *names[64];
  const int nf = tsgl_cpu_features(names, 64);
  Napi::Array feats = Napi::Array::New(env, nf);
  for (int i = 0; i < nf; ++i) feats.Set(static_cast<uint32_t>(i), names[i]);
  o.Set("features", feats);
  o.Set("physicalCores", tsgl_physical_cores());
  o.Set("logicalCores", tsgl_logical_cores());
  return o;
}

void SetIsa(const Napi::CallbackInfo &info) {
  Args a(info, "setIsa", 1);
  const std::string name = a.string(0, "isa");
  for (tsgl_isa isa : {TSGL_ISA_SCALAR, TSGL_ISA_AVX2, TSGL_ISA_AVX512}) {
    if (name == tsgl_isa_name(isa)) {
      if (tsgl_set_isa(isa) != 0) a.fail("'" + name + "' is not supported on this CPU");
      return;
    }
  }
  a.fail("unknown isa '" + name + "' (expected scalar, avx2 or avx512)");
}

Napi::Value GetIsa(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), tsgl_isa_name(tsgl_get_isa())); }

void SetNumThreads(const Napi::CallbackInfo &info) {
  Args a(info, "setNumThreads", 1);
  tsgl_set_num_threads(static_cast<int>(a.integer(0, "numThreads", 1, 1024)));
}

Napi::Value GetNumThreads(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), tsgl_get_num_threads()); }

// --- files ---

Napi::Value MapFile(const Napi::CallbackInfo &info) {
  Args a(info, "mapFile", 1);
  const std::string path = a.string(0, "path");
  auto sys_fail = [&](const char *what, int err) {
    Napi::Error e = Napi::Error::New(info.Env(), "mapFile: cannot " + std::string(what) + " '" + path + "': " + strerror(err));
    const char *code = strerrorname_np(err);
    if (code) e.Set("code", code);
    e.Set("path", path);
    throw e;
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) sys_fail("open", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    sys_fail("stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    sys_fail("map", S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  }
  const size_t len = static_cast<size_t>(st.st_size);
  if (len == 0) {
    close(fd);
    return Napi::ArrayBuffer::New(info.Env(), 0);
  }
  void *p = mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  close(fd);
  if (p == MAP_FAILED) sys_fail("mmap", err);
  return Napi::ArrayBuffer::New(
      info.Env(), p, len, [](Napi::Env, void *data, size_t *n) { munmap(data, *n); delete n; }, new size_t(len));
}

// --- weights ---

Napi::Value CreateWeight(const Napi::CallbackInfo &info) {
  Args a(info, "createWeight", 4);
  if (!info[0].IsArray()) a.fail("parts must be an array of Uint8Array");
  if (!info[1].IsArray()) a.fail("rowsPerPart must be an array of numbers");
  Napi::Array parts = info[0].As<Napi::Array>(), rows = info[1].As<Napi::Array>();
  if (parts.Length() == 0 || parts.Length() != rows.Length())
    a.fail("parts and rowsPerPart must be non-empty and of equal length (" + std::to_string(parts.Length()) + " vs " + std::to_string(rows.Length()) + ")");
  const int64_t cols = a.integer(2, "cols", 1);
  const int dtype = a.dtype(3, "dtype");
  const int64_t rb = a.row_bytes(dtype, cols);
  const size_t align = dtype == TSGL_F32 ? 4 : 2;
  auto e = std::make_unique<WeightEntry>();
  int64_t total = 0;
  for (uint32_t i = 0; i < parts.Length(); ++i) {
    const std::string tag = "parts[" + std::to_string(i) + "]";
    Napi::Value pv = parts.Get(i), rv = rows.Get(i);
    if (!pv.IsTypedArray() || pv.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) a.fail(tag + " must be a Uint8Array");
    if (!rv.IsNumber()) a.fail("rowsPerPart[" + std::to_string(i) + "] must be a number");
    const double rd = rv.As<Napi::Number>().DoubleValue();
    if (rd != std::floor(rd) || rd < 0 || rd > static_cast<double>(kMaxDim)) a.fail("rowsPerPart[" + std::to_string(i) + "] must be a non-negative integer");
    const int64_t r = static_cast<int64_t>(rd);
    auto view = pv.As<Napi::Uint8Array>();
    if (static_cast<int64_t>(view.ByteLength()) < a.mul(r, rb))
      a.fail(tag + " has " + std::to_string(view.ByteLength()) + " bytes, needs " + std::to_string(r * rb) + " (" + std::to_string(r) + " rows x " + std::to_string(rb) + " bytes)");
    if (reinterpret_cast<uintptr_t>(view.Data()) % align != 0) a.fail(tag + " is not " + std::to_string(align) + "-byte aligned");
    e->parts.push_back({view.Data(), r});
    e->refs.push_back(Napi::Persistent(pv.As<Napi::Object>()));
    total += r;
  }
  // Optional 6th argument bf16Dot (default false): TSGL_WEIGHT_BF16_DOT, BF16 weights only.
  const bool bf16_dot = info.Length() >= 6 && !info[5].IsUndefined() && info[5].ToBoolean().Value();
  if (bf16_dot && dtype != TSGL_BF16) a.fail("bf16Dot needs a BF16 weight");
  // Optional 7th argument glu (default false): TSGL_WEIGHT_GLU, a [gate; up] weight (even rows).
  const bool glu = info.Length() >= 7 && !info[6].IsUndefined() && info[6].ToBoolean().Value();
  if (glu && total % 2 != 0) a.fail("glu needs an even number of rows (gate rows, then as many up rows)");
  e->w = tsgl_weight{e->parts.data(), static_cast<int>(e->parts.size()), total, cols, dtype, rb, nullptr,
                     (bf16_dot ? TSGL_WEIGHT_BF16_DOT : 0) | (glu ? TSGL_WEIGHT_GLU : 0)};
  // Optional 5th argument prepack (default true): false for tables only read by embed.
  const bool prepack = info.Length() < 5 || info[4].IsUndefined() || info[4].ToBoolean().Value();
  if (prepack) e->packed_bytes = tsgl_weight_prepack(&e->w);
  AddonState &s = state(info.Env());
  const int64_t h = s.next_handle++;
  s.weights.emplace(h, std::move(e));
  return Napi::Number::New(info.Env(), static_cast<double>(h));
}

void FreeWeight(const Napi::CallbackInfo &info) {
  Args a(info, "freeWeight", 1);
  const int64_t h = a.integer(0, "handle", 0, INT64_C(1) << 52);
  if (state(info.Env()).weights.erase(h) == 0) a.fail("unknown weight handle " + std::to_string(h));
}

// weightPackedBytes(handle): bytes of the weight's pre-packed copy (0: none).
Napi::Value WeightPackedBytes(const Napi::CallbackInfo &info) {
  Args a(info, "weightPackedBytes", 1);
  return Napi::Number::New(info.Env(), static_cast<double>(weight(a, 0).packed_bytes));
}

Napi::Value RowBytes(const Napi::CallbackInfo &info) {
  Args a(info, "rowBytes", 2);
  const int dtype = a.dtype(0, "dtype");
  return Napi::Number::New(info.Env(), static_cast<double>(a.row_bytes(dtype, a.integer(1, "cols"))));
}

void QuantizeRows(const Napi::CallbackInfo &info) {
  Args a(info, "quantizeRows", 5);
  const int64_t rows = a.integer(2, "rows"), cols = a.integer(3, "cols");
  const int dtype = a.dtype(4, "dtype");
  if (dtype == TSGL_Q4_K || dtype == TSGL_Q6_K) a.fail("dtype " + std::to_string(dtype) + " cannot be produced (F32, F16, BF16, Q8_0, Q4_0 only)");
  const int64_t rb = a.row_bytes(dtype, cols);
  uint8_t *dst = a.u8(0, "dst", a.mul(rows, rb));
  const float *src = a.f32(1, "src", a.mul(rows, cols));
  tsgl_quantize_rows(dst, src, rows, cols, dtype);
}

void DequantizeRows(const Napi::CallbackInfo &info) {
  Args a(info, "dequantizeRows", 5);
  const int64_t rows = a.integer(2, "rows"), cols = a.integer(3, "cols");
  const int dtype = a.dtype(4, "dtype");
  const int64_t rb = a.row_bytes(dtype, cols);
  float *dst = a.f32(0, "dst", a.mul(rows, cols));
  const uint8_t *src = a.u8(1, "src", a.mul(rows, rb));
  if (dtype == TSGL_F32 && reinterpret_cast<uintptr_t>(src) % 4) a.fail("src is not 4-byte aligned");
  if (dtype != TSGL_F32 && reinterpret_cast<uintptr_t>(src) % 2) a.fail("src is not 2-byte aligned");
  tsgl_dequantize_rows(dst, src, rows, cols, dtype);
}

// --- kernels ---

void Embed(const Napi::CallbackInfo &info) {
  Args a(info, "embed", 4);
  const tsgl_weight &w = weight(a, 1).w;
  const int64_t n = a.integer(3, "numTokens");
  float *out = a.f32(0, "out", a.mul(n, w.cols));
  const int32_t *ids = a.i32(2, "ids", n);
  check_indices(a, "ids", ids, n, w.rows);
  tsgl_embed(out, &w, ids, n);
}

void RmsNorm(const Napi::CallbackInfo &info) {
  Args a(info, "rmsNorm", 6);
  const int64_t rows = a.integer(3, "rows"), dim = a.integer(4, "dim", 1);
  const float eps = static_cast<float>(a.number(5, "eps"));
  float *out = a.f32(0, "out", a.mul(rows, dim));
  const float *x = a.f32(1, "x", rows * dim), *w = a.f32(2, "w", dim);
  tsgl_rms_norm(out, x, w, rows, dim, eps);
}

void AddRmsNorm(const Napi::CallbackInfo &info) {
  Args a(info, "addRmsNorm", 7);
  const int64_t rows = a.integer(4, "rows"), dim = a.integer(5, "dim", 1);
  const float eps = static_cast<float>(a.number(6, "eps"));
  const int64_t n = a.mul(rows, dim);
  float *res = a.f32(0, "residual", n), *out = a.f32(2, "out", n);
  const float *x = a.f32(1, "x", n), *w = a.f32(3, "w", dim);
  tsgl_add_rms_norm(res, x, out, w, rows, dim, eps);
}

void Matmul(const Napi::CallbackInfo &info) {
  Args a(info, "matmul", 4);
  const tsgl_weight &w = weight(a, 2).w;
  const int64_t rows = a.integer(3, "rows");
  float *out = a.f32(0, "out", a.mul(rows, w.rows));
  const float *x = a.f32(1, "x", a.mul(rows, w.cols));
  tsgl_matmul(out, x, &w, rows);
}

// matmulGlu(out, gateUp, x, w, rows, act): act(x gate^T) * (x up^T) of a glu weight; gateUp is
// the scratch the unfused path writes.
void MatmulGlu(const Napi::CallbackInfo &info) {
  Args a(info, "matmulGlu", 6);
  const tsgl_weight &w = weight(a, 3).w;
  if (!(w.flags & TSGL_WEIGHT_GLU)) a.fail("the weight was not registered with glu");
  const int64_t rows = a.integer(4, "rows");
  const int act = static_cast<int>(a.integer(5, "act", 0, 1));
  float *out = a.f32(0, "out", a.mul(rows, w.rows / 2));
  float *gate_up = a.f32(1, "gateUp", a.mul(rows, w.rows));
  const float *x = a.f32(2, "x", a.mul(rows, w.cols));
  tsgl_matmul_glu(out, gate_up, x, &w, rows, act);
}

// matmul3(outA, outB, outC, x, wA, wB, wC, rows): three matmuls of one x (q/k/v projections).
void Matmul3(const Napi::CallbackInfo &info) {
  Args a(info, "matmul3", 8);
  const tsgl_weight *ws[3] = {&weight(a, 4).w, &weight(a, 5).w, &weight(a, 6).w};
  const int64_t rows = a.integer(7, "rows");
  if (ws[1]->cols != ws[0]->cols || ws[2]->cols != ws[0]->cols) a.fail("weights must have equal cols");
  static const char *const names[3] = {"outA", "outB", "outC"};
  float *outs[3];
  for (int i = 0; i < 3; ++i) outs[i] = a.f32(static_cast<size_t>(i), names[i], a.mul(rows, ws[i]->rows));
  const float *x = a.f32(3, "x", a.mul(rows, ws[0]->cols));
  tsgl_matmul_multi(outs, x, ws, 3, rows);
}

void AddBias(const Napi::CallbackInfo &info) {
  Args a(info, "addBias", 4);
  const int64_t rows = a.integer(2, "rows"), n = a.integer(3, "n");
  float *out = a.f32(0, "out", a.mul(rows, n));
  const float *bias = a.f32(1, "bias", n);
  tsgl_add_bias(out, bias, rows, n);
}

void Rope(const Napi::CallbackInfo &info) {
  Args a(info, "rope", 7);
  const int64_t n = a.integer(2, "numTokens"), heads = a.integer(3, "numHeads"), hd = a.integer(4, "headDim");
  const float *inv = a.f32(5, "invFreq", 0);
  const int64_t half = static_cast<int64_t>(info[5].As<Napi::Float32Array>().ElementLength());
  if (2 * half > hd) a.fail("invFreq has " + std::to_string(half) + " entries; 2*that exceeds headDim " + std::to_string(hd));
  if (!info[6].IsBoolean()) a.fail("neox must be a boolean");
  float *x = a.f32(0, "x", a.mul(a.mul(n, heads), hd));
  const int32_t *pos = a.i32(1, "positions", n);
  tsgl_rope(x, pos, n, heads, hd, inv, half, info[6].As<Napi::Boolean>().Value() ? 1 : 0);
}

// ropeTable(table, positions, numTokens, invFreq): table [numTokens, 2 * invFreq.length].
void RopeTable(const Napi::CallbackInfo &info) {
  Args a(info, "ropeTable", 4);
  const int64_t n = a.integer(2, "numTokens");
  const float *inv = a.f32(3, "invFreq", 0);
  const int64_t half = static_cast<int64_t>(info[3].As<Napi::Float32Array>().ElementLength());
  float *table = a.f32(0, "table", a.mul(n, 2 * half));
  const int32_t *pos = a.i32(1, "positions", n);
  tsgl_rope_table(table, pos, n, inv, half);
}

// ropeQk(q, k, table, numTokens, numQHeads, numKHeads, headDim, rotHalf, neox)
void RopeQk(const Napi::CallbackInfo &info) {
  Args a(info, "ropeQk", 9);
  const int64_t n = a.integer(3, "numTokens"), hq = a.integer(4, "numQHeads"), hk = a.integer(5, "numKHeads");
  const int64_t hd = a.integer(6, "headDim"), half = a.integer(7, "rotHalf");
  if (2 * half > hd) a.fail("rotHalf " + std::to_string(half) + ": 2*that exceeds headDim " + std::to_string(hd));
  if (!info[8].IsBoolean()) a.fail("neox must be a boolean");
  float *q = a.f32(0, "q", a.mul(a.mul(n, hq), hd));
  float *k = a.f32(1, "k", a.mul(a.mul(n, hk), hd));
  const float *table = a.f32(2, "table", a.mul(n, 2 * half));
  tsgl_rope_qk(q, k, table, n, hq, hk, hd, half, info[8].As<Napi::Boolean>().Value() ? 1 : 0);
}

void GluMul(const Napi::CallbackInfo &info) {
  Args a(info, "gluMul", 5);
  const int64_t rows = a.integer(2, "rows"), dim = a.integer(3, "dim");
  const int act = static_cast<int>(a.integer(4, "act", 0, 1));
  float *out = a.f32(0, "out", a.mul(rows, dim));
  const float *gu = a.f32(1, "gateUp", a.mul(a.mul(rows, dim), 2));
  tsgl_glu_mul(out, gu, rows, dim, act);
}

void GatherRows(const Napi::CallbackInfo &info) {
  Args a(info, "gatherRows", 5);
  const int64_t n = a.integer(3, "numRows"), dim = a.integer(4, "dim");
  float *out = a.f32(0, "out", a.mul(n, dim));
  const float *x = a.f32(1, "x", 0);
  const int64_t x_rows = dim ? static_cast<int64_t>(info[1].As<Napi::Float32Array>().ElementLength()) / dim : INT32_MAX;
  const int32_t *idx = a.i32(2, "rowIdx", n);
  check_indices(a, "rowIdx", idx, n, x_rows);
  tsgl_gather_rows(out, x, idx, n, dim);
}

void ArgmaxRows(const Napi::CallbackInfo &info) {
  Args a(info, "argmaxRows", 4);
  const int64_t rows = a.integer(2, "rows"), n = a.integer(3, "n", 1);
  int32_t *out = a.i32(0, "out", rows);
  const float *x = a.f32(1, "x", a.mul(rows, n));
  tsgl_argmax_rows(out, x, rows, n);
}

void ApplyTokenBitmask(const Napi::CallbackInfo &info) {
  Args a(info, "applyTokenBitmask", 5);
  const int64_t rows = a.integer(1, "rows"), vocab = a.integer(2, "vocab");
  const int64_t stride = a.integer(4, "maskStride", (vocab + 31) / 32);
  float *logits = a.f32(0, "logits", a.mul(rows, vocab));
  const uint32_t *mask = a.u32(3, "mask", rows ? a.mul(rows - 1, stride) + (vocab + 31) / 32 : 0);
  tsgl_apply_token_bitmask(logits, rows, vocab, mask, stride);
}

// --- KV pool and attention ---

Napi::Value CreateKvPool(const Napi::CallbackInfo &info) {
  Args a(info, "createKvPool", 5);
  const int64_t layers = a.integer(0, "numLayers", 1), slots = a.integer(1, "numSlots", 1);
  const int64_t heads = a.integer(2, "numKvHeads", 1), hd = a.integer(3, "headDim", 1);
  const int dtype = a.dtype(4, "kvDtype");
  if (dtype != TSGL_F32 && dtype != TSGL_F16 && dtype != TSGL_BF16) a.fail("kvDtype must be F32, F16 or BF16");
  a.mul(a.mul(a.mul(a.mul(layers, slots), heads), hd), 4);
  tsgl_kv_pool *p = tsgl_kv_pool_create(layers, slots, heads, hd, dtype);
  if (!p) a.fail("cannot allocate the KV pool (" + std::string(strerror(errno)) + ")");
  AddonState &s = state(info.Env());
  const int64_t h = s.next_handle++;
  s.pools.emplace(h, p);
  return Napi::Number::New(info.Env(), static_cast<double>(h));
}

void FreeKvPool(const Napi::CallbackInfo &info) {
  Args a(info, "freeKvPool", 1);
  tsgl_kv_pool *p = pool(a, 0);
  state(info.Env()).pools.erase(a.integer(0, "pool"));
  tsgl_kv_pool_free(p);
}

Napi::Value CommitKvPool(const Napi::CallbackInfo &info) {
  Args a(info, "commitKvPool", 2);
  tsgl_kv_pool *p = pool(a, 0);
  const int64_t n = a.integer(1, "numSlots", 0);
  return Napi::Number::New(info.Env(), static_cast<double>(tsgl_kv_pool_commit(p, n)));
}

// storeKv / loadKv share their argument checks.
template <bool kStore>
void KvCopy(const Napi::CallbackInfo &info, const char *fn, const char *loc_name) {
  Args a(info, fn, 6);
  tsgl_kv_pool *p = pool(a, 0);
  const PoolShape s = shape_of(p);
  const int64_t layer = a.integer(1, "layer", 0, s.layers - 1), n = a.integer(5, "numTokens");
  const int64_t need = a.mul(n, s.kv_heads * s.head_dim);
  float *k = a.f32(2, "k", need), *v = a.f32(3, "v", need);
  const int32_t *loc = a.i32(4, loc_name, n);
  check_indices(a, loc_name, loc, n, s.slots);
  if (kStore) tsgl_store_kv(p, layer, k, v, loc, n);
  else tsgl_load_kv(p, layer, k, v, loc, n);
}

void StoreKv(const Napi::CallbackInfo &info) { KvCopy<true>(info, "storeKv", "outLoc"); }
void LoadKv(const Napi::CallbackInfo &info) { KvCopy<false>(info, "loadKv", "slots"); }

void Attention(const Napi::CallbackInfo &info) {
  Args a(info, "attention", 10);
  const tsgl_kv_pool *p = pool(a, 2);
  const PoolShape s = shape_of(p);
  const int64_t layer = a.integer(3, "layer", 0, s.layers - 1);
  const int64_t heads = a.integer(4, "numHeads", 1), reqs = a.integer(5, "numReqs");
  if (heads % s.kv_heads != 0) a.fail("numHeads " + std::to_string(heads) + " is not a multiple of the pool's numKvHeads " + std::to_string(s.kv_heads));
  const int32_t *qi = a.i32(6, "qIndptr", reqs + 1), *ki = a.i32(7, "kvIndptr", reqs + 1);
  if (qi[0] < 0 || ki[0] < 0) a.fail("qIndptr[0] and kvIndptr[0] must be >= 0");
  for (int64_t r = 0; r < reqs; ++r) {
    const int64_t ql = qi[r + 1] - qi[r], kl = ki[r + 1] - ki[r];
    if (ql < 0 || kl < 0) a.fail("qIndptr and kvIndptr must be non-decreasing (request " + std::to_string(r) + ")");
    if (ql > kl) a.fail("request " + std::to_string(r) + " has qLen " + std::to_string(ql) + " > kvLen " + std::to_string(kl));
  }
  const int32_t *kv = a.i32(8, "kvIndices", ki[reqs]);
  check_indices(a, "kvIndices", kv + ki[0], ki[reqs] - ki[0], s.slots);
  const float scale = static_cast<float>(a.number(9, "scale"));
  const int64_t need = a.mul(a.mul(qi[reqs], heads), s.head_dim);
  float *out = a.f32(0, "out", need);
  const float *q = a.f32(1, "q", need);
  tsgl_attention(out, q, p, layer, heads, reqs, qi, ki, kv, scale);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonState());
  tsgl_get_isa();  // detect and choose the ISA once, at load
#define TSGL_EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, fn, name))
  TSGL_EXPORT("cpuInfo", CpuInfo);
  TSGL_EXPORT("setIsa", SetIsa);
  TSGL_EXPORT("getIsa", GetIsa);
  TSGL_EXPORT("setNumThreads", SetNumThreads);
  TSGL_EXPORT("getNumThreads", GetNumThreads);
  TSGL_EXPORT("mapFile", MapFile);
  TSGL_EXPORT("createWeight", CreateWeight);
  TSGL_EXPORT("freeWeight", FreeWeight);
  TSGL_EXPORT("weightPackedBytes", WeightPackedBytes);
  TSGL_EXPORT("rowBytes", RowBytes);
  TSGL_EXPORT("quantizeRows", QuantizeRows);
  TSGL_EXPORT("dequantizeRows", DequantizeRows);
  TSGL_EXPORT("embed", Embed);
  TSGL_EXPORT("rmsNorm", RmsNorm);
  TSGL_EXPORT("addRmsNorm", AddRmsNorm);
  TSGL_EXPORT("matmul", Matmul);
  TSGL_EXPORT("matmulGlu", MatmulGlu);
  TSGL_EXPORT("matmul3", Matmul3);
  TSGL_EXPORT("addBias", AddBias);
  TSGL_EXPORT("rope", Rope);
  TSGL_EXPORT("gluMul", GluMul);
  TSGL_EXPORT("ropeTable", RopeTable);
  TSGL_EXPORT("ropeQk", RopeQk);
  TSGL_EXPORT("gatherRows", GatherRows);
  TSGL_EXPORT("argmaxRows", ArgmaxRows);
  TSGL_EXPORT("applyTokenBitmask", ApplyTokenBitmask);
  TSGL_EXPORT("createKvPool", CreateKvPool);
  TSGL_EXPORT("freeKvPool", FreeKvPool);
  TSGL_EXPORT("commitKvPool", CommitKvPool);
  TSGL_EXPORT("storeKv", StoreKv);
  TSGL_EXPORT("loadKv", LoadKv);
  TSGL_EXPORT("attention", Attention);
#undef TSGL_EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(tsgl_native, Init)
