/*
 * tsgl kernel library: the plain C ABI (no N-API types), so kernels can be driven and
 * benchmarked from C/C++ without Node. `native/src/binding.cc` is the only N-API user.
 *
 * Invariants:
 * - Every op is synchronous, multithreaded inside (persistent pool), writes into caller
 *   buffers and does not allocate on the hot path (per-thread scratch grows once).
 * - Callers validate shapes and indices before calling; these functions trust their inputs.
 * - Matrices are row-major. A weight has `rows` output features, each a contiguous row of
 *   `cols` input features in `dtype` (GGML ids, GGML block layouts).
 * - The kernel variant (ISA) is chosen once at load (fastest supported) and can be changed
 *   with tsgl_set_isa (tests). `scalar` is the reference the SIMD variants are checked against.
 */
#ifndef TSGL_KERNELS_H
#define TSGL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GGML type ids. */
enum {
  TSGL_F32 = 0,
  TSGL_F16 = 1,
  TSGL_Q4_0 = 2,
  TSGL_Q8_0 = 8,
  TSGL_Q4_K = 12,
  TSGL_Q6_K = 14,
  TSGL_BF16 = 30,
};

typedef enum { TSGL_ISA_SCALAR = 0, TSGL_ISA_AVX2 = 1, TSGL_ISA_AVX512 = 2 } tsgl_isa;

/* --- system --- */
const char *tsgl_isa_name(tsgl_isa isa);
int tsgl_isa_supported(tsgl_isa isa);
tsgl_isa tsgl_best_isa(void);
/* Returns 0 on success, -1 when the ISA is not supported by this CPU. */
int tsgl_set_isa(tsgl_isa isa);
tsgl_isa tsgl_get_isa(void);
/* Fills names[0..n) with detected feature flags (static strings); returns the count. */
int tsgl_cpu_features(const char **names, int max_names);
int tsgl_physical_cores(void);
int tsgl_logical_cores(void);
void tsgl_set_num_threads(int n);
int tsgl_get_num_threads(void);

/* --- dtypes --- */
int tsgl_dtype_valid(int dtype);
/* Elements per block (1 for F32/F16/BF16, 32 for Q8_0/Q4_0, 256 for K-quants); 0 if invalid. */
int64_t tsgl_block_elems(int dtype);
/* Bytes per row of cols elements; -1 if dtype invalid or cols not a multiple of the block. */
int64_t tsgl_row_bytes(int dtype, int64_t cols);
/* Round-to-nearest-even conversions used everywhere (exact upcasts). */
uint16_t tsgl_f32_to_f16(float f);
float tsgl_f16_to_f32(uint16_t h);
uint16_t tsgl_f32_to_bf16(float f);
float tsgl_bf16_to_f32(uint16_t h);
/* F32, F16, BF16, Q8_0, Q4_0 (reference quantizers). Returns 0, or -1 for an unsupported dtype. */
int tsgl_quantize_rows(void *dst, const float *src, int64_t rows, int64_t cols, int dtype);
/* All seven dtypes, through the current ISA. Returns 0, or -1 for an unsupported dtype. */
int tsgl_dequantize_rows(float *dst, const void *src, int64_t rows, int64_t cols, int dtype);

/* --- weights: parts stacked along rows, referenced (not copied) --- */
typedef struct {
  const uint8_t *data; /* [rows, row_bytes] */
  int64_t rows;
} tsgl_weight_part;

typedef struct {
  const tsgl_weight_part *parts;
  int num_parts;
  int64_t rows; /* sum of parts' rows */
  int64_t cols;
  int dtype;
  int64_t row_bytes;
  /* Optional copy of the rows in the layout of the current CPU's fastest matmul kernel, or
   * NULL (then kernels read parts). Set by tsgl_weight_prepack, released by
   * tsgl_weight_unprepack; the parts stay the source of truth (embed reads them). */
  const void *packed;
  int flags; /* TSGL_WEIGHT_* */
} tsgl_weight;

/* BF16 weights only: the matmul rounds its activations to bf16 (nearest even; f32 denormals to
 * zero) before the dot, as SGLang's bf16 matmuls do. With AVX512_BF16 under the AVX-512 ISA the
 * dots run on vdpbf16ps (arch/avx512/bf16dot_avx512.cc); every other path rounds x and then
 * runs its exact f32 kernel, so all paths compute bf16(x) . w in f32 (sums in their own order). */
#define TSGL_WEIGHT_BF16_DOT 1
/* A gate/up weight: rows [0, rows / 2) are the gate projection, [rows / 2, rows) the up one, as
 * tsgl_matmul_glu reads them. Pre-packing may then lay its panels out for the fused GLU (see
 * arch/avx512/matmul_avx512.h); tsgl_matmul of it stays exact either way. */
#define TSGL_WEIGHT_GLU 2

/* Pre-packs w once, at registration, for the matmul path that would otherwise re-pack it on
 * every call: today Q8_0 and Q4_0 under the AVX-512 VNNI ISA (the wide int8 GEMM's panels, see
 * arch/avx512/matmul_avx512.h), which then serve every batch size. Sets w->packed to a
 * 64-byte-aligned buffer owned by the caller's weight and returns its size in bytes; returns 0
 * and leaves w->packed NULL when there is no such path (other dtype or ISA) or TSGL_REPACK=0 is
 * set (read once per process). Memory, on top of the referenced rows (for a GGUF, file-backed
 * pages of the mapping that only embed still reads): per row and 32 columns 36 bytes for Q8_0
 * (1.06x its rows), 20 for Q4_0 (1.11x; its panels keep the nibbles). */
int64_t tsgl_weight_prepack(tsgl_weight *w);
/* Frees w->packed (if any) and sets it to NULL. */
void tsgl_weight_unprepack(tsgl_weight *w);

/* --- kernels (shapes in brackets, row-major) --- */
/* out[t, :] = dequant(W[ids[t], :]). out: [n, cols]; ids in [0, rows). */
void tsgl_embed(float *out, const tsgl_weight *w, const int32_t *ids, int64_t n);
/* out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w. x, out: [rows, dim]; out may alias x. */
void tsgl_rms_norm(float *out, const float *x, const float *w, int64_t rows, int64_t dim, float eps);
/* residual += x; out = rmsNorm(residual) * w. All [rows, dim]. */
void tsgl_add_rms_norm(float *residual, const float *x, float *out, const float *w, int64_t rows,
                       int64_t dim, float eps);
/* out[m, n] = sum_k x[m, k] * W[n, k]. x: [rows, cols]; out: [rows, w->rows]. */
void tsgl_matmul(float *out, const float *x, const tsgl_weight *w, int64_t rows);
/* outs[i][rows, ws[i]->rows] = x[rows, cols] @ ws[i]^T for count weights of equal cols (one
 * pass over x, one thread-pool job at small rows); same results as count tsgl_matmul calls. */
void tsgl_matmul_multi(float *const *outs, const float *x, const tsgl_weight *const *ws, int count, int64_t rows);
/* out[r, :] += bias. out: [rows, n] */
void tsgl_add_bias(float *out, const float *bias, int64_t rows, int64_t n);
/* In-place rotary embedding. x: [n_tokens, n_heads, head_dim]; inv_freq: [rot_half]. */
void tsgl_rope(float *x, const int32_t *positions, int64_t n_tokens, int64_t n_heads,
               int64_t head_dim, const float *inv_freq, int64_t rot_half, int neox);
/* The cos and sin tsgl_rope uses, once per token: table[t] = [cos(p_t f_i) for i < rot_half,
 * then sin(p_t f_i)], p_t = positions[t], f = inv_freq. table: [n_tokens, 2 * rot_half]. */
void tsgl_rope_table(float *table, const int32_t *positions, int64_t n_tokens, const float *inv_freq, int64_t rot_half);
/* tsgl_rope of q ([n_tokens, n_q_heads, head_dim]) and of k ([n_tokens, n_k_heads, head_dim])
 * from a tsgl_rope_table of their positions, in one pass: the same values as two tsgl_rope calls. */
void tsgl_rope_qk(float *q, float *k, const float *table, int64_t n_tokens, int64_t n_q_heads, int64_t n_k_heads,
                  int64_t head_dim, int64_t rot_half, int neox);
/* out = act(x @ gate^T) * (x @ up^T) for a TSGL_WEIGHT_GLU weight w ([2 * dim, cols]): the same
 * values as tsgl_matmul into gate_up followed by tsgl_glu_mul, which is what runs when no fused
 * kernel applies (gate_up: [rows, 2 * dim] scratch, written then; else left untouched).
 * x: [rows, cols]; out: [rows, dim]. act 0 = silu, 1 = gelu(tanh). */
void tsgl_matmul_glu(float *out, float *gate_up, const float *x, const tsgl_weight *w, int64_t rows, int act);
/* out = act(gate) * up. gate_up: [rows, 2*dim]; out: [rows, dim]. act 0 = silu, 1 = gelu(tanh). */
void tsgl_glu_mul(float *out, const float *gate_up, int64_t rows, int64_t dim, int act);
/* out[i, :] = x[idx[i], :]. out: [n, dim] */
void tsgl_gather_rows(float *out, const float *x, const int32_t *idx, int64_t n, int64_t dim);
/* out[r] = argmax_j x[r, j], lowest j on ties, NaN ignored (0 if all NaN). x: [rows, n] */
void tsgl_argmax_rows(int32_t *out, const float *x, int64_t rows, int64_t n);
/* Grammar bitmask: logits[r, j] = -inf where bit j of mask row r (bit j % 32 of word j / 32,
 * xgrammar's layout) is 0; j < vocab. logits: [rows, vocab]; mask: [rows, mask_stride] words,
 * mask_stride >= ceil(vocab / 32). */
void tsgl_apply_token_bitmask(float *logits, int64_t rows, int64_t vocab, const uint32_t *mask, int64_t mask_stride);

/* --- KV pool --- */
typedef struct tsgl_kv_pool tsgl_kv_pool;
/* K and V each [num_layers][num_kv_heads][num_slots][head_dim] in dtype (F32/F16/BF16), zeroed:
 * one KV head's rows of consecutive slots are contiguous. */
tsgl_kv_pool *tsgl_kv_pool_create(int64_t num_layers, int64_t num_slots, int64_t num_kv_heads,
                                  int64_t head_dim, int dtype);
void tsgl_kv_pool_free(tsgl_kv_pool *pool);
/* Backs slots [0, n) of every layer's K and V with memory now (MADV_POPULATE_WRITE, else one
 * write per page) instead of at their first store; contents stay zero. Returns the bytes
 * committed. */
int64_t tsgl_kv_pool_commit(tsgl_kv_pool *pool, int64_t n);
void tsgl_kv_pool_shape(const tsgl_kv_pool *pool, int64_t *num_layers, int64_t *num_slots,
                        int64_t *num_kv_heads, int64_t *head_dim, int *dtype);
/* k, v: [n, num_kv_heads, head_dim] f32, written to slots loc[t] of layer. */
void tsgl_store_kv(tsgl_kv_pool *pool, int64_t layer, const float *k, const float *v,
                   const int32_t *loc, int64_t n);
/* Reads slots back into f32 k, v: [n, num_kv_heads, head_dim]. */
void tsgl_load_kv(const tsgl_kv_pool *pool, int64_t layer, float *k, float *v,
                  const int32_t *slots, int64_t n);
/*
 * Paged causal attention with GQA. q, out: [q_indptr[num_reqs], num_heads, head_dim].
 * Request r: query rows q_indptr[r]..q_indptr[r+1] (q_len), KV slots
 * kv_indices[kv_indptr[r]..kv_indptr[r+1]] (kv_len >= q_len). Query j sits at position
 * kv_len - q_len + j and sees KV positions 0..that. Head h reads KV head h / (num_heads / num_kv_heads).
 */
void tsgl_attention(float *out, const float *q, const tsgl_kv_pool *pool, int64_t layer,
                    int64_t num_heads, int64_t num_reqs, const int32_t *q_indptr,
                    const int32_t *kv_indptr, const int32_t *kv_indices, float scale);

#ifdef __cplusplus
}
#endif
#endif /* TSGL_KERNELS_H */
