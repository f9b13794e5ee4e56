// RUN: ssm-opt %s --test-ssm-mixing-matrix --split-input-file --verify-diagnostics | FileCheck %s

// The function now returns the (b, h, L*r, L*r) matrix of the MIMO mixer.
// CHECK-LABEL: func.func @mimo
// CHECK-SAME: -> tensor<1x2x6x6xf32>
// CHECK-NOT: ssm.mamba3
// CHECK: %[[M:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3], [4, 5]] : tensor<1x2x3x2x3x2xf32> into tensor<1x2x6x6xf32>
// CHECK: return %[[M]] : tensor<1x2x6x6xf32>
func.func @mimo(%x: tensor<1x3x2x2xf32>, %dt: tensor<1x3x2xf32>, %th: tensor<1x3x2x1xf32>,
                %B: tensor<1x3x2x1x4xf32>) -> tensor<1x3x2x2xf32> {
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %dt, %dt, %th, %B, %B
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>,
         tensor<1x3x2x1xf32>, tensor<1x3x2x1x4xf32>, tensor<1x3x2x1x4xf32>)
      -> (tensor<1x3x2x2xf32>, tensor<1x2x2x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x2xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

// Attention with a KV prefix: (b, hq, l, s).
// CHECK-LABEL: func.func @attention
// CHECK-SAME: -> tensor<?x4x?x?xf32>
func.func @attention(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x8xf32>, %v: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> {
  %y = ssm.attention %q, %k, %v {causal}
      : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32>
  return %y : tensor<?x?x4x8xf32>
}

// -----

func.func @nested(%q: tensor<1x3x2x4xf32>, %k: tensor<1x3x1x4xf32>) {
  scf.execute_region {
    // expected-error @+1 {{'ssm.attention' op must be in the function body for -test-ssm-mixing-matrix}}
    %y = ssm.attention %q, %k, %k {causal}
        : (tensor<1x3x2x4xf32>, tensor<1x3x1x4xf32>, tensor<1x3x1x4xf32>) -> tensor<1x3x2x4xf32>
    scf.yield
  }
  return
}
