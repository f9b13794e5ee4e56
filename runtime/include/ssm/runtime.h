/*===- runtime.h - The SSMC runtime C API -------------------------*- C -*-===*
 *
 * Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Loads a model library compiled by ssmc, reports its entry points and their
 * signatures, creates tensors and runs entry points. Link with -lssmrt; the
 * runtime has no MLIR or LLVM in it.
 *
 * Errors: every function that can fail returns an ssm_status; on failure
 * ssm_last_error() returns a message for the calling thread (valid until the
 * next failing call on that thread). Invalid arguments (a wrong dtype, rank or
 * size, a missing input, a NULL pointer) are errors, never aborts.
 *
 * Threads: a loaded model is immutable; any number of threads may call
 * ssm_run on it at once. Tensors are not synchronized: do not write a tensor
 * while another thread reads it. Output tensors keep their model loaded until
 * they are released.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SSM_RUNTIME_H
#define SSM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ssm_status {
  SSM_OK = 0,
  SSM_ERROR_INVALID_ARGUMENT = 1, /* wrong dtype/rank/size, NULL, ... */
  SSM_ERROR_NOT_FOUND = 2,        /* no such entry point, input or file */
  SSM_ERROR_LOAD = 3,             /* not a model library, ABI mismatch */
  SSM_ERROR_OUT_OF_MEMORY = 4,
  SSM_ERROR_DEVICE = 5, /* the model's device (CUDA) is missing or failed */
} ssm_status;

typedef enum ssm_dtype {
  SSM_FLOAT32 = 0,
  SSM_FLOAT64 = 1,
  SSM_FLOAT16 = 2,
  SSM_BFLOAT16 = 3,
  SSM_INT64 = 4,
  SSM_INT32 = 5,
  SSM_INT16 = 6,
  SSM_INT8 = 7,
  SSM_UINT8 = 8,
  SSM_BOOL = 9,
} ssm_dtype;

typedef struct ssm_model ssm_model;
typedef struct ssm_tensor ssm_tensor;

/* One input or output of an entry point. dims[k] is -1 for a size known only
 * at run time; dim_names[k] is then its symbolic name (or expression, such as
 * "seq + 3"), or NULL. Pointers stay valid while the model is loaded. */
typedef struct ssm_io_info {
  const char *name;
  ssm_dtype dtype;
  int64_t rank;
  const int64_t *dims;
  const char *const *dim_names;
} ssm_io_info;

const char *ssm_last_error(void);
const char *ssm_status_name(ssm_status status);
const char *ssm_dtype_name(ssm_dtype dtype);
/* Bytes per element (bool takes one byte). */
size_t ssm_dtype_size(ssm_dtype dtype);
/* SSM_OK and *dtype set when `name` is a dtype name such as "float32". */
ssm_status ssm_dtype_from_name(const char *name, ssm_dtype *dtype);

/* Models */
ssm_status ssm_model_load(const char *path, ssm_model **model);
/* Loads the model for `device` ("cpu", "cuda" or "vulkan"; NULL or "": the
 * target the library was compiled for, as ssm_model_load). A library built
 * for several targets (ssmc --target=a,b) carries the others' builds: each
 * is loaded once per process and file (SSM_ERROR_NOT_FOUND when the file
 * holds no build for `device`). */
ssm_status ssm_model_load_on(const char *path, const char *device,
                             ssm_model **model);
void ssm_model_release(ssm_model *model);
/* Threads of the model's parallel loops, the caller included (see
 * ssmlib_set_num_threads in model_abi.h): n >= 1, or 0 for the default
 * (SSM_NUM_THREADS, else the number of online CPUs). The setting belongs to
 * the library file: models loaded from the same file share it. */
ssm_status ssm_model_set_num_threads(ssm_model *model, int64_t n);
int64_t ssm_model_num_threads(const ssm_model *model);
/* Returns the buffers the library keeps for reuse to the system. */
void ssm_model_release_memory(ssm_model *model);
/* The compile info JSON the library carries. */
const char *ssm_model_compile_info(const ssm_model *model);
int64_t ssm_model_num_entry_points(const ssm_model *model);
/* NULL when out of range. */
const char *ssm_model_entry_point(const ssm_model *model, int64_t index);
/* The JSON signature of `entry`; NULL (and an error) if there is none. */
const char *ssm_model_signature(const ssm_model *model, const char *entry);
/* -1 (and an error) when `entry` does not exist. */
int64_t ssm_entry_num_inputs(const ssm_model *model, const char *entry);
int64_t ssm_entry_num_outputs(const ssm_model *model, const char *entry);
ssm_status ssm_entry_input(const ssm_model *model, const char *entry,
                           int64_t index, ssm_io_info *info);
ssm_status ssm_entry_output(const ssm_model *model, const char *entry,
                            int64_t index, ssm_io_info *info);

/* Tensors: dense, row-major. */
/* A new zero-filled tensor. */
ssm_status ssm_tensor_create(ssm_dtype dtype, int64_t rank,
                             const int64_t *shape, ssm_tensor **tensor);
/* A tensor viewing caller-owned `data` (not copied, not freed). */
ssm_status ssm_tensor_wrap(ssm_dtype dtype, int64_t rank, const int64_t *shape,
                           void *data, ssm_tensor **tensor);
void ssm_tensor_release(ssm_tensor *tensor);
ssm_dtype ssm_tensor_dtype(const ssm_tensor *tensor);
int64_t ssm_tensor_rank(const ssm_tensor *tensor);
const int64_t *ssm_tensor_shape(const ssm_tensor *tensor);
int64_t ssm_tensor_num_elements(const ssm_tensor *tensor);
void *ssm_tensor_data(ssm_tensor *tensor);

/* Runs `entry` (NULL: the first entry point). inputs[j] is input j of the
 * signature; outputs[k] receives a new tensor the caller releases. On failure
 * no output is set. For a device model (ssm_model_device() is not "cpu"),
 * host inputs are copied to the device and the outputs back to host tensors;
 * device tensors among the inputs are used in place. */
ssm_status ssm_run(const ssm_model *model, const char *entry,
                   ssm_tensor *const *inputs, int64_t num_inputs,
                   ssm_tensor **outputs, int64_t num_outputs);

/* Device tensors (models compiled with ssmc --target=cuda).
 *
 * A device tensor holds its elements in the device memory of the model that
 * made it; ssm_tensor_data returns the device address. Device work is
 * ordered per calling thread: use a device tensor from the thread that made
 * it (or from others only after that thread's calls have returned). Device
 * failures come back as SSM_ERROR_DEVICE with the driver's message. */
/* "cpu", or the device a model runs on ("cuda"); NULL for a NULL model. */
const char *ssm_model_device(const ssm_model *model);
/* Like ssm_run, but the outputs stay in device memory (device tensors), so
 * that they can feed the next call without a copy. Device models only. */
ssm_status ssm_run_device(const ssm_model *model, const char *entry,
                          ssm_tensor *const *inputs, int64_t num_inputs,
                          ssm_tensor **outputs, int64_t num_outputs);
/* A device copy of host tensor `host`, in `model`'s device memory. */
ssm_status ssm_tensor_to_device(const ssm_model *model, const ssm_tensor *host,
                                ssm_tensor **device);
/* A host copy of `tensor` (a device or a host tensor). */
ssm_status ssm_tensor_to_host(const ssm_tensor *tensor, ssm_tensor **host);
/* 1 for a device tensor, else 0. */
int ssm_tensor_is_device(const ssm_tensor *tensor);

/* Generation: stateful prefill and decode.
 *
 * ssmc derives two entry points from a model whose only input is the token
 * ids (its default, when the model allows it): `prefill` (tokens (batch, n)
 * and the state in, outputs and the state out) and `decode` (one token per
 * sequence). A generator holds the state between calls: the position (the
 * tokens each sequence holds; shared by the batch), the KV caches of the
 * attention heads, and the conv, SSM and Mamba-3 states. Feeding a prompt
 * with prefill and then one token at a time with decode gives the same
 * outputs as the model's main entry point over the whole sequence.
 *
 * Sequences are slots 0..batch-1 of one batch; every call feeds every slot.
 * A device model's generator keeps the state in device memory; only the
 * outputs asked for are copied to the host.
 * A generator is not thread-safe; different generators are independent. */
typedef struct ssm_generator ssm_generator;

/* A generator with an empty state for `batch` sequences. Fails when the
 * model has no prefill/decode entry points. */
ssm_status ssm_generator_create(const ssm_model *model, int64_t batch,
                                ssm_generator **generator);
void ssm_generator_release(ssm_generator *generator);
/* Feeds tokens (int64, (batch, n), n >= 1) through `prefill`; *outputs
 * receives the model's first output for these tokens unless `outputs` is
 * NULL: the logits of the last token, (batch, 1, vocab), for a model
 * compiled with ssmc's default --prefill-logits=last, or of every token,
 * (batch, n, vocab), with --prefill-logits=all (the entry point's signature
 * says which). On failure the state is unchanged. */
ssm_status ssm_generator_prefill(ssm_generator *generator,
                                 const ssm_tensor *tokens,
                                 ssm_tensor **outputs);
/* Feeds one token per sequence (int64, (batch, 1)) through `decode`. */
ssm_status ssm_generator_decode(ssm_generator *generator,
                                const ssm_tensor *tokens, ssm_tensor **outputs);
/* Tokens each sequence holds (-1 for a NULL generator). */
int64_t ssm_generator_position(const ssm_generator *generator);
/* Bytes the state holds now (the KV caches grow with the position). */
int64_t ssm_generator_state_bytes(const ssm_generator *generator);
/* Empties the state: every slot (slot = -1), or one slot, whose recurrent
 * states are zeroed so that it starts a new sequence. A single slot can be
 * reset only in models without attention KV caches (the caches of one batch
 * share their positions); the position is shared by the batch and keeps
 * counting. */
ssm_status ssm_generator_reset(ssm_generator *generator, int64_t slot);

/* Training (models compiled with ssmc --train).
 *
 * A trainer holds what train_step updates between calls: the parameters, the
 * AdamW moments (zeros at first) and the step count. Each step feeds a batch
 * (train_step's inputs before the parameters: input_ids, then labels,
 * teacher_logits or the teacher's hidden.l / mixing.l, by the loss it was
 * compiled with), runs one AdamW step at learning rate `lr` and returns the
 * loss and the gradient norm before clipping. Checkpoints are safetensors
 * files (float32 tensors named as the parameters, adam_m.<p> and adam_v.<p>;
 * metadata "step"), the layout ssmc.Trainer writes and reads.
 * A device model's trainer (ssmc --target=cuda --train) keeps the parameters
 * and moments in device memory: a step copies the batch in and the loss and
 * gradient norm out, ssm_trainer_parameter returns a device tensor (read it
 * with ssm_tensor_to_host), and checkpoints go through host copies.
 * A trainer is not thread-safe. */
typedef struct ssm_trainer ssm_trainer;

/* A trainer starting from `parameters` (copied): one float32 tensor per
 * parameter input of train_step, in its order. */
ssm_status ssm_trainer_create(const ssm_model *model,
                              const ssm_tensor *const *parameters,
                              int64_t num_parameters, ssm_trainer **trainer);
void ssm_trainer_release(ssm_trainer *trainer);
int64_t ssm_trainer_num_parameters(const ssm_trainer *trainer);
/* Name and current value of parameter `index` (owned by the trainer, valid
 * until the next step or load). NULL when out of range. */
const char *ssm_trainer_parameter_name(const ssm_trainer *trainer,
                                       int64_t index);
const ssm_tensor *ssm_trainer_parameter(const ssm_trainer *trainer,
                                        int64_t index);
/* The batch inputs a step takes (train_step's inputs before the
 * parameters) and their names. */
int64_t ssm_trainer_num_batch_inputs(const ssm_trainer *trainer);
const char *ssm_trainer_batch_input_name(const ssm_trainer *trainer,
                                         int64_t index);
/* Steps taken (saved in and restored from checkpoints). */
int64_t ssm_trainer_steps(const ssm_trainer *trainer);
/* One AdamW step. `loss` and `grad_norm` may be NULL. On failure the
 * parameters, moments and step count are unchanged. */
ssm_status ssm_trainer_step(ssm_trainer *trainer, ssm_tensor *const *batch,
                            int64_t num_batch, float lr, float *loss,
                            float *grad_norm);
ssm_status ssm_trainer_save(const ssm_trainer *trainer, const char *path);
/* Restores parameters, moments and step count; on failure (a missing
 * tensor, a wrong shape or dtype, a damaged file) nothing changes. */
ssm_status ssm_trainer_load(ssm_trainer *trainer, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* SSM_RUNTIME_H */
