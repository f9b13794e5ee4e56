//===- runtime.cpp - The SSMC runtime -------------------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"
#include "ssm/model_abi.h"

#include "internal.h"
#include "json.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

thread_local std::string lastError;

ssm_status setError(ssm_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

} // namespace

ssm_status ssm::rt::setError(ssm_status status, std::string message) {
  return ::setError(status, std::move(message));
}

namespace {

struct IOInfo {
  std::string name;
  ssm_dtype dtype;
  std::vector<int64_t> dims;
  std::vector<std::string> dimNames;
  std::vector<const char *> dimNamePtrs;
};

struct Entry {
  std::string name;
  std::string signature;
  ssm_entry_fn fn = nullptr;
  std::vector<IOInfo> inputs, outputs;
  /// The trailing inputs and outputs that are generation state.
  int64_t numState = 0;
  /// A derived prefill or decode entry point: its first input is the token
  /// ids (batch, n) and n must be at least 1 (prefill returns the last
  /// token's logits).
  bool generation = false;
};

struct Library {
  void *handle = nullptr;
  bool bound = false; // the symbols below are read (bindLibrary)
  const char *(*info)() = nullptr;
  int64_t (*count)() = nullptr;
  const char *(*nameOf)(int64_t) = nullptr;
  const char *(*signatureOf)(int64_t) = nullptr;
  ssm_entry_fn (*fnOf)(int64_t) = nullptr;
  void (*free)(void *) = nullptr;
  void (*setNumThreads)(int64_t) = nullptr;
  int64_t (*numThreads)() = nullptr;
  void (*releaseMemory)() = nullptr;
  // Models compiled for a device (--target=cuda): their entry points take
  // and return device buffers, which ssm_run copies to and from the host.
  std::string device = "cpu";
  void *(*deviceAlloc)(int64_t) = nullptr;
  void (*deviceFree)(void *) = nullptr;
  void (*deviceCopy)(void *, const void *, int64_t) = nullptr;
  const char *(*deviceSynchronize)() = nullptr;
  // The descriptor of an embedded build's anonymous file, open while it
  // is loaded (see openEmbedded); -1 for files.
  int fd = -1;
  // An embedded build's bundle, kept loaded with it (the cache's key).
  void *outer = nullptr;
  ~Library() {
    if (handle)
      dlclose(handle);
    if (fd >= 0)
      close(fd);
    if (outer)
      dlclose(outer);
  }
};

const char *const kDtypeNames[] = {"float32", "float64", "float16", "bfloat16",
                                   "int64",   "int32",   "int16",   "int8",
                                   "uint8",   "bool"};
const size_t kDtypeSizes[] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};
constexpr int kNumDtypes = 10;

bool validDtype(ssm_dtype d) { return d >= 0 && d < kNumDtypes; }

bool parseIO(const ssm::json::Value &v, IOInfo &io, std::string &error) {
  const ssm::json::Value *name = v.get("name"), *dtype = v.get("dtype"),
                         *shape = v.get("shape");
  if (!name || !name->isString() || !dtype || !dtype->isString() || !shape ||
      !shape->isArray()) {
    error = "an input/output entry lacks name, dtype or shape";
    return false;
  }
  io.name = name->str;
  if (ssm_dtype_from_name(dtype->str.c_str(), &io.dtype) != SSM_OK) {
    error = "unknown dtype '" + dtype->str + "'";
    return false;
  }
  for (const ssm::json::Value &d : shape->array) {
    if (d.isNumber()) {
      io.dims.push_back(static_cast<int64_t>(d.number));
      io.dimNames.emplace_back();
    } else {
      io.dims.push_back(-1);
      io.dimNames.push_back(d.isString() ? d.str : "");
    }
  }
  for (const std::string &s : io.dimNames)
    io.dimNamePtrs.push_back(s.empty() ? nullptr : s.c_str());
  return true;
}

} // namespace

struct ssm_model {
  std::shared_ptr<Library> library;
  std::string compileInfo;
  std::vector<Entry> entries;

  const Entry *find(const char *entry) const {
    if (!entry)
      return entries.empty() ? nullptr : &entries[0];
    for (const Entry &e : entries)
      if (e.name == entry)
        return &e;
    return nullptr;
  }
};

struct ssm_tensor {
  ssm_dtype dtype;
  std::vector<int64_t> shape;
  void *data = nullptr;
  // Ownership: malloc'd by the runtime, by a model (freed through it), or
  // borrowed.
  void *allocated = nullptr;
  std::shared_ptr<Library> library; // for model-allocated outputs
  bool ownsMalloc = false;
  // In the device memory of `library` (a device model's output or a copy
  // made by ssm_tensor_to_device).
  bool device = false;

  ~ssm_tensor() {
    if (device && allocated)
      library->deviceFree(allocated);
    else if (library && library->free && allocated)
      library->free(allocated);
    else if (ownsMalloc)
      std::free(allocated);
  }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

extern "C" {

const char *ssm_last_error(void) { return lastError.c_str(); }

const char *ssm_status_name(ssm_status status) {
  switch (status) {
  case SSM_OK:
    return "ok";
  case SSM_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case SSM_ERROR_NOT_FOUND:
    return "not found";
  case SSM_ERROR_LOAD:
    return "load error";
  case SSM_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case SSM_ERROR_DEVICE:
    return "device error";
  }
  return "unknown status";
}

const char *ssm_dtype_name(ssm_dtype dtype) {
  return validDtype(dtype) ? kDtypeNames[dtype] : "invalid";
}

size_t ssm_dtype_size(ssm_dtype dtype) {
  return validDtype(dtype) ? kDtypeSizes[dtype] : 0;
}

ssm_status ssm_dtype_from_name(const char *name, ssm_dtype *dtype) {
  if (!name || !dtype)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL argument");
  for (int i = 0; i < kNumDtypes; ++i)
    if (std::strcmp(name, kDtypeNames[i]) == 0) {
      *dtype = static_cast<ssm_dtype>(i);
      return SSM_OK;
    }
  return setError(SSM_ERROR_NOT_FOUND,
                  std::string("unknown dtype '") + name + "'");
}

namespace {

/// Loads the model library of `target` embedded in the bundle `handle`
/// (RTLD_LOCAL) from an anonymous file holding its bytes into `*inner`.
ssm_status openEmbedded(void *handle, const char *path,
                        const std::string &target, void **inner, int *openFd) {
  *inner = nullptr;
  *openFd = -1;
  auto table = static_cast<const ssm_embedded_library *>(
      dlsym(handle, "ssmlib_embedded_libraries"));
  const ssm_embedded_library *found = nullptr;
  for (const ssm_embedded_library *e = table; e && e->target; ++e)
    if (target == e->target)
      found = e;
  if (!found) {
    // The builds it has: its own, then the embedded ones.
    auto own =
        reinterpret_cast<const char *(*)()>(dlsym(handle, "ssmlib_device"));
    std::string have = own ? own() : "cpu";
    for (const ssm_embedded_library *e = table; e && e->target; ++e)
      have += std::string(",") + e->target;
    return setError(SSM_ERROR_NOT_FOUND,
                    std::string("'") + path + "' has no " + target +
                        " build, only " + have +
                        " (compile the model with ssmc --target=" + have + "," +
                        target + " for one)");
  }
  // Writes the build to a new file descriptor: a memfd, else (no memfd,
  // or a memfd the kernel will not map executable) an unlinked temporary
  // file. The descriptor stays open while the library is loaded, so that
  // its /proc/self/fd name stays unique: the dynamic loader reuses a loaded
  // object whose name matches.
  auto failLoad = [&](const std::string &why) {
    return setError(SSM_ERROR_LOAD, std::string("cannot load the ") + target +
                                        " build of '" + path + "': " + why);
  };
  auto writeAll = [&](int fd) {
    const char *p = static_cast<const char *>(found->data);
    for (uint64_t left = found->size; left > 0;) {
      ssize_t n = write(fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      p += n;
      left -= static_cast<uint64_t>(n);
    }
    return true;
  };
  std::string message;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = -1;
    std::string file;
    if (attempt == 0) {
      std::string name = "ssm-model-" + target;
#ifdef MFD_EXEC
      fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_EXEC);
      if (fd < 0 && errno == EINVAL) // kernels before MFD_EXEC
#endif
        fd = memfd_create(name.c_str(), MFD_CLOEXEC);
      if (fd < 0)
        continue;
    } else {
      const char *dir = std::getenv("TMPDIR");
      file = std::string(dir && *dir ? dir : "/tmp") + "/ssm-model-XXXXXX";
      fd = mkostemp(file.data(), O_CLOEXEC);
      if (fd < 0)
        return failLoad(std::string("no temporary file: ") + strerror(errno));
    }
    if (!writeAll(fd)) {
      std::string why = strerror(errno);
      close(fd);
      if (!file.empty())
        unlink(file.c_str());
      return failLoad("writing it failed: " + why);
    }
    // The temporary file by its own (unique) name; the memfd by its
    // descriptor's.
    std::string at =
        file.empty() ? "/proc/self/fd/" + std::to_string(fd) : file;
    *inner = dlopen(at.c_str(), RTLD_NOW | RTLD_LOCAL);
    const char *why = *inner ? nullptr : dlerror();
    message = why ? why : "unknown error";
    if (!file.empty())
      unlink(file.c_str());
    if (*inner) {
      *openFd = fd;
      return SSM_OK;
    }
    close(fd);
  }
  return failLoad(message);
}

/// The libraries loaded from bundles, by file and target, so that loading
/// the same one twice shares one copy (as dlopen does for files).
std::mutex embeddedLock;
std::map<std::string, std::weak_ptr<Library>> embeddedLoaded;

} // namespace

namespace {
/// A model of the loaded library `lib`. Reads the library's symbols into
/// `lib` unless a model of it did before (a bundle's target loaded again).
ssm_status loadLibrary(std::shared_ptr<Library> lib, const char *path,
                       ssm_model **model);
} // namespace

ssm_status ssm_model_load(const char *path, ssm_model **model) {
  return ssm_model_load_on(path, nullptr, model);
}

ssm_status ssm_model_load_on(const char *path, const char *device,
                             ssm_model **model) {
  if (!path || !model)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL argument");
  *model = nullptr;
  std::string want = device ? device : "";
  if (!want.empty() && want != "cpu" && want != "cuda" && want != "vulkan")
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "device must be cpu, cuda or vulkan, got '" + want + "'");
  auto lib = std::make_shared<Library>();
  // A path without a slash would be searched for; load it from here instead.
  std::string p = path;
  if (p.find('/') == std::string::npos)
    p = "./" + p;
  lib->handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    const char *why = dlerror();
    return setError(SSM_ERROR_LOAD, std::string("cannot load '") + path +
                                        "': " + (why ? why : "unknown error"));
  }
  if (!want.empty()) {
    auto own = reinterpret_cast<const char *(*)()>(
        dlsym(lib->handle, "ssmlib_device"));
    std::string mine = own ? own() : "cpu";
    if (want != mine) {
      // Another target of a bundle: its own library, shared by the loads of
      // this file for that target. Keyed by the bundle's loaded object,
      // which the build keeps loaded (so the key cannot name another file
      // while the build lives, even if the file is replaced).
      std::string key =
          std::to_string(reinterpret_cast<uintptr_t>(lib->handle)) + ":" + want;
      std::lock_guard<std::mutex> guard(embeddedLock);
      auto hit = embeddedLoaded.find(key);
      if (hit != embeddedLoaded.end())
        if (std::shared_ptr<Library> shared = hit->second.lock())
          return loadLibrary(std::move(shared), path, model);
      void *inner;
      int fd;
      if (ssm_status status =
              openEmbedded(lib->handle, path, want, &inner, &fd))
        return status;
      auto embedded = std::make_shared<Library>();
      embedded->handle = inner;
      embedded->fd = fd;
      embedded->outer = lib->handle;
      lib->handle = nullptr;
      for (auto it = embeddedLoaded.begin(); it != embeddedLoaded.end();)
        it = it->second.expired() ? embeddedLoaded.erase(it) : std::next(it);
      ssm_status status = loadLibrary(embedded, path, model);
      if (status == SSM_OK)
        embeddedLoaded[key] = embedded;
      return status;
    }
  }
  return loadLibrary(std::move(lib), path, model);
}

namespace {
/// Reads the symbols of the model library `lib` into it.
ssm_status bindLibrary(Library &lib, const char *path) {
  auto sym = [&](const char *name) { return dlsym(lib.handle, name); };
  auto version = reinterpret_cast<int64_t (*)()>(sym("ssmlib_abi_version"));
  lib.info = reinterpret_cast<const char *(*)()>(sym("ssmlib_compile_info"));
  lib.count = reinterpret_cast<int64_t (*)()>(sym("ssmlib_num_entry_points"));
  lib.nameOf = reinterpret_cast<const char *(*)(int64_t)>(
      sym("ssmlib_entry_point_name"));
  lib.signatureOf =
      reinterpret_cast<const char *(*)(int64_t)>(sym("ssmlib_signature"));
  lib.fnOf = reinterpret_cast<ssm_entry_fn (*)(int64_t)>(
      sym("ssmlib_entry_point_function"));
  lib.free = reinterpret_cast<void (*)(void *)>(sym("ssmlib_free"));
  lib.setNumThreads =
      reinterpret_cast<void (*)(int64_t)>(sym("ssmlib_set_num_threads"));
  lib.numThreads = reinterpret_cast<int64_t (*)()>(sym("ssmlib_num_threads"));
  lib.releaseMemory =
      reinterpret_cast<void (*)()>(sym("ssmlib_release_memory"));
  if (!version || !lib.info || !lib.count || !lib.nameOf || !lib.signatureOf ||
      !lib.fnOf || !lib.free)
    return setError(SSM_ERROR_LOAD,
                    std::string("'") + path +
                        "' is not an SSMC model library (ABI symbols missing)");
  if (version() == SSM_MODEL_ABI_VERSION &&
      (!lib.setNumThreads || !lib.numThreads || !lib.releaseMemory))
    return setError(SSM_ERROR_LOAD,
                    std::string("'") + path +
                        "' is not an SSMC model library (ABI symbols missing)");
  if (version() != SSM_MODEL_ABI_VERSION)
    return setError(SSM_ERROR_LOAD,
                    std::string("'") + path + "' has model ABI version " +
                        std::to_string(version()) + "; this runtime reads " +
                        std::to_string(SSM_MODEL_ABI_VERSION));
  if (auto device = reinterpret_cast<const char *(*)()>(sym("ssmlib_device"))) {
    lib.device = device();
    lib.deviceAlloc =
        reinterpret_cast<void *(*)(int64_t)>(sym("ssmlib_device_alloc"));
    lib.deviceFree =
        reinterpret_cast<void (*)(void *)>(sym("ssmlib_device_free"));
    lib.deviceCopy = reinterpret_cast<void (*)(void *, const void *, int64_t)>(
        sym("ssmlib_device_copy"));
    lib.deviceSynchronize =
        reinterpret_cast<const char *(*)()>(sym("ssmlib_device_synchronize"));
    if (!lib.deviceAlloc || !lib.deviceFree || !lib.deviceCopy ||
        !lib.deviceSynchronize)
      return setError(SSM_ERROR_LOAD,
                      std::string("'") + path +
                          "' is a device model library without its device "
                          "ABI symbols");
  }
  lib.bound = true;
  return SSM_OK;
}

ssm_status loadLibrary(std::shared_ptr<Library> lib, const char *path,
                       ssm_model **model) {
  if (!lib->bound)
    if (ssm_status status = bindLibrary(*lib, path))
      return status;
  auto info = lib->info;
  auto count = lib->count;
  auto nameOf = lib->nameOf;
  auto signatureOf = lib->signatureOf;
  auto fnOf = lib->fnOf;
  std::unique_ptr<ssm_model> m(new (std::nothrow) ssm_model);
  if (!m)
    return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
  m->library = lib;
  m->compileInfo = info();
  int64_t n = count();
  for (int64_t i = 0; i < n; ++i) {
    Entry e;
    const char *name = nameOf(i), *sig = signatureOf(i);
    e.fn = fnOf(i);
    if (!name || !sig || !e.fn)
      return setError(SSM_ERROR_LOAD,
                      "entry point " + std::to_string(i) + " is incomplete");
    e.name = name;
    e.signature = sig;
    std::string error;
    ssm::json::Value v;
    if (!ssm::json::parse(sig, v, error))
      return setError(SSM_ERROR_LOAD, "signature of '" + e.name +
                                          "' is not valid JSON: " + error);
    const ssm::json::Value *ins = v.get("inputs"), *outs = v.get("outputs");
    if (!ins || !ins->isArray() || !outs || !outs->isArray())
      return setError(SSM_ERROR_LOAD,
                      "signature of '" + e.name + "' lacks inputs/outputs");
    for (const ssm::json::Value &x : ins->array) {
      e.inputs.emplace_back();
      if (!parseIO(x, e.inputs.back(), error))
        return setError(SSM_ERROR_LOAD,
                        "signature of '" + e.name + "': " + error);
    }
    for (const ssm::json::Value &x : outs->array) {
      e.outputs.emplace_back();
      if (!parseIO(x, e.outputs.back(), error))
        return setError(SSM_ERROR_LOAD,
                        "signature of '" + e.name + "': " + error);
    }
    if (const ssm::json::Value *st = v.get("state")) {
      if (!st->isNumber() || st->number < 0 ||
          st->number > static_cast<double>(e.inputs.size()) ||
          st->number > static_cast<double>(e.outputs.size()))
        return setError(SSM_ERROR_LOAD,
                        "signature of '" + e.name + "': invalid state count");
      e.numState = static_cast<int64_t>(st->number);
    }
    e.generation = v.get("generation") != nullptr;
    m->entries.push_back(std::move(e));
  }
  *model = m.release();
  return SSM_OK;
}
} // namespace

void ssm_model_release(ssm_model *model) { delete model; }

ssm_status ssm_model_set_num_threads(ssm_model *model, int64_t n) {
  if (!model)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "model is NULL");
  if (n < 0)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "the number of threads must be >= 0 (0: the default), "
                    "got " +
                        std::to_string(n));
  model->library->setNumThreads(n);
  return SSM_OK;
}

int64_t ssm_model_num_threads(const ssm_model *model) {
  return model ? model->library->numThreads() : 0;
}

void ssm_model_release_memory(ssm_model *model) {
  if (model)
    model->library->releaseMemory();
}

const char *ssm_model_compile_info(const ssm_model *model) {
  return model ? model->compileInfo.c_str() : nullptr;
}

int64_t ssm_model_num_entry_points(const ssm_model *model) {
  return model ? static_cast<int64_t>(model->entries.size()) : 0;
}

const char *ssm_model_entry_point(const ssm_model *model, int64_t index) {
  if (!model || index < 0 ||
      index >= static_cast<int64_t>(model->entries.size()))
    return nullptr;
  return model->entries[index].name.c_str();
}

static const Entry *findEntry(const ssm_model *model, const char *entry) {
  if (!model) {
    setError(SSM_ERROR_INVALID_ARGUMENT, "NULL model");
    return nullptr;
  }
  const Entry *e = model->find(entry);
  if (!e)
    setError(SSM_ERROR_NOT_FOUND, std::string("no entry point '") +
                                      (entry ? entry : "(first)") + "'");
  return e;
}

const char *ssm_model_signature(const ssm_model *model, const char *entry) {
  const Entry *e = findEntry(model, entry);
  return e ? e->signature.c_str() : nullptr;
}

int64_t ssm_entry_num_inputs(const ssm_model *model, const char *entry) {
  const Entry *e = findEntry(model, entry);
  return e ? static_cast<int64_t>(e->inputs.size()) : -1;
}

int64_t ssm_entry_num_outputs(const ssm_model *model, const char *entry) {
  const Entry *e = findEntry(model, entry);
  return e ? static_cast<int64_t>(e->outputs.size()) : -1;
}

static ssm_status ioInfo(const std::vector<IOInfo> &list, int64_t index,
                         ssm_io_info *info, const char *what) {
  if (!info)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL info");
  if (index < 0 || index >= static_cast<int64_t>(list.size()))
    return setError(SSM_ERROR_NOT_FOUND,
                    std::string("no ") + what + " " + std::to_string(index));
  const IOInfo &io = list[index];
  info->name = io.name.c_str();
  info->dtype = io.dtype;
  info->rank = static_cast<int64_t>(io.dims.size());
  info->dims = io.dims.data();
  info->dim_names = io.dimNamePtrs.data();
  return SSM_OK;
}

ssm_status ssm_entry_input(const ssm_model *model, const char *entry,
                           int64_t index, ssm_io_info *info) {
  const Entry *e = findEntry(model, entry);
  if (!e)
    return model ? SSM_ERROR_NOT_FOUND : SSM_ERROR_INVALID_ARGUMENT;
  return ioInfo(e->inputs, index, info, "input");
}

ssm_status ssm_entry_output(const ssm_model *model, const char *entry,
                            int64_t index, ssm_io_info *info) {
  const Entry *e = findEntry(model, entry);
  if (!e)
    return model ? SSM_ERROR_NOT_FOUND : SSM_ERROR_INVALID_ARGUMENT;
  return ioInfo(e->outputs, index, info, "output");
}

static ssm_status checkShape(ssm_dtype dtype, int64_t rank,
                             const int64_t *shape, int64_t &bytes) {
  if (!validDtype(dtype))
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "invalid dtype " + std::to_string(dtype));
  if (rank < 0 || rank > 64 || (rank > 0 && !shape))
    return setError(SSM_ERROR_INVALID_ARGUMENT, "invalid rank or shape");
  int64_t n = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (shape[i] < 0)
      return setError(SSM_ERROR_INVALID_ARGUMENT,
                      "negative size " + std::to_string(shape[i]));
    if (shape[i] && n > (int64_t(1) << 50) / shape[i])
      return setError(SSM_ERROR_INVALID_ARGUMENT, "tensor too large");
    n *= shape[i];
  }
  bytes = n * static_cast<int64_t>(kDtypeSizes[dtype]);
  return SSM_OK;
}

ssm_status ssm_tensor_create(ssm_dtype dtype, int64_t rank,
                             const int64_t *shape, ssm_tensor **tensor) {
  if (!tensor)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL tensor");
  *tensor = nullptr;
  int64_t bytes;
  if (ssm_status s = checkShape(dtype, rank, shape, bytes))
    return s;
  std::unique_ptr<ssm_tensor> t(new (std::nothrow) ssm_tensor);
  void *data = std::calloc(bytes ? bytes : 1, 1);
  if (!t || !data) {
    std::free(data);
    return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  t->dtype = dtype;
  t->shape.assign(shape, shape + rank);
  t->data = t->allocated = data;
  t->ownsMalloc = true;
  *tensor = t.release();
  return SSM_OK;
}

ssm_status ssm_tensor_wrap(ssm_dtype dtype, int64_t rank, const int64_t *shape,
                           void *data, ssm_tensor **tensor) {
  if (!tensor)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL tensor");
  *tensor = nullptr;
  int64_t bytes;
  if (ssm_status s = checkShape(dtype, rank, shape, bytes))
    return s;
  if (!data && bytes)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL data");
  std::unique_ptr<ssm_tensor> t(new (std::nothrow) ssm_tensor);
  if (!t)
    return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
  t->dtype = dtype;
  t->shape.assign(shape, shape + rank);
  t->data = data;
  *tensor = t.release();
  return SSM_OK;
}

void ssm_tensor_release(ssm_tensor *tensor) { delete tensor; }

ssm_dtype ssm_tensor_dtype(const ssm_tensor *t) {
  return t ? t->dtype : SSM_FLOAT32;
}
int64_t ssm_tensor_rank(const ssm_tensor *t) {
  return t ? static_cast<int64_t>(t->shape.size()) : -1;
}
const int64_t *ssm_tensor_shape(const ssm_tensor *t) {
  return t ? t->shape.data() : nullptr;
}
int64_t ssm_tensor_num_elements(const ssm_tensor *t) {
  return t ? t->numElements() : 0;
}
void *ssm_tensor_data(ssm_tensor *t) { return t ? t->data : nullptr; }

/// Whether an output made so far owns the buffer `allocated`.
static bool sharesBuffer(const std::vector<ssm_tensor *> &made,
                         void *allocated) {
  return allocated &&
         std::any_of(made.begin(), made.end(), [&](const ssm_tensor *m) {
           return m->allocated == allocated;
         });
}

/// Fills `desc` with the memref descriptor of a contiguous row-major buffer
/// at `data` of shape `shape`.
static void contiguousDescriptor(std::vector<int64_t> &desc, void *data,
                                 const std::vector<int64_t> &shape) {
  int64_t r = shape.size();
  desc.assign(3 + 2 * r, 0);
  std::memcpy(&desc[0], &data, sizeof(void *));
  std::memcpy(&desc[1], &data, sizeof(void *));
  int64_t stride = 1;
  for (int64_t k = r - 1; k >= 0; --k) {
    desc[3 + k] = shape[k];
    desc[3 + r + k] = stride;
    stride *= shape[k];
  }
}

/// Runs entry point `e` of a device model: the inputs are copied to device
/// buffers, the outputs back into host tensors; a device error (no driver,
/// a failed launch) is reported as SSM_ERROR_DEVICE with the model's
/// message.
static ssm_status runOnDevice(const ssm_model *model, const Entry &e,
                              ssm_tensor *const *inputs, ssm_tensor **outputs,
                              bool deviceOutputs) {
  const Library &lib = *model->library;
  const std::string where = "entry point '" + e.name + "': ";
  std::vector<void *> deviceInputs;
  auto cleanup = [&] {
    for (void *p : deviceInputs)
      lib.deviceFree(p);
  };
  auto deviceError = [&](const char *message) {
    cleanup();
    return setError(SSM_ERROR_DEVICE,
                    where + (message ? message : "device error"));
  };
  size_t numInputs = e.inputs.size(), numOutputs = e.outputs.size();
  std::vector<std::vector<int64_t>> inDesc(numInputs);
  std::vector<void *> args;
  int64_t outWords = 0;
  for (const IOInfo &io : e.outputs)
    outWords += 3 + 2 * static_cast<int64_t>(io.dims.size());
  std::vector<int64_t> outDesc(outWords ? outWords : 1, 0);
  if (numOutputs)
    args.push_back(outDesc.data());
  for (size_t j = 0; j < numInputs; ++j) {
    const ssm_tensor *t = inputs[j];
    if (t->device) {
      contiguousDescriptor(inDesc[j], t->data, t->shape);
      args.push_back(inDesc[j].data());
      continue;
    }
    int64_t bytes =
        t->numElements() * static_cast<int64_t>(kDtypeSizes[t->dtype]);
    void *d = lib.deviceAlloc(bytes);
    if (!d)
      return deviceError(lib.deviceSynchronize());
    deviceInputs.push_back(d);
    lib.deviceCopy(d, t->data, bytes);
    contiguousDescriptor(inDesc[j], d, t->shape);
    args.push_back(inDesc[j].data());
  }
  e.fn(args.data());
  if (const char *message = lib.deviceSynchronize()) {
    // Free whatever outputs were made before the failure (each buffer once).
    int64_t pos = 0;
    std::vector<void *> freed;
    for (const IOInfo &io : e.outputs) {
      void *allocated;
      std::memcpy(&allocated, &outDesc[pos], sizeof(void *));
      if (allocated &&
          std::find(freed.begin(), freed.end(), allocated) == freed.end()) {
        lib.free(allocated);
        freed.push_back(allocated);
      }
      pos += 3 + 2 * static_cast<int64_t>(io.dims.size());
    }
    return deviceError(message);
  }
  cleanup();
  deviceInputs.clear();

  if (deviceOutputs) {
    // Wrap the device buffers; they are contiguous by the ABI.
    int64_t pos = 0;
    std::vector<ssm_tensor *> made;
    for (size_t k = 0; k < numOutputs; ++k) {
      const IOInfo &io = e.outputs[k];
      int64_t r = io.dims.size();
      void *allocated, *aligned;
      std::memcpy(&allocated, &outDesc[pos], sizeof(void *));
      std::memcpy(&aligned, &outDesc[pos + 1], sizeof(void *));
      ssm_tensor *t = new (std::nothrow) ssm_tensor;
      if (!t) {
        for (ssm_tensor *m : made)
          delete m;
        for (size_t rest = k; rest < numOutputs; ++rest) {
          std::memcpy(&allocated, &outDesc[pos], sizeof(void *));
          lib.free(allocated);
          pos += 3 + 2 * static_cast<int64_t>(e.outputs[rest].dims.size());
        }
        return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
      }
      t->dtype = io.dtype;
      t->shape.assign(&outDesc[pos + 3], &outDesc[pos + 3] + r);
      t->allocated = allocated;
      t->library = model->library;
      t->device = true;
      t->data = static_cast<char *>(aligned) +
                outDesc[pos + 2] * static_cast<int64_t>(kDtypeSizes[io.dtype]);
      if (sharesBuffer(made, allocated)) {
        // One buffer returned twice: this output gets a device copy.
        int64_t bytes =
            t->numElements() * static_cast<int64_t>(kDtypeSizes[io.dtype]);
        void *copy = lib.deviceAlloc(bytes);
        if (!copy) {
          delete t;
          for (ssm_tensor *m : made)
            delete m;
          return deviceError(lib.deviceSynchronize());
        }
        lib.deviceCopy(copy, t->data, bytes);
        t->data = t->allocated = copy;
      }
      made.push_back(t);
      pos += 3 + 2 * r;
    }
    for (size_t k = 0; k < numOutputs; ++k)
      outputs[k] = made[k];
    return SSM_OK;
  }

  // Copy the outputs to host tensors and free the device buffers (once: an
  // entry point may return one buffer twice).
  int64_t pos = 0;
  std::vector<ssm_tensor *> made;
  std::vector<void *> freed;
  ssm_status status = SSM_OK;
  std::string message;
  for (size_t k = 0; k < numOutputs; ++k) {
    const IOInfo &io = e.outputs[k];
    int64_t r = io.dims.size();
    void *allocated, *aligned;
    std::memcpy(&allocated, &outDesc[pos], sizeof(void *));
    std::memcpy(&aligned, &outDesc[pos + 1], sizeof(void *));
    int64_t offset = outDesc[pos + 2];
    std::vector<int64_t> shape(&outDesc[pos + 3], &outDesc[pos + 3] + r);
    pos += 3 + 2 * r;
    ssm_tensor *t = nullptr;
    if (status == SSM_OK) {
      if (ssm_tensor_create(io.dtype, r, shape.data(), &t) != SSM_OK) {
        status = SSM_ERROR_OUT_OF_MEMORY;
        message = ssm_last_error();
      } else {
        int64_t bytes =
            t->numElements() * static_cast<int64_t>(kDtypeSizes[io.dtype]);
        lib.deviceCopy(t->data,
                       static_cast<char *>(aligned) +
                           offset * static_cast<int64_t>(kDtypeSizes[io.dtype]),
                       bytes);
        made.push_back(t);
      }
    }
    if (status == SSM_OK && k + 1 == numOutputs) {
      if (const char *m = lib.deviceSynchronize()) {
        status = SSM_ERROR_DEVICE;
        message = where + m;
      }
    }
    if (allocated &&
        std::find(freed.begin(), freed.end(), allocated) == freed.end()) {
      lib.free(allocated);
      freed.push_back(allocated);
    }
  }
  if (numOutputs == 0)
    if (const char *m = lib.deviceSynchronize()) {
      status = SSM_ERROR_DEVICE;
      message = where + m;
    }
  if (status != SSM_OK) {
    for (ssm_tensor *t : made)
      ssm_tensor_release(t);
    return setError(status, message);
  }
  for (size_t k = 0; k < numOutputs; ++k)
    outputs[k] = made[k];
  return SSM_OK;
}

static ssm_status runEntry(const ssm_model *model, const char *entry,
                           ssm_tensor *const *inputs, int64_t numInputs,
                           ssm_tensor **outputs, int64_t numOutputs,
                           bool deviceOutputs) {
  const Entry *e = findEntry(model, entry);
  if (!e)
    return model ? SSM_ERROR_NOT_FOUND : SSM_ERROR_INVALID_ARGUMENT;
  const std::string where = "entry point '" + e->name + "': ";
  if (numInputs != static_cast<int64_t>(e->inputs.size()))
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    where + "expects " + std::to_string(e->inputs.size()) +
                        " inputs, got " + std::to_string(numInputs));
  if (numOutputs != static_cast<int64_t>(e->outputs.size()))
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    where + "has " + std::to_string(e->outputs.size()) +
                        " outputs, got room for " + std::to_string(numOutputs));
  if ((numInputs && !inputs) || (numOutputs && !outputs))
    return setError(SSM_ERROR_INVALID_ARGUMENT, where + "NULL array");

  // Check inputs against the signature; symbolic sizes must agree.
  std::map<std::string, int64_t> symbols;
  for (int64_t j = 0; j < numInputs; ++j) {
    const IOInfo &io = e->inputs[j];
    const ssm_tensor *t = inputs[j];
    std::string what =
        where + "input '" + io.name + "' (#" + std::to_string(j) + ")";
    if (!t)
      return setError(SSM_ERROR_INVALID_ARGUMENT, what + " is missing");
    if (t->device && t->library->device != model->library->device)
      return setError(SSM_ERROR_INVALID_ARGUMENT,
                      what + " is in " + t->library->device +
                          " device memory; this model runs on " +
                          model->library->device);
    if (t->dtype != io.dtype)
      return setError(SSM_ERROR_INVALID_ARGUMENT,
                      what + " must be " + kDtypeNames[io.dtype] + ", got " +
                          kDtypeNames[t->dtype]);
    if (t->shape.size() != io.dims.size())
      return setError(SSM_ERROR_INVALID_ARGUMENT,
                      what + " must have rank " +
                          std::to_string(io.dims.size()) + ", got " +
                          std::to_string(t->shape.size()));
    for (size_t k = 0; k < io.dims.size(); ++k) {
      int64_t got = t->shape[k];
      if (io.dims[k] >= 0 && io.dims[k] != got)
        return setError(SSM_ERROR_INVALID_ARGUMENT,
                        what + " must have size " + std::to_string(io.dims[k]) +
                            " in dimension " + std::to_string(k) + ", got " +
                            std::to_string(got));
      if (io.dims[k] < 0 && !io.dimNames[k].empty()) {
        auto [it, inserted] = symbols.insert({io.dimNames[k], got});
        if (!inserted && it->second != got)
          return setError(SSM_ERROR_INVALID_ARGUMENT,
                          what + " has " + io.dimNames[k] + " = " +
                              std::to_string(got) + " in dimension " +
                              std::to_string(k) + ", but another input has " +
                              io.dimNames[k] + " = " +
                              std::to_string(it->second));
      }
    }
  }

  if (e->generation && numInputs > 0 && inputs[0]->shape.size() >= 2 &&
      inputs[0]->shape[1] < 1)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    where + "input '" + e->inputs[0].name +
                        "' (#0) must hold at least one token per sequence, "
                        "got 0");

  const Library &lib = *model->library;
  if (lib.deviceAlloc)
    return runOnDevice(model, *e, inputs, outputs, deviceOutputs);

  // Descriptors: inputs, then the output area.
  std::vector<std::vector<int64_t>> inDesc(numInputs);
  std::vector<void *> args;
  int64_t outWords = 0;
  for (const IOInfo &io : e->outputs)
    outWords += 3 + 2 * static_cast<int64_t>(io.dims.size());
  std::vector<int64_t> outDesc(outWords ? outWords : 1, 0);
  if (numOutputs)
    args.push_back(outDesc.data());
  for (int64_t j = 0; j < numInputs; ++j) {
    const ssm_tensor *t = inputs[j];
    contiguousDescriptor(inDesc[j], t->data, t->shape);
    args.push_back(inDesc[j].data());
  }
  e->fn(args.data());

  // Wrap the outputs; they are contiguous by the ABI.
  int64_t pos = 0;
  std::vector<ssm_tensor *> made;
  for (int64_t k = 0; k < numOutputs; ++k) {
    const IOInfo &io = e->outputs[k];
    int64_t r = io.dims.size();
    void *allocated, *aligned;
    std::memcpy(&allocated, &outDesc[pos], sizeof(void *));
    std::memcpy(&aligned, &outDesc[pos + 1], sizeof(void *));
    int64_t offset = outDesc[pos + 2];
    ssm_tensor *t = new (std::nothrow) ssm_tensor;
    if (!t) {
      for (ssm_tensor *m : made)
        delete m;
      return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    t->dtype = io.dtype;
    t->shape.assign(&outDesc[pos + 3], &outDesc[pos + 3] + r);
    t->allocated = allocated;
    t->library = model->library;
    t->data = static_cast<char *>(aligned) + offset * kDtypeSizes[io.dtype];
    pos += 3 + 2 * r;
    if (sharesBuffer(made, allocated)) {
      // An entry point that returns one buffer twice (two equal results
      // merged, such as the zero gradients of two unused parameters): this
      // output gets a copy, so that each output owns its buffer.
      int64_t bytes = t->numElements() * kDtypeSizes[io.dtype];
      void *copy = std::malloc(bytes ? bytes : 1);
      if (!copy) {
        delete t;
        for (ssm_tensor *m : made)
          delete m;
        return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
      }
      std::memcpy(copy, t->data, bytes);
      t->library = nullptr;
      t->data = t->allocated = copy;
      t->ownsMalloc = true;
    }
    made.push_back(t);
  }
  for (int64_t k = 0; k < numOutputs; ++k)
    outputs[k] = made[k];
  return SSM_OK;
}

ssm_status ssm_run(const ssm_model *model, const char *entry,
                   ssm_tensor *const *inputs, int64_t numInputs,
                   ssm_tensor **outputs, int64_t numOutputs) {
  return runEntry(model, entry, inputs, numInputs, outputs, numOutputs,
                  /*deviceOutputs=*/false);
}

ssm_status ssm_run_device(const ssm_model *model, const char *entry,
                          ssm_tensor *const *inputs, int64_t numInputs,
                          ssm_tensor **outputs, int64_t numOutputs) {
  if (model && !model->library->deviceAlloc)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "ssm_run_device: this model runs on the CPU (compiled "
                    "with --target=cpu); use ssm_run");
  return runEntry(model, entry, inputs, numInputs, outputs, numOutputs,
                  /*deviceOutputs=*/true);
}

const char *ssm_model_device(const ssm_model *model) {
  return model ? model->library->device.c_str() : nullptr;
}

int ssm_tensor_is_device(const ssm_tensor *t) { return t && t->device; }

ssm_status ssm_tensor_to_device(const ssm_model *model, const ssm_tensor *host,
                                ssm_tensor **device) {
  if (!device)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL tensor");
  *device = nullptr;
  if (!model || !host)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    model ? "NULL tensor" : "NULL model");
  const Library &lib = *model->library;
  if (!lib.deviceAlloc)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "ssm_tensor_to_device: this model runs on the CPU");
  if (host->device)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "ssm_tensor_to_device: the tensor is in device memory "
                    "already");
  std::unique_ptr<ssm_tensor> t(new (std::nothrow) ssm_tensor);
  if (!t)
    return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
  int64_t bytes =
      host->numElements() * static_cast<int64_t>(kDtypeSizes[host->dtype]);
  void *d = lib.deviceAlloc(bytes);
  if (!d) {
    const char *m = lib.deviceSynchronize();
    return setError(SSM_ERROR_DEVICE, std::string("ssm_tensor_to_device: ") +
                                          (m ? m : "device allocation failed"));
  }
  lib.deviceCopy(d, host->data, bytes);
  if (const char *m = lib.deviceSynchronize()) {
    lib.deviceFree(d);
    return setError(SSM_ERROR_DEVICE,
                    std::string("ssm_tensor_to_device: ") + m);
  }
  t->dtype = host->dtype;
  t->shape = host->shape;
  t->data = t->allocated = d;
  t->library = model->library;
  t->device = true;
  *device = t.release();
  return SSM_OK;
}

ssm_status ssm_tensor_to_host(const ssm_tensor *tensor, ssm_tensor **host) {
  if (!host)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL tensor");
  *host = nullptr;
  if (!tensor)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL tensor");
  ssm_tensor *t = nullptr;
  if (ssm_status s = ssm_tensor_create(
          tensor->dtype, static_cast<int64_t>(tensor->shape.size()),
          tensor->shape.data(), &t))
    return s;
  int64_t bytes =
      tensor->numElements() * static_cast<int64_t>(kDtypeSizes[tensor->dtype]);
  if (!tensor->device) {
    if (bytes)
      std::memcpy(t->data, tensor->data, bytes);
    *host = t;
    return SSM_OK;
  }
  const Library &lib = *tensor->library;
  lib.deviceCopy(t->data, tensor->data, bytes);
  if (const char *m = lib.deviceSynchronize()) {
    ssm_tensor_release(t);
    return setError(SSM_ERROR_DEVICE, std::string("ssm_tensor_to_host: ") + m);
  }
  *host = t;
  return SSM_OK;
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

} // extern "C"

struct ssm_generator {
  const ssm_model *model = nullptr;
  const Entry *prefill = nullptr, *decode = nullptr;
  int64_t batch = 0;
  int64_t position = 0;
  bool hasCaches = false;
  // The state, in the order of the entry points' trailing inputs.
  std::vector<ssm_tensor *> state;

  ~ssm_generator() {
    for (ssm_tensor *t : state)
      ssm_tensor_release(t);
  }

  size_t firstState(const Entry *e) const {
    return e->inputs.size() - static_cast<size_t>(e->numState);
  }

  /// A fresh (zero) state tensor for state input `k`.
  ssm_status fresh(size_t k, ssm_tensor **out) {
    const IOInfo &io = prefill->inputs[firstState(prefill) + k];
    std::vector<int64_t> shape;
    for (size_t d = 0; d < io.dims.size(); ++d) {
      if (io.dims[d] >= 0)
        shape.push_back(io.dims[d]);
      else if (d == 0)
        shape.push_back(batch);
      else if (io.dimNames[d] == "past")
        shape.push_back(0);
      else
        return setError(SSM_ERROR_LOAD,
                        "state '" + io.name + "' has a size in dimension " +
                            std::to_string(d) + " the runtime cannot choose");
    }
    ssm_tensor *host = nullptr;
    if (ssm_status s = ssm_tensor_create(
            io.dtype, static_cast<int64_t>(shape.size()), shape.data(), &host))
      return s;
    if (!onDevice()) {
      *out = host;
      return SSM_OK;
    }
    // A device model's state stays in device memory between calls.
    ssm_status s = ssm_tensor_to_device(model, host, out);
    ssm_tensor_release(host);
    return s;
  }

  bool onDevice() const { return model->library->deviceAlloc != nullptr; }

  ssm_status resetAll() {
    std::vector<ssm_tensor *> next;
    for (size_t k = 0; k < static_cast<size_t>(prefill->numState); ++k) {
      ssm_tensor *t = nullptr;
      if (ssm_status s = fresh(k, &t)) {
        for (ssm_tensor *m : next)
          ssm_tensor_release(m);
        return s;
      }
      next.push_back(t);
    }
    for (ssm_tensor *t : state)
      ssm_tensor_release(t);
    state = std::move(next);
    position = 0;
    return SSM_OK;
  }

  ssm_status step(const Entry *e, const ssm_tensor *tokens,
                  ssm_tensor **outputs) {
    std::string where = "generator (" + e->name + "): ";
    if (!tokens)
      return setError(SSM_ERROR_INVALID_ARGUMENT, where + "NULL tokens");
    if (tokens->dtype != SSM_INT64 || tokens->shape.size() != 2 ||
        tokens->shape[0] != batch || tokens->shape[1] < 1)
      return setError(
          SSM_ERROR_INVALID_ARGUMENT,
          where + "tokens must be int64 (batch = " + std::to_string(batch) +
              ", n >= 1), got " +
              kDtypeNames[validDtype(tokens->dtype) ? tokens->dtype : 0] +
              " of rank " + std::to_string(tokens->shape.size()));
    std::vector<ssm_tensor *> in = {const_cast<ssm_tensor *>(tokens)};
    in.insert(in.end(), state.begin(), state.end());
    std::vector<ssm_tensor *> out(e->outputs.size(), nullptr);
    if (ssm_status s = runEntry(model, e->name.c_str(), in.data(),
                                static_cast<int64_t>(in.size()), out.data(),
                                static_cast<int64_t>(out.size()), onDevice()))
      return s;
    if (onDevice() && outputs) {
      // The state stays on the device; the first output comes to the host.
      ssm_tensor *host = nullptr;
      if (ssm_status s = ssm_tensor_to_host(out[0], &host)) {
        for (ssm_tensor *t : out)
          ssm_tensor_release(t);
        return s;
      }
      ssm_tensor_release(out[0]);
      out[0] = host;
    }
    size_t first = out.size() - state.size();
    for (size_t k = 0; k < state.size(); ++k) {
      ssm_tensor_release(state[k]);
      state[k] = out[first + k];
    }
    position += tokens->shape[1];
    for (size_t k = 1; k < first; ++k)
      ssm_tensor_release(out[k]);
    if (outputs)
      *outputs = out[0];
    else
      ssm_tensor_release(out[0]);
    return SSM_OK;
  }
};

extern "C" {

ssm_status ssm_generator_create(const ssm_model *model, int64_t batch,
                                ssm_generator **generator) {
  if (!generator)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL generator");
  *generator = nullptr;
  if (!model)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL model");
  if (batch < 1)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "batch must be at least 1, got " + std::to_string(batch));
  const Entry *prefill = model->find("prefill"),
              *decode = model->find("decode");
  if (!prefill || !decode || !prefill->numState ||
      prefill->numState != decode->numState)
    return setError(SSM_ERROR_NOT_FOUND,
                    "the model has no prefill/decode entry points (ssmc "
                    "derives them when the model's only input is the token "
                    "ids and every exchange between tokens is a recognized "
                    "mixer; see ssmc's note)");
  if (prefill->inputs.size() != static_cast<size_t>(prefill->numState) + 1 ||
      prefill->outputs.size() < static_cast<size_t>(prefill->numState) + 1)
    return setError(SSM_ERROR_LOAD, "prefill has an unexpected signature");
  std::unique_ptr<ssm_generator> g(new (std::nothrow) ssm_generator);
  if (!g)
    return setError(SSM_ERROR_OUT_OF_MEMORY, "out of memory");
  g->model = model;
  g->prefill = prefill;
  g->decode = decode;
  g->batch = batch;
  for (size_t k = 1; k < prefill->inputs.size(); ++k)
    for (const std::string &n : prefill->inputs[k].dimNames)
      g->hasCaches |= n == "past";
  if (ssm_status s = g->resetAll())
    return s;
  *generator = g.release();
  return SSM_OK;
}

void ssm_generator_release(ssm_generator *generator) { delete generator; }

ssm_status ssm_generator_prefill(ssm_generator *g, const ssm_tensor *tokens,
                                 ssm_tensor **outputs) {
  if (!g)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL generator");
  return g->step(g->prefill, tokens, outputs);
}

ssm_status ssm_generator_decode(ssm_generator *g, const ssm_tensor *tokens,
                                ssm_tensor **outputs) {
  if (!g)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL generator");
  if (tokens && tokens->shape.size() == 2 && tokens->shape[1] != 1)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "generator (decode): takes one token per sequence, got " +
                        std::to_string(tokens->shape[1]) +
                        " (use ssm_generator_prefill)");
  return g->step(g->decode, tokens, outputs);
}

int64_t ssm_generator_position(const ssm_generator *g) {
  return g ? g->position : -1;
}

int64_t ssm_generator_state_bytes(const ssm_generator *g) {
  if (!g)
    return 0;
  int64_t bytes = 0;
  for (const ssm_tensor *t : g->state)
    bytes += t->numElements() * static_cast<int64_t>(kDtypeSizes[t->dtype]);
  return bytes;
}

ssm_status ssm_generator_reset(ssm_generator *g, int64_t slot) {
  if (!g)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL generator");
  if (slot == -1)
    return g->resetAll();
  if (slot < 0 || slot >= g->batch)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "slot " + std::to_string(slot) + " is out of range [0, " +
                        std::to_string(g->batch) + ") (or -1 for all)");
  if (g->hasCaches)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "a single slot cannot be reset in a model with attention "
                    "KV caches (the batch shares positions); reset all (-1)");
  // Zero the slot's row of every batched state (all but the position).
  for (size_t k = 0; k < g->state.size(); ++k) {
    ssm_tensor *t = g->state[k];
    const IOInfo &io = g->prefill->inputs[g->firstState(g->prefill) + k];
    if (io.name == "position" || t->shape.empty() || t->shape[0] != g->batch)
      continue;
    int64_t row = t->numElements() / t->shape[0] *
                  static_cast<int64_t>(kDtypeSizes[t->dtype]);
    char *at = static_cast<char *>(t->data) + slot * row;
    if (!t->device) {
      std::memset(at, 0, row);
      continue;
    }
    std::vector<char> zeros(row, 0);
    const Library &lib = *t->library;
    lib.deviceCopy(at, zeros.data(), row);
    if (const char *m = lib.deviceSynchronize())
      return setError(SSM_ERROR_DEVICE, std::string("generator reset: ") + m);
  }
  return SSM_OK;
}

} // extern "C"
