// RUN: ssm-opt %s --ssm-materialize-mixers --split-input-file | FileCheck %s

// The SSD mixer becomes the materialized matrix M[b,h,i,j] (built from the
// C.B contraction over the state dim, the cumulative log decay and a causal
// select), applied to x by a contraction over j.
// CHECK-LABEL: func.func @ssd
// CHECK-NOT: ssm.ssd
// C . B over the state dimension n (reduction), indexed by group h / 2:
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// causal mask j <= i:
// CHECK: arith.cmpi ule
// CHECK: arith.select
// y = M x, a reduction over j:
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK: return %{{.*}}, %{{.*}} : tensor<2x5x4x3xf32>, tensor<2x4x3x6xf32>
func.func @ssd(%x: tensor<2x5x4x3xf32>, %dt: tensor<2x5x4xf32>, %A: tensor<4xf32>,
               %B: tensor<2x5x2x6xf32>, %C: tensor<2x5x2x6xf32>)
    -> (tensor<2x5x4x3xf32>, tensor<2x4x3x6xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus}
      : (tensor<2x5x4x3xf32>, tensor<2x5x4xf32>, tensor<4xf32>, tensor<2x5x2x6xf32>, tensor<2x5x2x6xf32>)
      -> (tensor<2x5x4x3xf32>, tensor<2x4x3x6xf32>)
  return %y, %h : tensor<2x5x4x3xf32>, tensor<2x4x3x6xf32>
}

// -----

// Groups map heads to B/C groups with a floordiv in the indexing map.
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1 floordiv 2, d4)>
// CHECK-LABEL: func.func @discrete_groups
// CHECK-NOT: ssm.discrete_ssd
// -softplus(A_log): log1p(exp(u)) with the threshold select
// CHECK: math.log1p
// CHECK: linalg.generic {indexing_maps = [#[[GROUP]]
func.func @discrete_groups(%x: tensor<1x3x4x2xf32>, %a: tensor<1x3x4xf32>,
                           %B: tensor<1x3x2x5xf32>, %C: tensor<1x3x2x5xf32>)
    -> tensor<1x3x4x2xf32> {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %C
      : (tensor<1x3x4x2xf32>, tensor<1x3x4xf32>, tensor<1x3x2x5xf32>, tensor<1x3x2x5xf32>)
      -> (tensor<1x3x4x2xf32>, tensor<1x4x2x5xf32>)
  return %y : tensor<1x3x4x2xf32>
}

// -----

// Attention: scores, -inf masking, row max, exp/sum and the P v contraction;
// bf16 inputs are extended to f32 and the result truncated back.
// CHECK-LABEL: func.func @attention_bf16
// CHECK-NOT: ssm.attention
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK: math.tanh
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: return {{.*}} : tensor<?x?x4x8xbf16>
func.func @attention_bf16(%q: tensor<?x?x4x8xbf16>, %k: tensor<?x?x2x8xbf16>,
                          %v: tensor<?x?x2x8xbf16>) -> tensor<?x?x4x8xbf16> {
  %y = ssm.attention %q, %k, %v {causal, softcap = 30.0 : f32}
      : (tensor<?x?x4x8xbf16>, tensor<?x?x2x8xbf16>, tensor<?x?x2x8xbf16>) -> tensor<?x?x4x8xbf16>
  return %y : tensor<?x?x4x8xbf16>
}

// -----

// Mamba-3: rotation reads the partner feature and the angle with
// tensor.extract, and uses cos/sin; the final k and x are the last token.
// CHECK-LABEL: func.func @mamba3
// CHECK-NOT: ssm.mamba3
// CHECK: math.cos
// CHECK: math.sin
// CHECK: tensor.extract_slice
// CHECK: return
func.func @mamba3(%x: tensor<1x4x2x2xf32>, %dt: tensor<1x4x2xf32>, %A: tensor<1x4x2xf32>,
                  %lam: tensor<1x4x2xf32>, %th: tensor<1x4x2x1xf32>,
                  %B: tensor<1x4x1x1x4xf32>, %C: tensor<1x4x1x1x4xf32>)
    -> tensor<1x4x2x2xf32> {
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %th, %B, %C
      : (tensor<1x4x2x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>,
         tensor<1x4x2x1xf32>, tensor<1x4x1x1x4xf32>, tensor<1x4x1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x2x4xf32>, tensor<1x2x1xf32>, tensor<1x1x2x4xf32>, tensor<1x2x2xf32>)
  return %y : tensor<1x4x2x2xf32>
}

// -----

// Gated delta rule: the decayed key-key scores (strictly lower triangular),
// the forward substitution of the written values (a loop over tokens), the
// decayed query-key scores applied to them, and the final state.
// CHECK-LABEL: func.func @linear_attention_gated_delta
// CHECK-NOT: ssm.linear_attention
// CHECK: arith.cmpi ult
// CHECK: scf.for {{.*}} -> (tensor<1x4x2x3xf32>)
// CHECK: scf.yield
// CHECK: arith.cmpi ule
// CHECK: return %{{.*}}, %{{.*}} : tensor<1x4x2x3xf32>, tensor<1x2x5x3xf32>
func.func @linear_attention_gated_delta(%q: tensor<1x4x2x5xf32>, %k: tensor<1x4x2x5xf32>,
    %v: tensor<1x4x2x3xf32>, %g: tensor<1x4x2xf32>, %beta: tensor<1x4x2xf32>)
    -> (tensor<1x4x2x3xf32>, tensor<1x2x5x3xf32>) {
  %y, %s = ssm.linear_attention %q, %k, %v decay(%g) beta(%beta)
      {update_rule = #ssm.linear_attention_rule<gated_delta>}
      : (tensor<1x4x2x5xf32>, tensor<1x4x2x5xf32>, tensor<1x4x2x3xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>)
      -> (tensor<1x4x2x3xf32>, tensor<1x2x5x3xf32>)
  return %y, %s : tensor<1x4x2x3xf32>, tensor<1x2x5x3xf32>
}

// -----

// Linear rule with GQA: no substitution loop; query head h reads kv head
// h / 2.
// CHECK-DAG: #[[KV:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1 floordiv 2, d4)>
// CHECK-LABEL: func.func @linear_attention_gqa
// CHECK-NOT: scf.for
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[KV]]
func.func @linear_attention_gqa(%q: tensor<1x4x4x5xf32>, %k: tensor<1x4x2x5xf32>,
    %v: tensor<1x4x2x3xf32>) -> tensor<1x4x4x3xf32> {
  %y, %s = ssm.linear_attention %q, %k, %v
      {update_rule = #ssm.linear_attention_rule<linear>}
      : (tensor<1x4x4x5xf32>, tensor<1x4x2x5xf32>, tensor<1x4x2x3xf32>)
      -> (tensor<1x4x4x3xf32>, tensor<1x2x5x3xf32>)
  return %y : tensor<1x4x4x3xf32>
}
