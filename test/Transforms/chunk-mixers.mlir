// RUN: ssm-opt %s --ssm-chunk-mixers --split-input-file --verify-diagnostics | FileCheck %s

// SSD with chunks of 4: the sequence is zero-padded to a multiple of 4 and
// viewed as (b, chunks, 4, ...); the intra-chunk matrix is (b, h, c, 4, 4)
// (never seq x seq); one loop over the chunks carries the state, kept as
// (b, h, n, p) inside, and records the state entering each chunk; the
// output is collapsed back and sliced to the sequence length, the final
// state transposed back to (b, h, p, n).
// CHECK-LABEL: func.func @ssd
// CHECK-NOT: ssm.ssd
// CHECK: tensor.expand_shape {{.*}} into tensor<2x?x4x2x3xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x?x4x4xf32>)
// CHECK-NOT: tensor<2x2x?x?xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (tensor<2x2x5x3xf32>, tensor<2x?x2x5x3xf32>)
// CHECK: tensor.insert_slice {{.*}} : tensor<2x2x5x3xf32> into tensor<2x?x2x5x3xf32>
// CHECK: scf.yield
// CHECK: %[[FINAL:.*]] = linalg.generic {{.*}} ins(%[[LOOP]]#0 : tensor<2x2x5x3xf32>) outs(%{{.*}} : tensor<2x2x3x5xf32>)
// CHECK: tensor.collapse_shape {{.*}} into tensor<2x?x2x3xf32>
// CHECK: tensor.extract_slice {{.*}}[0, 0, 0, 0] [2, %{{.*}}, 2, 3]
// CHECK: return %{{.*}}, %[[FINAL]]
func.func @ssd(%x: tensor<2x?x2x3xf32>, %dt: tensor<2x?x2xf32>, %A: tensor<2xf32>,
               %B: tensor<2x?x1x5xf32>, %C: tensor<2x?x1x5xf32>)
    -> (tensor<2x?x2x3xf32>, tensor<2x2x3x5xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus, ssm.chunk_size = 4 : i64}
      : (tensor<2x?x2x3xf32>, tensor<2x?x2xf32>, tensor<2xf32>, tensor<2x?x1x5xf32>, tensor<2x?x1x5xf32>)
      -> (tensor<2x?x2x3xf32>, tensor<2x2x3x5xf32>)
  return %y, %h : tensor<2x?x2x3xf32>, tensor<2x2x3x5xf32>
}

// -----

// Without the attribute the mixer is left for the next lowering.
// CHECK-LABEL: func.func @unmarked
// CHECK: ssm.discrete_ssd
func.func @unmarked(%x: tensor<1x3x2x2xf32>, %a: tensor<1x3x2xf32>, %B: tensor<1x3x2x4xf32>)
    -> tensor<1x3x2x2xf32> {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %B
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>)
      -> (tensor<1x3x2x2xf32>, tensor<1x2x2x4xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @bad_size(%x: tensor<1x3x2x2xf32>, %a: tensor<1x3x2xf32>, %B: tensor<1x3x2x4xf32>)
    -> tensor<1x3x2x2xf32> {
  // expected-error @+1 {{'ssm.discrete_ssd' op 'ssm.chunk_size' must be an integer of at least 1}}
  %y, %h = ssm.discrete_ssd %x, %a, %B, %B {ssm.chunk_size = 0 : i64}
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>)
      -> (tensor<1x3x2x2xf32>, tensor<1x2x2x4xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @no_chunked_form(%q: tensor<1x3x2x4xf32>) -> tensor<1x3x2x4xf32> {
  // expected-error @+1 {{'ssm.attention' op has 'ssm.chunk_size' but no chunked form}}
  %y = ssm.attention %q, %q, %q {causal, ssm.chunk_size = 2 : i64}
      : (tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>) -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}
