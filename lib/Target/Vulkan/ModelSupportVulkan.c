/*===- ModelSupportVulkan.c - Support code of every Vulkan model.so -------===*
 *
 * Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * ssmc compiles this file (with the Vulkan headers, when ssmc itself is
 * built) and links the object into each model library built with
 * --target=vulkan, instead of ModelSupport.c. The library then needs only
 * libc: the Vulkan loader (libvulkan.so.1) is opened with dlopen on first
 * use, so the library loads on a machine without it and reports the missing
 * loader or device as an error when an entry point runs. It provides:
 *
 *   - the functions the MLIR GPU lowering calls (mgpuModuleLoad,
 *     mgpuModuleGetFunction, mgpuLaunchKernel, mgpuStream*): each kernel's
 *     compute pipeline is made on its first launch and kept; a launch binds
 *     its buffers with push descriptors (VK_KHR_push_descriptor) in a
 *     dispatch appended to the calling thread's list of commands, which runs
 *     when the host waits (a copy to the host, ssmlib_device_synchronize):
 *     a list equal to one of the thread's 8 most recent recordings (the same
 *     kernels, grids and buffers: decode steps, repeated calls) submits that
 *     command buffer again; any other is recorded into the least recently
 *     used one, with a barrier before a command only where it touches a
 *     buffer that a command since the last barrier writes, or writes one
 *     that such a command reads (SSM_VULKAN_BARRIERS=all: before every
 *     command);
 *   - device memory: every buffer is a VkBuffer of its own, sized to a power
 *     of two, kept for reuse after it is freed. Device "addresses" are
 *     handles: bit 62 set, the buffer's index in bits 36..61 and the byte
 *     offset in bits 0..35; the host never dereferences them;
 *   - the kernel ABI of ssm-gpu-vulkan-kernel-abi: a kernel's arguments are
 *     buffer pointers (bare), bindings 0..n-1 of descriptor set 0; the last
 *     one is the argument pack in host memory (its first i32 word: its
 *     length in words), copied into an upload buffer with the launch's grid
 *     size in x appended (a grid wider than the device allows runs folded
 *     into z; the kernel rebuilds its x index);
 *   - __ssm_gpu_constant, __ssm_gpu_copy_to_host and the device part of the
 *     model ABI (ssmlib_device, ssmlib_device_alloc/free/copy/synchronize).
 *
 * Errors: the first failing call on a thread is recorded (later launches on
 * that thread are skipped) and ssmlib_device_synchronize returns its message,
 * then clears it. Environment: SSM_VULKAN_DEVICE=i picks the i-th physical
 * device (default: the first discrete GPU, else the first integrated one,
 * else device 0); SSM_VULKAN_SYNC=1 waits after every launch, so that an
 * error names its kernel; SSM_VULKAN_POISON=1 fills new buffers with 0xFF
 * bytes (float NaN); SSM_VULKAN_ROBUST=1 enables robustBufferAccess;
 * SSM_VULKAN_SUBGROUPS=0 runs the block reductions' portable kernels where
 * the device has subgroup arithmetic (whose kernels it runs by default);
 * SSM_VULKAN_BARRIERS=all puts a barrier before every command (not only
 * where one depends on another); SSM_VULKAN_REPLAY=0 records every batch
 * afresh (no command buffer is
 * submitted twice); SSM_VULKAN_STATS=1 prints, when the library is unloaded
 * or the process exits, how many batches were submitted and how many of
 * them replayed a recording; SSM_VULKAN_STATS=2 also prints every batch's
 * commands and buffers as it is submitted.
 *
 *===----------------------------------------------------------------------===*/

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan_core.h>

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

static const char *ssm_result_name(VkResult r) {
  switch (r) {
  case VK_NOT_READY:
    return "VK_NOT_READY";
  case VK_TIMEOUT:
    return "VK_TIMEOUT";
  case VK_ERROR_OUT_OF_HOST_MEMORY:
    return "VK_ERROR_OUT_OF_HOST_MEMORY";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
  case VK_ERROR_INITIALIZATION_FAILED:
    return "VK_ERROR_INITIALIZATION_FAILED";
  case VK_ERROR_DEVICE_LOST:
    return "VK_ERROR_DEVICE_LOST";
  case VK_ERROR_MEMORY_MAP_FAILED:
    return "VK_ERROR_MEMORY_MAP_FAILED";
  case VK_ERROR_EXTENSION_NOT_PRESENT:
    return "VK_ERROR_EXTENSION_NOT_PRESENT";
  case VK_ERROR_FEATURE_NOT_PRESENT:
    return "VK_ERROR_FEATURE_NOT_PRESENT";
  case VK_ERROR_INCOMPATIBLE_DRIVER:
    return "VK_ERROR_INCOMPATIBLE_DRIVER";
  case VK_ERROR_TOO_MANY_OBJECTS:
    return "VK_ERROR_TOO_MANY_OBJECTS";
  case VK_ERROR_INVALID_SHADER_NV:
    return "VK_ERROR_INVALID_SHADER_NV";
  default:
    return "VkResult";
  }
}

/* Records a failing call; returns whether `r` is success. */
static int ssm_check(VkResult r, const char *what) {
  if (r == VK_SUCCESS)
    return 1;
  ssm_fail("Vulkan error in %s: %s (%d)", what, ssm_result_name(r), (int)r);
  return 0;
}

/*===----------------------------------------------------------------------===*
 * The loader, the instance and the device
 *===----------------------------------------------------------------------===*/

#define SSM_VK_GLOBAL(X)                                                       \
  X(vkCreateInstance)                                                          \
  X(vkEnumerateInstanceVersion)
#define SSM_VK_INSTANCE(X)                                                     \
  X(vkEnumeratePhysicalDevices)                                                \
  X(vkGetPhysicalDeviceProperties)                                             \
  X(vkGetPhysicalDeviceQueueFamilyProperties)                                  \
  X(vkGetPhysicalDeviceMemoryProperties)                                       \
  X(vkGetPhysicalDeviceFeatures2)                                              \
  X(vkGetPhysicalDeviceProperties2)                                            \
  X(vkEnumerateDeviceExtensionProperties)                                      \
  X(vkCreateDevice)                                                            \
  X(vkGetDeviceProcAddr)
#define SSM_VK_DEVICE(X)                                                       \
  X(vkGetDeviceQueue)                                                          \
  X(vkDeviceWaitIdle)                                                          \
  X(vkCreateBuffer)                                                            \
  X(vkDestroyBuffer)                                                           \
  X(vkGetBufferMemoryRequirements)                                             \
  X(vkAllocateMemory)                                                          \
  X(vkFreeMemory)                                                              \
  X(vkBindBufferMemory)                                                        \
  X(vkMapMemory)                                                               \
  X(vkCreateShaderModule)                                                      \
  X(vkDestroyShaderModule)                                                     \
  X(vkCreateDescriptorSetLayout)                                               \
  X(vkDestroyDescriptorSetLayout)                                              \
  X(vkCreatePipelineLayout)                                                    \
  X(vkDestroyPipelineLayout)                                                   \
  X(vkCreateComputePipelines)                                                  \
  X(vkDestroyPipeline)                                                         \
  X(vkCreateCommandPool)                                                       \
  X(vkResetCommandBuffer)                                                      \
  X(vkAllocateCommandBuffers)                                                  \
  X(vkBeginCommandBuffer)                                                      \
  X(vkEndCommandBuffer)                                                        \
  X(vkCmdBindPipeline)                                                         \
  X(vkCmdPushDescriptorSetKHR)                                                 \
  X(vkCmdDispatch)                                                             \
  X(vkCmdPipelineBarrier)                                                      \
  X(vkCmdCopyBuffer)                                                           \
  X(vkCmdFillBuffer)                                                           \
  X(vkQueueSubmit)                                                             \
  X(vkCreateFence)                                                             \
  X(vkDestroyFence)                                                            \
  X(vkDestroyCommandPool)                                                      \
  X(vkWaitForFences)                                                           \
  X(vkResetFences)

#define SSM_DECLARE(name) static PFN_##name name;
SSM_VK_GLOBAL(SSM_DECLARE)
SSM_VK_INSTANCE(SSM_DECLARE)
SSM_VK_DEVICE(SSM_DECLARE)
#undef SSM_DECLARE
static PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;

static pthread_once_t ssm_init_once = PTHREAD_ONCE_INIT;
static char ssm_init_error[512];
static VkInstance ssm_instance;
static VkPhysicalDevice ssm_physical;
static VkDevice ssm_device;
static VkQueue ssm_queue;
static uint32_t ssm_queue_family;
static pthread_mutex_t ssm_queue_lock = PTHREAD_MUTEX_INITIALIZER;
static VkPhysicalDeviceProperties ssm_properties;
static uint32_t ssm_device_memory_type, ssm_host_memory_type;
static uint32_t ssm_max_bindings;
static int ssm_sync_launches, ssm_poison, ssm_replay = 1, ssm_stats;
static int ssm_subgroups;
static uint32_t ssm_subgroup_size;
/* Bumped whenever a buffer or pipeline that recorded command buffers may
 * name is destroyed: recordings made before are then not replayed. */
static uint64_t ssm_generation;
static uint64_t ssm_stat_submits, ssm_stat_replays;
static uint64_t ssm_stat_commands, ssm_stat_barriers;
static int ssm_all_barriers;

#define SSM_INIT_FAIL(...)                                                     \
  do {                                                                         \
    snprintf(ssm_init_error, sizeof ssm_init_error, __VA_ARGS__);              \
    return;                                                                    \
  } while (0)

/* The memory type for `flags` (all of `want`, preferring `prefer`). */
static int ssm_find_memory_type(const VkPhysicalDeviceMemoryProperties *m,
                                VkMemoryPropertyFlags want,
                                VkMemoryPropertyFlags prefer) {
  int found = -1;
  for (uint32_t i = 0; i < m->memoryTypeCount; ++i) {
    VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
    if ((f & want) != want)
      continue;
    if ((f & prefer) == prefer)
      return (int)i;
    if (found < 0)
      found = (int)i;
  }
  return found;
}

static int ssm_has_extension(const VkExtensionProperties *list, uint32_t n,
                             const char *name) {
  for (uint32_t i = 0; i < n; ++i)
    if (strcmp(list[i].extensionName, name) == 0)
      return 1;
  return 0;
}

static void ssm_init(void) {
  void *lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    SSM_INIT_FAIL("the Vulkan loader is not available (cannot load "
                  "libvulkan.so.1: %s); this model was compiled with "
                  "--target=vulkan",
                  why ? why : "not found");
  }
  *(void **)&vkGetInstanceProcAddr = dlsym(lib, "vkGetInstanceProcAddr");
  if (!vkGetInstanceProcAddr)
    SSM_INIT_FAIL("libvulkan.so.1 lacks vkGetInstanceProcAddr");
#define SSM_LOAD_GLOBAL(name)                                                  \
  *(void **)&name = (void *)vkGetInstanceProcAddr(NULL, #name);
  SSM_VK_GLOBAL(SSM_LOAD_GLOBAL)
#undef SSM_LOAD_GLOBAL
  if (!vkCreateInstance)
    SSM_INIT_FAIL("the Vulkan loader lacks vkCreateInstance");
  uint32_t version = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion)
    vkEnumerateInstanceVersion(&version);
  if (version < VK_API_VERSION_1_1)
    SSM_INIT_FAIL("the Vulkan loader supports Vulkan %u.%u; SSMC needs 1.1",
                  VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version));
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = "ssmc model",
                           .pEngineName = "ssmc",
                           .apiVersion = VK_API_VERSION_1_1};
  VkInstanceCreateInfo instanceInfo = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = &app};
  VkResult r = vkCreateInstance(&instanceInfo, NULL, &ssm_instance);
  if (r != VK_SUCCESS)
    SSM_INIT_FAIL("cannot create a Vulkan instance: %s (%d)%s",
                  ssm_result_name(r), (int)r,
                  r == VK_ERROR_INCOMPATIBLE_DRIVER
                      ? " (no Vulkan driver is installed)"
                      : "");
#define SSM_LOAD_INSTANCE(name)                                                \
  *(void **)&name = (void *)vkGetInstanceProcAddr(ssm_instance, #name);        \
  if (!name)                                                                   \
    SSM_INIT_FAIL("the Vulkan instance lacks %s", #name);
  SSM_VK_INSTANCE(SSM_LOAD_INSTANCE)
#undef SSM_LOAD_INSTANCE

  uint32_t count = 0;
  vkEnumeratePhysicalDevices(ssm_instance, &count, NULL);
  if (count == 0)
    SSM_INIT_FAIL("no Vulkan device is available");
  VkPhysicalDevice *devices = calloc(count, sizeof *devices);
  if (!devices)
    SSM_INIT_FAIL("out of host memory");
  vkEnumeratePhysicalDevices(ssm_instance, &count, devices);
  int chosen = -1;
  const char *env = getenv("SSM_VULKAN_DEVICE");
  if (env && *env) {
    chosen = atoi(env);
    if (chosen < 0 || chosen >= (int)count) {
      free(devices);
      SSM_INIT_FAIL("SSM_VULKAN_DEVICE=%d is out of range: %u Vulkan "
                    "device(s)",
                    chosen, count);
    }
  } else {
    VkPhysicalDeviceType order[] = {VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU,
                                    VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU};
    for (int k = 0; k < 2 && chosen < 0; ++k)
      for (uint32_t i = 0; i < count && chosen < 0; ++i) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devices[i], &p);
        if (p.deviceType == order[k])
          chosen = (int)i;
      }
    if (chosen < 0)
      chosen = 0;
  }
  ssm_physical = devices[chosen];
  free(devices);
  vkGetPhysicalDeviceProperties(ssm_physical, &ssm_properties);
  if (ssm_properties.apiVersion < VK_API_VERSION_1_1)
    SSM_INIT_FAIL("the Vulkan device %s supports Vulkan %u.%u; SSMC needs 1.1",
                  ssm_properties.deviceName,
                  VK_API_VERSION_MAJOR(ssm_properties.apiVersion),
                  VK_API_VERSION_MINOR(ssm_properties.apiVersion));

  /* A queue family with compute. */
  uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(ssm_physical, &families, NULL);
  VkQueueFamilyProperties *fp = calloc(families ? families : 1, sizeof *fp);
  if (!fp)
    SSM_INIT_FAIL("out of host memory");
  vkGetPhysicalDeviceQueueFamilyProperties(ssm_physical, &families, fp);
  int family = -1;
  for (uint32_t i = 0; i < families && family < 0; ++i)
    if (fp[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      family = (int)i;
  free(fp);
  if (family < 0)
    SSM_INIT_FAIL("the Vulkan device %s has no compute queue",
                  ssm_properties.deviceName);
  ssm_queue_family = (uint32_t)family;

  /* Extensions and features. */
  uint32_t nExt = 0;
  vkEnumerateDeviceExtensionProperties(ssm_physical, NULL, &nExt, NULL);
  VkExtensionProperties *ext = calloc(nExt ? nExt : 1, sizeof *ext);
  if (!ext)
    SSM_INIT_FAIL("out of host memory");
  vkEnumerateDeviceExtensionProperties(ssm_physical, NULL, &nExt, ext);
  if (!ssm_has_extension(ext, nExt, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME)) {
    free(ext);
    SSM_INIT_FAIL("the Vulkan device %s lacks %s, which SSMC needs",
                  ssm_properties.deviceName,
                  VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  }
  const char *enabled[4];
  uint32_t nEnabled = 0;
  enabled[nEnabled++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
  int have8bit =
      ssm_has_extension(ext, nExt, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
  if (have8bit)
    enabled[nEnabled++] = VK_KHR_8BIT_STORAGE_EXTENSION_NAME;
  free(ext);

  VkPhysicalDevice8BitStorageFeaturesKHR storage8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES_KHR};
  VkPhysicalDevice16BitStorageFeatures storage16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
      .pNext = have8bit ? &storage8 : NULL};
  VkPhysicalDeviceFeatures2 features = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = &storage16};
  vkGetPhysicalDeviceFeatures2(ssm_physical, &features);
  /* Enable only what the kernels may use. */
  VkPhysicalDeviceFeatures2 enable = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = &storage16};
  enable.features.shaderInt64 = features.features.shaderInt64;
  enable.features.shaderInt16 = features.features.shaderInt16;
  enable.features.shaderFloat64 = features.features.shaderFloat64;
  /* SSM_VULKAN_ROBUST=1: out-of-bounds accesses read 0 and drop writes
   * instead of faulting (a debugging aid: a kernel that reads past its
   * buffer shows as wrong numbers, not VK_ERROR_DEVICE_LOST). */
  const char *robust = getenv("SSM_VULKAN_ROBUST");
  if (robust && *robust && strcmp(robust, "0") != 0)
    enable.features.robustBufferAccess = features.features.robustBufferAccess;
  storage16.uniformAndStorageBuffer16BitAccess = VK_FALSE;
  storage16.storagePushConstant16 = VK_FALSE;
  storage16.storageInputOutput16 = VK_FALSE;
  storage8.uniformAndStorageBuffer8BitAccess = VK_FALSE;
  storage8.storagePushConstant8 = VK_FALSE;

  VkPhysicalDeviceSubgroupProperties subgroup = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDevicePushDescriptorPropertiesKHR push = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PUSH_DESCRIPTOR_PROPERTIES_KHR,
      .pNext = &subgroup};
  VkPhysicalDeviceProperties2 props2 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &push};
  vkGetPhysicalDeviceProperties2(ssm_physical, &props2);
  /* The block reductions' subgroup kernels (ssm-linalg-to-gpu) need
   * subgroup arithmetic in compute shaders. */
  VkSubgroupFeatureFlags needed =
      VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  ssm_subgroup_size = subgroup.subgroupSize;
  ssm_subgroups = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                  (subgroup.supportedOperations & needed) == needed &&
                  subgroup.subgroupSize >= 1;
  ssm_max_bindings = push.maxPushDescriptors;
  if (ssm_properties.limits.maxPerStageDescriptorStorageBuffers <
      ssm_max_bindings)
    ssm_max_bindings =
        ssm_properties.limits.maxPerStageDescriptorStorageBuffers;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queueInfo = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = ssm_queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority};
  VkDeviceCreateInfo deviceInfo = {.sType =
                                       VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                   .pNext = &enable,
                                   .queueCreateInfoCount = 1,
                                   .pQueueCreateInfos = &queueInfo,
                                   .enabledExtensionCount = nEnabled,
                                   .ppEnabledExtensionNames = enabled};
  r = vkCreateDevice(ssm_physical, &deviceInfo, NULL, &ssm_device);
  if (r != VK_SUCCESS)
    SSM_INIT_FAIL("cannot create the Vulkan device %s: %s (%d)",
                  ssm_properties.deviceName, ssm_result_name(r), (int)r);
#define SSM_LOAD_DEVICE(name)                                                  \
  *(void **)&name = (void *)vkGetDeviceProcAddr(ssm_device, #name);            \
  if (!name)                                                                   \
    SSM_INIT_FAIL("the Vulkan device lacks %s", #name);
  SSM_VK_DEVICE(SSM_LOAD_DEVICE)
#undef SSM_LOAD_DEVICE
  vkGetDeviceQueue(ssm_device, ssm_queue_family, 0, &ssm_queue);

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(ssm_physical, &memory);
  int d = ssm_find_memory_type(&memory, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  int h = ssm_find_memory_type(&memory,
                               VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                               VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (d < 0 || h < 0)
    SSM_INIT_FAIL("the Vulkan device %s has no %s memory",
                  ssm_properties.deviceName,
                  d < 0 ? "device" : "host-visible coherent");
  ssm_device_memory_type = (uint32_t)d;
  ssm_host_memory_type = (uint32_t)h;

  env = getenv("SSM_VULKAN_SYNC");
  ssm_sync_launches = env && *env && strcmp(env, "0") != 0;
  env = getenv("SSM_VULKAN_POISON");
  ssm_poison = env && *env && strcmp(env, "0") != 0;
  env = getenv("SSM_VULKAN_REPLAY");
  ssm_replay = !(env && strcmp(env, "0") == 0);
  env = getenv("SSM_VULKAN_BARRIERS");
  ssm_all_barriers = env && strcmp(env, "all") == 0;
  env = getenv("SSM_VULKAN_SUBGROUPS");
  if (env && strcmp(env, "0") == 0)
    ssm_subgroups = 0;
  env = getenv("SSM_VULKAN_STATS");
  ssm_stats = env && *env ? atoi(env) : 0;
}

__attribute__((destructor)) static void ssm_print_stats(void) {
  if (ssm_stats)
    fprintf(stderr,
            "ssm vulkan: %llu submissions, %llu replayed a recorded command "
            "buffer; %llu barriers recorded between %llu commands; subgroup "
            "reductions %s (subgroup size %u)\n",
            (unsigned long long)__atomic_load_n(&ssm_stat_submits,
                                                __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&ssm_stat_replays,
                                                __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&ssm_stat_barriers,
                                                __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&ssm_stat_commands,
                                                __ATOMIC_RELAXED),
            ssm_subgroups ? "on" : "off", ssm_subgroup_size);
}

static void ssm_invalidate_recordings(void) {
  __atomic_add_fetch(&ssm_generation, 1, __ATOMIC_RELEASE);
}

/*===----------------------------------------------------------------------===*
 * Buffers and device addresses
 *===----------------------------------------------------------------------===*/

#define SSM_ADDRESS_TAG (1ull << 62)
#define SSM_OFFSET_BITS 36
#define SSM_MAX_BUFFERS (1u << 26)
#define SSM_BUCKETS 37 /* power-of-two sizes 2^0 .. 2^36 bytes */

typedef struct {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size;  /* of the VkBuffer: a power of two */
  VkDeviceSize bytes; /* asked for by its current allocation */
  int live;
} ssm_buffer;

/* Buffer records in pages that never move (other threads hold pointers). */
#define SSM_PAGE_BITS 12
static pthread_mutex_t ssm_buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static ssm_buffer *ssm_buffer_pages[SSM_MAX_BUFFERS >> SSM_PAGE_BITS];
static uint32_t ssm_buffers_count;

static ssm_buffer *ssm_record(uint32_t index) {
  return &ssm_buffer_pages[index >> SSM_PAGE_BITS]
                          [index & ((1u << SSM_PAGE_BITS) - 1)];
}
/* Free buffers of one size, a binary min-heap of their indices: the lowest
 * index is taken first, so which buffers a call gets depends only on which
 * are free, not on the order they were freed in. A call repeating the one
 * before (a decode step) then gets the same buffers, or alternates between
 * two sets, and its commands match a recording (see ssm_batch_commands). */
typedef struct {
  int *items;
  size_t count, capacity;
} ssm_heap;

static int ssm_heap_reserve(ssm_heap *h, size_t n) {
  if (h->count + n <= h->capacity)
    return 1;
  size_t capacity = h->capacity ? 2 * h->capacity : 16;
  while (capacity < h->count + n)
    capacity *= 2;
  int *grown = realloc(h->items, capacity * sizeof *grown);
  if (!grown)
    return 0;
  h->items = grown;
  h->capacity = capacity;
  return 1;
}

/* Adds `v` (room reserved). */
static void ssm_heap_push(ssm_heap *h, int v) {
  size_t i = h->count++;
  while (i > 0 && h->items[(i - 1) / 2] > v) {
    h->items[i] = h->items[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->items[i] = v;
}

static int ssm_heap_top(const ssm_heap *h) {
  return h->count ? h->items[0] : -1;
}

/* Removes and returns the lowest index; -1 when empty. */
static int ssm_heap_pop(ssm_heap *h) {
  if (!h->count)
    return -1;
  int top = h->items[0], v = h->items[--h->count];
  size_t i = 0, n = h->count;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && h->items[c + 1] < h->items[c])
      ++c;
    if (h->items[c] >= v)
      break;
    h->items[i] = h->items[c];
    i = c;
  }
  if (n)
    h->items[i] = v;
  return top;
}

/* Buffers free for any thread, by size bucket. */
static ssm_heap ssm_free_any[SSM_BUCKETS];

static uint64_t ssm_address(uint32_t index, uint64_t offset) {
  return SSM_ADDRESS_TAG | ((uint64_t)index << SSM_OFFSET_BITS) | offset;
}

/* The buffer and byte offset of device address `p`; 0 if `p` is none. */
static int ssm_resolve(const void *p, ssm_buffer **buffer, uint64_t *offset) {
  uint64_t a = (uint64_t)(uintptr_t)p;
  if ((a & (3ull << 62)) != SSM_ADDRESS_TAG)
    return 0;
  uint64_t index = (a & ~(3ull << 62)) >> SSM_OFFSET_BITS;
  pthread_mutex_lock(&ssm_buffers_lock);
  int ok = index < ssm_buffers_count && ssm_record((uint32_t)index)->live;
  ssm_buffer *b = ok ? ssm_record((uint32_t)index) : NULL;
  pthread_mutex_unlock(&ssm_buffers_lock);
  if (!ok)
    return 0;
  *buffer = b;
  *offset = a & ((1ull << SSM_OFFSET_BITS) - 1);
  return *offset <= b->size;
}

static int ssm_bucket(uint64_t bytes) {
  int b = 8; /* at least 256 bytes */
  while (b < SSM_BUCKETS - 1 && (1ull << b) < bytes)
    ++b;
  return b;
}

/* A new VkBuffer of `size` bytes with its own memory, or 0. */
static int ssm_create_buffer(VkDeviceSize size, uint32_t memoryType,
                             VkBuffer *buffer, VkDeviceMemory *memory) {
  VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  if (!ssm_check(vkCreateBuffer(ssm_device, &info, NULL, buffer),
                 "vkCreateBuffer"))
    return 0;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(ssm_device, *buffer, &req);
  if (!(req.memoryTypeBits & (1u << memoryType))) {
    vkDestroyBuffer(ssm_device, *buffer, NULL);
    ssm_fail("the Vulkan device cannot place buffers in the chosen memory "
             "type %u",
             memoryType);
    return 0;
  }
  VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = memoryType};
  if (!ssm_check(vkAllocateMemory(ssm_device, &alloc, NULL, memory),
                 "vkAllocateMemory")) {
    vkDestroyBuffer(ssm_device, *buffer, NULL);
    return 0;
  }
  if (!ssm_check(vkBindBufferMemory(ssm_device, *buffer, *memory, 0),
                 "vkBindBufferMemory")) {
    vkFreeMemory(ssm_device, *memory, NULL);
    vkDestroyBuffer(ssm_device, *buffer, NULL);
    return 0;
  }
  return 1;
}

/*===----------------------------------------------------------------------===*
 * The calling thread's command buffer and upload memory
 *===----------------------------------------------------------------------===*/

typedef struct ssm_chunk {
  VkBuffer buffer;
  VkDeviceMemory memory;
  unsigned char *mapped;
  VkDeviceSize size, used;
  struct ssm_chunk *next;
} ssm_chunk;

typedef struct {
  void *host;
  const unsigned char *staged;
  size_t bytes;
} ssm_readback;

/* A command of the thread's current batch. Launches, copies and fills are
 * listed, not recorded: when the host waits, the list is either found among
 * the thread's recent recordings (the same commands on the same buffers:
 * decode steps, repeated calls) and that command buffer is submitted again,
 * or recorded into the least recently used one. Zeroed before it is filled
 * (the list is compared bytewise). */
enum { SSM_OP_DISPATCH, SSM_OP_COPY, SSM_OP_FILL };
typedef struct {
  uint32_t kind;
  uint32_t bindings; /* a dispatch's descriptors, the next in the list */
  uint32_t x, y, z;
  uint32_t unused;  /* no padding: lists are compared bytewise */
  uint64_t written; /* the bindings a dispatch may write (bit i: binding i) */
  VkPipeline pipeline;
  VkPipelineLayout layout;
  VkBuffer src, dst; /* a copy's; a fill's dst */
  VkDeviceSize srcOffset, dstOffset, bytes;
} ssm_op;

typedef struct {
  ssm_op *ops;
  VkDescriptorBufferInfo *infos;
  size_t numOps, numInfos, capacityOps, capacityInfos;
  uint64_t hash;
} ssm_op_list;

#define SSM_RECORDINGS 8
typedef struct {
  VkCommandBuffer cmd;
  ssm_op_list list; /* what cmd holds; valid when list.numOps > 0 */
  uint64_t generation, lastUse;
} ssm_recording;

typedef struct {
  VkCommandPool pool;
  VkFence fence;
  ssm_op_list batch;
  ssm_recording recordings[SSM_RECORDINGS];
  uint64_t clock;
  ssm_chunk *chunks;
  ssm_readback *readbacks;
  size_t numReadbacks, capacityReadbacks;
  /* Buffers this thread freed since its last wait, by bucket: reusable by
   * this thread at once (its commands run in order), by others after the
   * wait. */
  ssm_heap freed[SSM_BUCKETS];
} ssm_thread;

static __thread ssm_thread *ssm_self;
static int ssm_wait(void);

/* A thread's state is released when it exits: its work waited for, its
 * freed buffers handed to the other threads, its command pool, fence and
 * upload memory destroyed. */
static pthread_key_t ssm_thread_key;
static pthread_once_t ssm_thread_key_once = PTHREAD_ONCE_INIT;

static void ssm_thread_exit(void *state) {
  ssm_thread *t = state;
  if (!t)
    return;
  ssm_self = t;
  ssm_wait();
  while (t->chunks) {
    ssm_chunk *c = t->chunks;
    t->chunks = c->next;
    vkDestroyBuffer(ssm_device, c->buffer, NULL);
    vkFreeMemory(ssm_device, c->memory, NULL);
    free(c);
  }
  vkDestroyFence(ssm_device, t->fence, NULL);
  vkDestroyCommandPool(ssm_device, t->pool, NULL);
  free(t->batch.ops);
  free(t->batch.infos);
  for (int r = 0; r < SSM_RECORDINGS; ++r) {
    free(t->recordings[r].list.ops);
    free(t->recordings[r].list.infos);
  }
  for (int b = 0; b < SSM_BUCKETS; ++b)
    free(t->freed[b].items);
  free(t->readbacks);
  free(t);
  ssm_self = NULL;
}

static int ssm_thread_key_made;

static void ssm_make_thread_key(void) {
  ssm_thread_key_made =
      pthread_key_create(&ssm_thread_key, ssm_thread_exit) == 0;
}

/* When the library is unloaded (dlclose) the key goes first: a thread that
 * exits later must not call into unloaded code (its state is then kept). */
__attribute__((destructor)) static void ssm_delete_thread_key(void) {
  if (ssm_thread_key_made)
    pthread_key_delete(ssm_thread_key);
}

/* Sets up the device and this thread's command pool; 0 on failure. */
static int ssm_ready(void) {
  if (ssm_self)
    return 1;
  pthread_once(&ssm_init_once, ssm_init);
  if (ssm_init_error[0]) {
    ssm_fail("%s", ssm_init_error);
    return 0;
  }
  ssm_thread *t = calloc(1, sizeof *t);
  if (!t) {
    ssm_fail("out of host memory");
    return 0;
  }
  VkCommandPoolCreateInfo poolInfo = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = ssm_queue_family};
  VkFenceCreateInfo fenceInfo = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (!ssm_check(vkCreateCommandPool(ssm_device, &poolInfo, NULL, &t->pool),
                 "vkCreateCommandPool") ||
      !ssm_check(vkCreateFence(ssm_device, &fenceInfo, NULL, &t->fence),
                 "vkCreateFence")) {
    free(t);
    return 0;
  }
  ssm_self = t;
  pthread_once(&ssm_thread_key_once, ssm_make_thread_key);
  if (ssm_thread_key_made)
    pthread_setspecific(ssm_thread_key, t);
  return 1;
}

/* Mixes the 64-bit words of `bytes` bytes at `p` into `hash`. */
static uint64_t ssm_mix(uint64_t hash, const void *p, size_t bytes) {
  const unsigned char *b = p;
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    hash = (hash ^ w) * 0x100000001B3ull;
    hash ^= hash >> 29;
  }
  return hash;
}

/* SSM_VULKAN_STATS=2: a batch as it is submitted (to see why batches that
 * should replay do not): per command its kind (0 dispatch, 1 copy, 2 fill)
 * and grid, then the buffers its descriptors name (handle+offset/range). */
static void ssm_print_batch(const ssm_op_list *l, int replayed) {
  fprintf(stderr, "ssm vulkan batch: %zu commands%s:", l->numOps,
          replayed ? ", replayed" : "");
  for (size_t i = 0; i < l->numOps; ++i)
    fprintf(stderr, " %u:%ux%ux%u", l->ops[i].kind, l->ops[i].x, l->ops[i].y,
            l->ops[i].z);
  fprintf(stderr, "\n  buffers:");
  for (size_t i = 0; i < l->numInfos; ++i)
    fprintf(stderr, " %p+%llu/%llu", (void *)l->infos[i].buffer,
            (unsigned long long)l->infos[i].offset,
            (unsigned long long)l->infos[i].range);
  fprintf(stderr, "\n");
}

/* Appends a command to the thread's batch; NULL when out of memory. */
static ssm_op *ssm_append(uint32_t kind) {
  ssm_op_list *l = &ssm_self->batch;
  if (l->numOps == l->capacityOps) {
    size_t capacity = l->capacityOps ? 2 * l->capacityOps : 64;
    ssm_op *grown = realloc(l->ops, capacity * sizeof *grown);
    if (!grown) {
      ssm_fail("out of host memory");
      return NULL;
    }
    l->ops = grown;
    l->capacityOps = capacity;
  }
  ssm_op *op = &l->ops[l->numOps++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  return op;
}

static void ssm_appended(const ssm_op *op) {
  ssm_op_list *l = &ssm_self->batch;
  l->hash = ssm_mix(l->hash, op, sizeof *op);
}

static void ssm_push_dispatch(VkPipeline pipeline, VkPipelineLayout layout,
                              uint64_t written, uint32_t bindings,
                              const VkDescriptorBufferInfo *infos, uint32_t x,
                              uint32_t y, uint32_t z) {
  ssm_op_list *l = &ssm_self->batch;
  if (l->numInfos + bindings > l->capacityInfos) {
    size_t capacity = l->capacityInfos ? 2 * l->capacityInfos : 256;
    while (capacity < l->numInfos + bindings)
      capacity *= 2;
    VkDescriptorBufferInfo *grown = realloc(l->infos, capacity * sizeof *grown);
    if (!grown) {
      ssm_fail("out of host memory");
      return;
    }
    l->infos = grown;
    l->capacityInfos = capacity;
  }
  ssm_op *op = ssm_append(SSM_OP_DISPATCH);
  if (!op)
    return;
  op->bindings = bindings;
  op->x = x, op->y = y, op->z = z;
  op->written = written;
  op->pipeline = pipeline;
  op->layout = layout;
  memcpy(l->infos + l->numInfos, infos, bindings * sizeof *infos);
  l->hash = ssm_mix(l->hash, infos, bindings * sizeof *infos);
  l->numInfos += bindings;
  ssm_appended(op);
}

static void ssm_push_copy(VkBuffer src, VkDeviceSize srcOffset, VkBuffer dst,
                          VkDeviceSize dstOffset, VkDeviceSize bytes) {
  ssm_op *op = ssm_append(SSM_OP_COPY);
  if (!op)
    return;
  op->src = src, op->srcOffset = srcOffset;
  op->dst = dst, op->dstOffset = dstOffset;
  op->bytes = bytes;
  ssm_appended(op);
}

static void ssm_push_fill(VkBuffer buffer) {
  ssm_op *op = ssm_append(SSM_OP_FILL);
  if (!op)
    return;
  op->dst = buffer;
  ssm_appended(op);
}

/* Orders every later transfer or dispatch after the commands before. */
static void ssm_barrier(VkCommandBuffer cmd, VkPipelineStageFlags dstStage,
                        VkAccessFlags dstAccess) {
  VkMemoryBarrier barrier = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT |
                                              VK_ACCESS_TRANSFER_WRITE_BIT,
                             .dstAccessMask = dstAccess};
  vkCmdPipelineBarrier(cmd,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                           VK_PIPELINE_STAGE_TRANSFER_BIT,
                       dstStage, 0, 1, &barrier, 0, NULL, 0, NULL);
}

/* The buffers that the commands recorded since the last barrier read and
 * wrote (SSM_HAZARD_SLOTS each at most; more forces a barrier). */
#define SSM_HAZARD_SLOTS 256
typedef struct {
  VkBuffer read[SSM_HAZARD_SLOTS], written[SSM_HAZARD_SLOTS];
  uint32_t numRead, numWritten;
} ssm_hazards;

static int ssm_in(const VkBuffer *set, uint32_t n, VkBuffer b) {
  for (uint32_t i = 0; i < n; ++i)
    if (set[i] == b)
      return 1;
  return 0;
}

/* The buffers `op` reads and writes (a dispatch's argument pack, host
 * memory the device only reads, is left out). */
static void ssm_op_buffers(const ssm_op *op,
                           const VkDescriptorBufferInfo *infos, VkBuffer *reads,
                           uint32_t *numReads, VkBuffer *writes,
                           uint32_t *numWrites) {
  *numReads = *numWrites = 0;
  switch (op->kind) {
  case SSM_OP_DISPATCH:
    for (uint32_t b = 0; b + 1 < op->bindings; ++b) {
      int written = b >= 64 || ((op->written >> b) & 1);
      if (written)
        writes[(*numWrites)++] = infos[b].buffer;
      else
        reads[(*numReads)++] = infos[b].buffer;
    }
    break;
  case SSM_OP_COPY:
    reads[(*numReads)++] = op->src;
    writes[(*numWrites)++] = op->dst;
    break;
  case SSM_OP_FILL:
    writes[(*numWrites)++] = op->dst;
    break;
  }
}

/* Whether `op` must wait for the commands since the last barrier: it reads
 * or writes a buffer they write, or writes one they read. Adds its buffers
 * to `h` (after a barrier, to an emptied `h`). */
static int ssm_needs_barrier(ssm_hazards *h, const ssm_op *op,
                             const VkDescriptorBufferInfo *infos) {
  VkBuffer reads[64], writes[64];
  uint32_t numReads, numWrites;
  ssm_op_buffers(op, infos, reads, &numReads, writes, &numWrites);
  int hazard = 0;
  for (uint32_t i = 0; i < numReads && !hazard; ++i)
    hazard = ssm_in(h->written, h->numWritten, reads[i]);
  for (uint32_t i = 0; i < numWrites && !hazard; ++i)
    hazard = ssm_in(h->written, h->numWritten, writes[i]) ||
             ssm_in(h->read, h->numRead, writes[i]);
  if (h->numRead + numReads > SSM_HAZARD_SLOTS ||
      h->numWritten + numWrites > SSM_HAZARD_SLOTS)
    hazard = 1;
  if (hazard)
    h->numRead = h->numWritten = 0;
  for (uint32_t i = 0; i < numReads; ++i)
    if (!ssm_in(h->read, h->numRead, reads[i]))
      h->read[h->numRead++] = reads[i];
  for (uint32_t i = 0; i < numWrites; ++i)
    if (!ssm_in(h->written, h->numWritten, writes[i]))
      h->written[h->numWritten++] = writes[i];
  return hazard;
}

/* Records `l` into `cmd` (reset): a barrier before each command that
 * touches a buffer an earlier command since the last barrier writes, or
 * writes one it reads (with SSM_VULKAN_BARRIERS=all, before every command
 * but the first), and one before host reads at the end. */
static int ssm_record_list(VkCommandBuffer cmd, const ssm_op_list *l,
                           int once) {
  VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = once ? VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT : 0};
  if (!ssm_check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer"))
    return 0;
  const VkDescriptorBufferInfo *infos = l->infos;
  VkWriteDescriptorSet writes[64];
  static __thread ssm_hazards hazards;
  hazards.numRead = hazards.numWritten = 0;
  uint64_t barriers = 0;
  for (size_t i = 0; i < l->numOps; ++i) {
    const ssm_op *op = &l->ops[i];
    int hazard = ssm_needs_barrier(&hazards, op, infos);
    if (i > 0 && (hazard || ssm_all_barriers)) {
      ssm_barrier(
          cmd,
          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
              VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
      ++barriers;
    }
    switch (op->kind) {
    case SSM_OP_DISPATCH:
      for (uint32_t b = 0; b < op->bindings; ++b)
        writes[b] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstBinding = b,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &infos[b]};
      infos += op->bindings;
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, op->pipeline);
      vkCmdPushDescriptorSetKHR(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, op->layout,
                                0, op->bindings, writes);
      vkCmdDispatch(cmd, op->x, op->y, op->z);
      break;
    case SSM_OP_COPY: {
      VkBufferCopy region = {op->srcOffset, op->dstOffset, op->bytes};
      vkCmdCopyBuffer(cmd, op->src, op->dst, 1, &region);
      break;
    }
    case SSM_OP_FILL:
      vkCmdFillBuffer(cmd, op->dst, 0, VK_WHOLE_SIZE, 0xFFFFFFFFu);
      break;
    }
  }
  /* The batch's writes before host reads and before the next batches'
   * commands (a fence orders execution only). */
  ssm_barrier(cmd,
              VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                  VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
              VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                  VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                  VK_ACCESS_HOST_READ_BIT);
  if (ssm_stats) {
    __atomic_add_fetch(&ssm_stat_commands, l->numOps, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ssm_stat_barriers, barriers, __ATOMIC_RELAXED);
  }
  return ssm_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
}

static int ssm_same_list(const ssm_op_list *a, const ssm_op_list *b) {
  return a->hash == b->hash && a->numOps == b->numOps &&
         a->numInfos == b->numInfos &&
         !memcmp(a->ops, b->ops, a->numOps * sizeof *a->ops) &&
         (!a->numInfos ||
          !memcmp(a->infos, b->infos, a->numInfos * sizeof *a->infos));
}

/* Copies `from` into `to`; 0 when out of memory. */
static int ssm_keep_list(ssm_op_list *to, const ssm_op_list *from) {
  if (to->capacityOps < from->numOps) {
    free(to->ops);
    to->ops = malloc(from->numOps * sizeof *to->ops);
    to->capacityOps = to->ops ? from->numOps : 0;
  }
  if (to->capacityInfos < from->numInfos) {
    free(to->infos);
    to->infos = malloc(from->numInfos * sizeof *to->infos);
    to->capacityInfos = to->infos ? from->numInfos : 0;
  }
  if ((from->numOps && !to->ops) || (from->numInfos && !to->infos)) {
    to->numOps = 0;
    return 0;
  }
  memcpy(to->ops, from->ops, from->numOps * sizeof *to->ops);
  if (from->numInfos)
    memcpy(to->infos, from->infos, from->numInfos * sizeof *to->infos);
  to->numOps = from->numOps;
  to->numInfos = from->numInfos;
  to->hash = from->hash;
  return 1;
}

/* The command buffer that runs the thread's batch: a recording of the same
 * commands made since the last invalidation, or a new recording. */
static VkCommandBuffer ssm_batch_commands(int *replayed) {
  ssm_thread *t = ssm_self;
  uint64_t generation = __atomic_load_n(&ssm_generation, __ATOMIC_ACQUIRE);
  ssm_recording *use = NULL;
  *replayed = 0;
  ++t->clock;
  if (ssm_replay)
    for (int r = 0; r < SSM_RECORDINGS; ++r) {
      ssm_recording *c = &t->recordings[r];
      if (c->list.numOps && c->generation == generation &&
          ssm_same_list(&c->list, &t->batch)) {
        c->lastUse = t->clock;
        *replayed = 1;
        return c->cmd;
      }
    }
  /* The least recently used slot (one only, without replay). */
  int slots = ssm_replay ? SSM_RECORDINGS : 1;
  for (int r = 0; r < slots; ++r) {
    ssm_recording *c = &t->recordings[r];
    if (!use || !c->cmd || c->lastUse < use->lastUse)
      use = c;
    if (!c->cmd)
      break;
  }
  if (!use->cmd) {
    VkCommandBufferAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = t->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1};
    if (!ssm_check(vkAllocateCommandBuffers(ssm_device, &info, &use->cmd),
                   "vkAllocateCommandBuffers")) {
      use->cmd = VK_NULL_HANDLE;
      return VK_NULL_HANDLE;
    }
  } else if (!ssm_check(vkResetCommandBuffer(use->cmd, 0),
                        "vkResetCommandBuffer")) {
    return VK_NULL_HANDLE;
  }
  use->list.numOps = 0;
  use->lastUse = t->clock;
  if (!ssm_record_list(use->cmd, &t->batch, !ssm_replay))
    return VK_NULL_HANDLE;
  if (ssm_replay && ssm_keep_list(&use->list, &t->batch))
    use->generation = generation;
  return use->cmd;
}

/* Upload memory: `bytes` at an offset aligned to `align` in a host-visible
 * buffer, valid until the thread's next wait. */
static unsigned char *ssm_upload(size_t bytes, size_t align, VkBuffer *buffer,
                                 VkDeviceSize *offset) {
  ssm_thread *t = ssm_self;
  for (ssm_chunk *c = t->chunks; c; c = c->next) {
    VkDeviceSize at = (c->used + align - 1) / align * align;
    if (at + bytes <= c->size) {
      c->used = at + bytes;
      *buffer = c->buffer;
      *offset = at;
      return c->mapped + at;
    }
  }
  ssm_chunk *c = calloc(1, sizeof *c);
  if (!c) {
    ssm_fail("out of host memory");
    return NULL;
  }
  c->size = bytes > (1u << 20) ? bytes : (1u << 20);
  if (!ssm_create_buffer(c->size, ssm_host_memory_type, &c->buffer,
                         &c->memory)) {
    free(c);
    return NULL;
  }
  if (!ssm_check(vkMapMemory(ssm_device, c->memory, 0, VK_WHOLE_SIZE, 0,
                             (void **)&c->mapped),
                 "vkMapMemory")) {
    vkDestroyBuffer(ssm_device, c->buffer, NULL);
    vkFreeMemory(ssm_device, c->memory, NULL);
    free(c);
    return NULL;
  }
  c->used = bytes;
  c->next = t->chunks;
  t->chunks = c;
  *buffer = c->buffer;
  *offset = 0;
  return c->mapped;
}

/* Submits the recorded commands and waits for them; then does the pending
 * reads to the host and recycles upload memory and freed buffers. */
static int ssm_wait(void) {
  ssm_thread *t = ssm_self;
  int ok = 1;
  if (t->batch.numOps) {
    int replayed;
    VkCommandBuffer cmd = ssm_batch_commands(&replayed);
    ok = cmd != VK_NULL_HANDLE;
    if (ok) {
      VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                             .commandBufferCount = 1,
                             .pCommandBuffers = &cmd};
      pthread_mutex_lock(&ssm_queue_lock);
      VkResult r = vkQueueSubmit(ssm_queue, 1, &submit, t->fence);
      pthread_mutex_unlock(&ssm_queue_lock);
      ok = ssm_check(r, "vkQueueSubmit") &&
           ssm_check(
               vkWaitForFences(ssm_device, 1, &t->fence, VK_TRUE, UINT64_MAX),
               "vkWaitForFences (a kernel failed or took too long)") &&
           ssm_check(vkResetFences(ssm_device, 1, &t->fence), "vkResetFences");
      if (ssm_stats > 1)
        ssm_print_batch(&t->batch, replayed);
      if (ssm_stats) {
        __atomic_add_fetch(&ssm_stat_submits, 1, __ATOMIC_RELAXED);
        if (replayed)
          __atomic_add_fetch(&ssm_stat_replays, 1, __ATOMIC_RELAXED);
      }
    }
    t->batch.numOps = t->batch.numInfos = 0;
    t->batch.hash = 0;
  }
  if (ok)
    for (size_t i = 0; i < t->numReadbacks; ++i)
      memcpy(t->readbacks[i].host, t->readbacks[i].staged,
             t->readbacks[i].bytes);
  t->numReadbacks = 0;
  for (ssm_chunk *c = t->chunks; c; c = c->next)
    c->used = 0;
  /* Big upload chunks are not kept. */
  for (ssm_chunk **p = &t->chunks; *p;) {
    ssm_chunk *c = *p;
    if (c->size > (16u << 20)) {
      *p = c->next;
      ssm_invalidate_recordings();
      vkDestroyBuffer(ssm_device, c->buffer, NULL);
      vkFreeMemory(ssm_device, c->memory, NULL);
      free(c);
    } else {
      p = &c->next;
    }
  }
  /* The thread's freed buffers become free for every thread (those the
   * shared heap has no room for stay this thread's). */
  pthread_mutex_lock(&ssm_buffers_lock);
  for (int b = 0; b < SSM_BUCKETS; ++b) {
    ssm_heap *mine = &t->freed[b];
    if (mine->count && ssm_heap_reserve(&ssm_free_any[b], mine->count))
      while (mine->count)
        ssm_heap_push(&ssm_free_any[b], ssm_heap_pop(mine));
  }
  pthread_mutex_unlock(&ssm_buffers_lock);
  return ok;
}

static void *ssm_device_alloc(size_t bytes) {
  if (ssm_failed || !ssm_ready())
    return NULL;
  int bucket = ssm_bucket(bytes ? bytes : 1);
  if (bucket >= SSM_BUCKETS - 1 && (1ull << bucket) < bytes) {
    ssm_fail("a device buffer of %zu bytes is too large", bytes);
    return NULL;
  }
  ssm_thread *t = ssm_self;
  int index = -1;
  pthread_mutex_lock(&ssm_buffers_lock);
  int mine = ssm_heap_top(&t->freed[bucket]);
  int shared = ssm_heap_top(&ssm_free_any[bucket]);
  if (mine >= 0 && (shared < 0 || mine < shared))
    index = ssm_heap_pop(&t->freed[bucket]);
  else if (shared >= 0)
    index = ssm_heap_pop(&ssm_free_any[bucket]);
  if (index >= 0) {
    ssm_record((uint32_t)index)->live = 1;
    ssm_record((uint32_t)index)->bytes = bytes;
  }
  pthread_mutex_unlock(&ssm_buffers_lock);
  if (index < 0) {
    VkBuffer buffer;
    VkDeviceMemory memory;
    if (!ssm_create_buffer(1ull << bucket, ssm_device_memory_type, &buffer,
                           &memory))
      return NULL;
    pthread_mutex_lock(&ssm_buffers_lock);
    uint32_t page = ssm_buffers_count >> SSM_PAGE_BITS;
    if (ssm_buffers_count < SSM_MAX_BUFFERS && !ssm_buffer_pages[page])
      ssm_buffer_pages[page] = calloc(1u << SSM_PAGE_BITS, sizeof(ssm_buffer));
    if (ssm_buffers_count >= SSM_MAX_BUFFERS || !ssm_buffer_pages[page]) {
      pthread_mutex_unlock(&ssm_buffers_lock);
      vkDestroyBuffer(ssm_device, buffer, NULL);
      vkFreeMemory(ssm_device, memory, NULL);
      ssm_fail("too many device buffers");
      return NULL;
    }
    index = (int)ssm_buffers_count++;
    *ssm_record((uint32_t)index) = (ssm_buffer){.buffer = buffer,
                                                .memory = memory,
                                                .size = 1ull << bucket,
                                                .bytes = bytes,
                                                .live = 1};
    pthread_mutex_unlock(&ssm_buffers_lock);
  }
  if (ssm_poison)
    ssm_push_fill(ssm_record((uint32_t)index)->buffer);
  return (void *)(uintptr_t)ssm_address((uint32_t)index, 0);
}

static void ssm_device_free(void *p) {
  if (!p || !ssm_ready())
    return;
  ssm_buffer *b;
  uint64_t offset;
  if (!ssm_resolve(p, &b, &offset) || offset != 0) {
    ssm_fail("freeing %p, which is not a Vulkan device buffer", p);
    return;
  }
  pthread_mutex_lock(&ssm_buffers_lock);
  if (!b->live) { /* freed by another thread since the check above */
    pthread_mutex_unlock(&ssm_buffers_lock);
    ssm_fail("freeing %p, which is not a Vulkan device buffer", p);
    return;
  }
  int index =
      (int)(((uint64_t)(uintptr_t)p & ~(3ull << 62)) >> SSM_OFFSET_BITS);
  ssm_heap *freed = &ssm_self->freed[ssm_bucket(b->size)];
  if (ssm_heap_reserve(freed, 1)) {
    b->live = 0;
    ssm_heap_push(freed, index);
  } else {
    ssm_fail("out of host memory");
  }
  pthread_mutex_unlock(&ssm_buffers_lock);
}

/*===----------------------------------------------------------------------===*
 * Modules and launches (the MLIR GPU runtime functions)
 *===----------------------------------------------------------------------===*/

typedef struct ssm_module ssm_module;

typedef struct {
  const char *name; /* the kernel name's address in the library */
  ssm_module *module;
  VkShaderModule shader;
  uint32_t bindings;
  uint64_t written; /* the bindings it may write (from the container) */
  VkDescriptorSetLayout setLayout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
} ssm_kernel;

/* The kernels of a gpu.binary: the container of ssm-gpu-serialize-spirv
 * (the words 'SSMV' and the count, then per kernel, sorted by name, its
 * name's byte offset and length, its code's byte offset and word count and
 * the mask of the bindings it may write, low word first). */
#define SSM_CONTAINER_MAGIC 0x564D5353u

struct ssm_module {
  const uint32_t *words;
  size_t size;
  pthread_mutex_t lock;
  ssm_kernel **slots; /* open addressing on the name's address */
  size_t capacity, count;
};

SSM_EXPORT void *mgpuModuleLoad(void *data, int64_t size) {
  ssm_module *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->words = data;
  m->size = (size_t)size;
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

SSM_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  (void)optLevel;
  (void)data;
  ssm_fail("the Vulkan target has no JIT-compiled kernels");
  return NULL;
}

SSM_EXPORT void mgpuModuleUnload(void *handle) {
  ssm_module *m = handle;
  if (!m)
    return;
  if (ssm_device && m->count) {
    vkDeviceWaitIdle(ssm_device);
    ssm_invalidate_recordings();
  }
  for (size_t i = 0; i < m->capacity; ++i) {
    ssm_kernel *k = m->slots[i];
    if (!k)
      continue;
    if (k->pipeline)
      vkDestroyPipeline(ssm_device, k->pipeline, NULL);
    if (k->layout)
      vkDestroyPipelineLayout(ssm_device, k->layout, NULL);
    if (k->setLayout)
      vkDestroyDescriptorSetLayout(ssm_device, k->setLayout, NULL);
    if (k->shader)
      vkDestroyShaderModule(ssm_device, k->shader, NULL);
    free(k);
  }
  free(m->slots);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static size_t ssm_hash(const void *p) {
  return ((uintptr_t)p >> 3) * 0x9E3779B97F4A7C15ull;
}

/* The kernel `name` of `m`, made on first use (lock held). */
static ssm_kernel *ssm_find_kernel(ssm_module *m, const char *name) {
  if (m->capacity) {
    for (size_t i = ssm_hash(name) & (m->capacity - 1);;
         i = (i + 1) & (m->capacity - 1)) {
      if (!m->slots[i])
        break;
      if (m->slots[i]->name == name)
        return m->slots[i];
    }
  }
  if (2 * (m->count + 1) > m->capacity) {
    size_t capacity = m->capacity ? 2 * m->capacity : 64;
    ssm_kernel **slots = calloc(capacity, sizeof *slots);
    if (!slots)
      return NULL;
    for (size_t k = 0; k < m->capacity; ++k) {
      if (!m->slots[k])
        continue;
      size_t i = ssm_hash(m->slots[k]->name) & (capacity - 1);
      while (slots[i])
        i = (i + 1) & (capacity - 1);
      slots[i] = m->slots[k];
    }
    free(m->slots);
    m->slots = slots;
    m->capacity = capacity;
  }
  ssm_kernel *k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->name = name;
  k->module = m;
  size_t i = ssm_hash(name) & (m->capacity - 1);
  while (m->slots[i])
    i = (i + 1) & (m->capacity - 1);
  m->slots[i] = k;
  ++m->count;
  return k;
}

SSM_EXPORT void *mgpuModuleGetFunction(void *handle, const char *name) {
  ssm_module *m = handle;
  if (ssm_failed || !m || !ssm_ready())
    return NULL;
  pthread_mutex_lock(&m->lock);
  ssm_kernel *k = ssm_find_kernel(m, name);
  pthread_mutex_unlock(&m->lock);
  if (!k)
    ssm_fail("out of host memory");
  return k;
}

/* The SPIR-V code of kernel `name` in `m`'s container and the mask of the
 * bindings it may write; 0 if absent. */
static int ssm_kernel_code(const ssm_module *m, const char *name,
                           const uint32_t **code, size_t *words,
                           uint64_t *written) {
  const uint32_t *w = m->words;
  if (m->size < 8 || w[0] != SSM_CONTAINER_MAGIC)
    return 0;
  uint64_t count = w[1];
  if (8 + 24 * count > m->size)
    return 0;
  size_t length = strlen(name);
  size_t lo = 0, hi = count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const uint32_t *e = w + 2 + 6 * mid;
    if ((uint64_t)e[0] + e[1] > m->size ||
        (uint64_t)e[2] + 4ull * e[3] > m->size)
      return 0;
    const char *entry = (const char *)m->words + e[0];
    size_t n = e[1] < length ? e[1] : length;
    int c = memcmp(entry, name, n);
    if (c == 0)
      c = e[1] < length ? -1 : e[1] > length ? 1 : 0;
    if (c == 0) {
      *code = (const uint32_t *)((const char *)m->words + e[2]);
      *words = e[3];
      *written = e[4] | (uint64_t)e[5] << 32;
      return 1;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* Makes `k`'s pipeline with `bindings` storage buffers (lock held). */
static int ssm_make_pipeline(ssm_module *m, ssm_kernel *k, uint32_t bindings) {
  if (!k->shader) {
    const uint32_t *code;
    size_t words;
    if (!ssm_kernel_code(m, k->name, &code, &words, &k->written)) {
      ssm_fail("kernel %s is not in the model's SPIR-V container", k->name);
      return 0;
    }
    VkShaderModuleCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = words * 4,
        .pCode = code};
    if (!ssm_check(vkCreateShaderModule(ssm_device, &info, NULL, &k->shader),
                   "vkCreateShaderModule"))
      return 0;
  }
  VkDescriptorSetLayoutBinding b[64];
  for (uint32_t i = 0; i < bindings; ++i)
    b[i] = (VkDescriptorSetLayoutBinding){
        .binding = i,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo setInfo = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR,
      .bindingCount = bindings,
      .pBindings = b};
  if (!ssm_check(vkCreateDescriptorSetLayout(ssm_device, &setInfo, NULL,
                                             &k->setLayout),
                 "vkCreateDescriptorSetLayout"))
    return 0;
  VkPipelineLayoutCreateInfo layoutInfo = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &k->setLayout};
  if (!ssm_check(
          vkCreatePipelineLayout(ssm_device, &layoutInfo, NULL, &k->layout),
          "vkCreatePipelineLayout"))
    return 0;
  VkComputePipelineCreateInfo info = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = k->shader,
                .pName = k->name},
      .layout = k->layout};
  VkResult r = vkCreateComputePipelines(ssm_device, VK_NULL_HANDLE, 1, &info,
                                        NULL, &k->pipeline);
  if (r != VK_SUCCESS) {
    ssm_fail("cannot make the compute pipeline of kernel %s: %s (%d)", k->name,
             ssm_result_name(r), (int)r);
    k->pipeline = VK_NULL_HANDLE;
    return 0;
  }
  k->bindings = bindings;
  return 1;
}

SSM_EXPORT void *mgpuStreamCreate(void) {
  return ssm_ready() ? (void *)ssm_self : NULL;
}

SSM_EXPORT void mgpuStreamDestroy(void *stream) { (void)stream; }

/* Launches are ordered in the thread's command buffer; the host waits only
 * where it reads device memory (copies, ssmlib_device_synchronize). */
SSM_EXPORT void mgpuStreamSynchronize(void *stream) { (void)stream; }

SSM_EXPORT void mgpuLaunchKernel(void *function, int64_t gridX, int64_t gridY,
                                 int64_t gridZ, int64_t blockX, int64_t blockY,
                                 int64_t blockZ, int32_t smem, void *stream,
                                 void **params, void **extra,
                                 int64_t paramsCount) {
  (void)blockX, (void)blockY, (void)blockZ, (void)stream, (void)extra;
  ssm_kernel *k = function;
  if (ssm_failed || !k)
    return;
  ssm_module *m = k->module;
  const char *name = k->name;
  if (smem != 0) {
    ssm_fail("kernel %s asks for %d bytes of dynamic shared memory; the "
             "Vulkan target has none",
             name, (int)smem);
    return;
  }
  if (paramsCount < 1) {
    ssm_fail("kernel %s: no parameters; the Vulkan kernel ABI passes buffers "
             "and the argument pack",
             name);
    return;
  }
  uint32_t n = (uint32_t)paramsCount;
  if (n > ssm_max_bindings || n > 64) {
    ssm_fail("kernel %s binds %u buffers; the Vulkan device allows %u", name, n,
             ssm_max_bindings < 64 ? ssm_max_bindings : 64);
    return;
  }
  /* A grid wider in x than the device allows runs as ceil(x / z) x y x z
   * blocks: the kernel (ssm-gpu-vulkan-kernel-abi) rebuilds its x index from
   * x and z, and skips the blocks past gridX, which the pack's extra word
   * gives it. */
  const uint32_t *maxGrid = ssm_properties.limits.maxComputeWorkGroupCount;
  int64_t foldZ = 1;
  if (gridX > maxGrid[0] && gridZ == 1)
    foldZ = (gridX + maxGrid[0] - 1) / maxGrid[0];
  int64_t launchX = (gridX + foldZ - 1) / foldZ;
  if (gridX > 0xffffffffll || launchX > maxGrid[0] || gridY > maxGrid[1] ||
      gridZ * foldZ > maxGrid[2]) {
    ssm_fail("kernel %s: grid %lld x %lld x %lld is larger than the Vulkan "
             "device allows (%u x %u x %u)",
             name, (long long)gridX, (long long)gridY, (long long)gridZ,
             maxGrid[0], maxGrid[1], maxGrid[2]);
    return;
  }
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  /* The kernel's state as the thread that made its pipeline left it. */
  pthread_mutex_lock(&m->lock);
  int ok = k->pipeline ? 1 : ssm_make_pipeline(m, k, n);
  VkPipeline pipeline = k->pipeline;
  VkPipelineLayout layout = k->layout;
  uint32_t made = k->bindings;
  uint64_t written = k->written;
  pthread_mutex_unlock(&m->lock);
  if (!ok)
    return;
  if (made != n) {
    ssm_fail("kernel %s launched with %u buffers, made with %u", name, n, made);
    return;
  }

  VkDescriptorBufferInfo infos[64];
  VkDeviceSize align = ssm_properties.limits.minStorageBufferOffsetAlignment;
  VkDeviceSize maxRange = ssm_properties.limits.maxStorageBufferRange;
  for (uint32_t i = 0; i + 1 < n; ++i) {
    const void *p = *(void **)params[i];
    ssm_buffer *b;
    uint64_t offset;
    if (!ssm_resolve(p, &b, &offset)) {
      ssm_fail("kernel %s: argument %u (%p) is not in Vulkan device memory",
               name, i, p);
      return;
    }
    if (offset % align) {
      ssm_fail("kernel %s: argument %u starts %llu bytes into its buffer, "
               "not a multiple of the device's storage buffer alignment %llu",
               name, i, (unsigned long long)offset, (unsigned long long)align);
      return;
    }
    /* The buffer from the argument on (a kernel reads only what its view
     * spans, which the allocation holds). The kernels index a buffer from
     * its start: an allocation that extends past the device's largest
     * storage buffer range cannot be bound whole. */
    if (b->bytes > offset && b->bytes - offset > maxRange) {
      ssm_fail("kernel %s: argument %u is a buffer of %llu bytes, more than "
               "the Vulkan device's largest storage buffer "
               "(maxStorageBufferRange, %llu bytes)",
               name, i, (unsigned long long)(b->bytes - offset),
               (unsigned long long)maxRange);
      return;
    }
    VkDeviceSize range = b->size - offset;
    if (range > maxRange)
      range = maxRange / 4 * 4;
    infos[i] = (VkDescriptorBufferInfo){b->buffer, offset, range};
  }
  /* The argument pack. */
  {
    const int32_t *host = *(const int32_t **)params[n - 1];
    int32_t words = host ? host[0] : 0;
    if (words < 1 || words > 65536) {
      ssm_fail("kernel %s: its argument pack is malformed (length %d)", name,
               (int)words);
      return;
    }
    VkBuffer buffer;
    VkDeviceSize offset;
    size_t size = (size_t)words * 4;
    unsigned char *staged = ssm_upload(size + 4, align, &buffer, &offset);
    if (!staged)
      return;
    memcpy(staged, host, size);
    uint32_t launchWidth = (uint32_t)gridX;
    memcpy(staged + size, &launchWidth, 4);
    infos[n - 1] = (VkDescriptorBufferInfo){buffer, offset, size + 4};
  }
  ssm_push_dispatch(pipeline, layout, written, n, infos, (uint32_t)launchX,
                    (uint32_t)gridY, (uint32_t)(gridZ * foldZ));
  if (ssm_sync_launches && !ssm_wait()) {
    char message[sizeof ssm_error];
    memcpy(message, ssm_error, sizeof message);
    ssm_failed = 0;
    ssm_fail("kernel %s: %s", name, message);
  }
}

/*===----------------------------------------------------------------------===*
 * Copies
 *===----------------------------------------------------------------------===*/

/* Copies `bytes` between host and device memory, either way; a copy to the
 * host waits for the work before it. */
static void ssm_copy(void *dst, const void *src, size_t bytes) {
  if (ssm_failed || !bytes || !ssm_ready())
    return;
  ssm_buffer *db = NULL, *sb = NULL;
  uint64_t doff = 0, soff = 0;
  int dDevice = ssm_resolve(dst, &db, &doff);
  int sDevice = ssm_resolve(src, &sb, &soff);
  if ((dDevice && doff + bytes > db->size) ||
      (sDevice && soff + bytes > sb->size)) {
    ssm_fail("a copy of %zu bytes runs past the end of a device buffer", bytes);
    return;
  }
  if (!dDevice && !sDevice) {
    memmove(dst, src, bytes);
    return;
  }
  if (dDevice && sDevice) {
    ssm_push_copy(sb->buffer, soff, db->buffer, doff, bytes);
    return;
  }
  VkBuffer staging;
  VkDeviceSize offset;
  unsigned char *staged = ssm_upload(bytes, 16, &staging, &offset);
  if (!staged)
    return;
  if (dDevice) {
    memcpy(staged, src, bytes);
    ssm_push_copy(staging, offset, db->buffer, doff, bytes);
    return;
  }
  ssm_push_copy(sb->buffer, soff, staging, offset, bytes);
  ssm_thread *t = ssm_self;
  if (t->numReadbacks == t->capacityReadbacks) {
    size_t capacity = t->capacityReadbacks ? 2 * t->capacityReadbacks : 16;
    ssm_readback *grown = realloc(t->readbacks, capacity * sizeof *grown);
    if (!grown) {
      ssm_fail("out of host memory");
      return;
    }
    t->readbacks = grown;
    t->capacityReadbacks = capacity;
  }
  t->readbacks[t->numReadbacks++] = (ssm_readback){dst, staged, bytes};
  ssm_wait();
}

SSM_EXPORT void *_mlir_memref_to_llvm_alloc(size_t size) {
  return ssm_device_alloc(size);
}

/* Every buffer starts a VkBuffer of its own. */
SSM_EXPORT void *_mlir_memref_to_llvm_aligned_alloc(size_t align, size_t size) {
  (void)align;
  return ssm_device_alloc(size);
}

SSM_EXPORT void _mlir_memref_to_llvm_free(void *p) { ssm_device_free(p); }

SSM_EXPORT void __ssm_gpu_copy_to_host(int64_t dst, int64_t src,
                                       int64_t bytes) {
  ssm_copy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, (size_t)bytes);
}

/* Whether the block reductions' subgroup kernels may run: the device has
 * subgroup arithmetic in compute shaders, and SSM_VULKAN_SUBGROUPS is not 0.
 * Called by the host code before each block reduction. */
SSM_EXPORT int32_t __ssm_gpu_subgroup_reductions(void) {
  return !ssm_failed && ssm_ready() && ssm_subgroups;
}

/* Device copies of the constants, keyed by their host address; made on first
 * use, waited for (other threads may use them next), kept while the library
 * is loaded. */
static pthread_mutex_t ssm_constants_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  const void *host;
  void *device;
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
        result = ssm_constants[i].device;
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
    void *d = ssm_device_alloc((size_t)bytes);
    if (d) {
      /* Not reused after a free: constants are never freed. */
      ssm_copy(d, host, (size_t)bytes);
      if (!ssm_wait() || ssm_failed) {
        ssm_device_free(d);
      } else {
        size_t i = h & (ssm_constants_capacity - 1);
        while (ssm_constants[i].host)
          i = (i + 1) & (ssm_constants_capacity - 1);
        ssm_constants[i].host = host;
        ssm_constants[i].device = d;
        ++ssm_constants_count;
        result = d;
      }
    }
  }
  pthread_mutex_unlock(&ssm_constants_lock);
  return result;
}

/*===----------------------------------------------------------------------===*
 * The model ABI
 *===----------------------------------------------------------------------===*/

SSM_EXPORT const char *ssmlib_device(void) { return "vulkan"; }

SSM_EXPORT void *ssmlib_device_alloc(int64_t bytes) {
  return ssm_device_alloc((size_t)bytes);
}

SSM_EXPORT void ssmlib_device_free(void *p) { ssm_device_free(p); }

SSM_EXPORT void ssmlib_device_copy(void *dst, const void *src, int64_t bytes) {
  ssm_copy(dst, src, (size_t)bytes);
}

/* Waits for this thread's device work. Returns NULL, or the message of the
 * first error since the last call (then forgotten). The pointer stays valid
 * until the thread's next call into the library. */
SSM_EXPORT const char *ssmlib_device_synchronize(void) {
  static __thread char message[1024];
  if (ssm_self)
    ssm_wait();
  else if (!ssm_failed)
    ssm_ready();
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

/* Returns the buffers no thread holds to the system. */
SSM_EXPORT void ssmlib_release_memory(void) {
  if (!ssm_self)
    return;
  ssm_wait();
  pthread_mutex_lock(&ssm_buffers_lock);
  /* Before any buffer goes: a buffer made later may get a destroyed one's
   * handle, and a batch naming it must not replay a recording of the old. */
  ssm_invalidate_recordings();
  for (int b = 0; b < SSM_BUCKETS; ++b) {
    while (ssm_free_any[b].count) {
      ssm_buffer *x = ssm_record((uint32_t)ssm_heap_pop(&ssm_free_any[b]));
      vkDestroyBuffer(ssm_device, x->buffer, NULL);
      vkFreeMemory(ssm_device, x->memory, NULL);
      x->buffer = VK_NULL_HANDLE;
      x->memory = VK_NULL_HANDLE;
      x->size = 0;
    }
  }
  pthread_mutex_unlock(&ssm_buffers_lock);
}
