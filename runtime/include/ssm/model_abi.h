/*===- model_abi.h - What every model.so exports ------------------*- C -*-===*
 *
 * Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * A model library written by `ssmc model.onnx -o model.so` is self-contained
 * (it needs only libc and libm) and exports the functions below. Most users go
 * through the runtime (ssm/runtime.h), which loads the library and checks every
 * call; this header documents the raw ABI for those who bind it directly.
 *
 * Entry points. Each public function of the compiled module is an entry point
 * (an ONNX model has one, `main`). Entry point i has
 *   - a name: ssmlib_entry_point_name(i);
 *   - a JSON signature: ssmlib_signature(i), for example
 *       {"name":"main",
 *        "inputs":[{"name":"input_ids","dtype":"int64","shape":["batch","seq"]}],
 *        "outputs":[{"name":"logits","dtype":"float32",
 *                    "shape":["batch","seq",512]}]}
 *     where a dimension is an integer (static), a string (a symbolic size:
 *     a graph input's dim_param, or an expression over them such as
 *     "seq + 3"), or null (known only at run time). dtype is one of float32,
 *     float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool.
 *   - a function ssmlib_entry_point_function(i), also exported as
 *     ssmlib_entry_<name>, of type ssm_entry_fn.
 *
 * Calling an entry point. `args` is an array of pointers:
 *   args[0]      where the outputs are written (only when there are outputs):
 *                the output memref descriptors back to back, output k taking
 *                ssm_descriptor_size(rank_k) bytes;
 *   args[1 + j]  a pointer to the memref descriptor of input j.
 * A memref descriptor of rank r is, in 64-bit words:
 *   { void *allocated; void *aligned; int64_t offset;
 *     int64_t sizes[r]; int64_t strides[r]; }
 * with element (i_0, ..., i_{r-1}) at aligned + offset + sum i_k * strides[k]
 * (in elements). Inputs are read only and may have any strides. Outputs are
 * freshly allocated by the model, contiguous and row-major, and owned by the
 * caller, who releases each with ssmlib_free(allocated). The functions
 * keep no state between calls, so threads may call them concurrently.
 *
 * Sizes are not checked by the model: a shape that contradicts the signature
 * is undefined behaviour. The runtime checks dtypes, ranks, static sizes and
 * the consistency of symbolic sizes before it calls an entry point.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SSM_MODEL_ABI_H
#define SSM_MODEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define SSM_MODEL_ABI_VERSION 2

typedef void (*ssm_entry_fn)(void **args);

/* SSM_MODEL_ABI_VERSION of the library. */
int64_t ssmlib_abi_version(void);
/* JSON: {"producer":"ssmc","abi_version":2,"target":"cpu","triple":...,
 * "cpu":...,"opt_level":2,"mixer_form":"quadratic","source":"model.onnx"} */
const char *ssmlib_compile_info(void);
int64_t ssmlib_num_entry_points(void);
/* NULL when i is out of range. */
const char *ssmlib_entry_point_name(int64_t i);
const char *ssmlib_signature(int64_t i);
ssm_entry_fn ssmlib_entry_point_function(int64_t i);
/* Releases an output buffer (the `allocated` pointer of its descriptor). */
void ssmlib_free(void *allocated);

/* Threads. Parallel loops of the compiled code (the register-tiled matrix
 * products) run on a pool of threads inside the library, started on first
 * use: ssmlib_num_threads() threads in all, the caller included. The count
 * is the environment variable SSM_NUM_THREADS when set (> 0), else the
 * number of online CPUs; ssmlib_set_num_threads(n) changes it (n <= 0: back
 * to that default). One parallel loop runs at a time: a loop started while
 * another runs (a second thread calling an entry point) runs on its caller
 * alone. Results do not depend on the number of threads. */
void ssmlib_set_num_threads(int64_t n);
int64_t ssmlib_num_threads(void);

/* Memory. Buffers of 64 KiB and more that the compiled code frees are kept
 * (up to SSM_CACHE_MB megabytes, default 4096) and reused by later calls;
 * ssmlib_release_memory() returns them to the system. */
void ssmlib_release_memory(void);

/* Multi-target bundles (ssmc --target=a,b,...): the library is the model
 * compiled for the first target, and it also carries the model libraries of
 * the others, whole, in this table (a null `target` ends it). The runtime
 * loads one of them when asked for that device (ssm_model_load_on); the
 * compile info lists every target ("targets"). Absent from other libraries. */
typedef struct ssm_embedded_library {
  const char *target; /* "cpu", "cuda" or "vulkan" */
  const void *data;   /* the shared library file's bytes */
  uint64_t size;
} ssm_embedded_library;
extern const ssm_embedded_library ssmlib_embedded_libraries[];

/* Bytes of a memref descriptor of rank r. */
static inline int64_t ssm_descriptor_size(int64_t rank) {
  return 8 * (3 + 2 * rank);
}

#ifdef __cplusplus
}
#endif

#endif /* SSM_MODEL_ABI_H */
