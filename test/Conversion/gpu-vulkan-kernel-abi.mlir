// RUN: ssm-opt %s --split-input-file --verify-diagnostics --ssm-gpu-vulkan-kernel-abi | FileCheck %s

// A kernel with a dynamic identity memref, a strided view with a dynamic
// offset, an index and an f32 argument. The pack holds its length, then, in
// argument order: %a's stride 0 and sizes 0 and 1, %b's offset, stride 0 and
// size 1, %n and the bits of %s.
// CHECK-LABEL: func.func @launch(
// CHECK-SAME: %[[A:.*]]: memref<?x?xf32>, %[[B:.*]]: memref<4x?xf32, strided<[?, 1], offset: ?>>, %[[N:.*]]: index, %[[S:.*]]: f32)
// CHECK: %[[PACK:.*]] = memref.alloca() : memref<9xi32>
// CHECK: %[[ABASE:.*]], %[[AOFF:.*]], %[[ASIZES:.*]]:2, %[[ASTRIDES:.*]]:2 = memref.extract_strided_metadata %[[A]]
// CHECK: %[[AFLAT:.*]] = memref.reinterpret_cast %[[ABASE]] to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<f32> to memref<?xf32>
// CHECK: %[[AS0:.*]] = arith.index_cast %[[ASTRIDES]]#0 : index to i32
// CHECK: %[[AD0:.*]] = arith.index_cast %[[ASIZES]]#0 : index to i32
// CHECK: %[[AD1:.*]] = arith.index_cast %[[ASIZES]]#1 : index to i32
// CHECK: %[[BBASE:.*]], %[[BOFF:.*]], %[[BSIZES:.*]]:2, %[[BSTRIDES:.*]]:2 = memref.extract_strided_metadata %[[B]]
// CHECK: %[[BFLAT:.*]] = memref.reinterpret_cast %[[BBASE]] to offset: [0]
// CHECK: %[[BO:.*]] = arith.index_cast %[[BOFF]] : index to i32
// CHECK: %[[BS0:.*]] = arith.index_cast %[[BSTRIDES]]#0 : index to i32
// CHECK: %[[BD1:.*]] = arith.index_cast %[[BSIZES]]#1 : index to i32
// CHECK: %[[NI:.*]] = arith.index_cast %[[N]] : index to i32
// CHECK: %[[SI:.*]] = arith.bitcast %[[S]] : f32 to i32
// CHECK: %[[LEN:.*]] = arith.constant 9 : i32
// CHECK: memref.store %[[LEN]], %[[PACK]][%{{.*}}]
// CHECK: memref.store %[[AS0]], %[[PACK]][%[[C1:.*]]]
// CHECK: memref.store %[[AD0]], %[[PACK]]
// CHECK: memref.store %[[AD1]], %[[PACK]]
// CHECK: memref.store %[[BO]], %[[PACK]]
// CHECK: memref.store %[[BS0]], %[[PACK]]
// CHECK: memref.store %[[BD1]], %[[PACK]]
// CHECK: memref.store %[[NI]], %[[PACK]]
// CHECK: memref.store %[[SI]], %[[PACK]]
// CHECK: %[[DYN:.*]] = memref.cast %[[PACK]] : memref<9xi32> to memref<?xi32>
// CHECK: gpu.launch_func @k::@k {{.*}} args(%[[AFLAT]] : memref<?xf32>, %[[BFLAT]] : memref<?xf32>, %[[DYN]] : memref<?xi32>)

// CHECK-LABEL: gpu.func @k(
// CHECK-SAME: %[[FA:.*]]: memref<?xf32>, %[[FB:.*]]: memref<?xf32>, %[[FP:.*]]: memref<?xi32>)
// CHECK-SAME: spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [64, 1, 1]>
// The launch's grid size in x, which the runtime appends after the 8 slots;
// blocks past it (a wide grid folded into z) do nothing.
// CHECK: %[[C9:.*]] = arith.constant 9 : index
// CHECK: %[[GW:.*]] = memref.load %[[FP]][%[[C9]]] : memref<?xi32>
// CHECK: %[[GX:.*]] = arith.index_cast %[[GW]] : i32 to index
// CHECK: %[[BX:.*]] = gpu.block_id x
// CHECK: %[[BZ:.*]] = gpu.block_id z
// CHECK: %[[NX:.*]] = gpu.grid_dim x
// CHECK: %[[ZX:.*]] = arith.muli %[[BZ]], %[[NX]] : index
// CHECK: %[[B:.*]] = arith.addi %[[BX]], %[[ZX]] : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[B]], %[[GX]] : index
// CHECK: scf.if %[[IN]] {
// CHECK-DAG: %[[W1:.*]] = memref.load %[[FP]][%c1]
// CHECK-DAG: %[[W2:.*]] = memref.load %[[FP]][%c2]
// CHECK-DAG: %[[W4:.*]] = memref.load %[[FP]][%c4]
// CHECK-DAG: %[[W5:.*]] = memref.load %[[FP]][%c5]
// CHECK-DAG: %[[W7:.*]] = memref.load %[[FP]][%c7]
// CHECK-DAG: %[[W8:.*]] = memref.load %[[FP]][%c8]
// CHECK-DAG: %[[KS:.*]] = arith.bitcast %[[W8]] : i32 to f32
// CHECK-DAG: %[[KN:.*]] = arith.index_cast %[[W7]] : i32 to index
// CHECK-DAG: %[[KAS0:.*]] = arith.index_cast %[[W1]] : i32 to index
// CHECK-DAG: %[[KAD0:.*]] = arith.index_cast %[[W2]] : i32 to index
// CHECK-DAG: %[[KBO:.*]] = arith.index_cast %[[W4]] : i32 to index
// CHECK-DAG: %[[KBS0:.*]] = arith.index_cast %[[W5]] : i32 to index
// CHECK: %[[T:.*]] = gpu.thread_id x
// b[t, n] at offset + t * stride0 + n
// CHECK: %[[M1:.*]] = arith.muli %[[T]], %[[KBS0]] : index
// CHECK: %[[L1:.*]] = arith.addi %[[KBO]], %[[M1]] : index
// CHECK: %[[L2:.*]] = arith.addi %[[L1]], %[[KN]] : index
// CHECK: %[[V:.*]] = memref.load %[[FB]][%[[L2]]] : memref<?xf32>
// CHECK: %[[W:.*]] = arith.mulf %[[V]], %[[KS]] : f32
// a[dim 0, t] at dim0 * stride0 + t
// CHECK: %[[M2:.*]] = arith.muli %[[KAD0]], %[[KAS0]] : index
// CHECK: %[[L3:.*]] = arith.addi %[[M2]], %[[T]] : index
// CHECK: memref.store %[[W]], %[[FA]][%[[L3]]] : memref<?xf32>
module attributes {gpu.container_module} {
  func.func @launch(%a: memref<?x?xf32>, %b: memref<4x?xf32, strided<[?, 1], offset: ?>>, %n: index, %s: f32) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?x?xf32>, %b : memref<4x?xf32, strided<[?, 1], offset: ?>>, %n : index, %s : f32)
    return
  }
  gpu.module @k {
    gpu.func @k(%a: memref<?x?xf32>, %b: memref<4x?xf32, strided<[?, 1], offset: ?>>, %n: index, %s: f32) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %d = memref.dim %a, %c0 : memref<?x?xf32>
      %v = memref.load %b[%t, %n] : memref<4x?xf32, strided<[?, 1], offset: ?>>
      %w = arith.mulf %v, %s : f32
      memref.store %w, %a[%d, %t] : memref<?x?xf32>
      gpu.return
    }
  }
}

// -----

// gpu.subgroup_reduce loses its uniform flag (convert-gpu-to-spirv takes
// only the general form).
// CHECK-LABEL: gpu.func @sg(
// CHECK: gpu.subgroup_reduce {{ *}}add %{{.*}} : (f32) -> f32
// CHECK-NOT: uniform
// CHECK: gpu.return
module attributes {gpu.container_module} {
  func.func @sg_launch(%x: memref<64xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @sg::@sg blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<64xf32>)
    return
  }
  gpu.module @sg {
    gpu.func @sg(%x: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<64xf32>
      %r = gpu.subgroup_reduce add %v uniform : (f32) -> f32
      memref.store %r, %x[%t] : memref<64xf32>
      gpu.return
    }
  }
}

// -----

// Static shapes and strides fold into constants; no pack slots but the
// length. Workgroup attributions become Workgroup allocations; an i64 buffer
// stays i64; a narrow integer scalar is widened on the host and truncated in
// the kernel.
// CHECK-LABEL: func.func @static_launch(
// CHECK: %[[PACK:.*]] = memref.alloca() : memref<2xi32>
// CHECK: %[[F:.*]] = arith.extui %{{.*}} : i8 to i32
// CHECK: gpu.launch_func @s::@s {{.*}} args(%{{.*}} : memref<?xi64>, %{{.*}} : memref<?xi32>)
// CHECK-LABEL: gpu.func @s(
// CHECK-SAME: %[[X:.*]]: memref<?xi64>, %[[P:.*]]: memref<?xi32>)
// CHECK-NOT: workgroup(
// CHECK: %[[TILE:.*]] = memref.alloc() : memref<4x5xf32, #spirv.storage_class<Workgroup>>
// CHECK: scf.if
// CHECK: %[[FLAG:.*]] = arith.trunci %{{.*}} : i32 to i8
// x[2, 0] at 3 + 2 * 5 + 0
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[C5:.*]] = arith.constant 5 : index
// CHECK: %[[R:.*]] = arith.muli %[[C2]], %[[C5]] : index
// CHECK: %[[O:.*]] = arith.addi %[[C3]], %[[R]] : index
// CHECK: %[[I:.*]] = arith.addi %[[O]], %[[C0]] : index
// CHECK: memref.load %[[X]][%[[I]]] : memref<?xi64>
// CHECK: memref.store %{{.*}}, %[[TILE]][%{{.*}}, %{{.*}}] : memref<4x5xf32, #spirv.storage_class<Workgroup>>
module attributes {gpu.container_module} {
  func.func @static_launch(%x: memref<3x5xi64, strided<[5, 1], offset: 3>>, %f: i8) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @s::@s blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<3x5xi64, strided<[5, 1], offset: 3>>, %f : i8)
    return
  }
  gpu.module @s {
    gpu.func @s(%x: memref<3x5xi64, strided<[5, 1], offset: 3>>, %f: i8) workgroup(%tile : memref<4x5xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %v = memref.load %x[%c2, %c0] : memref<3x5xi64, strided<[5, 1], offset: 3>>
      %g = arith.extui %f : i8 to i64
      %s = arith.addi %v, %g : i64
      %r = arith.sitofp %s : i64 to f32
      memref.store %r, %tile[%c0, %c0] : memref<4x5xf32, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}

// -----

// i64 and f64 scalars take two words each, low first; the module's SPIR-V
// target becomes its spirv.target_env attribute as well.
// CHECK-LABEL: func.func @wide(
// CHECK-SAME: %{{.*}}: memref<1xf64>, %[[I:[^:]*]]: i64, %[[F:[^:]*]]: f64)
// CHECK: %[[PACK:.*]] = memref.alloca() : memref<5xi32>
// CHECK: %[[ILO:.*]] = arith.trunci %[[I]] : i64 to i32
// CHECK: %[[ISH:.*]] = arith.shrui %[[I]], %{{.*}} : i64
// CHECK: %[[IHI:.*]] = arith.trunci %[[ISH]] : i64 to i32
// CHECK: %[[FB:.*]] = arith.bitcast %[[F]] : f64 to i64
// CHECK: %[[FLO:.*]] = arith.trunci %[[FB]] : i64 to i32
// CHECK: memref.store %[[ILO]], %[[PACK]]
// CHECK-NEXT: arith.constant 2
// CHECK-NEXT: memref.store %[[IHI]], %[[PACK]]
// CHECK: gpu.module @w [#spirv.target_env<{{.*}}>] attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader, Int64, Float64], []>, #spirv.resource_limits<>>}
// CHECK: gpu.func @w(%[[B:.*]]: memref<?xf64>, %[[P:.*]]: memref<?xi32>)
// CHECK-DAG: %[[W1:.*]] = memref.load %[[P]][%c1]
// CHECK-DAG: %[[W2:.*]] = memref.load %[[P]][%c2]
// CHECK-DAG: %[[W3:.*]] = memref.load %[[P]][%c3]
// CHECK-DAG: %[[W4:.*]] = memref.load %[[P]][%c4]
// CHECK: %[[L:.*]] = arith.extui %[[W1]] : i32 to i64
// CHECK-NEXT: %[[H:.*]] = arith.extui %[[W2]] : i32 to i64
// CHECK: %[[HS:.*]] = arith.shli %[[H]], %{{.*}} : i64
// CHECK: %[[IV:.*]] = arith.ori %[[L]], %[[HS]] : i64
// CHECK: %[[FL:.*]] = arith.extui %[[W3]] : i32 to i64
// CHECK-NEXT: %[[FH:.*]] = arith.extui %[[W4]] : i32 to i64
// CHECK: %[[FHS:.*]] = arith.shli %[[FH]], %{{.*}} : i64
// CHECK: %[[FBITS:.*]] = arith.ori %[[FL]], %[[FHS]] : i64
// CHECK: %[[FV:.*]] = arith.bitcast %[[FBITS]] : i64 to f64
// CHECK: %[[IF:.*]] = arith.sitofp %[[IV]] : i64 to f64
// CHECK: %[[SUM:.*]] = arith.addf %[[IF]], %[[FV]] : f64
// CHECK: memref.store %[[SUM]], %[[B]]
module attributes {gpu.container_module} {
  func.func @wide(%b: memref<1xf64>, %i: i64, %f: f64) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @w::@w blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<1xf64>, %i : i64, %f : f64)
    return
  }
  gpu.module @w [#spirv.target_env<#spirv.vce<v1.3, [Shader, Int64, Float64], []>, #spirv.resource_limits<>>] {
    gpu.func @w(%b: memref<1xf64>, %i: i64, %f: f64) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %c0 = arith.constant 0 : index
      %x = arith.sitofp %i : i64 to f64
      %s = arith.addf %x, %f : f64
      memref.store %s, %b[%c0] : memref<1xf64>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @+1 {{a Vulkan kernel needs a static block size (known_block_size)}}
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @+1 {{argument 0: the Vulkan target has no buffers of 'i1'}}
    gpu.func @k(%a: memref<?xi1>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @+1 {{argument 0 of type 'complex<f32>' cannot be passed to a Vulkan kernel (integers, index, f64, f32, f16 and bf16 can)}}
    gpu.func @k(%a: complex<f32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%a: memref<?xf32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %c0 = arith.constant 0 : index
      // expected-error @+1 {{a Vulkan kernel can only load, store and read the sizes of its memref arguments, not 'memref.subview'}}
      %v = memref.subview %a[%c0] [2] [1] : memref<?xf32> to memref<2xf32, strided<[1], offset: ?>>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @+1 {{argument 0 is a memref outside global memory}}
    gpu.func @k(%a: memref<4xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      gpu.return
    }
  }
}

// -----

// A launch of a kernel already compiled (gpu.binary).
module attributes {gpu.container_module} {
  gpu.binary @compiled [#gpu.object<#nvvm.target, "">]
  func.func @f(%a: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{launches a kernel that is not in a gpu.module of this module}}
    gpu.launch_func @compiled::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @+1 {{a Vulkan kernel cannot use the z dimension of its grid (the target folds wide x grids into it)}}
    gpu.func @k(%a: memref<?xf32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %z = gpu.block_id z
      %v = arith.index_cast %z : index to i32
      %f = arith.sitofp %v : i32 to f32
      memref.store %f, %a[%z] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// A kernel that reads its grid size in x gets the launch's (the word after
// its one slot, %a's size), not the folded one.
// CHECK-LABEL: gpu.func @g(
// CHECK: %[[W:.*]] = memref.load %{{.*}}[%c2] : memref<?xi32>
// CHECK: %[[GX:.*]] = arith.index_cast %[[W]] : i32 to index
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[GX]]]
module attributes {gpu.container_module} {
  gpu.module @g {
    gpu.func @g(%a: memref<?xf32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %n = gpu.grid_dim x
      %c = arith.constant 1.0 : f32
      memref.store %c, %a[%n] : memref<?xf32>
      gpu.return
    }
  }
}
