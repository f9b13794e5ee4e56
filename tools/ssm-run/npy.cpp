//===- npy.cpp - NumPy .npy files for ssm-run -----------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "npy.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace {
struct File {
  FILE *f;
  ~File() {
    if (f)
      fclose(f);
  }
};

struct Descr {
  const char *name;
  ssm_dtype dtype;
};
// Little-endian descriptors (and byte types, which have no byte order).
const Descr kDescrs[] = {
    {"<f4", SSM_FLOAT32}, {"<f8", SSM_FLOAT64}, {"<f2", SSM_FLOAT16},
    {"<i8", SSM_INT64},   {"<i4", SSM_INT32},   {"<i2", SSM_INT16},
    {"|i1", SSM_INT8},    {"|u1", SSM_UINT8},   {"|b1", SSM_BOOL},
};

/// The value of `key` in the header dict, as raw text up to the next
/// top-level comma or closing brace.
bool field(const std::string &header, const std::string &key,
           std::string &value) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos)
    return false;
  size_t colon = header.find(':', k);
  if (colon == std::string::npos)
    return false;
  size_t i = colon + 1;
  int depth = 0;
  size_t start = i;
  for (; i < header.size(); ++i) {
    char c = header[i];
    if (c == '(')
      ++depth;
    else if (c == ')')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      break;
  }
  value = header.substr(start, i - start);
  // trim
  size_t a = value.find_first_not_of(" '\"");
  size_t b = value.find_last_not_of(" '\"");
  value = a == std::string::npos ? "" : value.substr(a, b - a + 1);
  return true;
}
} // namespace

bool ssm::npy::read(const std::string &path, ssm_tensor **tensor,
                    std::string &error) {
  File file{fopen(path.c_str(), "rb")};
  if (!file.f) {
    error = "cannot open '" + path + "'";
    return false;
  }
  unsigned char magic[8];
  if (fread(magic, 1, 8, file.f) != 8 || std::memcmp(magic, "\x93NUMPY", 6)) {
    error = "'" + path + "' is not a .npy file";
    return false;
  }
  uint32_t headerLen = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    if (fread(b, 1, 2, file.f) != 2)
      return error = "'" + path + "' is truncated", false;
    headerLen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    if (fread(b, 1, 4, file.f) != 4)
      return error = "'" + path + "' is truncated", false;
    headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  if (headerLen > (1u << 20))
    return error = "'" + path + "' has an oversized header", false;
  std::string header(headerLen, '\0');
  if (fread(&header[0], 1, headerLen, file.f) != headerLen)
    return error = "'" + path + "' is truncated", false;
  std::string descr, order, shapeText;
  if (!field(header, "descr", descr) ||
      !field(header, "fortran_order", order) ||
      !field(header, "shape", shapeText))
    return error = "'" + path + "' has a malformed header", false;
  if (order != "False")
    return error = "'" + path + "' is in Fortran order; save it C-ordered",
           false;
  if (descr == "<u1" || descr == "<i1")
    descr[0] = '|';
  if (descr == "<b1")
    descr = "|b1";
  const Descr *match = nullptr;
  for (const Descr &d : kDescrs)
    if (descr == d.name)
      match = &d;
  if (!match)
    return error = "'" + path + "' has unsupported dtype '" + descr + "'",
           false;
  std::vector<int64_t> shape;
  const char *p = shapeText.c_str();
  while (*p) {
    if (*p >= '0' && *p <= '9') {
      char *end;
      shape.push_back(std::strtoll(p, &end, 10));
      p = end;
    } else {
      ++p;
    }
  }
  ssm_tensor *t = nullptr;
  if (ssm_tensor_create(match->dtype, shape.size(), shape.data(), &t) != SSM_OK)
    return error = ssm_last_error(), false;
  size_t bytes = ssm_tensor_num_elements(t) * ssm_dtype_size(match->dtype);
  if (fread(ssm_tensor_data(t), 1, bytes, file.f) != bytes) {
    ssm_tensor_release(t);
    return error = "'" + path + "' holds less data than its shape says", false;
  }
  *tensor = t;
  return true;
}

bool ssm::npy::write(const std::string &path, ssm_tensor *tensor,
                     std::string &error) {
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == ssm_tensor_dtype(tensor))
      descr = d.name;
  if (!descr)
    return error = std::string("cannot write dtype ") +
                   ssm_dtype_name(ssm_tensor_dtype(tensor)) + " to .npy",
           false;
  std::string shape = "(";
  for (int64_t i = 0; i < ssm_tensor_rank(tensor); ++i)
    shape += std::to_string(ssm_tensor_shape(tensor)[i]) + ",";
  if (ssm_tensor_rank(tensor) > 1)
    shape.pop_back();
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  File file{fopen(path.c_str(), "wb")};
  if (!file.f)
    return error = "cannot write '" + path + "'", false;
  unsigned char pre[10] = {0x93,
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           static_cast<unsigned char>(header.size() & 0xff),
                           static_cast<unsigned char>(header.size() >> 8)};
  size_t bytes = ssm_tensor_num_elements(tensor) *
                 ssm_dtype_size(ssm_tensor_dtype(tensor));
  if (fwrite(pre, 1, 10, file.f) != 10 ||
      fwrite(header.data(), 1, header.size(), file.f) != header.size() ||
      fwrite(ssm_tensor_data(tensor), 1, bytes, file.f) != bytes)
    return error = "cannot write '" + path + "'", false;
  return true;
}
