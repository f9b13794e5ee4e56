// REQUIRES: spirv-val
// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-gpu-vulkan-kernel-abi,spirv-attach-target{ver=v1.3 client_api=Vulkan caps=Shader,Int64 exts=SPV_KHR_storage_buffer_storage_class},gpu.module(convert-math-to-spirv),convert-gpu-to-spirv,spirv.module(spirv-lower-abi-attrs,spirv-update-vce),ssm-gpu-serialize-spirv{validator=%spirv_val})' | FileCheck %s

// SPIRV-Tools' spirv-val accepts a kernel with every argument kind of the
// Vulkan ABI (buffers of f32 and i64, a strided view, scalars), workgroup
// memory, a barrier, a loop and math.
// CHECK: gpu.binary @k [#gpu.object<#spirv.target_env<{{.*}}>, bin = "SSMV\01\00\00\00{{.*}}k\00\00\00\03\02#\07
module attributes {gpu.container_module} {
  func.func @launch(%a: memref<?x?xf32>, %b: memref<8x?xf32, strided<[?, 1], offset: ?>>, %ids: memref<?xi64>, %n: index, %s: f32) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?x?xf32>, %b : memref<8x?xf32, strided<[?, 1], offset: ?>>, %ids : memref<?xi64>, %n : index, %s : f32)
    return
  }
  gpu.module @k {
    gpu.func @k(%a: memref<?x?xf32>, %b: memref<8x?xf32, strided<[?, 1], offset: ?>>, %ids: memref<?xi64>, %n: index, %s: f32) workgroup(%tile : memref<64xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %id = memref.load %ids[%t] : memref<?xi64>
      %row = arith.index_cast %id : i64 to index
      %d1 = memref.dim %b, %c1 : memref<8x?xf32, strided<[?, 1], offset: ?>>
      %zero = arith.constant 0.0 : f32
      %sum = scf.for %j = %c0 to %d1 step %c1 iter_args(%acc = %zero) -> (f32) {
        %v = memref.load %b[%row, %j] : memref<8x?xf32, strided<[?, 1], offset: ?>>
        %e = math.sqrt %v : f32
        %next = arith.addf %acc, %e : f32
        scf.yield %next : f32
      }
      memref.store %sum, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %w = memref.load %tile[%c0] : memref<64xf32, #gpu.address_space<workgroup>>
      %r = arith.mulf %w, %s : f32
      memref.store %r, %a[%t, %n] : memref<?x?xf32>
      gpu.return
    }
  }
}
