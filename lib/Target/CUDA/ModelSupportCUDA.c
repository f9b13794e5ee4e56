/*===- ModelSupportCUDA.c - Support code of every CUDA model.so -----------===*
 *
 * Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * ssmc compiles this file into each model library built with --target=cuda
 * (instead of ModelSupport.c). The library then needs only libc: the CUDA
 * driver (libcuda.so.1) is opened with dlopen on first use, so the library
 * loads on a machine without it and reports the missing driver as an error
 * when an entry point runs. It provides:
 *
 *   - the functions the MLIR GPU lowering calls (mgpuModuleLoad,
 *     mgpuModuleLoadJIT, mgpuModuleGetFunction, mgpuLaunchKernel,
 *     mgpuStream*): modules are loaded lazily, on the first launch of one of
 *     their kernels, and every launch goes to the calling thread's stream;
 *   - the device memory of the compiled code's buffers (memref.alloc is
 *     device memory on this target): stream-ordered allocations from the
 *     device's default memory pool, which keeps freed memory for reuse;
 *   - __ssm_gpu_constant: the device copy of a weight, made on first use;
 *   - __ssm_gpu_copy_to_host: a device-to-host copy after the kernels
 *     launched before it;
 *   - the device part of the model ABI (runtime/include/ssm/model_abi.h):
 *     ssmlib_device, ssmlib_device_alloc/free/copy/synchronize.
 *
 * Errors: the first failing driver call on a thread is recorded (later
 * launches on that thread are skipped) and ssmlib_device_synchronize returns
 * its message, then clears it. SSM_CUDA_SYNC=1 waits after every launch,
 * so that an error names the kernel that caused it.
 *
 *===----------------------------------------------------------------------===*/

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSM_EXPORT __attribute__((visibility("default")))

/*===----------------------------------------------------------------------===*
 * The driver API, declared here (no CUDA headers at model link time)
 *===----------------------------------------------------------------------===*/

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUmemPoolHandle_st *CUmemoryPool;
typedef unsigned long long CUdeviceptr;

enum {
  CUDA_SUCCESS = 0,
  CU_STREAM_NON_BLOCKING = 1,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
  CU_JIT_OPTIMIZATION_LEVEL = 7,
  CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};

static struct {
  CUresult (*Init)(unsigned);
  CUresult (*DriverGetVersion)(int *);
  CUresult (*DeviceGet)(CUdevice *, int);
  CUresult (*DeviceGetCount)(int *);
  CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*CtxSetCurrent)(CUcontext);
  CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                               void **);
  CUresult (*ModuleUnload)(CUmodule);
  CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*FuncSetAttribute)(CUfunction, int, int);
  CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*StreamCreate)(CUstream *, unsigned);
  CUresult (*StreamSynchronize)(CUstream);
  CUresult (*MemAlloc)(CUdeviceptr *, size_t);
  CUresult (*MemFree)(CUdeviceptr);
  CUresult (*MemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*MemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*MemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*DeviceGetDefaultMemPool)(CUmemoryPool *, CUdevice);
  CUresult (*MemPoolSetAttribute)(CUmemoryPool, int, void *);
  CUresult (*MemPoolTrimTo)(CUmemoryPool, size_t);
  CUresult (*GetErrorName)(CUresult, const char **);
  CUresult (*GetErrorString)(CUresult, const char **);
} cu;

/*===----------------------------------------------------------------------===*
 * Errors
 *===----------------------------------------------------------------------===*/

static __thread char ssm_error[1024];
static __thread int ssm_failed;

static void ssm_fail(const char *format, ...) {
  if (ssm_failed)
    return;
  ssm_failed = 1;
  va_list args;
  va_start(args, format);
  vsnprintf(ssm_error, sizeof ssm_error, format, args);
  va_end(args);
}

/* Records a failing driver call; returns whether `r` is success. */
static int ssm_check(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return 1;
  const char *name = NULL, *text = NULL;
  if (cu.GetErrorName)
    cu.GetErrorName(r, &name);
  if (cu.GetErrorString)
    cu.GetErrorString(r, &text);
  ssm_fail("CUDA error in %s: %s (%d)%s%s", what, name ? name : "unknown", r,
           text ? ": " : "", text ? text : "");
  return 0;
}

/*===----------------------------------------------------------------------===*
 * The driver, the context and the thread's stream
 *===----------------------------------------------------------------------===*/

static pthread_once_t ssm_init_once = PTHREAD_ONCE_INIT;
static char ssm_init_error[512];
static CUdevice ssm_device;
static CUcontext ssm_context;
static CUmemoryPool ssm_pool;
static int ssm_sync_launches;
/* SSM_CUDA_POISON set: new device buffers are filled with 0xFF bytes. */
static int ssm_poison;

static void ssm_init(void) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(ssm_init_error, sizeof ssm_init_error,
             "the CUDA driver is not available (cannot load libcuda.so.1: "
             "%s); this model was compiled with --target=cuda",
             why ? why : "not found");
    return;
  }
#define SSM_LOAD(field, symbol)                                                \
  do {                                                                         \
    *(void **)&cu.field = dlsym(lib, symbol);                                  \
    if (!cu.field) {                                                           \
      snprintf(ssm_init_error, sizeof ssm_init_error,                          \
               "the CUDA driver lacks %s (driver too old?)", symbol);          \
      return;                                                                  \
    }                                                                          \
  } while (0)
  SSM_LOAD(Init, "cuInit");
  SSM_LOAD(DriverGetVersion, "cuDriverGetVersion");
  SSM_LOAD(DeviceGet, "cuDeviceGet");
  SSM_LOAD(DeviceGetCount, "cuDeviceGetCount");
  SSM_LOAD(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  SSM_LOAD(CtxSetCurrent, "cuCtxSetCurrent");
  SSM_LOAD(ModuleLoadDataEx, "cuModuleLoadDataEx");
  SSM_LOAD(ModuleUnload, "cuModuleUnload");
  SSM_LOAD(ModuleGetFunction, "cuModuleGetFunction");
  SSM_LOAD(FuncSetAttribute, "cuFuncSetAttribute");
  SSM_LOAD(LaunchKernel, "cuLaunchKernel");
  SSM_LOAD(StreamCreate, "cuStreamCreate");
  SSM_LOAD(StreamSynchronize, "cuStreamSynchronize");
  SSM_LOAD(MemAlloc, "cuMemAlloc_v2");
  SSM_LOAD(MemFree, "cuMemFree_v2");
  SSM_LOAD(MemAllocAsync, "cuMemAllocAsync");
  SSM_LOAD(MemsetD8Async, "cuMemsetD8Async");
  SSM_LOAD(MemFreeAsync, "cuMemFreeAsync");
  SSM_LOAD(MemcpyAsync, "cuMemcpyAsync");
  SSM_LOAD(MemcpyHtoD, "cuMemcpyHtoD_v2");
  SSM_LOAD(DeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool");
  SSM_LOAD(MemPoolSetAttribute, "cuMemPoolSetAttribute");
  SSM_LOAD(MemPoolTrimTo, "cuMemPoolTrimTo");
  SSM_LOAD(GetErrorName, "cuGetErrorName");
  SSM_LOAD(GetErrorString, "cuGetErrorString");
#undef SSM_LOAD
  CUresult r = cu.Init(0);
  int count = 0;
  if (r == CUDA_SUCCESS)
    r = cu.DeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count == 0) {
    const char *name = NULL;
    cu.GetErrorName(r, &name);
    snprintf(ssm_init_error, sizeof ssm_init_error,
             "no CUDA device is available (cuInit: %s)",
             r == CUDA_SUCCESS ? "no devices" : (name ? name : "error"));
    return;
  }
  int ordinal = 0;
  const char *env = getenv("SSM_CUDA_DEVICE");
  if (env && *env)
    ordinal = atoi(env);
  if (ordinal < 0 || ordinal >= count) {
    snprintf(ssm_init_error, sizeof ssm_init_error,
             "SSM_CUDA_DEVICE=%d is out of range: %d CUDA device(s)", ordinal,
             count);
    return;
  }
  const char *what = "cuDeviceGet";
  r = cu.DeviceGet(&ssm_device, ordinal);
  if (r == CUDA_SUCCESS) {
    what = "cuDevicePrimaryCtxRetain";
    r = cu.DevicePrimaryCtxRetain(&ssm_context, ssm_device);
  }
  if (r == CUDA_SUCCESS) {
    what = "cuDeviceGetDefaultMemPool";
    r = cu.DeviceGetDefaultMemPool(&ssm_pool, ssm_device);
  }
  if (r == CUDA_SUCCESS) {
    /* Keep freed memory in the pool for the next calls. */
    unsigned long long keep = ~0ull;
    what = "cuMemPoolSetAttribute";
    r = cu.MemPoolSetAttribute(ssm_pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                               &keep);
  }
  if (r != CUDA_SUCCESS) {
    const char *name = NULL;
    cu.GetErrorName(r, &name);
    snprintf(ssm_init_error, sizeof ssm_init_error,
             "cannot set up the CUDA device: %s failed with %s", what,
             name ? name : "an error");
    return;
  }
  env = getenv("SSM_CUDA_SYNC");
  ssm_sync_launches = env && *env && strcmp(env, "0") != 0;
  env = getenv("SSM_CUDA_POISON");
  ssm_poison = env && *env && strcmp(env, "0") != 0;
}

static __thread CUstream ssm_stream;
static __thread int ssm_thread_ready;

/* Sets up the driver and this thread's context and stream; 0 on failure
 * (recorded). */
static int ssm_ready(void) {
  if (ssm_thread_ready)
    return 1;
  pthread_once(&ssm_init_once, ssm_init);
  if (ssm_init_error[0]) {
    ssm_fail("%s", ssm_init_error);
    return 0;
  }
  if (!ssm_check(cu.CtxSetCurrent(ssm_context), "cuCtxSetCurrent") ||
      !ssm_check(cu.StreamCreate(&ssm_stream, CU_STREAM_NON_BLOCKING),
                 "cuStreamCreate"))
    return 0;
  ssm_thread_ready = 1;
  return 1;
}

/*===----------------------------------------------------------------------===*
 * Modules and launches (the MLIR GPU runtime functions)
 *===----------------------------------------------------------------------===*/

typedef struct {
  const char *name; /* the kernel name's address in the library */
  CUfunction function;
} ssm_kernel_slot;

typedef struct {
  const void *data;
  int jit; /* PTX text for the driver to compile */
  int jitOptLevel;
  pthread_mutex_t lock;
  CUmodule module;
  ssm_kernel_slot *slots; /* open addressing on the name's address */
  size_t capacity, count;
} ssm_module;

SSM_EXPORT void *mgpuModuleLoad(void *data, int64_t size) {
  (void)size;
  ssm_module *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->data = data;
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

SSM_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  ssm_module *m = mgpuModuleLoad(data, 0);
  if (m) {
    m->jit = 1;
    m->jitOptLevel = optLevel;
  }
  return m;
}

SSM_EXPORT void mgpuModuleUnload(void *handle) {
  ssm_module *m = handle;
  if (!m)
    return;
  if (m->module && cu.ModuleUnload)
    cu.ModuleUnload(m->module);
  free(m->slots);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static int ssm_load_module(ssm_module *m) {
  if (m->module)
    return 1;
  char log[4096];
  log[0] = 0;
  int options[3] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                    CU_JIT_OPTIMIZATION_LEVEL};
  void *values[3] = {log, (void *)(uintptr_t)sizeof log,
                     (void *)(uintptr_t)(m->jitOptLevel > 4 ? 4
                                         : m->jitOptLevel < 0
                                             ? 0
                                             : m->jitOptLevel)};
  CUresult r =
      cu.ModuleLoadDataEx(&m->module, m->data, m->jit ? 3 : 2, options, values);
  if (r != CUDA_SUCCESS) {
    const char *name = NULL;
    cu.GetErrorName(r, &name);
    ssm_fail("cannot load the model's kernels on the CUDA device: %s%s%s "
             "(compiled for a newer GPU, or a driver too old for the "
             "PTX version?)",
             name ? name : "error", log[0] ? ": " : "", log);
    m->module = NULL;
    return 0;
  }
  return 1;
}

static __thread const char *ssm_last_kernel;

SSM_EXPORT void *mgpuModuleGetFunction(void *handle, const char *name) {
  ssm_module *m = handle;
  ssm_last_kernel = name;
  if (ssm_failed || !m || !ssm_ready())
    return NULL;
  void *result = NULL;
  pthread_mutex_lock(&m->lock);
  if (ssm_load_module(m)) {
    size_t h = ((uintptr_t)name >> 3) * 0x9E3779B97F4A7C15ull;
    if (m->capacity) {
      for (size_t i = h & (m->capacity - 1);; i = (i + 1) & (m->capacity - 1)) {
        if (m->slots[i].name == name) {
          result = m->slots[i].function;
          break;
        }
        if (!m->slots[i].name)
          break;
      }
    }
    if (!result) {
      CUfunction f = NULL;
      if (ssm_check(cu.ModuleGetFunction(&f, m->module, name),
                    "cuModuleGetFunction")) {
        if (2 * (m->count + 1) > m->capacity) {
          size_t capacity = m->capacity ? 2 * m->capacity : 64;
          ssm_kernel_slot *slots = calloc(capacity, sizeof *slots);
          if (slots) {
            for (size_t k = 0; k < m->capacity; ++k) {
              if (!m->slots[k].name)
                continue;
              size_t g =
                  ((uintptr_t)m->slots[k].name >> 3) * 0x9E3779B97F4A7C15ull;
              size_t i = g & (capacity - 1);
              while (slots[i].name)
                i = (i + 1) & (capacity - 1);
              slots[i] = m->slots[k];
            }
            free(m->slots);
            m->slots = slots;
            m->capacity = capacity;
          }
        }
        if (2 * (m->count + 1) <= m->capacity) {
          size_t i = h & (m->capacity - 1);
          while (m->slots[i].name)
            i = (i + 1) & (m->capacity - 1);
          m->slots[i].name = name;
          m->slots[i].function = f;
          ++m->count;
        }
        result = f;
      }
    }
  }
  pthread_mutex_unlock(&m->lock);
  return result;
}

SSM_EXPORT void *mgpuStreamCreate(void) {
  return ssm_ready() ? ssm_stream : NULL;
}

SSM_EXPORT void mgpuStreamDestroy(void *stream) { (void)stream; }

/* Launches are ordered on the thread's stream; the host waits only where it
 * reads device memory (copies, ssmlib_device_synchronize). */
SSM_EXPORT void mgpuStreamSynchronize(void *stream) { (void)stream; }

SSM_EXPORT void mgpuLaunchKernel(void *function, int64_t gridX, int64_t gridY,
                                 int64_t gridZ, int64_t blockX, int64_t blockY,
                                 int64_t blockZ, int32_t smem, void *stream,
                                 void **params, void **extra,
                                 int64_t paramsCount) {
  (void)stream;
  (void)paramsCount;
  if (ssm_failed || !function)
    return;
  const char *kernel = ssm_last_kernel ? ssm_last_kernel : "?";
  if (gridX > 0x7fffffff || gridY > 65535 || gridZ > 65535) {
    ssm_fail("kernel %s: grid %lld x %lld x %lld is larger than CUDA allows",
             kernel, (long long)gridX, (long long)gridY, (long long)gridZ);
    return;
  }
  /* More than the default 48 KiB of dynamic workgroup memory must be
   * allowed per function (the tensor-core SSD scan takes about 72 KiB). */
  CUresult r = CUDA_SUCCESS;
  if (smem > 48 * 1024)
    r = cu.FuncSetAttribute((CUfunction)function,
                            CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                            (int)smem);
  if (r == CUDA_SUCCESS)
    r = cu.LaunchKernel((CUfunction)function, (unsigned)gridX, (unsigned)gridY,
                        (unsigned)gridZ, (unsigned)blockX, (unsigned)blockY,
                        (unsigned)blockZ, (unsigned)smem, ssm_stream, params,
                        extra);
  if (r == CUDA_SUCCESS && ssm_sync_launches)
    r = cu.StreamSynchronize(ssm_stream);
  if (r != CUDA_SUCCESS) {
    char what[256];
    snprintf(what, sizeof what, "kernel %s", kernel);
    ssm_check(r, what);
  }
}

/*===----------------------------------------------------------------------===*
 * Buffers
 *===----------------------------------------------------------------------===*/

static void *ssm_device_alloc(size_t bytes) {
  if (ssm_failed || !ssm_ready())
    return NULL;
  CUdeviceptr p = 0;
  if (!ssm_check(cu.MemAllocAsync(&p, bytes ? bytes : 1, ssm_stream),
                 "cuMemAllocAsync"))
    return NULL;
  /* SSM_CUDA_POISON: every new buffer starts as 0xFF bytes (float NaN), so
   * that an element no kernel writes shows in the results. */
  if (ssm_poison && !ssm_check(cu.MemsetD8Async(p, 0xFF, bytes, ssm_stream),
                               "cuMemsetD8Async"))
    return NULL;
  return (void *)(uintptr_t)p;
}

static void ssm_device_free(void *p) {
  if (!p || !ssm_ready())
    return;
  ssm_check(cu.MemFreeAsync((CUdeviceptr)(uintptr_t)p, ssm_stream),
            "cuMemFreeAsync");
}

SSM_EXPORT void *_mlir_memref_to_llvm_alloc(size_t size) {
  return ssm_device_alloc(size);
}

/* Pool allocations are aligned to at least 256 bytes. */
SSM_EXPORT void *_mlir_memref_to_llvm_aligned_alloc(size_t align, size_t size) {
  if (align > 256) {
    ssm_fail("a buffer asks for %zu-byte alignment; device allocations "
             "have 256",
             align);
    return NULL;
  }
  return ssm_device_alloc(size);
}

SSM_EXPORT void _mlir_memref_to_llvm_free(void *p) { ssm_device_free(p); }

SSM_EXPORT void __ssm_gpu_copy_to_host(int64_t dst, int64_t src,
                                       int64_t bytes) {
  if (ssm_failed || !ssm_ready())
    return;
  if (ssm_check(cu.MemcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src,
                               (size_t)bytes, ssm_stream),
                "cuMemcpyAsync (device to host)"))
    ssm_check(cu.StreamSynchronize(ssm_stream), "cuStreamSynchronize");
}

/* Device copies of the constants, keyed by their host address. */
static pthread_mutex_t ssm_constants_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  const void *host;
  CUdeviceptr device;
} * ssm_constants;
static size_t ssm_constants_capacity, ssm_constants_count;

SSM_EXPORT void *__ssm_gpu_constant(const void *host, int64_t bytes) {
  if (ssm_failed || !ssm_ready())
    return NULL;
  void *result = NULL;
  pthread_mutex_lock(&ssm_constants_lock);
  size_t h = ((uintptr_t)host >> 4) * 0x9E3779B97F4A7C15ull;
  if (ssm_constants_capacity) {
    for (size_t i = h & (ssm_constants_capacity - 1);;
         i = (i + 1) & (ssm_constants_capacity - 1)) {
      if (ssm_constants[i].host == host) {
        result = (void *)(uintptr_t)ssm_constants[i].device;
        break;
      }
      if (!ssm_constants[i].host)
        break;
    }
  }
  if (!result) {
    if (2 * (ssm_constants_count + 1) > ssm_constants_capacity) {
      size_t capacity =
          ssm_constants_capacity ? 2 * ssm_constants_capacity : 256;
      void *table = calloc(capacity, sizeof *ssm_constants);
      if (!table) {
        pthread_mutex_unlock(&ssm_constants_lock);
        ssm_fail("out of host memory");
        return NULL;
      }
      __typeof__(ssm_constants) slots = table;
      for (size_t k = 0; k < ssm_constants_capacity; ++k) {
        if (!ssm_constants[k].host)
          continue;
        size_t g =
            ((uintptr_t)ssm_constants[k].host >> 4) * 0x9E3779B97F4A7C15ull;
        size_t i = g & (capacity - 1);
        while (slots[i].host)
          i = (i + 1) & (capacity - 1);
        slots[i] = ssm_constants[k];
      }
      free(ssm_constants);
      ssm_constants = slots;
      ssm_constants_capacity = capacity;
    }
    CUdeviceptr d = 0;
    if (ssm_check(cu.MemAlloc(&d, bytes ? (size_t)bytes : 1),
                  "cuMemAlloc (weights)")) {
      if (bytes && !ssm_check(cu.MemcpyHtoD(d, host, (size_t)bytes),
                              "cuMemcpyHtoD (weights)")) {
        cu.MemFree(d);
      } else {
        size_t i = h & (ssm_constants_capacity - 1);
        while (ssm_constants[i].host)
          i = (i + 1) & (ssm_constants_capacity - 1);
        ssm_constants[i].host = host;
        ssm_constants[i].device = d;
        ++ssm_constants_count;
        result = (void *)(uintptr_t)d;
      }
    }
  }
  pthread_mutex_unlock(&ssm_constants_lock);
  return result;
}

__attribute__((destructor)) static void ssm_free_constants(void) {
  if (!cu.MemFree)
    return;
  for (size_t k = 0; k < ssm_constants_capacity; ++k)
    if (ssm_constants[k].host)
      cu.MemFree(ssm_constants[k].device);
  free(ssm_constants);
  ssm_constants = NULL;
  ssm_constants_capacity = ssm_constants_count = 0;
}

/*===----------------------------------------------------------------------===*
 * The model ABI
 *===----------------------------------------------------------------------===*/

SSM_EXPORT const char *ssmlib_device(void) { return "cuda"; }

SSM_EXPORT void *ssmlib_device_alloc(int64_t bytes) {
  return ssm_device_alloc((size_t)bytes);
}

SSM_EXPORT void ssmlib_device_free(void *p) { ssm_device_free(p); }

/* Copies `bytes` between host and device memory (either way), in order
 * after the kernels launched before on this thread. */
SSM_EXPORT void ssmlib_device_copy(void *dst, const void *src, int64_t bytes) {
  if (ssm_failed || !bytes || !ssm_ready())
    return;
  ssm_check(cu.MemcpyAsync((CUdeviceptr)(uintptr_t)dst,
                           (CUdeviceptr)(uintptr_t)src, (size_t)bytes,
                           ssm_stream),
            "cuMemcpyAsync");
}

/* Waits for this thread's device work. Returns NULL, or the message of the
 * first error since the last call (then forgotten). The pointer stays valid
 * until the thread's next call into the library. */
SSM_EXPORT const char *ssmlib_device_synchronize(void) {
  static __thread char message[1024];
  if (!ssm_failed && ssm_ready())
    ssm_check(cu.StreamSynchronize(ssm_stream), "cuStreamSynchronize");
  if (!ssm_failed)
    return NULL;
  memcpy(message, ssm_error, sizeof message);
  ssm_failed = 0;
  ssm_error[0] = 0;
  return message;
}

/* The CPU target's thread controls: the host side runs on the caller. */
SSM_EXPORT void ssmlib_set_num_threads(int64_t n) { (void)n; }
SSM_EXPORT int64_t ssmlib_num_threads(void) { return 1; }

SSM_EXPORT void ssmlib_release_memory(void) {
  if (ssm_failed || !ssm_ready())
    return;
  if (ssm_check(cu.StreamSynchronize(ssm_stream), "cuStreamSynchronize"))
    ssm_check(cu.MemPoolTrimTo(ssm_pool, 0), "cuMemPoolTrimTo");
}
