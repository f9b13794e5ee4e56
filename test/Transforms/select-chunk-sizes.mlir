// RUN: ssm-opt %s --ssm-select-chunk-sizes --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-select-chunk-sizes=chunk-size=8 --split-input-file | FileCheck %s --check-prefix=OVERRIDE
// RUN: not ssm-opt %s --ssm-select-chunk-sizes=chunk-size=-2 --split-input-file 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// The cost model: p = 64, n = 128 gives 2 p n / (p + n) = 85.3, the nearest
// power of two is 64.
// CHECK-LABEL: func.func @ssd_model
// CHECK: ssm.ssd {{.*}} {dt_softplus, ssm.chunk_size = 64 : i64}
// OVERRIDE-LABEL: func.func @ssd_model
// OVERRIDE: ssm.chunk_size = 8 : i64
// NEGATIVE: chunk-size must be at least 1 (or 0 for the cost model), got -2
func.func @ssd_model(%x: tensor<?x?x4x64xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<4xf32>,
                     %B: tensor<?x?x1x128xf32>, %C: tensor<?x?x1x128xf32>)
    -> tensor<?x?x4x64xf32> {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus}
      : (tensor<?x?x4x64xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>)
      -> (tensor<?x?x4x64xf32>, tensor<?x4x64x128xf32>)
  return %y : tensor<?x?x4x64xf32>
}

// -----

// Small states clamp at 16; a static sequence shorter than the chunk bounds
// it; a size already on the op is kept (unless overridden).
// CHECK-LABEL: func.func @small
// CHECK: ssm.discrete_ssd {{.*}} {ssm.chunk_size = 16 : i64}
// CHECK: ssm.discrete_ssd {{.*}} {ssm.chunk_size = 5 : i64}
// CHECK: ssm.discrete_ssd {{.*}} {ssm.chunk_size = 3 : i64}
// Attention: key tiles of 16384 / (d + dv) keys, at least 16, bounded by
// the 5 static keys.
// CHECK: ssm.attention {{.*}} {causal, ssm.chunk_size = 5 : i64}
// CHECK: return
// OVERRIDE-LABEL: func.func @small
// OVERRIDE-COUNT-4: ssm.chunk_size = 8 : i64
func.func @small(%x: tensor<2x?x4x8xf32>, %a: tensor<2x?x4xf32>, %B: tensor<2x?x4x16xf32>,
                 %x5: tensor<2x5x4x8xf32>, %a5: tensor<2x5x4xf32>, %B5: tensor<2x5x4x16xf32>,
                 %q: tensor<2x5x4x8xf32>)
    -> (tensor<2x?x4x8xf32>, tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>) {
  %y0, %h0 = ssm.discrete_ssd %x, %a, %B, %B : (tensor<2x?x4x8xf32>, tensor<2x?x4xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>) -> (tensor<2x?x4x8xf32>, tensor<2x4x8x16xf32>)
  %y1, %h1 = ssm.discrete_ssd %x5, %a5, %B5, %B5 : (tensor<2x5x4x8xf32>, tensor<2x5x4xf32>, tensor<2x5x4x16xf32>, tensor<2x5x4x16xf32>) -> (tensor<2x5x4x8xf32>, tensor<2x4x8x16xf32>)
  %y2, %h2 = ssm.discrete_ssd %x5, %a5, %B5, %B5 {ssm.chunk_size = 3 : i64} : (tensor<2x5x4x8xf32>, tensor<2x5x4xf32>, tensor<2x5x4x16xf32>, tensor<2x5x4x16xf32>) -> (tensor<2x5x4x8xf32>, tensor<2x4x8x16xf32>)
  %y3 = ssm.attention %q, %q, %q {causal} : (tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>) -> tensor<2x5x4x8xf32>
  return %y0, %y1, %y2, %y3 : tensor<2x?x4x8xf32>, tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>
}

// -----

// A mixer of a decode function (ssm.single_token) gets no chunk size, even
// with the override.
// CHECK-LABEL: func.func @single_token
// CHECK-NOT: ssm.chunk_size
// CHECK: return
// OVERRIDE-LABEL: func.func @single_token
// OVERRIDE-NOT: ssm.chunk_size
// OVERRIDE: return
func.func @single_token(%x: tensor<2x1x4x8xf32>, %a: tensor<2x1x4xf32>, %B: tensor<2x1x4x16xf32>)
    -> tensor<2x1x4x8xf32> {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %B {ssm.single_token} : (tensor<2x1x4x8xf32>, tensor<2x1x4xf32>, tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>) -> (tensor<2x1x4x8xf32>, tensor<2x4x8x16xf32>)
  return %y : tensor<2x1x4x8xf32>
}

// -----

// Attention key tiles: d = dv = 64 gives 16384 / 128 = 128 keys; d = dv =
// 256 gives 32, d = dv = 1024 clamps at 16. Mamba-3 (p = 64, n = 128) uses
// the state balance, 64.
// CHECK-LABEL: func.func @tiles
// CHECK: ssm.attention {{.*}} {causal, ssm.chunk_size = 128 : i64}
// CHECK: ssm.attention {{.*}} {causal, ssm.chunk_size = 32 : i64}
// CHECK: ssm.attention {{.*}} {causal, ssm.chunk_size = 16 : i64}
// CHECK: ssm.mamba3 {{.*}}ssm.chunk_size = 64 : i64
func.func @tiles(%q: tensor<1x?x2x64xf32>, %q2: tensor<1x?x2x256xf32>, %q3: tensor<1x?x1x1024xf32>,
                 %x: tensor<1x?x2x64xf32>, %s: tensor<1x?x2xf32>, %th: tensor<1x?x2x4xf32>,
                 %B: tensor<1x?x1x1x128xf32>)
    -> (tensor<1x?x2x64xf32>, tensor<1x?x2x256xf32>, tensor<1x?x1x1024xf32>, tensor<1x?x2x64xf32>) {
  %a = ssm.attention %q, %q, %q {causal} : (tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>) -> tensor<1x?x2x64xf32>
  %b = ssm.attention %q2, %q2, %q2 {causal} : (tensor<1x?x2x256xf32>, tensor<1x?x2x256xf32>, tensor<1x?x2x256xf32>) -> tensor<1x?x2x256xf32>
  %c = ssm.attention %q3, %q3, %q3 {causal} : (tensor<1x?x1x1024xf32>, tensor<1x?x1x1024xf32>, tensor<1x?x1x1024xf32>) -> tensor<1x?x1x1024xf32>
  %y, %h, %an, %k, %xl = ssm.mamba3 %x, %s, %s, %s, %th, %B, %B
      : (tensor<1x?x2x64xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2x4xf32>,
         tensor<1x?x1x1x128xf32>, tensor<1x?x1x1x128xf32>)
      -> (tensor<1x?x2x64xf32>, tensor<1x2x64x128xf32>, tensor<1x2x4xf32>, tensor<1x1x2x128xf32>, tensor<1x2x64xf32>)
  return %a, %b, %c, %y : tensor<1x?x2x64xf32>, tensor<1x?x2x256xf32>, tensor<1x?x1x1024xf32>, tensor<1x?x2x64xf32>
}
