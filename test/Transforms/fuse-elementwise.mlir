// RUN: ssm-opt %s --convert-ssm-to-linalg --ssm-fuse-elementwise --cse --split-input-file | FileCheck %s

// The dt prologue of Mamba-2 as the ONNX importer writes it (dt + dt_bias,
// softplus, the dt_limit clamp) and the log-decay min(dt A, 0) the chunked
// SSD accumulates: one op, from dt to the log-decay, with no (b, l, h)
// value written between the steps.
// CHECK-LABEL: func.func @dt_prologue
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg0, %arg1, %arg2 :
// CHECK: arith.addf
// CHECK: math.log1p
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.mulf
// CHECK: arith.minimumf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return
#blh = affine_map<(b, l, h) -> (b, l, h)>
#h = affine_map<(b, l, h) -> (h)>
func.func @dt_prologue(%dt: tensor<?x?x4xf32>, %bias: tensor<4xf32>, %A: tensor<4xf32>) -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %lo = arith.constant 1.0e-3 : f32
  %hi = arith.constant 1.0e2 : f32
  %b = tensor.dim %dt, %c0 : tensor<?x?x4xf32>
  %l = tensor.dim %dt, %c1 : tensor<?x?x4xf32>
  %e = tensor.empty(%b, %l) : tensor<?x?x4xf32>
  %biased = linalg.generic {indexing_maps = [#blh, #h, #blh], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dt, %bias : tensor<?x?x4xf32>, tensor<4xf32>) outs(%e : tensor<?x?x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>
  %softplus = linalg.generic {indexing_maps = [#blh, #blh], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%biased : tensor<?x?x4xf32>) outs(%e : tensor<?x?x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.maximumf %x, %zero : f32
    %a = math.absf %x : f32
    %n = arith.negf %a : f32
    %ex = math.exp %n : f32
    %lg = math.log1p %ex : f32
    %s = arith.addf %m, %lg : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>
  %clamped = linalg.generic {indexing_maps = [#blh, #blh], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%softplus : tensor<?x?x4xf32>) outs(%e : tensor<?x?x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.maximumf %x, %lo : f32
    %n = arith.minimumf %m, %hi : f32
    linalg.yield %n : f32
  } -> tensor<?x?x4xf32>
  %decay = linalg.generic {indexing_maps = [#blh, #h, #blh], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%clamped, %A : tensor<?x?x4xf32>, tensor<4xf32>) outs(%e : tensor<?x?x4xf32>) {
  ^bb0(%x: f32, %a: f32, %o: f32):
    %p = arith.mulf %x, %a : f32
    %m = arith.minimumf %p, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x?x4xf32>
  return %decay : tensor<?x?x4xf32>
}

// -----

// A producer read through a broadcast (the per-head dt read by every
// feature of the head) is not fused: it would be recomputed p times. It is
// written once and read by the consumer.
// CHECK-LABEL: func.func @broadcast_read_not_fused
// CHECK: %[[DT:.*]] = linalg.generic
// CHECK: math.log1p
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg1, %[[DT]] :
// CHECK-NOT: math.log1p
// CHECK: return
#blh = affine_map<(b, l, h, p) -> (b, l, h)>
#blhp = affine_map<(b, l, h, p) -> (b, l, h, p)>
#id3 = affine_map<(b, l, h) -> (b, l, h)>
func.func @broadcast_read_not_fused(%dt: tensor<2x3x4xf32>, %x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> {
  %e3 = tensor.empty() : tensor<2x3x4xf32>
  %sp = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dt : tensor<2x3x4xf32>) outs(%e3 : tensor<2x3x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %ex = math.exp %v : f32
    %lg = math.log1p %ex : f32
    linalg.yield %lg : f32
  } -> tensor<2x3x4xf32>
  %e4 = tensor.empty() : tensor<2x3x4x8xf32>
  %y = linalg.generic {indexing_maps = [#blhp, #blh, #blhp], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %sp : tensor<2x3x4x8xf32>, tensor<2x3x4xf32>) outs(%e4 : tensor<2x3x4x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.mulf %a, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x3x4x8xf32>
  return %y : tensor<2x3x4x8xf32>
}

// -----

// Depthwise causal conv1d and its SiLU as a channels-first export writes
// them: the conv's (b, l, c) result transposed to (b, c, l), x * sigmoid(x),
// transposed back. One op computes the taps, the bias and the SiLU and
// writes (b, l, c) once; the transposes and the pre-activation are gone.
// CHECK-LABEL: func.func @conv_silu
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: linalg.yield
// CHECK-NEXT: } -> tensor<2x5x6xf32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.transpose
// CHECK: return
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @conv_silu(%x: tensor<2x5x6xf32>, %w: tensor<6x4xf32>, %bias: tensor<6xf32>) -> tensor<2x5x6xf32> {
  %y, %f = ssm.causal_conv1d %x, %w bias(%bias)
      : (tensor<2x5x6xf32>, tensor<6x4xf32>, tensor<6xf32>) -> (tensor<2x5x6xf32>, tensor<2x6x3xf32>)
  %one = arith.constant 1.0 : f32
  %et = tensor.empty() : tensor<2x6x5xf32>
  %t = linalg.transpose ins(%y : tensor<2x5x6xf32>) outs(%et : tensor<2x6x5xf32>) permutation = [0, 2, 1]
  %sig = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : tensor<2x6x5xf32>) outs(%et : tensor<2x6x5xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %ex = math.exp %n : f32
    %d = arith.addf %ex, %one : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  } -> tensor<2x6x5xf32>
  %act = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t, %sig : tensor<2x6x5xf32>, tensor<2x6x5xf32>) outs(%et : tensor<2x6x5xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x6x5xf32>
  %eb = tensor.empty() : tensor<2x5x6xf32>
  %back = linalg.transpose ins(%act : tensor<2x6x5xf32>) outs(%eb : tensor<2x5x6xf32>) permutation = [0, 2, 1]
  return %back : tensor<2x5x6xf32>
}

// -----

// The epilogue of a Mamba-2 mixer, as the importer writes it: the D skip
// y + D x on (b, l, h, p), the heads merged into (b, l, h * p), the gate
// y * silu(z) and the gated RMSNorm (x^2, the sum with keepdims, / d, + eps,
// sqrt, 1 / r, the scaling and the weight). Two ops read the mixer output y:
// the sum of squares (reductions over h and p) and the scaling, each
// recomputing skip and gate; the only value written between them is the
// per-token statistic. No (b, l, h, p) value is written before the result.
// CHECK-LABEL: func.func @skip_gate_norm
// CHECK: %[[Z:.*]] = tensor.expand_shape %arg3 {{\[\[}}0], [1], [2, 3]] {{.*}} into tensor<?x?x4x8xf32>
// CHECK: %[[SS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME: ins(%arg0, %arg1, %arg2, %[[Z]], %[[Z]] :
// CHECK: math.exp
// CHECK: linalg.yield
// CHECK-NEXT: } -> tensor<?x?xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[SS]] :
// CHECK: math.sqrt
// CHECK: } -> tensor<?x?xf32>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %arg0, %arg1, %arg2, %[[Z]], %[[Z]], %[[R]] :
// CHECK: math.exp
// CHECK: } -> tensor<?x?x4x8xf32>
// CHECK-NEXT: %[[OUT:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0], [1], [2, 3]] : tensor<?x?x4x8xf32> into tensor<?x?x32xf32>
// CHECK-NEXT: return %[[OUT]]
#blhp = affine_map<(b, l, h, p) -> (b, l, h, p)>
#hh = affine_map<(b, l, h, p) -> (h)>
#bld = affine_map<(b, l, d) -> (b, l, d)>
#bl1 = affine_map<(b, l, d) -> (b, l, 0)>
#d = affine_map<(b, l, d) -> (d)>
#sum_in = affine_map<(b, l, d) -> (b, l, d)>
#sum_out = affine_map<(b, l, d) -> (b, l)>
#bl = affine_map<(b, l) -> (b, l)>
#scalar = affine_map<(b, l) -> ()>
func.func @skip_gate_norm(%y: tensor<?x?x4x8xf32>, %x: tensor<?x?x4x8xf32>, %D: tensor<4xf32>, %z: tensor<?x?x32xf32>, %w: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %count = arith.constant 32.0 : f32
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %b = tensor.dim %y, %c0 : tensor<?x?x4x8xf32>
  %l = tensor.dim %y, %c1 : tensor<?x?x4x8xf32>
  %e4 = tensor.empty(%b, %l) : tensor<?x?x4x8xf32>
  %skip = linalg.generic {indexing_maps = [#blhp, #blhp, #hh, #blhp], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %x, %D : tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<4xf32>) outs(%e4 : tensor<?x?x4x8xf32>) {
  ^bb0(%a: f32, %v: f32, %dd: f32, %o: f32):
    %m = arith.mulf %v, %dd : f32
    %s = arith.addf %a, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4x8xf32>
  %merged = tensor.collapse_shape %skip [[0], [1], [2, 3]] : tensor<?x?x4x8xf32> into tensor<?x?x32xf32>
  %e3 = tensor.empty(%b, %l) : tensor<?x?x32xf32>
  %sig = linalg.generic {indexing_maps = [#bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z : tensor<?x?x32xf32>) outs(%e3 : tensor<?x?x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %ex = math.exp %n : f32
    %d = arith.addf %ex, %one : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x?x32xf32>
  %silu = linalg.generic {indexing_maps = [#bld, #bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z, %sig : tensor<?x?x32xf32>, tensor<?x?x32xf32>) outs(%e3 : tensor<?x?x32xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<?x?x32xf32>
  %gated = linalg.generic {indexing_maps = [#bld, #bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%merged, %silu : tensor<?x?x32xf32>, tensor<?x?x32xf32>) outs(%e3 : tensor<?x?x32xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<?x?x32xf32>
  %sq = linalg.generic {indexing_maps = [#bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%gated : tensor<?x?x32xf32>) outs(%e3 : tensor<?x?x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %v : f32
    linalg.yield %m : f32
  } -> tensor<?x?x32xf32>
  %e2 = tensor.empty(%b, %l) : tensor<?x?xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %sum = linalg.generic {indexing_maps = [#sum_in, #sum_out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sq : tensor<?x?x32xf32>) outs(%f2 : tensor<?x?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %o, %v : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %keep = tensor.expand_shape %sum [[0], [1, 2]] output_shape [%b, %l, 1] : tensor<?x?xf32> into tensor<?x?x1xf32>
  %e1 = tensor.empty(%b, %l) : tensor<?x?x1xf32>
  %mean = linalg.generic {indexing_maps = [#bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%keep : tensor<?x?x1xf32>) outs(%e1 : tensor<?x?x1xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.divf %v, %count : f32
    linalg.yield %m : f32
  } -> tensor<?x?x1xf32>
  %shifted = linalg.generic {indexing_maps = [#bld, affine_map<(b, l, d) -> ()>, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mean, %eps : tensor<?x?x1xf32>, tensor<f32>) outs(%e1 : tensor<?x?x1xf32>) {
  ^bb0(%v: f32, %ep: f32, %o: f32):
    %s = arith.addf %v, %ep : f32
    linalg.yield %s : f32
  } -> tensor<?x?x1xf32>
  %root = linalg.generic {indexing_maps = [#bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%shifted : tensor<?x?x1xf32>) outs(%e1 : tensor<?x?x1xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = math.sqrt %v : f32
    linalg.yield %s : f32
  } -> tensor<?x?x1xf32>
  %inv = linalg.generic {indexing_maps = [#bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%root : tensor<?x?x1xf32>) outs(%e1 : tensor<?x?x1xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.divf %one, %v : f32
    linalg.yield %s : f32
  } -> tensor<?x?x1xf32>
  %normed = linalg.generic {indexing_maps = [#bld, #bl1, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%gated, %inv : tensor<?x?x32xf32>, tensor<?x?x1xf32>) outs(%e3 : tensor<?x?x32xf32>) {
  ^bb0(%v: f32, %r: f32, %o: f32):
    %m = arith.mulf %v, %r : f32
    linalg.yield %m : f32
  } -> tensor<?x?x32xf32>
  %out = linalg.generic {indexing_maps = [#d, #bld, #bld], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%w, %normed : tensor<32xf32>, tensor<?x?x32xf32>) outs(%e3 : tensor<?x?x32xf32>) {
  ^bb0(%ww: f32, %v: f32, %o: f32):
    %m = arith.mulf %ww, %v : f32
    linalg.yield %m : f32
  } -> tensor<?x?x32xf32>
  return %out : tensor<?x?x32xf32>
}

// -----

// ssm.rms_norm with a gate (one group): the gated value x * silu(z) is
// recomputed by the sum of squares and by the scaling instead of written.
// CHECK-LABEL: func.func @rms_norm_gate
// CHECK: %[[SS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%arg0, %arg2 :
// CHECK: math.exp
// CHECK: } -> tensor<2x3xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: %[[SS]]
// CHECK: math.exp
// CHECK: math.rsqrt
// CHECK: } -> tensor<2x3x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rms_norm_gate(%x: tensor<2x3x8xf32>, %w: tensor<8xf32>, %z: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %y = ssm.rms_norm %x, %w gate(%z) : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// B/C norms of Mamba-3: RMSNorm over n of the (b, l, r, g, n) projection,
// then the bias. The bias add fuses into the norm's scaling: the normed B is
// written once, biased, for the mixer (the unit group dimension is dropped
// from the loops).
// CHECK-LABEL: func.func @bc_norm_bias
// CHECK: %[[SS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: } -> tensor<2x3x2xf32>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-SAME: %[[SS]]
// CHECK: math.rsqrt
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: } -> tensor<2x3x2x16xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[OUT:.*]] = tensor.expand_shape %[[Y]]
// CHECK-NEXT: return %[[OUT]]
#b5 = affine_map<(b, l, r, g, n) -> (b, l, r, g, n)>
#bias5 = affine_map<(b, l, r, g, n) -> (r, g, n)>
func.func @bc_norm_bias(%B: tensor<2x3x2x1x16xf32>, %w: tensor<16xf32>, %bias: tensor<2x1x16xf32>) -> tensor<2x3x2x1x16xf32> {
  %n = ssm.rms_norm %B, %w : (tensor<2x3x2x1x16xf32>, tensor<16xf32>) -> tensor<2x3x2x1x16xf32>
  %e = tensor.empty() : tensor<2x3x2x1x16xf32>
  %y = linalg.generic {indexing_maps = [#b5, #bias5, #b5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%n, %bias : tensor<2x3x2x1x16xf32>, tensor<2x1x16xf32>) outs(%e : tensor<2x3x2x1x16xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %s = arith.addf %v, %c : f32
    linalg.yield %s : f32
  } -> tensor<2x3x2x1x16xf32>
  return %y : tensor<2x3x2x1x16xf32>
}

// -----

// A matrix product is never a fusion consumer: the elementwise scaling of
// its input stays a separate op (fusing it would recompute it for every
// output column and hide the product from ssm-cpu-contraction-kernels).
// CHECK-LABEL: func.func @matmul_input_not_fused
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[S]], %arg1 :
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[O:.*]]: f32):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[A]], %[[B]]
// CHECK-NEXT: %[[R:.*]] = arith.addf %[[O]], %[[M]]
// CHECK-NEXT: linalg.yield %[[R]]
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id2 = affine_map<(m, k) -> (m, k)>
func.func @matmul_input_not_fused(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %two = arith.constant 2.0 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %two : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %eo = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// RoPE after a per-feature scaling of the queries (a QK-norm's weight): the
// rotary reads each element as itself and as its pair's partner (1 - s), so
// the scaling is recomputed in both reads and the scaled queries are never
// written: one op from q to the rotated result.
// CHECK-LABEL: func.func @rope_after_scale
// CHECK: %[[PAIRS:.*]] = tensor.expand_shape %arg0
// CHECK: %[[Y:.*]] = linalg.generic
// CHECK-SAME: ins(%[[PAIRS]], %{{.*}}, %[[PAIRS]], %{{.*}}, %arg2, %arg3 :
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.select
// CHECK: arith.addf
// CHECK: } -> tensor<2x3x2x2x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: tensor.collapse_shape %[[Y]]
#q = affine_map<(b, l, h, d) -> (b, l, h, d)>
#w = affine_map<(b, l, h, d) -> (d)>
func.func @rope_after_scale(%x: tensor<2x3x2x8xf32>, %w: tensor<8xf32>, %c: tensor<2x3x4xf32>, %s: tensor<2x3x4xf32>) -> tensor<2x3x2x8xf32> {
  %e = tensor.empty() : tensor<2x3x2x8xf32>
  %q = linalg.generic {indexing_maps = [#q, #w, #q], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %w : tensor<2x3x2x8xf32>, tensor<8xf32>) outs(%e : tensor<2x3x2x8xf32>) {
  ^bb0(%v: f32, %g: f32, %o: f32):
    %m = arith.mulf %v, %g : f32
    linalg.yield %m : f32
  } -> tensor<2x3x2x8xf32>
  %y = ssm.rotary %q, %c, %s : (tensor<2x3x2x8xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x2x8xf32>
  return %y : tensor<2x3x2x8xf32>
}

// -----

// A residual stream over four layers: h1 = x + o1, h2 = h1 + o2, ...; each
// h_i is read by a norm's sum of squares, its scaling and the next residual
// addition (the o_i stand for the layers' matrix products). h1 reads two
// streams and is cloned into its three uses (6 reads < 7 to write it); h2
// then reads x, o1 and o2 and is written (9 > 8), so h3 is cloned again
// and h4 written: no op reads more than four streams, where cloning every
// sum would make the last norm re-add all the layers' outputs.
// CHECK-LABEL: func.func @residual_stream
// CHECK: %[[H2:.*]] = linalg.generic {{.*}} ins(%arg0, %arg1, %arg2 :
// CHECK: %[[H4:.*]] = linalg.generic {{.*}} ins(%[[H2]], %arg3, %arg4 :
// CHECK: %[[S1:.*]] = linalg.generic {{.*}} ins(%arg0, %arg1 :
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1, %[[S1]] :
// CHECK: %[[S2:.*]] = linalg.generic {{.*}} ins(%[[H2]] :
// CHECK: linalg.generic {{.*}} ins(%[[H2]], %[[S2]] :
// CHECK: %[[S3:.*]] = linalg.generic {{.*}} ins(%[[H2]], %arg3 :
// CHECK: linalg.generic {{.*}} ins(%[[H2]], %arg3, %[[S3]] :
// CHECK: %[[S4:.*]] = linalg.generic {{.*}} ins(%[[H4]] :
// CHECK: linalg.generic {{.*}} ins(%[[H4]], %[[S4]] :
// CHECK-NOT: linalg.generic
// CHECK: return
#tok = affine_map<(t, d) -> (t, d)>
#tokrow = affine_map<(t, d) -> (t)>
func.func @residual_stream(%x: tensor<?x8xf32>, %o1: tensor<?x8xf32>, %o2: tensor<?x8xf32>, %o3: tensor<?x8xf32>, %o4: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %er = tensor.empty(%n) : tensor<?xf32>
  %fr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %h1 = linalg.generic {indexing_maps = [#tok, #tok, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%x, %o1 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %h2 = linalg.generic {indexing_maps = [#tok, #tok, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h1, %o2 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %h3 = linalg.generic {indexing_maps = [#tok, #tok, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h2, %o3 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %h4 = linalg.generic {indexing_maps = [#tok, #tok, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h3, %o4 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %ss1 = linalg.generic {indexing_maps = [#tok, #tokrow], iterator_types = ["parallel", "reduction"]}
      ins(%h1 : tensor<?x8xf32>) outs(%fr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %n1 = linalg.generic {indexing_maps = [#tok, #tokrow, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h1, %ss1 : tensor<?x8xf32>, tensor<?xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %m = arith.mulf %a, %r : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  %ss2 = linalg.generic {indexing_maps = [#tok, #tokrow], iterator_types = ["parallel", "reduction"]}
      ins(%h2 : tensor<?x8xf32>) outs(%fr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %n2 = linalg.generic {indexing_maps = [#tok, #tokrow, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h2, %ss2 : tensor<?x8xf32>, tensor<?xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %m = arith.mulf %a, %r : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  %ss3 = linalg.generic {indexing_maps = [#tok, #tokrow], iterator_types = ["parallel", "reduction"]}
      ins(%h3 : tensor<?x8xf32>) outs(%fr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %n3 = linalg.generic {indexing_maps = [#tok, #tokrow, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h3, %ss3 : tensor<?x8xf32>, tensor<?xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %m = arith.mulf %a, %r : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  %ss4 = linalg.generic {indexing_maps = [#tok, #tokrow], iterator_types = ["parallel", "reduction"]}
      ins(%h4 : tensor<?x8xf32>) outs(%fr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %n4 = linalg.generic {indexing_maps = [#tok, #tokrow, #tok], iterator_types = ["parallel", "parallel"]}
      ins(%h4, %ss4 : tensor<?x8xf32>, tensor<?xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %m = arith.mulf %a, %r : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  return %n1, %n2, %n3, %n4, %h4 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}
