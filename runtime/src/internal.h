//===- internal.h - Shared by the runtime's translation units ---*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_INTERNAL_H
#define SSM_RUNTIME_INTERNAL_H

#include "ssm/runtime.h"

#include <string>

namespace ssm::rt {
/// Records `message` as the thread's last error (ssm_last_error) and returns
/// `status`.
ssm_status setError(ssm_status status, std::string message);
} // namespace ssm::rt

#endif // SSM_RUNTIME_INTERNAL_H
