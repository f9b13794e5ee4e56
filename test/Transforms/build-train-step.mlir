// RUN: ssm-opt %s --ssm-build-train-step="frozen=bias*" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: not ssm-opt %s --ssm-build-train-step=entry=nope --split-input-file 2>&1 | FileCheck %s --check-prefix=NOENTRY

// RUN: ssm-opt %s --ssm-build-train-step="loss=distillation temperature=4.0 label-weight=0.5" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=KD
// RUN: not ssm-opt %s --ssm-build-train-step=loss=mse --split-input-file 2>&1 | FileCheck %s --check-prefix=BADLOSS
// RUN: not ssm-opt %s --ssm-build-train-step="loss=distillation temperature=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTEMP
// RUN: not ssm-opt %s --ssm-build-train-step=loss=hidden-alignment --split-input-file 2>&1 | FileCheck %s --check-prefix=NOALIGN
// RUN: ssm-opt %s --ssm-build-train-step="beta1=0.75 beta2=0.875 eps=0.0625 weight-decay=0.375 max-grad-norm=2.5" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=OPT
// RUN: ssm-opt %s --ssm-build-train-step="max-grad-norm=0" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=NOCLIP
// RUN: not ssm-opt %s --ssm-build-train-step="beta1=0.99999999" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADB1
// RUN: not ssm-opt %s --ssm-build-train-step="beta2=-0.5" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADB2
// RUN: not ssm-opt %s --ssm-build-train-step="eps=1e-50" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADEPS
// RUN: not ssm-opt %s --ssm-build-train-step="weight-decay=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADWD
// RUN: not ssm-opt %s --ssm-build-train-step="max-grad-norm=1e39" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADNORM
// RUN: not ssm-opt %s --ssm-build-train-step="loss=distillation label-weight=-2" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADLW
// RUN: not ssm-opt %s --ssm-build-train-step="label-weight=0.5" --split-input-file 2>&1 | FileCheck %s --check-prefix=LWNOKD
// RUN: not ssm-opt %s --ssm-build-train-step="temperature=2" --split-input-file 2>&1 | FileCheck %s --check-prefix=TNOKD

// NOENTRY: ssm-build-train-step: no function named 'nope'
// BADLOSS: ssm-build-train-step: loss must be cross-entropy, distillation, hidden-alignment or matrix-orientation, got 'mse'
// BADTEMP: ssm-build-train-step: temperature must be positive
// NOALIGN: ssm-build-train-step: loss=hidden-alignment trains the function 'loss' (f32 scalar result) that ssm-build-alignment builds; there is none
// BADB1: ssm-build-train-step: beta1 must be in [0, 1) in float32, got 1
// BADB2: ssm-build-train-step: beta2 must be in [0, 1) in float32, got -0.5
// BADEPS: ssm-build-train-step: eps must be positive and finite in float32, got 1e-50
// BADWD: ssm-build-train-step: weight-decay must be >= 0 and finite in float32, got -1
// BADNORM: ssm-build-train-step: max-grad-norm must be >= 0 and finite in float32 (0: no clipping), got 1e+39
// BADLW: ssm-build-train-step: label-weight must be >= 0 and finite in float32, got -2
// LWNOKD: ssm-build-train-step: label-weight weighs the cross-entropy added to loss=distillation; the loss is 'cross-entropy'
// TNOKD: ssm-build-train-step: temperature is the student's temperature of loss=distillation; the loss is 'cross-entropy'

// The optimizer's options reach the AdamW update and the clipping:
// b1, 1 - b1, b2, 1 - b2, eps, wd and the clipping norm as constants.
// OPT-LABEL: func.func @train_step(
// OPT: arith.constant 2.500000e+00 : f32
// OPT: arith.minimumf
// OPT: linalg.generic
// OPT-DAG: arith.constant 7.500000e-01 : f32
// OPT-DAG: arith.constant 2.500000e-01 : f32
// OPT-DAG: arith.constant 8.750000e-01 : f32
// OPT-DAG: arith.constant 1.250000e-01 : f32
// OPT-DAG: arith.constant 6.250000e-02 : f32
// OPT-DAG: arith.constant 3.750000e-01 : f32
// OPT: linalg.yield
// max-grad-norm=0: the gradients are not scaled (the scale is the constant 1).
// NOCLIP-LABEL: func.func @train_step(
// NOCLIP-NOT: arith.minimumf
// NOCLIP: return

// Distillation: the teacher's logits follow the labels; they get no
// gradient and are not a parameter of train_step.
// KD-LABEL: func.func @loss(
// KD-SAME: %{{[^:]*}}: tensor<?x?xi64> {ssm.name = "labels"}, %{{[^:]*}}: tensor<?x?x5xf32> {ssm.name = "teacher_logits"}, %{{[^:]*}}: tensor<8x5xf32> {ssm.name = "table"}
// 1/T and T scale the student's logits; 0.5 weighs the cross-entropy.
// KD-DAG: arith.constant 2.500000e-01 : f32
// KD-DAG: arith.constant 4.000000e+00 : f32
// KD-DAG: arith.constant 5.000000e-01 : f32
// KD-LABEL: func.func @loss_grad(
// KD-SAME: -> (tensor<f32> {ssm.name = "loss"}, tensor<8x5xf32> {ssm.name = "d_table"}, tensor<5xf32> {ssm.name = "d_bias"})
// KD-LABEL: func.func @train_step(
// KD-SAME: {ssm.name = "teacher_logits"}, %{{[^:]*}}: tensor<8x5xf32> {ssm.name = "table"}
// KD-SAME: {ssm.name = "adam_m.table"}, %{{[^:]*}}: tensor<5xf32> {ssm.name = "adam_m.bias"}, %{{[^:]*}}: tensor<8x5xf32> {ssm.name = "adam_v.table"}

#i = affine_map<(d0, d1, d2) -> (d0, d1)>
#v = affine_map<(d0, d1, d2) -> (d2)>
#o = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// A bigram model: logits[b, l, v] = table[ids[b, l], v] + bias[v].
// CHECK-LABEL: func.func @main(
// CHECK-LABEL: func.func @loss(
// CHECK-SAME: %{{[^:]*}}: tensor<?x?xi64> {ssm.name = "input_ids"}, %{{[^:]*}}: tensor<?x?xi64> {ssm.name = "labels"}, %{{[^:]*}}: tensor<8x5xf32> {ssm.name = "table"}, %{{[^:]*}}: tensor<5xf32> {ssm.name = "bias"})
// CHECK-SAME: -> (tensor<f32> {ssm.name = "loss"})
// Per token: log(sum exp(z - max)) + max - z[label], masked to labels in range.
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi slt
// CHECK: tensor.extract
// CHECK: math.log
// CHECK: arith.divf
// CHECK-LABEL: func.func @loss_grad(
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[IDS:[^:]*]]: tensor<?x?xi64> {ssm.name = "input_ids"}, %[[LABELS:[^:]*]]: tensor<?x?xi64> {ssm.name = "labels"}, %[[TABLE:[^:]*]]: tensor<8x5xf32> {ssm.name = "table"}, %[[BIAS:[^:]*]]: tensor<5xf32> {ssm.name = "bias"},
// CHECK-SAME: %[[MT:[^:]*]]: tensor<8x5xf32> {ssm.name = "adam_m.table"}, %[[MB:[^:]*]]: tensor<5xf32> {ssm.name = "adam_m.bias"}, %[[VT:[^:]*]]: tensor<8x5xf32> {ssm.name = "adam_v.table"}, %[[VB:[^:]*]]: tensor<5xf32> {ssm.name = "adam_v.bias"}, %[[LR:[^:]*]]: tensor<f32> {ssm.name = "lr"}, %[[STEP:[^:]*]]: tensor<f32> {ssm.name = "step"})
// CHECK-SAME: -> (tensor<f32> {ssm.name = "loss"}, tensor<f32> {ssm.name = "grad_norm"}, tensor<8x5xf32> {ssm.name = "table"}, tensor<5xf32> {ssm.name = "bias"}, tensor<8x5xf32> {ssm.name = "adam_m.table"}, tensor<5xf32> {ssm.name = "adam_m.bias"}, tensor<8x5xf32> {ssm.name = "adam_v.table"}, tensor<5xf32> {ssm.name = "adam_v.bias"})
// d(loss) is the constant 1.
// CHECK: arith.constant dense<1.000000e+00> : tensor<f32>
// The gradient norm: the squares of table's gradient (bias is frozen: not
// counted) summed in float64, per row, then over the rows.
// CHECK: %[[ROWS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<8x5xf32>) outs(%{{.*}} : tensor<8xf64>)
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: arith.mulf %{{.*}} : f64
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[ROWS]] : tensor<8xf64>) outs(%{{.*}} : tensor<f64>)
// CHECK-NOT: tensor<5xf32>) outs(%{{.*}} : tensor<5xf64>)
// CHECK: linalg.generic {{.*}} ins(%[[SQ]] : tensor<f64>)
// CHECK: math.sqrt %{{.*}} : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// The clipping scale min(1, 1.0 / (norm + 1e-6)).
// CHECK: arith.minimumf
// The AdamW update of table (bias is frozen: returned as it came).
// CHECK: %[[NEW:.*]]:3 = linalg.generic {{.*}} ins(%[[TABLE]], %{{.*}}, %[[MT]], %[[VT]], %{{.*}}, %[[LR]], %[[STEP]] :
// CHECK: math.powf
// CHECK: math.sqrt
// CHECK: return %{{.*}}, %{{.*}}, %[[NEW]]#0, %[[BIAS]], %[[NEW]]#1, %[[MB]], %[[NEW]]#2, %[[VB]] :
func.func @main(%ids: tensor<?x?xi64> {ssm.name = "input_ids"}, %table: tensor<8x5xf32> {ssm.name = "table"},
                %bias: tensor<5xf32> {ssm.name = "bias"}) -> (tensor<?x?x5xf32> {ssm.name = "logits"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %l) : tensor<?x?x5xf32>
  %y = linalg.generic {indexing_maps = [#i, #v, #o], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids, %bias : tensor<?x?xi64>, tensor<5xf32>) outs(%e : tensor<?x?x5xf32>) {
  ^bb0(%id: i64, %bv: f32, %out: f32):
    %lo = arith.constant 0 : index
    %hi = arith.constant 7 : index
    %i = arith.index_cast %id : i64 to index
    %i1 = arith.minsi %i, %hi : index
    %i2 = arith.maxsi %i1, %lo : index
    %v = linalg.index 2 : index
    %t = tensor.extract %table[%i2, %v] : tensor<8x5xf32>
    %s = arith.addf %t, %bv : f32
    linalg.yield %s : f32
  } -> tensor<?x?x5xf32>
  return %y : tensor<?x?x5xf32>
}

// -----

// expected-error @+1 {{the entry must take integer token ids (batch, seq) first and return float32 logits (batch, seq, vocab) first}}
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{the entry must take the token ids and return the logits}}
func.func @main() {
  return
}

// -----

// A half-precision parameter: the optimizer keeps float32 parameters only.
#row = affine_map<(b, l, v) -> (b, l)>
#vec = affine_map<(b, l, v) -> (v)>
#out = affine_map<(b, l, v) -> (b, l, v)>
// expected-error @+1 {{ssm-build-train-step: parameter 'w' has element type 'bf16'; train_step updates float32 parameters only}}
func.func @main(%ids: tensor<?x?xi64> {ssm.name = "input_ids"}, %w: tensor<5xbf16> {ssm.name = "w"}) -> (tensor<?x?x5xf32> {ssm.name = "logits"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %l) : tensor<?x?x5xf32>
  %y = linalg.generic {indexing_maps = [#row, #vec, #out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids, %w : tensor<?x?xi64>, tensor<5xbf16>) outs(%e : tensor<?x?x5xf32>) {
  ^bb0(%id: i64, %wv: bf16, %o: f32):
    %x = arith.extf %wv : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<?x?x5xf32>
  return %y : tensor<?x?x5xf32>
}

// -----

// expected-error @+1 {{ssm-build-train-step: a symbol named 'loss' exists already}}
module {
  func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?x5xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
    %l = tensor.dim %ids, %c1 : tensor<?x?xi64>
    %e = tensor.empty(%b, %l) : tensor<?x?x5xf32>
    return %e : tensor<?x?x5xf32>
  }
  func.func @loss() {
    return
  }
}
