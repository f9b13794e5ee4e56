//===- trainer.cpp - Parameters and AdamW state held between train steps --===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssm_trainer: runs the train_step entry point of a model compiled with
// ssmc --train, keeping its parameters, AdamW moments and step count, and
// saves and loads them as safetensors. Built on the public runtime API.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "json.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using ssm::rt::setError;

namespace {

/// Releases the tensors of `v` and empties it.
void releaseAll(std::vector<ssm_tensor *> &v) {
  for (ssm_tensor *t : v)
    ssm_tensor_release(t);
  v.clear();
}

/// A new float32 tensor with the shape and elements of `t`.
/// Host tensor `host` where the trainer keeps its tensors: as it is for a
/// CPU model, else a copy in the model's device memory (and `host`
/// released).
ssm_status place(const ssm_model *model, ssm_tensor *host, ssm_tensor **out) {
  if (std::strcmp(ssm_model_device(model), "cpu") == 0) {
    *out = host;
    return SSM_OK;
  }
  ssm_status s = ssm_tensor_to_device(model, host, out);
  ssm_tensor_release(host);
  return s;
}

/// A copy of `t` (a host or device tensor) where the trainer keeps its
/// tensors.
ssm_status copyFor(const ssm_model *model, const ssm_tensor *t,
                   ssm_tensor **out) {
  ssm_tensor *host;
  if (ssm_status s = ssm_tensor_to_host(t, &host))
    return s;
  return place(model, host, out);
}

/// A zero tensor of `t`'s shape where the trainer keeps its tensors.
ssm_status zerosLike(const ssm_model *model, const ssm_tensor *t,
                     ssm_tensor **out) {
  ssm_tensor *host;
  if (ssm_status s = ssm_tensor_create(SSM_FLOAT32, ssm_tensor_rank(t),
                                       ssm_tensor_shape(t), &host))
    return s;
  return place(model, host, out);
}

std::string shapeText(int64_t rank, const int64_t *dims) {
  std::string s = "(";
  for (int64_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (rank == 1 ? ",)" : ")");
}

} // namespace

struct ssm_trainer {
  const ssm_model *model = nullptr;
  std::vector<std::string> batchNames, paramNames;
  std::vector<ssm_tensor *> params, m, v;
  int64_t steps = 0;

  ~ssm_trainer() {
    releaseAll(params);
    releaseAll(m);
    releaseAll(v);
  }
};

extern "C" {

ssm_status ssm_trainer_create(const ssm_model *model,
                              const ssm_tensor *const *parameters,
                              int64_t numParameters, ssm_trainer **trainer) {
  if (!trainer)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL trainer");
  *trainer = nullptr;
  if (!model || (numParameters && !parameters))
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL argument");
  int64_t n = ssm_entry_num_inputs(model, "train_step");
  if (n < 0)
    return setError(SSM_ERROR_NOT_FOUND,
                    "the model has no train_step entry point: compile it "
                    "with ssmc --train");
  // Inputs: batch..., parameters (P)..., adam_m.<p>..., adam_v.<p>..., lr,
  // step.
  std::vector<ssm_io_info> in(n);
  for (int64_t i = 0; i < n; ++i)
    if (ssm_status s = ssm_entry_input(model, "train_step", i, &in[i]))
      return s;
  int64_t p = 0;
  for (const ssm_io_info &io : in)
    p += std::strncmp(io.name, "adam_m.", 7) == 0;
  int64_t b = n - 3 * p - 2;
  bool layout = b >= 1 && std::strcmp(in[n - 2].name, "lr") == 0 &&
                std::strcmp(in[n - 1].name, "step") == 0;
  for (int64_t i = 0; layout && i < p; ++i)
    layout = std::string(in[b + p + i].name) ==
                 std::string("adam_m.") + in[b + i].name &&
             std::string(in[b + 2 * p + i].name) ==
                 std::string("adam_v.") + in[b + i].name;
  if (!layout)
    return setError(SSM_ERROR_LOAD,
                    "train_step's inputs are not batch, parameters, adam_m.*, "
                    "adam_v.*, lr, step");
  if (numParameters != p)
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    "train_step trains " + std::to_string(p) +
                        " parameters, got " + std::to_string(numParameters));
  auto t = std::make_unique<ssm_trainer>();
  t->model = model;
  for (int64_t i = 0; i < b; ++i)
    t->batchNames.push_back(in[i].name);
  for (int64_t i = 0; i < p; ++i) {
    const ssm_io_info &io = in[b + i];
    const ssm_tensor *given = parameters[i];
    t->paramNames.push_back(io.name);
    if (!given)
      return setError(SSM_ERROR_INVALID_ARGUMENT,
                      std::string("parameter '") + io.name + "' is NULL");
    bool same = ssm_tensor_dtype(given) == SSM_FLOAT32 &&
                ssm_tensor_rank(given) == io.rank;
    for (int64_t d = 0; same && d < io.rank; ++d)
      same = io.dims[d] < 0 || io.dims[d] == ssm_tensor_shape(given)[d];
    if (!same)
      return setError(
          SSM_ERROR_INVALID_ARGUMENT,
          std::string("parameter '") + io.name + "' must be float32 of shape " +
              shapeText(io.rank, io.dims) + ", got " +
              ssm_dtype_name(ssm_tensor_dtype(given)) + " of shape " +
              shapeText(ssm_tensor_rank(given), ssm_tensor_shape(given)));
    ssm_tensor *copy, *zm, *zv;
    if (ssm_status s = copyFor(model, given, &copy))
      return s;
    t->params.push_back(copy);
    if (ssm_status s = zerosLike(model, given, &zm))
      return s;
    t->m.push_back(zm);
    if (ssm_status s = zerosLike(model, given, &zv))
      return s;
    t->v.push_back(zv);
  }
  *trainer = t.release();
  return SSM_OK;
}

void ssm_trainer_release(ssm_trainer *trainer) { delete trainer; }

int64_t ssm_trainer_num_parameters(const ssm_trainer *t) {
  return t ? static_cast<int64_t>(t->params.size()) : 0;
}

const char *ssm_trainer_parameter_name(const ssm_trainer *t, int64_t i) {
  if (!t || i < 0 || i >= static_cast<int64_t>(t->paramNames.size()))
    return nullptr;
  return t->paramNames[i].c_str();
}

const ssm_tensor *ssm_trainer_parameter(const ssm_trainer *t, int64_t i) {
  if (!t || i < 0 || i >= static_cast<int64_t>(t->params.size()))
    return nullptr;
  return t->params[i];
}

int64_t ssm_trainer_num_batch_inputs(const ssm_trainer *t) {
  return t ? static_cast<int64_t>(t->batchNames.size()) : 0;
}

const char *ssm_trainer_batch_input_name(const ssm_trainer *t, int64_t i) {
  if (!t || i < 0 || i >= static_cast<int64_t>(t->batchNames.size()))
    return nullptr;
  return t->batchNames[i].c_str();
}

int64_t ssm_trainer_steps(const ssm_trainer *t) { return t ? t->steps : -1; }

ssm_status ssm_trainer_step(ssm_trainer *t, ssm_tensor *const *batch,
                            int64_t numBatch, float lr, float *loss,
                            float *gradNorm) {
  if (!t || (numBatch && !batch))
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL argument");
  if (numBatch != static_cast<int64_t>(t->batchNames.size())) {
    std::string names;
    for (const std::string &n : t->batchNames)
      names += (names.empty() ? "" : ", ") + n;
    return setError(
        SSM_ERROR_INVALID_ARGUMENT,
        "a train step takes " + std::to_string(t->batchNames.size()) +
            " batch inputs (" + names + "), got " + std::to_string(numBatch));
  }
  float lrValue = lr, stepValue = static_cast<float>(t->steps + 1);
  ssm_tensor *lrT, *stepT;
  if (ssm_status s = ssm_tensor_wrap(SSM_FLOAT32, 0, nullptr, &lrValue, &lrT))
    return s;
  if (ssm_status s =
          ssm_tensor_wrap(SSM_FLOAT32, 0, nullptr, &stepValue, &stepT)) {
    ssm_tensor_release(lrT);
    return s;
  }
  std::vector<ssm_tensor *> inputs(batch, batch + numBatch);
  inputs.insert(inputs.end(), t->params.begin(), t->params.end());
  inputs.insert(inputs.end(), t->m.begin(), t->m.end());
  inputs.insert(inputs.end(), t->v.begin(), t->v.end());
  inputs.push_back(lrT);
  inputs.push_back(stepT);
  size_t p = t->params.size();
  std::vector<ssm_tensor *> outputs(2 + 3 * p, nullptr);
  // A device model's parameters and moments stay in device memory: only
  // the batch goes in and the loss and gradient norm come out.
  bool device = std::strcmp(ssm_model_device(t->model), "cpu") != 0;
  ssm_status s = (device ? ssm_run_device : ssm_run)(
      t->model, "train_step", inputs.data(),
      static_cast<int64_t>(inputs.size()), outputs.data(),
      static_cast<int64_t>(outputs.size()));
  ssm_tensor_release(lrT);
  ssm_tensor_release(stepT);
  if (s != SSM_OK)
    return s;
  float metrics[2];
  for (int k = 0; k < 2; ++k) {
    ssm_tensor *host;
    if (ssm_status c = ssm_tensor_to_host(outputs[k], &host)) {
      for (ssm_tensor *o : outputs)
        ssm_tensor_release(o);
      return c;
    }
    metrics[k] = *static_cast<float *>(ssm_tensor_data(host));
    ssm_tensor_release(host);
  }
  if (loss)
    *loss = metrics[0];
  if (gradNorm)
    *gradNorm = metrics[1];
  ssm_tensor_release(outputs[0]);
  ssm_tensor_release(outputs[1]);
  releaseAll(t->params);
  releaseAll(t->m);
  releaseAll(t->v);
  t->params.assign(outputs.begin() + 2, outputs.begin() + 2 + p);
  t->m.assign(outputs.begin() + 2 + p, outputs.begin() + 2 + 2 * p);
  t->v.assign(outputs.begin() + 2 + 2 * p, outputs.end());
  t->steps += 1;
  return SSM_OK;
}

ssm_status ssm_trainer_save(const ssm_trainer *t, const char *path) {
  if (!t || !path)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL argument");
  // Tensors in name order, as ssmc.Trainer writes them.
  std::vector<std::pair<std::string, const ssm_tensor *>> all;
  for (size_t i = 0; i < t->params.size(); ++i) {
    all.push_back({t->paramNames[i], t->params[i]});
    all.push_back({"adam_m." + t->paramNames[i], t->m[i]});
    all.push_back({"adam_v." + t->paramNames[i], t->v[i]});
  }
  std::sort(all.begin(), all.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  std::string header = "{\"__metadata__\":{\"format\":\"ssmc-trainer\","
                       "\"step\":\"" +
                       std::to_string(t->steps) + "\"}";
  int64_t offset = 0;
  for (const auto &[name, tensor] : all) {
    int64_t bytes = ssm_tensor_num_elements(tensor) * sizeof(float);
    header += ",\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (int64_t d = 0; d < ssm_tensor_rank(tensor); ++d)
      header += (d ? "," : "") + std::to_string(ssm_tensor_shape(tensor)[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string tmp = std::string(path) + ".tmp";
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return setError(SSM_ERROR_NOT_FOUND,
                    "cannot write '" + tmp + "': " + std::strerror(errno));
  uint64_t size = header.size();
  unsigned char le[8];
  for (int i = 0; i < 8; ++i)
    le[i] = static_cast<unsigned char>(size >> (8 * i));
  bool ok = std::fwrite(le, 1, 8, f) == 8 &&
            std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (size_t i = 0; ok && i < all.size(); ++i) {
    // Host copies (a device model's tensors are in device memory).
    ssm_tensor *host;
    if (ssm_status s = ssm_tensor_to_host(all[i].second, &host)) {
      std::fclose(f);
      std::remove(tmp.c_str());
      return s;
    }
    size_t bytes = ssm_tensor_num_elements(host) * sizeof(float);
    ok = std::fwrite(ssm_tensor_data(host), 1, bytes, f) == bytes;
    ssm_tensor_release(host);
  }
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path) != 0) {
    std::remove(tmp.c_str());
    return setError(SSM_ERROR_NOT_FOUND,
                    std::string("cannot write '") + path + "'");
  }
  return SSM_OK;
}

ssm_status ssm_trainer_load(ssm_trainer *t, const char *path) {
  if (!t || !path)
    return setError(SSM_ERROR_INVALID_ARGUMENT, "NULL argument");
  std::FILE *f = std::fopen(path, "rb");
  if (!f)
    return setError(SSM_ERROR_NOT_FOUND,
                    std::string("cannot open '") + path + "'");
  std::vector<char> data;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0)
    data.insert(data.end(), buf, buf + got);
  std::fclose(f);
  auto bad = [&](const std::string &why) {
    return setError(SSM_ERROR_INVALID_ARGUMENT,
                    std::string("'") + path +
                        "' is not a trainer checkpoint: " + why);
  };
  if (data.size() < 8)
    return bad("too short");
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i)
    size |= static_cast<uint64_t>(static_cast<unsigned char>(data[i]))
            << (8 * i);
  if (size > data.size() - 8)
    return bad("header size " + std::to_string(size));
  std::string text(data.data() + 8, size);
  ssm::json::Value header;
  std::string error;
  if (!ssm::json::parse(text.c_str(), header, error) ||
      header.kind != ssm::json::Value::Object)
    return bad("the header is not a JSON object (" + error + ")");
  const char *body = data.data() + 8 + size;
  uint64_t bodySize = data.size() - 8 - size;
  int64_t steps = 0;
  if (const ssm::json::Value *meta = header.get("__metadata__"))
    if (const ssm::json::Value *step = meta->get("step"))
      steps = step->isString() ? std::atoll(step->str.c_str()) : 0;
  // Read every tensor before replacing anything.
  std::vector<ssm_tensor *> fresh;
  auto fail = [&](ssm_status s) {
    releaseAll(fresh);
    return s;
  };
  auto read = [&](const std::string &name,
                  const ssm_tensor *like) -> ssm_status {
    const ssm::json::Value *e = header.get(name);
    if (!e)
      return bad("no tensor '" + name + "'");
    const ssm::json::Value *dtype = e->get("dtype");
    const ssm::json::Value *shape = e->get("shape");
    const ssm::json::Value *offsets = e->get("data_offsets");
    if (!dtype || !dtype->isString() || dtype->str != "F32")
      return bad("'" + name + "' is not F32");
    std::vector<int64_t> dims;
    if (shape && shape->isArray())
      for (const ssm::json::Value &d : shape->array)
        dims.push_back(static_cast<int64_t>(d.number));
    if (static_cast<int64_t>(dims.size()) != ssm_tensor_rank(like) ||
        !std::equal(dims.begin(), dims.end(), ssm_tensor_shape(like)))
      return bad("'" + name + "' has shape " +
                 shapeText(static_cast<int64_t>(dims.size()), dims.data()) +
                 ", expected " +
                 shapeText(ssm_tensor_rank(like), ssm_tensor_shape(like)));
    uint64_t bytes = ssm_tensor_num_elements(like) * sizeof(float);
    if (!offsets || !offsets->isArray() || offsets->array.size() != 2 ||
        offsets->array[0].number < 0 ||
        static_cast<uint64_t>(offsets->array[1].number) > bodySize ||
        static_cast<uint64_t>(offsets->array[1].number -
                              offsets->array[0].number) != bytes)
      return bad("'" + name + "' has bad data_offsets");
    ssm_tensor *host;
    if (ssm_status s = ssm_tensor_create(SSM_FLOAT32, ssm_tensor_rank(like),
                                         ssm_tensor_shape(like), &host))
      return s;
    std::memcpy(ssm_tensor_data(host),
                body + static_cast<uint64_t>(offsets->array[0].number), bytes);
    ssm_tensor *x;
    if (ssm_status s = place(t->model, host, &x))
      return s;
    fresh.push_back(x);
    return SSM_OK;
  };
  size_t p = t->params.size();
  for (size_t i = 0; i < p; ++i)
    if (ssm_status s = read(t->paramNames[i], t->params[i]))
      return fail(s);
  for (size_t i = 0; i < p; ++i)
    if (ssm_status s = read("adam_m." + t->paramNames[i], t->m[i]))
      return fail(s);
  for (size_t i = 0; i < p; ++i)
    if (ssm_status s = read("adam_v." + t->paramNames[i], t->v[i]))
      return fail(s);
  releaseAll(t->params);
  releaseAll(t->m);
  releaseAll(t->v);
  t->params.assign(fresh.begin(), fresh.begin() + p);
  t->m.assign(fresh.begin() + p, fresh.begin() + 2 * p);
  t->v.assign(fresh.begin() + 2 * p, fresh.end());
  t->steps = steps;
  return SSM_OK;
}

} // extern "C"
