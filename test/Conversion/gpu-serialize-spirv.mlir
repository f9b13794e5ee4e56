// RUN: ssm-opt %s --split-input-file --pass-pipeline='builtin.module(ssm-gpu-vulkan-kernel-abi,spirv-attach-target{ver=v1.3 client_api=Vulkan caps=Shader exts=SPV_KHR_storage_buffer_storage_class},convert-gpu-to-spirv,spirv.module(spirv-lower-abi-attrs,spirv-update-vce),ssm-gpu-serialize-spirv)' | FileCheck %s
// RUN: ssm-opt %s --split-input-file --pass-pipeline='builtin.module(ssm-gpu-vulkan-kernel-abi,spirv-attach-target{ver=v1.3 client_api=Vulkan caps=Shader exts=SPV_KHR_storage_buffer_storage_class},convert-gpu-to-spirv,spirv.module(spirv-lower-abi-attrs,spirv-update-vce))' | ssm-opt --split-input-file --ssm-gpu-serialize-spirv | FileCheck %s
// RUN: not ssm-opt %s --split-input-file --pass-pipeline='builtin.module(ssm-gpu-vulkan-kernel-abi,spirv-attach-target{ver=v1.3 client_api=Vulkan caps=Shader exts=SPV_KHR_storage_buffer_storage_class},convert-gpu-to-spirv,spirv.module(spirv-lower-abi-attrs,spirv-update-vce),ssm-gpu-serialize-spirv{validator=/bin/false})' 2>&1 | FileCheck %s --check-prefix=REJECT
// RUN: not ssm-opt %s --split-input-file --pass-pipeline='builtin.module(ssm-gpu-vulkan-kernel-abi,spirv-attach-target{ver=v1.3 client_api=Vulkan caps=Shader exts=SPV_KHR_storage_buffer_storage_class},convert-gpu-to-spirv,spirv.module(spirv-lower-abi-attrs,spirv-update-vce),ssm-gpu-serialize-spirv{validator=/nonexistent/spirv-val})' 2>&1 | FileCheck %s --check-prefix=MISSING

// The gpu.module and its SPIR-V module become one gpu.binary for the
// module's target holding the container of one SPIR-V binary per kernel:
// 'SSMV', 1 kernel, its name at byte 32 (' ', 1 byte), its code at byte 36
// ('$', its length in words), the bindings it writes (binding 0: mask 1, two
// words), the name "k", then the SPIR-V (magic number 0x07230203,
// little-endian); the launch is unchanged.
// CHECK-NOT: spirv.module
// CHECK-NOT: gpu.module
// CHECK: gpu.launch_func @k::@k
// CHECK: gpu.binary @k [#gpu.object<#spirv.target_env<#spirv.vce<v1.3, [Shader], [SPV_KHR_storage_buffer_storage_class]>, api=Vulkan, #spirv.resource_limits<>>, bin = "SSMV\01\00\00\00 \00\00\00\01\00\00\00$\00\00\00{{.*}}\01\00\00\00\00\00\00\00k\00\00\00\03\02#\07
// CHECK-NOT: spirv.module
// CHECK-NOT: gpu.module

// A validator that rejects the module: the error names the module.
// REJECT: error: kernels of @k: spirv-val rejects the kernels
// A validator that cannot run.
// MISSING: error: kernels of @k: cannot run '/nonexistent/spirv-val'
module attributes {gpu.container_module} {
  func.func @launch(%a: memref<?xf32>, %n: index) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    return
  }
  gpu.module @k {
    gpu.func @k(%a: memref<?xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %b = gpu.block_id x
      %t = gpu.thread_id x
      %c64 = arith.constant 64 : index
      %i0 = arith.muli %b, %c64 : index
      %i = arith.addi %i0, %t : index
      %v = memref.load %a[%i] : memref<?xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%i] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// Two kernels: sorted by name in the container, each with a binary of its
// own (two SPIR-V magic numbers).
// CHECK-LABEL: gpu.binary @two
// CHECK-SAME: bin = "SSMV\02\00\00\00{{.*}}a\00\00\00b\00\00\00\03\02#\07{{.*}}\03\02#\07
module attributes {gpu.container_module} {
  func.func @launch(%a: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @two::@b blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    gpu.launch_func @two::@a blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    return
  }
  gpu.module @two {
    gpu.func @b(%a: memref<?xf32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %c0 = arith.constant 0 : index
      %v = memref.load %a[%c0] : memref<?xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%c0] : memref<?xf32>
      gpu.return
    }
    gpu.func @a(%a: memref<?xf32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %c0 = arith.constant 0 : index
      %v = memref.load %a[%c0] : memref<?xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %a[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// A kernel that reads binding 0 and writes binding 1 (the pack, binding 2,
// is only read): its written mask is 2.
// CHECK-LABEL: gpu.binary @rw
// CHECK-SAME: bin = "SSMV\01\00\00\00 \00\00\00\02\00\00\00${{.*}}\02\00\00\00\00\00\00\00rw\00\00\03\02#\07
module attributes {gpu.container_module} {
  func.func @launch(%a: memref<?xf32>, %b: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @rw::@rw blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>, %b : memref<?xf32>)
    return
  }
  gpu.module @rw {
    gpu.func @rw(%a: memref<?xf32>, %b: memref<?xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<?xf32>
      memref.store %v, %b[%t] : memref<?xf32>
      gpu.return
    }
  }
}
