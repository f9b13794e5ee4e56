// The ssmc driver: phases, emit kinds, and its error paths.
// RUN: ssmc %s --compile-to=import | FileCheck %s --check-prefix=IMPORT
// RUN: ssmc %s --compile-to=algorithm | FileCheck %s --check-prefix=ALGO
// RUN: ssmc %s --compile-to=algorithm --mixer-form=recurrent | FileCheck %s --check-prefix=REC
// RUN: ssmc %s --compile-to=bufferize | FileCheck %s --check-prefix=BUF
// RUN: ssmc %s --compile-to=target | FileCheck %s --check-prefix=TGT
// RUN: ssmc %s --emit=llvm -O0 | FileCheck %s --check-prefix=LLVM
// RUN: ssmc %s -o %t.o && llvm-nm %t.o | FileCheck %s --check-prefix=OBJ
// RUN: ssmc %s -o %t.so -O3 && llvm-nm -D --defined-only %t.so | FileCheck %s --check-prefix=SO
// RUN: ssmc %s -o %t.timed.so --mlir-timing 2>&1 | FileCheck %s --check-prefix=TIMING
// RUN: not ssmc %s --target=tpu 2>&1 | FileCheck %s --check-prefix=ERR-TARGET
// RUN: not ssmc %s -O4 2>&1 | FileCheck %s --check-prefix=ERR-OPT
// RUN: not ssmc %s --compile-to=bufferize --emit=so -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=ERR-PHASE
// RUN: not ls %t.bad.so
// RUN: not ssmc %s --emit=so 2>&1 | FileCheck %s --check-prefix=ERR-STDOUT
// RUN: not ssmc %t.missing.mlir -o %t.x.so 2>&1 | FileCheck %s --check-prefix=ERR-MISSING
// RUN: not ssmc model.onnx -o %t.x.so 2>&1 | FileCheck %s --check-prefix=ERR-ONNX
// RUN: not ls %t.x.so

// TIMING: Execution time report
// TIMING: import
// TIMING-NEXT: passes
// TIMING: SSMMergeParallelBodies
// TIMING: SSMLowerParallelCalls
// TIMING: translate and optimize (LLVM)
// TIMING-NEXT: object code (LLVM)
// TIMING-NEXT: link

// IMPORT: func.func @mix{{.*}} attributes {llvm.emit_c_interface}
// IMPORT: ssm.ssd
// ALGO-NOT: ssm.
// ALGO: linalg.generic
// REC: scf.for
// BUF-NOT: tensor.empty
// BUF: memref.alloc
// TGT-NOT: memref.alloc
// TGT: llvm.func @_mlir_ciface_mix
// TGT: llvm.mlir.global internal constant @__ssm_entry_signature_0("{\22name\22:\22mix\22,\22inputs\22:[{\22name\22:\22arg0\22,\22dtype\22:\22float32\22,\22shape\22:[null,null,2,2]}
// TGT: llvm.func @ssmlib_entry_mix(%{{.*}}: !llvm.ptr)
// TGT: llvm.call @_mlir_ciface_mix
// TGT: llvm.func @ssmlib_abi_version() -> i64
// LLVM: define void @_mlir_ciface_mix(ptr
// The object file and the library carry the model support code
// (ModelSupport.c): buffer memory and the thread pool.
// OBJ-DAG: T _mlir_ciface_mix
// OBJ-DAG: T __ssm_parallel_for
// OBJ-DAG: T _mlir_memref_to_llvm_alloc
// SO-DAG: T __ssm_parallel_for
// SO-DAG: T _mlir_memref_to_llvm_alloc
// SO-DAG: T _mlir_memref_to_llvm_free
// SO-DAG: T ssmlib_set_num_threads
// SO-DAG: T ssmlib_num_threads
// SO-DAG: T ssmlib_release_memory
// SO-DAG: T _mlir_ciface_mix
// SO-DAG: T mix
// SO-DAG: T ssmlib_abi_version
// SO-DAG: T ssmlib_entry_mix
// SO-DAG: T ssmlib_signature
// SO-DAG: T ssmlib_free
// ERR-TARGET: ssmc: error: target 'tpu' is not available; the targets are cpu, cuda and vulkan
// ERR-OPT: ssmc: error: -O4 is out of range (0..3)
// ERR-PHASE: ssmc: error: --emit=llvm|obj|so needs --compile-to=serialize; earlier phases write MLIR
// ERR-STDOUT: ssmc: error: binary output needs a file: give -o
// ERR-MISSING: ssmc: error: cannot open input file
// ERR-ONNX: ssmc: error: model.onnx: cannot read 'model.onnx'
func.func @mix(%x: tensor<?x?x2x2xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
               %B: tensor<?x?x1x3xf32>, %C: tensor<?x?x1x3xf32>) -> tensor<?x?x2x2xf32> {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus}
      : (tensor<?x?x2x2xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x3xf32>, tensor<?x?x1x3xf32>)
      -> (tensor<?x?x2x2xf32>, tensor<?x2x2x3xf32>)
  return %y : tensor<?x?x2x2xf32>
}
