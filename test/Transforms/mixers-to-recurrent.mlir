// RUN: ssm-opt %s --ssm-mixers-to-recurrent --split-input-file --verify-diagnostics | FileCheck %s

// SSD: one loop over the tokens, carrying the f32 state and the output.
// CHECK-LABEL: func.func @ssd
// CHECK-NOT: ssm.ssd
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[T:.*]] = %c0{{.*}} to %dim{{.*}} step %c1{{.*}} iter_args(%[[H:.*]] = %{{.*}}, %[[Y:.*]] = %{{.*}}) -> (tensor<?x2x3x4xf32>, tensor<?x?x2x3xf32>)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[T]], 0, 0]
// CHECK: tensor.insert_slice %{{.*}} into %[[Y]][0, %[[T]], 0, 0]
// CHECK: scf.yield
// CHECK: return %[[LOOP]]#1, %[[LOOP]]#0
func.func @ssd(%x: tensor<?x?x2x3xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
               %B: tensor<?x?x1x4xf32>, %C: tensor<?x?x1x4xf32>, %h0: tensor<?x2x3x4xf32>)
    -> (tensor<?x?x2x3xf32>, tensor<?x2x3x4xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C initial_state(%h0)
      : (tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>, tensor<?x2x3x4xf32>)
      -> (tensor<?x?x2x3xf32>, tensor<?x2x3x4xf32>)
  return %y, %h : tensor<?x?x2x3xf32>, tensor<?x2x3x4xf32>
}

// -----

// Attention: the KV caches grow by one token per step.
// CHECK-LABEL: func.func @attention
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x3x2x4xf32>)
// CHECK: tensor.insert_slice {{.*}} : tensor<1x1x1x4xf32> into tensor<1x?x1x4xf32>
func.func @attention(%q: tensor<1x3x2x4xf32>, %k: tensor<1x3x1x4xf32>, %v: tensor<1x3x1x4xf32>)
    -> tensor<1x3x2x4xf32> {
  %y = ssm.attention %q, %k, %v {causal}
      : (tensor<1x3x2x4xf32>, tensor<1x3x1x4xf32>, tensor<1x3x1x4xf32>) -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}

// -----

// Mamba-3 carries four states: SSM state, angle, last k, last x.
// CHECK-LABEL: func.func @mamba3
// CHECK: scf.for {{.*}} -> (tensor<1x2x2x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x2xf32>, tensor<1x3x2x2xf32>)
func.func @mamba3(%x: tensor<1x3x2x2xf32>, %dt: tensor<1x3x2xf32>, %A: tensor<1x3x2xf32>,
                  %lam: tensor<1x3x2xf32>, %th: tensor<1x3x2x1xf32>,
                  %B: tensor<1x3x2x1x4xf32>, %C: tensor<1x3x2x1x4xf32>)
    -> tensor<1x3x2x2xf32> {
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %th, %B, %C
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>,
         tensor<1x3x2x1xf32>, tensor<1x3x2x1x4xf32>, tensor<1x3x2x1x4xf32>)
      -> (tensor<1x3x2x2xf32>, tensor<1x2x2x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x2xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @noncausal(%q: tensor<1x3x2x4xf32>, %k: tensor<1x3x1x4xf32>, %v: tensor<1x3x1x4xf32>)
    -> tensor<1x3x2x4xf32> {
  // expected-error @+1 {{'ssm.attention' op has no recurrent form: it is not causal}}
  %y = ssm.attention %q, %k, %v
      : (tensor<1x3x2x4xf32>, tensor<1x3x1x4xf32>, tensor<1x3x1x4xf32>) -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}

// -----

func.func @masked(%q: tensor<1x3x2x4xf32>, %k: tensor<1x3x1x4xf32>, %v: tensor<1x3x1x4xf32>,
                  %m: tensor<1x1x3x3xf32>) -> tensor<1x3x2x4xf32> {
  // expected-error @+1 {{'ssm.attention' op has no recurrent form with an additive mask operand}}
  %y = ssm.attention %q, %k, %v mask(%m) {causal}
      : (tensor<1x3x2x4xf32>, tensor<1x3x1x4xf32>, tensor<1x3x1x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}

// -----

func.func @fewer_keys(%q: tensor<1x4x2x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> tensor<1x4x2x4xf32> {
  // expected-error @+1 {{'ssm.attention' op has no recurrent form with fewer keys (2) than queries (4)}}
  %y = ssm.attention %q, %k, %v {causal}
      : (tensor<1x4x2x4xf32>, tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x4x2x4xf32>
  return %y : tensor<1x4x2x4xf32>
}

// -----

// Linear attention carries its (b, hkv, dk, dv) state.
// CHECK-LABEL: func.func @linear_attention
// CHECK-NOT: ssm.linear_attention
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} -> (tensor<?x2x5x3xf32>, tensor<?x?x4x3xf32>)
// CHECK: math.exp
// CHECK: scf.yield
// CHECK: return %[[LOOP]]#1, %[[LOOP]]#0
func.func @linear_attention(%q: tensor<?x?x4x5xf32>, %k: tensor<?x?x2x5xf32>,
    %v: tensor<?x?x2x3xf32>, %g: tensor<?x?x2x5xf32>, %beta: tensor<?x?x2xf32>)
    -> (tensor<?x?x4x3xf32>, tensor<?x2x5x3xf32>) {
  %y, %s = ssm.linear_attention %q, %k, %v decay(%g) beta(%beta)
      {update_rule = #ssm.linear_attention_rule<gated_delta>}
      : (tensor<?x?x4x5xf32>, tensor<?x?x2x5xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x5xf32>, tensor<?x?x2xf32>)
      -> (tensor<?x?x4x3xf32>, tensor<?x2x5x3xf32>)
  return %y, %s : tensor<?x?x4x3xf32>, tensor<?x2x5x3xf32>
}
