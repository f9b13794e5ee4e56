// RUN: ssm-opt %s --ssm-derive-generation="prefill-logits=all" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: ssm-opt %s --ssm-derive-generation --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=LAST
// RUN: not ssm-opt %s --ssm-derive-generation="prefill-logits=first" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: ssm-derive-generation: prefill-logits must be 'last' or 'all', got 'first'

// A layer with every kind of state: positions, a causal conv, an SSD mixer
// and causal attention. prefill takes and returns, after the model's own
// input and output: the position, the conv state, the SSM state and the two
// KV caches; the caches grow by the new keys and values (concatenated along
// the sequence), which the attention reads; the position grows by seq.
// decode is the same over one token, its mixers marked ssm.single_token.
// main is kept as it was.

// CHECK-LABEL: func.func @main(%{{.*}}: tensor<?x?xi64>) -> tensor<?x?x2x4xf32>
// CHECK-NOT: initial_state
// CHECK: return

// CHECK-LABEL: func.func @prefill(
// The state arguments may be updated in place.
// CHECK-SAME: %[[IDS:[^:]*]]: tensor<?x?xi64>, %[[POS:[^:]*]]: tensor<1xi64> {bufferization.writable = true},
// CHECK-SAME: %[[CONV:[^:]*]]: tensor<?x8x3xf32> {bufferization.writable = true}, %[[SSM:[^:]*]]: tensor<?x2x4x6xf32> {bufferization.writable = true},
// CHECK-SAME: %[[KC:[^:]*]]: tensor<?x?x2x4xf32> {bufferization.writable = true}, %[[VC:[^:]*]]: tensor<?x?x2x4xf32> {bufferization.writable = true})
// CHECK-SAME: -> (tensor<?x?x2x4xf32>, tensor<1xi64>, tensor<?x8x3xf32>, tensor<?x2x4x6xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>)
// CHECK-SAME: ssm.signature = "{\22generation\22:\22prefill\22,
// CHECK-SAME: {\22dtype\22:\22float32\22,\22name\22:\22k_cache.0\22,\22shape\22:[null,\22past\22,2,4]}
// CHECK-SAME: {\22dtype\22:\22float32\22,\22name\22:\22k_cache.0\22,\22shape\22:[null,\22past + seq\22,2,4]}
// CHECK-SAME: \22state\22:5}"
// CHECK: ssm.token_positions %[[IDS]] offset(%[[POS]])
// CHECK: %[[Y:.*]], %[[CONVOUT:.*]] = ssm.causal_conv1d {{.*}} initial_state(%[[CONV]])
// CHECK: %{{.*}}, %[[SSMOUT:.*]] = ssm.ssd {{.*}} initial_state(%[[SSM]])
// CHECK: %[[K1:.*]] = tensor.insert_slice %[[KC]] into
// CHECK: %[[K2:.*]] = tensor.insert_slice %{{.*}} into %[[K1]]
// CHECK: %[[KALL:.*]] = tensor.cast %[[K2]] : tensor<?x?x2x4xf32> to tensor<?x?x2x4xf32>
// CHECK: %[[V1:.*]] = tensor.insert_slice %[[VC]] into
// CHECK: %[[V2:.*]] = tensor.insert_slice %{{.*}} into %[[V1]]
// CHECK: %[[VALL:.*]] = tensor.cast %[[V2]]
// CHECK: %[[ATT:.*]] = ssm.attention %{{.*}}, %[[KALL]], %[[VALL]] {causal}
// CHECK: %[[SEQ:.*]] = tensor.dim %[[IDS]], %c1
// CHECK: %[[P:.*]] = tensor.extract %[[POS]]
// CHECK: %[[SEQI:.*]] = arith.index_cast %[[SEQ]] : index to i64
// CHECK: %[[NEXT:.*]] = arith.addi %[[P]], %[[SEQI]]
// CHECK: %[[POSOUT:.*]] = tensor.from_elements %[[NEXT]] : tensor<1xi64>
// CHECK: return %[[ATT]], %[[POSOUT]], %[[CONVOUT]], %[[SSMOUT]], %[[KALL]], %[[VALL]]

// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[DIDS:[^:]*]]: tensor<?x1xi64>, %{{[^:]*}}: tensor<1xi64>
// CHECK-SAME: \22generation\22:\22decode\22
// CHECK-SAME: {\22dtype\22:\22int64\22,\22name\22:\22ids\22,\22shape\22:[null,1]}
// CHECK-SAME: \22shape\22:[null,\22past + 1\22,2,4]
// CHECK: %[[DYN:.*]] = tensor.cast %[[DIDS]] : tensor<?x1xi64> to tensor<?x?xi64>
// CHECK: ssm.token_positions %[[DYN]]
// CHECK: ssm.ssd {{.*}}ssm.single_token
// CHECK: tensor.dim %[[DYN]], %c1
func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?x2x4xf32>
    attributes {ssm.signature = "{\"name\":\"main\",\"inputs\":[{\"name\":\"ids\",\"dtype\":\"int64\",\"shape\":[null,\"seq\"]}],\"outputs\":[{\"name\":\"y\",\"dtype\":\"float32\",\"shape\":[null,\"seq\",2,4]}]}"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %pos = ssm.token_positions %ids : (tensor<?x?xi64>) -> tensor<?xi64>
  %e = tensor.empty(%b, %l) : tensor<?x?x8xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (j)>, affine_map<(i, j, k) -> (i, j, k)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%pos : tensor<?xi64>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%p: i64, %o: f32):
    %f = arith.sitofp %p : i64 to f32
    linalg.yield %f : f32
  } -> tensor<?x?x8xf32>
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %y, %s = ssm.causal_conv1d %x, %w {silu} : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x3xf32>)
  %x4 = tensor.expand_shape %y [[0], [1], [2, 3]] output_shape [%b, %l, 2, 4] : tensor<?x?x8xf32> into tensor<?x?x2x4xf32>
  %dt = arith.constant dense<0.1> : tensor<2xf32>
  %e2 = tensor.empty(%b, %l) : tensor<?x?x2xf32>
  %dtb = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (k)>, affine_map<(i, j, k) -> (i, j, k)>],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dt : tensor<2xf32>) outs(%e2 : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<?x?x2xf32>
  %A = arith.constant dense<-1.0> : tensor<2xf32>
  %B = tensor.expand_shape %y [[0], [1], [2, 3]] output_shape [%b, %l, 1, 8] : tensor<?x?x8xf32> into tensor<?x?x1x8xf32>
  %Bn = tensor.extract_slice %B[0, 0, 0, 0] [%b, %l, 1, 6] [1, 1, 1, 1] : tensor<?x?x1x8xf32> to tensor<?x?x1x6xf32>
  %z, %h = ssm.ssd %x4, %dtb, %A, %Bn, %Bn
      : (tensor<?x?x2x4xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x6xf32>, tensor<?x?x1x6xf32>)
      -> (tensor<?x?x2x4xf32>, tensor<?x2x4x6xf32>)
  %a = ssm.attention %z, %x4, %x4 {causal}
      : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
  return %a : tensor<?x?x2x4xf32>
}

// -----

// Marked ops that no longer reach the outputs (a recognized pattern's dead
// nodes) do not matter; the marks are removed.
// CHECK-LABEL: func.func @main
// CHECK-NOT: ssm.token_mixing
// CHECK-LABEL: func.func @prefill
// CHECK-LABEL: func.func @decode
func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?xi64> {
  %c1 = arith.constant 1 : index
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %dead = tensor.empty(%l, %l) {ssm.token_mixing = "node 'm' (Trilu) masks along the sequence axis"} : tensor<?x?xf32>
  return %ids : tensor<?x?xi64>
}

// -----

func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  // expected-error @+1 {{ssm-derive-generation: the model mixes tokens outside the ssm ops, so it cannot be run token by token: node 'c' (CumSum) scans along the sequence axis}}
  %m = tensor.empty(%b, %l) {ssm.token_mixing = "node 'c' (CumSum) scans along the sequence axis"} : tensor<?x?xf32>
  return %m : tensor<?x?xf32>
}

// -----

// expected-error @+1 {{prefill and decode need a model whose only input is the token ids (batch, seq); 'main' has 2 inputs}}
func.func @main(%ids: tensor<?x?xi64>, %mask: tensor<?x?xi64>) -> tensor<?x?xi64> {
  return %ids : tensor<?x?xi64>
}

// -----

// expected-error @+1 {{the input must be integer token ids (batch, seq) with a dynamic sequence length, got tensor<?x8xi64>}}
func.func @main(%ids: tensor<?x8xi64>) -> tensor<?x8xi64> {
  return %ids : tensor<?x8xi64>
}

// -----

// expected-error @+1 {{ssm-derive-generation: no function 'main' with a body}}
module {
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x?xi64> {
    return %ids : tensor<?x?xi64>
  }
}

// -----

// expected-error @+1 {{the module already has a symbol 'prefill'}}
module {
  func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?xi64> {
    return %ids : tensor<?x?xi64>
  }
  func.func @prefill(%ids: tensor<?x?xi64>) -> tensor<?x?xi64> {
    return %ids : tensor<?x?xi64>
  }
}

// -----

func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?x2x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %q = tensor.empty(%b, %l) : tensor<?x?x2x4xf32>
  %m = tensor.empty(%l, %l) : tensor<?x?xf32>
  %m4 = tensor.expand_shape %m [[0, 1, 2], [3]] output_shape [1, 1, %l, %l] : tensor<?x?xf32> into tensor<1x1x?x?xf32>
  // expected-error @+1 {{attention with an additive mask cannot be extended to a KV cache (only the causal flag can)}}
  %a = ssm.attention %q, %q, %q mask(%m4) {causal}
      : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<1x1x?x?xf32>) -> tensor<?x?x2x4xf32>
  return %a : tensor<?x?x2x4xf32>
}

// -----

func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?x2x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %q = tensor.empty(%b, %l) : tensor<?x?x2x4xf32>
  // expected-error @+1 {{attention that is not causal cannot be fed token by token}}
  %a = ssm.attention %q, %q, %q
      : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
  return %a : tensor<?x?x2x4xf32>
}

// -----

func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tensor.empty(%b, %l) : tensor<?x?x8xf32>
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %s0 = tensor.empty(%b) : tensor<?x8x3xf32>
  // expected-error @+1 {{the op already takes an initial state ('conv_state'); the model must not feed its own state}}
  %y, %s = ssm.causal_conv1d %x, %w initial_state(%s0) : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x8x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x3xf32>)
  return %y : tensor<?x?x8xf32>
}

// -----

// With prefill-logits=last (the default), prefill returns the last token's
// row of the per-token output (its dimension 1 is the token input's "seq"),
// and the per-token ops that only that output reads run for that row: the
// slice stops at the values that something else reads in full, here the
// mixer's output (the SSM state needs every token) and the residual input
// (which the mixer reads). The second output has no "seq" dimension and is
// returned whole. decode and main are unchanged.
// LAST-LABEL: func.func @main(%{{.*}}: tensor<?x?xi64>) -> (tensor<?x?x3xf32>, tensor<?x8xf32>)
// LAST-NOT: tensor<?x1x
// LAST: return
// LAST-LABEL: func.func @prefill(
// LAST-SAME: %[[IDS:[^:]*]]: tensor<?x?xi64>
// LAST-SAME: -> (tensor<?x1x3xf32>, tensor<?x8xf32>, tensor<1xi64>, tensor<?x8x3xf32>)
// LAST-SAME: \22outputs\22:[{\22dtype\22:\22float32\22,\22name\22:\22logits\22,\22shape\22:[\22batch\22,1,3]}
// LAST: %[[SEQ:.*]] = tensor.dim %[[IDS]], %c1
// LAST: %[[Y:.*]], %{{.*}} = ssm.causal_conv1d %[[X:[^,]*]],
// LAST: %[[LAST:.*]] = arith.subi %[[SEQ]], %c1
// LAST-DAG: %[[XS:.*]] = tensor.extract_slice %[[X]][0, %[[LAST]], 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x1x8xf32>
// LAST-DAG: %[[YS:.*]] = tensor.extract_slice %[[Y]][0, %[[LAST]], 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x1x8xf32>
// LAST: %[[R:.*]] = linalg.generic {{.*}} ins(%[[XS]], %[[YS]] : tensor<?x1x8xf32>, tensor<?x1x8xf32>)
// LAST: %[[G:.*]] = linalg.generic {{.*}} ins(%[[R]] : tensor<?x1x8xf32>)
// LAST: %[[F:.*]] = linalg.fill {{.*}} -> tensor<?x1x3xf32>
// LAST: %[[H:.*]] = linalg.generic {{.*}} ins(%[[G]], %{{.*}} : tensor<?x1x8xf32>, tensor<8x3xf32>) outs(%[[F]] : tensor<?x1x3xf32>)
// LAST-NOT: tensor.extract_slice
// LAST: return %[[H]], %{{.*}} : tensor<?x1x3xf32>, tensor<?x8xf32>
// LAST-LABEL: func.func @decode(
// LAST-SAME: -> (tensor<?x?x3xf32>, tensor<?x8xf32>, tensor<1xi64>, tensor<?x8x3xf32>)
// LAST-NOT: tensor.extract_slice
// LAST: return
// With prefill-logits=all, prefill returns every row.
// CHECK-LABEL: func.func @main(%{{.*}}: tensor<?x?xi64>) -> (tensor<?x?x3xf32>, tensor<?x8xf32>)
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: -> (tensor<?x?x3xf32>, tensor<?x8xf32>, tensor<1xi64>, tensor<?x8x3xf32>)
// CHECK-SAME: \22shape\22:[\22batch\22,\22seq\22,3]
// CHECK-NOT: tensor.extract_slice
// CHECK: return
#id = affine_map<(b, l, c) -> (b, l, c)>
func.func @main(%ids: tensor<?x?xi64>) -> (tensor<?x?x3xf32>, tensor<?x8xf32>)
    attributes {ssm.signature = "{\"name\":\"main\",\"inputs\":[{\"name\":\"ids\",\"dtype\":\"int64\",\"shape\":[\"batch\",\"seq\"]}],\"outputs\":[{\"name\":\"logits\",\"dtype\":\"float32\",\"shape\":[\"batch\",\"seq\",3]},{\"name\":\"pooled\",\"dtype\":\"float32\",\"shape\":[\"batch\",8]}]}"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %l) : tensor<?x?x8xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(b, l, c) -> (b, l)>, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids : tensor<?x?xi64>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%t: i64, %o: f32):
    %f = arith.sitofp %t : i64 to f32
    linalg.yield %f : f32
  } -> tensor<?x?x8xf32>
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %y, %s = ssm.causal_conv1d %x, %w {silu} : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x3xf32>)
  // The residual add, a gate, the head: per token, read by the logits only.
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %y : tensor<?x?x8xf32>, tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %v = arith.addf %p, %q : f32
    linalg.yield %v : f32
  } -> tensor<?x?x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %v = arith.mulf %p, %p : f32
    linalg.yield %v : f32
  } -> tensor<?x?x8xf32>
  %head = arith.constant dense<0.25> : tensor<8x3xf32>
  %e3 = tensor.empty(%b, %l) : tensor<?x?x3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e3 : tensor<?x?x3xf32>) -> tensor<?x?x3xf32>
  %logits = linalg.generic {indexing_maps = [affine_map<(b, l, n, k) -> (b, l, k)>, affine_map<(b, l, n, k) -> (k, n)>, affine_map<(b, l, n, k) -> (b, l, n)>],
                            iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %head : tensor<?x?x8xf32>, tensor<8x3xf32>) outs(%acc : tensor<?x?x3xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %v = arith.addf %o, %m : f32
    linalg.yield %v : f32
  } -> tensor<?x?x3xf32>
  // A per-sequence output (a sum over the tokens) is not sliced.
  %e8 = tensor.empty(%b) : tensor<?x8xf32>
  %acc8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<?x8xf32>) -> tensor<?x8xf32>
  %pooled = linalg.generic {indexing_maps = [#id, affine_map<(b, l, c) -> (b, c)>],
                            iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%y : tensor<?x?x8xf32>) outs(%acc8 : tensor<?x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %v = arith.addf %o, %p : f32
    linalg.yield %v : f32
  } -> tensor<?x8xf32>
  return %logits, %pooled : tensor<?x?x3xf32>, tensor<?x8xf32>
}
