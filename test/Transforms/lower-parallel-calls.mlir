// RUN: ssm-opt %s --split-input-file --ssm-lower-parallel-calls --verify-diagnostics | FileCheck %s

// The call f(first, last, cost, p, x) becomes a record {first, p, x} (24
// bytes) on the caller's stack (a slot allocated once, in the entry block,
// though the call is in a later block) and __ssm_parallel_for(f_task, record, last - first,
// cost). f_task(ctx, begin, end) reads the record and runs
// f(first + begin, first + end, 0, p, x).
// CHECK: llvm.func internal @body(%{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: f32)
// CHECK-NOT: ssm.parallel_body
// CHECK: llvm.func internal @body_task(%[[CTX:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK: %[[A0:.*]] = llvm.getelementptr %[[CTX]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i64, ptr, f32)>
// CHECK: %[[FIRST:.*]] = llvm.load %[[A0]] : !llvm.ptr -> i64
// CHECK: %[[A1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: %[[P:.*]] = llvm.load %[[A1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[A2:.*]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK: %[[X:.*]] = llvm.load %[[A2]] : !llvm.ptr -> f32
// CHECK: %[[ZERO:.*]] = llvm.mlir.constant(0 : i64)
// CHECK: %[[LO:.*]] = llvm.add %[[FIRST]], %[[BEGIN]]
// CHECK: %[[HI:.*]] = llvm.add %[[FIRST]], %[[END]]
// CHECK: llvm.call @body(%[[LO]], %[[HI]], %[[ZERO]], %[[P]], %[[X]])
// CHECK: llvm.func @caller(%[[CP:.*]]: !llvm.ptr, %[[CX:.*]]: f32, %[[N:.*]]: i64)
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1 : i64)
// CHECK: %[[REC:.*]] = llvm.alloca %[[ONE]] x !llvm.array<3 x i64> {alignment = 16 : i64}
// CHECK: ^bb1:
// CHECK: %[[F0:.*]] = llvm.getelementptr %[[REC]][0, 0]
// CHECK: llvm.store %[[C3:.*]], %[[F0]]
// CHECK: %[[F1:.*]] = llvm.getelementptr %[[REC]][0, 1]
// CHECK: llvm.store %[[CP]], %[[F1]]
// CHECK: %[[F2:.*]] = llvm.getelementptr %[[REC]][0, 2]
// CHECK: llvm.store %[[CX]], %[[F2]]
// CHECK: %[[COUNT:.*]] = llvm.sub %[[N]], %[[C3]]
// CHECK: %[[TASK:.*]] = llvm.mlir.addressof @body_task
// CHECK: llvm.call @__ssm_parallel_for(%[[TASK]], %[[REC]], %[[COUNT]], %[[N]])
// CHECK-NOT: llvm.call @body(
// CHECK: llvm.func @__ssm_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64)
llvm.func internal @body(%begin: i64, %end: i64, %cost: i64, %p: !llvm.ptr,
                         %x: f32) attributes {ssm.parallel_body} {
  llvm.return
}
llvm.func @caller(%p: !llvm.ptr, %x: f32, %n: i64) {
  %c3 = llvm.mlir.constant(3 : i64) : i64
  llvm.br ^bb1
^bb1:
  llvm.call @body(%c3, %n, %n, %p, %x) : (i64, i64, i64, !llvm.ptr, f32) -> ()
  llvm.return
}

// -----

// One slot per caller, as large as the largest record it passes: the record
// of @small is {first, ptr} (16 bytes), that of @large {first, ptr, i64,
// i64, f64} (40 bytes). Both calls store into the same slot. A caller that
// calls nothing gets no slot.
// CHECK-LABEL: llvm.func @two_calls
// CHECK-COUNT-1: llvm.alloca
// CHECK-SAME: !llvm.array<5 x i64>
// CHECK-NOT: llvm.alloca
// CHECK: llvm.call @__ssm_parallel_for({{.*}}, %[[SLOT:.*]], %{{.*}}, %{{.*}})
// CHECK: llvm.call @__ssm_parallel_for({{.*}}, %[[SLOT]], %{{.*}}, %{{.*}})
// CHECK-LABEL: llvm.func @no_calls
// CHECK-NOT: llvm.alloca
// CHECK: llvm.return
llvm.func internal @small(%begin: i64, %end: i64, %cost: i64, %p: !llvm.ptr)
    attributes {ssm.parallel_body} {
  llvm.return
}
llvm.func internal @large(%begin: i64, %end: i64, %cost: i64, %p: !llvm.ptr,
                          %a: i64, %b: i64, %x: f64)
    attributes {ssm.parallel_body} {
  llvm.return
}
llvm.func @two_calls(%p: !llvm.ptr, %n: i64, %x: f64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  llvm.call @small(%c0, %n, %n, %p) : (i64, i64, i64, !llvm.ptr) -> ()
  llvm.call @large(%c0, %n, %n, %p, %n, %n, %x)
      : (i64, i64, i64, !llvm.ptr, i64, i64, f64) -> ()
  llvm.return
}
llvm.func @no_calls() {
  llvm.return
}

// -----

// expected-error @+1 {{ssm.parallel_body function must take (i64 begin, i64 end, i64 cost, ...)}}
llvm.func internal @bad(%begin: i64, %end: i32) attributes {ssm.parallel_body} {
  llvm.return
}
