/*===- ModelSupport.c - Support code compiled into every model.so ---------===*
 *
 * Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * ssmc embeds this file and compiles it into each model library it links
 * (with the C compiler driver that does the link), so that the library keeps
 * needing only libc and libm. It provides:
 *
 *   - the memory of the compiled code's buffers (`memref.alloc` lowered
 *     with `use-generic-functions`): blocks of 64 KiB and more are rounded
 *     up to a size class (4 per power of two), kept on free and handed out
 *     again, so that a model called repeatedly (decode steps, prefill
 *     chunks) does not map, fault in and unmap its buffers on every call;
 *   - `__ssm_parallel_for`, which the compiled code calls for its parallel
 *     loops: a fixed pool of threads runs contiguous parts of the range.
 *
 * Both are safe to use from several threads at once. The exported controls
 * are declared in runtime/include/ssm/model_abi.h.
 *
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define SSM_EXPORT __attribute__((visibility("default")))

/*===----------------------------------------------------------------------===*
 * Buffers
 *===----------------------------------------------------------------------===*/

/* Every block starts with its header, right before the pointer returned. */
typedef struct {
  void *raw;       /* what malloc returned */
  size_t capacity; /* bytes of the malloc block */
} ssm_block_header;

enum {
  SSM_MIN_ALIGN = 64,
  /* Size classes: 4 per power of two, up to 2^48 bytes. */
  SSM_NUM_CLASSES = 4 * 48,
};
/* Blocks of at least this many bytes are kept on free. */
static const size_t ssm_cache_min_bytes = (size_t)64 << 10;

/* Kept blocks, one list per size class, linked through their first word. */
static pthread_mutex_t ssm_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *ssm_cache[SSM_NUM_CLASSES];
static size_t ssm_cache_bytes;
/* The most bytes kept (SSM_CACHE_MB overrides); 0 until first read. */
static size_t ssm_cache_limit;

static size_t ssm_cache_limit_bytes(void) {
  if (!ssm_cache_limit) {
    const char *env = getenv("SSM_CACHE_MB");
    long mb = env ? atol(env) : 4096;
    ssm_cache_limit = mb > 0 ? (size_t)mb << 20 : 1;
  }
  return ssm_cache_limit;
}

/* Bytes of size class c: (4 + c % 4) * 2^(c / 4 - 2). */
static size_t ssm_class_bytes(int c) {
  return (size_t)(4 + c % 4) << (c / 4 - 2);
}

/* The smallest class of at least `need` bytes (need >= 4). */
static int ssm_class_of(size_t need) {
  int e = 63 - __builtin_clzll((unsigned long long)need);
  for (int s = 0; s < 4; ++s)
    if (ssm_class_bytes(4 * e + s) >= need)
      return 4 * e + s;
  return 4 * (e + 1);
}

static void *ssm_alloc(size_t align, size_t size) {
  if (align < SSM_MIN_ALIGN)
    align = SSM_MIN_ALIGN;
  size_t need = size + align + sizeof(ssm_block_header);
  size_t capacity = need;
  void *raw = NULL;
  if (need >= ssm_cache_min_bytes) {
    int c = ssm_class_of(need);
    if (c >= SSM_NUM_CLASSES)
      return NULL;
    capacity = ssm_class_bytes(c);
    pthread_mutex_lock(&ssm_cache_lock);
    raw = ssm_cache[c];
    if (raw) {
      ssm_cache[c] = *(void **)raw;
      ssm_cache_bytes -= capacity;
    }
    pthread_mutex_unlock(&ssm_cache_lock);
  }
  if (!raw)
    raw = malloc(capacity);
  if (!raw)
    return NULL;
  uintptr_t user = ((uintptr_t)raw + sizeof(ssm_block_header) + align - 1) &
                   ~(uintptr_t)(align - 1);
  ssm_block_header *header = (ssm_block_header *)user - 1;
  header->raw = raw;
  header->capacity = capacity;
  return (void *)user;
}

SSM_EXPORT void *_mlir_memref_to_llvm_alloc(size_t size) {
  return ssm_alloc(SSM_MIN_ALIGN, size);
}

SSM_EXPORT void *_mlir_memref_to_llvm_aligned_alloc(size_t align, size_t size) {
  return ssm_alloc(align, size);
}

SSM_EXPORT void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  ssm_block_header *header = (ssm_block_header *)ptr - 1;
  void *raw = header->raw;
  size_t capacity = header->capacity;
  if (capacity >= ssm_cache_min_bytes) {
    int c = ssm_class_of(capacity);
    pthread_mutex_lock(&ssm_cache_lock);
    if (ssm_cache_bytes + capacity <= ssm_cache_limit_bytes()) {
      *(void **)raw = ssm_cache[c];
      ssm_cache[c] = raw;
      ssm_cache_bytes += capacity;
      raw = NULL;
    }
    pthread_mutex_unlock(&ssm_cache_lock);
  }
  free(raw);
}

SSM_EXPORT void ssmlib_release_memory(void) {
  pthread_mutex_lock(&ssm_cache_lock);
  for (int c = 0; c < SSM_NUM_CLASSES; ++c) {
    while (ssm_cache[c]) {
      void *raw = ssm_cache[c];
      ssm_cache[c] = *(void **)raw;
      free(raw);
    }
  }
  ssm_cache_bytes = 0;
  pthread_mutex_unlock(&ssm_cache_lock);
}

/*===----------------------------------------------------------------------===*
 * Threads
 *===----------------------------------------------------------------------===*/

typedef void (*ssm_body_fn)(void *ctx, int64_t begin, int64_t end);

enum { SSM_MAX_THREADS = 256 };

/* Workers wait for a job by spinning on the job generation for a while
 * (a decode step makes hundreds of parallel calls a few microseconds apart,
 * and waking a sleeping thread costs tens of microseconds), then sleep on
 * `ssm_pool_wake`. The caller waits for the parts by spinning too: they
 * are running. */
static pthread_mutex_t ssm_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ssm_pool_wake = PTHREAD_COND_INITIALIZER;
/* One parallel loop at a time; a second caller runs its loop alone. */
static pthread_mutex_t ssm_dispatch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t ssm_workers[SSM_MAX_THREADS];
static int ssm_num_workers; /* started so far */
static int ssm_threads;     /* threads to use, callers included; 0: unset */
static _Atomic int ssm_stopping;
static _Atomic int ssm_sleepers; /* workers in (or entering) the wait */
/* The current job: parts [0, ssm_job_parts) of [0, ssm_job_n), published
 * by the release increment of the generation. */
static _Atomic uint64_t ssm_job_generation;
static ssm_body_fn ssm_job_fn;
static void *ssm_job_ctx;
static int64_t ssm_job_n;
static int ssm_job_parts;
static _Atomic int ssm_job_pending;
static __thread int ssm_in_parallel;

/* Spins of a waiting worker before it sleeps: about a millisecond. */
enum { SSM_SPIN_LIMIT = 1 << 14 };

static inline void ssm_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int ssm_default_threads(void) {
  const char *env = getenv("SSM_NUM_THREADS");
  long n = env ? atol(env) : 0;
  if (n <= 0)
    n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  return n > SSM_MAX_THREADS ? SSM_MAX_THREADS : (int)n;
}

static void ssm_run_part(ssm_body_fn fn, void *ctx, int64_t n, int parts,
                         int part) {
  int64_t begin = n * part / parts, end = n * (part + 1) / parts;
  if (begin < end)
    fn(ctx, begin, end);
}

/* Waits until the job generation differs from `seen` or the pool stops;
 * returns the new generation. */
static uint64_t ssm_wait_for_job(uint64_t seen) {
  for (int spin = 0; spin < SSM_SPIN_LIMIT; ++spin) {
    uint64_t g =
        atomic_load_explicit(&ssm_job_generation, memory_order_acquire);
    if (g != seen || atomic_load_explicit(&ssm_stopping, memory_order_relaxed))
      return g;
    ssm_cpu_relax();
  }
  pthread_mutex_lock(&ssm_pool_lock);
  /* Counted before the check (both sequentially consistent), so that a
   * dispatcher that publishes after the check sees the sleeper. */
  atomic_fetch_add(&ssm_sleepers, 1);
  uint64_t g;
  while ((g = atomic_load(&ssm_job_generation)) == seen &&
         !atomic_load(&ssm_stopping))
    pthread_cond_wait(&ssm_pool_wake, &ssm_pool_lock);
  atomic_fetch_sub(&ssm_sleepers, 1);
  pthread_mutex_unlock(&ssm_pool_lock);
  return g;
}

static void ssm_wake_sleepers(void) {
  if (atomic_load(&ssm_sleepers) == 0)
    return;
  pthread_mutex_lock(&ssm_pool_lock);
  pthread_cond_broadcast(&ssm_pool_wake);
  pthread_mutex_unlock(&ssm_pool_lock);
}

/* Worker `part` starts waiting for the job after the generation current
 * when it was started (set before its creation). Every worker acknowledges
 * every job, running its part when it has one, so that none still reads a
 * job when the next is published. */
static uint64_t ssm_worker_first_seen[SSM_MAX_THREADS];

static void *ssm_worker(void *arg) {
  int part = (int)(intptr_t)arg;
  uint64_t seen = ssm_worker_first_seen[part];
  ssm_in_parallel = 1;
  for (;;) {
    seen = ssm_wait_for_job(seen);
    if (atomic_load(&ssm_stopping))
      break;
    if (part < ssm_job_parts)
      ssm_run_part(ssm_job_fn, ssm_job_ctx, ssm_job_n, ssm_job_parts, part);
    atomic_fetch_sub_explicit(&ssm_job_pending, 1, memory_order_release);
  }
  return NULL;
}

SSM_EXPORT void ssmlib_set_num_threads(int64_t n) {
  pthread_mutex_lock(&ssm_dispatch_lock);
  ssm_threads = n <= 0 ? ssm_default_threads()
                       : (int)(n > SSM_MAX_THREADS ? SSM_MAX_THREADS : n);
  pthread_mutex_unlock(&ssm_dispatch_lock);
}

SSM_EXPORT int64_t ssmlib_num_threads(void) {
  pthread_mutex_lock(&ssm_dispatch_lock);
  if (!ssm_threads)
    ssm_threads = ssm_default_threads();
  int n = ssm_threads;
  pthread_mutex_unlock(&ssm_dispatch_lock);
  return n;
}

/* Work below this (in multiply-adds, about 5 microseconds on one core) runs
 * on the calling thread: waking the others would cost more. */
static const int64_t ssm_min_parallel_cost = (int64_t)1 << 14;

/* Runs fn(ctx, begin, end) over parts of [0, n) that together cover it
 * once, on up to ssmlib_num_threads() threads, and returns when all are
 * done. `cost` estimates the work of the whole range. */
SSM_EXPORT void __ssm_parallel_for(ssm_body_fn fn, void *ctx, int64_t n,
                                   int64_t cost) {
  if (n <= 0)
    return;
  if (n == 1 || cost < ssm_min_parallel_cost || ssm_in_parallel ||
      pthread_mutex_trylock(&ssm_dispatch_lock) != 0) {
    fn(ctx, 0, n);
    return;
  }
  if (!ssm_threads)
    ssm_threads = ssm_default_threads();
  int parts = ssm_threads < n ? ssm_threads : (int)n;
  while (ssm_num_workers < parts - 1) {
    int part = ssm_num_workers + 1;
    ssm_worker_first_seen[part] = atomic_load(&ssm_job_generation);
    if (pthread_create(&ssm_workers[ssm_num_workers], NULL, ssm_worker,
                       (void *)(intptr_t)part) != 0)
      break;
    ++ssm_num_workers;
  }
  if (parts > ssm_num_workers + 1)
    parts = ssm_num_workers + 1;
  /* The workers read the job after seeing the new generation (acquire) and
   * only then; all acknowledged the previous job (pending reached 0). */
  ssm_job_fn = fn;
  ssm_job_ctx = ctx;
  ssm_job_n = n;
  ssm_job_parts = parts;
  atomic_store_explicit(&ssm_job_pending, ssm_num_workers,
                        memory_order_relaxed);
  atomic_fetch_add(&ssm_job_generation, 1);
  ssm_wake_sleepers();

  ssm_in_parallel = 1;
  ssm_run_part(fn, ctx, n, parts, 0);
  ssm_in_parallel = 0;

  for (unsigned spin = 0;
       atomic_load_explicit(&ssm_job_pending, memory_order_acquire) > 0;
       ++spin) {
    if (spin < SSM_SPIN_LIMIT)
      ssm_cpu_relax();
    else
      sched_yield();
  }
  pthread_mutex_unlock(&ssm_dispatch_lock);
}

/* On unload (dlclose): stop the threads and return the kept blocks. */
__attribute__((destructor)) static void ssm_support_unload(void) {
  atomic_store(&ssm_stopping, 1);
  pthread_mutex_lock(&ssm_pool_lock);
  pthread_cond_broadcast(&ssm_pool_wake);
  pthread_mutex_unlock(&ssm_pool_lock);
  for (int i = 0; i < ssm_num_workers; ++i)
    pthread_join(ssm_workers[i], NULL);
  ssm_num_workers = 0;
  ssmlib_release_memory();
}
