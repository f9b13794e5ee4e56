//===- npy.h - NumPy .npy files for ssm-run ---------------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TOOLS_SSM_RUN_NPY_H
#define SSM_TOOLS_SSM_RUN_NPY_H

#include "ssm/runtime.h"

#include <string>

namespace ssm::npy {

/// Reads a C-order .npy file into a new tensor. Returns false and sets `error`
/// on failure.
bool read(const std::string &path, ssm_tensor **tensor, std::string &error);

/// Writes `tensor` as a version-1 .npy file.
bool write(const std::string &path, ssm_tensor *tensor, std::string &error);

} // namespace ssm::npy

#endif // SSM_TOOLS_SSM_RUN_NPY_H
