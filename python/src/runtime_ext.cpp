//===- runtime_ext.cpp - Python bindings of the runtime C API -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssmc._runtime: the runtime C API (runtime/include/ssm/runtime.h) for the
// Python package. Arrays come in through nanobind's ndarray (numpy, or any
// framework with DLPack) and are read in place when they are C-contiguous
// CPU arrays of the entry point's dtype; outputs go out as numpy arrays that
// own the runtime's tensors (no copy). Errors raise ssmc.Error subclasses
// carrying the runtime's message.
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

namespace nb = nanobind;

namespace {

/// The Python exception classes, set by the package's __init__ (ssmc.Error
/// and its subclasses), indexed by ssm_status. Strong references kept for
/// the life of the process (never released: no Python call after the
/// interpreter has finalized).
PyObject *errorClasses[6] = {};

[[noreturn]] void raise(ssm_status status, const std::string &context = "") {
  const char *message = ssm_last_error();
  std::string text = context + (message ? message : "unknown error");
  PyObject *cls = status < 6 ? errorClasses[status] : nullptr;
  if (!cls)
    throw std::runtime_error(text);
  PyErr_SetObject(cls, nb::str(text.c_str()).ptr());
  throw nb::python_error();
}

void check(ssm_status status, const std::string &context = "") {
  if (status != SSM_OK)
    raise(status, context);
}

nb::dlpack::dtype toDLPack(ssm_dtype t) {
  switch (t) {
  case SSM_FLOAT32:
    return nb::dtype<float>();
  case SSM_FLOAT64:
    return nb::dtype<double>();
  case SSM_FLOAT16:
    return {static_cast<uint8_t>(nb::dlpack::dtype_code::Float), 16, 1};
  case SSM_BFLOAT16:
    return {static_cast<uint8_t>(nb::dlpack::dtype_code::Bfloat), 16, 1};
  case SSM_INT64:
    return nb::dtype<int64_t>();
  case SSM_INT32:
    return nb::dtype<int32_t>();
  case SSM_INT16:
    return nb::dtype<int16_t>();
  case SSM_INT8:
    return nb::dtype<int8_t>();
  case SSM_UINT8:
    return nb::dtype<uint8_t>();
  case SSM_BOOL:
    return nb::dtype<bool>();
  }
  return nb::dtype<float>();
}

/// The numpy array owning `t` (released when the array is collected).
nb::object toNumpy(ssm_tensor *t) {
  nb::capsule owner(t, [](void *p) noexcept {
    ssm_tensor_release(static_cast<ssm_tensor *>(p));
  });
  std::vector<size_t> shape;
  for (int64_t k = 0; k < ssm_tensor_rank(t); ++k)
    shape.push_back(static_cast<size_t>(ssm_tensor_shape(t)[k]));
  nb::ndarray<nb::numpy> array(ssm_tensor_data(t), shape.size(), shape.data(),
                               owner, /*strides=*/nullptr,
                               toDLPack(ssm_tensor_dtype(t)));
  return array.cast();
}

using AnyArray = nb::ndarray<nb::c_contig, nb::device::cpu>;

/// Tensors viewing arrays, released on scope exit.
struct Wrapped {
  std::vector<ssm_tensor *> tensors;
  ~Wrapped() {
    for (ssm_tensor *t : tensors)
      ssm_tensor_release(t);
  }
};

/// The runtime dtype of an array; an error for dtypes it has none for.
ssm_dtype dtypeOf(const AnyArray &a, const std::string &what) {
  for (int d = 0; d <= SSM_BOOL; ++d)
    if (toDLPack(static_cast<ssm_dtype>(d)) == a.dtype())
      return static_cast<ssm_dtype>(d);
  PyErr_SetString(PyExc_TypeError,
                  (what + ": unsupported element type").c_str());
  throw nb::python_error();
}

ssm_tensor *wrap(const AnyArray &a, const std::string &what, Wrapped &keep) {
  std::vector<int64_t> shape(a.shape_ptr(), a.shape_ptr() + a.ndim());
  ssm_tensor *t = nullptr;
  check(ssm_tensor_wrap(dtypeOf(a, what), static_cast<int64_t>(a.ndim()),
                        shape.data(), const_cast<void *>(a.data()), &t),
        what + ": ");
  keep.tensors.push_back(t);
  return t;
}

/// A loaded model library.
struct Model {
  ssm_model *model = nullptr;
  Model(const std::string &path, const std::string &device) {
    check(ssm_model_load_on(path.c_str(), device.c_str(), &model));
  }
  std::string device() const { return ssm_model_device(model); }
  ~Model() { ssm_model_release(model); }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  std::vector<std::string> entryPoints() const {
    std::vector<std::string> names;
    for (int64_t i = 0; i < ssm_model_num_entry_points(model); ++i)
      names.push_back(ssm_model_entry_point(model, i));
    return names;
  }
  std::string signature(const std::string &entry) const {
    const char *s = ssm_model_signature(model, entry.c_str());
    if (!s)
      raise(SSM_ERROR_NOT_FOUND);
    return s;
  }
  std::string compileInfo() const { return ssm_model_compile_info(model); }
  int64_t numThreads() const { return ssm_model_num_threads(model); }
  void setNumThreads(int64_t n) { check(ssm_model_set_num_threads(model, n)); }
  void releaseMemory() { ssm_model_release_memory(model); }

  /// Runs `entry` on `inputs` (in signature order); the outputs in order.
  std::vector<nb::object> run(const std::string &entry,
                              const std::vector<AnyArray> &inputs) {
    int64_t numOutputs = ssm_entry_num_outputs(model, entry.c_str());
    if (numOutputs < 0)
      raise(SSM_ERROR_NOT_FOUND);
    Wrapped keep;
    std::vector<ssm_tensor *> in;
    for (size_t j = 0; j < inputs.size(); ++j)
      in.push_back(wrap(inputs[j], "input #" + std::to_string(j), keep));
    std::vector<ssm_tensor *> out(static_cast<size_t>(numOutputs), nullptr);
    ssm_status status;
    {
      nb::gil_scoped_release unlocked;
      status = ssm_run(model, entry.c_str(), in.data(),
                       static_cast<int64_t>(in.size()), out.data(), numOutputs);
    }
    check(status);
    std::vector<nb::object> result;
    for (ssm_tensor *t : out)
      result.push_back(toNumpy(t));
    return result;
  }
};

/// A generator: the state of prefill and decode for a batch of sequences.
struct Generator {
  ssm_generator *generator = nullptr;
  Generator(Model &model, int64_t batch) {
    check(ssm_generator_create(model.model, batch, &generator));
  }
  ~Generator() { ssm_generator_release(generator); }
  Generator(const Generator &) = delete;
  Generator &operator=(const Generator &) = delete;

  nb::object step(const AnyArray &tokens, bool decode) {
    Wrapped keep;
    ssm_tensor *t = wrap(tokens, "tokens", keep);
    ssm_tensor *out = nullptr;
    ssm_status status;
    {
      nb::gil_scoped_release unlocked;
      status = decode ? ssm_generator_decode(generator, t, &out)
                      : ssm_generator_prefill(generator, t, &out);
    }
    check(status);
    return toNumpy(out);
  }
  int64_t position() const { return ssm_generator_position(generator); }
  int64_t stateBytes() const { return ssm_generator_state_bytes(generator); }
  void reset(int64_t slot) { check(ssm_generator_reset(generator, slot)); }
};

} // namespace

NB_MODULE(_runtime, m) {
  m.doc() = "The SSMC runtime C API (internal; use the ssmc package).";
  m.def(
      "set_error_classes",
      [](nb::object invalidArgument, nb::object notFound, nb::object load,
         nb::object outOfMemory, nb::object device) {
        nb::object given[] = {invalidArgument, notFound, load, outOfMemory,
                              device};
        ssm_status statuses[] = {SSM_ERROR_INVALID_ARGUMENT,
                                 SSM_ERROR_NOT_FOUND, SSM_ERROR_LOAD,
                                 SSM_ERROR_OUT_OF_MEMORY, SSM_ERROR_DEVICE};
        for (int i = 0; i < 5; ++i) {
          Py_XDECREF(errorClasses[statuses[i]]);
          errorClasses[statuses[i]] = given[i].inc_ref().ptr();
        }
      },
      "Sets the exception classes raised for each runtime status.");

  nb::class_<Model>(m, "Model")
      .def(nb::init<const std::string &, const std::string &>(),
           nb::arg("path"), nb::arg("device"))
      .def("device", &Model::device)
      .def("entry_points", &Model::entryPoints)
      .def("signature", &Model::signature, nb::arg("entry"))
      .def("compile_info", &Model::compileInfo)
      .def("num_threads", &Model::numThreads)
      .def("set_num_threads", &Model::setNumThreads, nb::arg("n"))
      .def("release_memory", &Model::releaseMemory)
      .def("run", &Model::run, nb::arg("entry"), nb::arg("inputs"));

  nb::class_<Generator>(m, "Generator")
      // The generator keeps its model alive.
      .def(nb::init<Model &, int64_t>(), nb::arg("model"), nb::arg("batch"),
           nb::keep_alive<1, 2>())
      .def("prefill",
           [](Generator &g, const AnyArray &t) { return g.step(t, false); })
      .def("decode",
           [](Generator &g, const AnyArray &t) { return g.step(t, true); })
      .def("position", &Generator::position)
      .def("state_bytes", &Generator::stateBytes)
      .def("reset", &Generator::reset, nb::arg("slot"));
}
