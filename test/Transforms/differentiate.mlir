// RUN: ssm-opt %s --ssm-differentiate --split-input-file --verify-diagnostics | FileCheck %s

#id = affine_map<(d0) -> (d0)>
// y = x * x: dx = dy * (x + x) from the body's forward-mode derivative.
// CHECK-LABEL: func.func @square(
// CHECK-LABEL: func.func @square_grad(
// CHECK-SAME: %[[X:.*]]: tensor<?xf32>, %[[DY:.*]]: tensor<?xf32> {ssm.name = "d_result0"})
// CHECK-SAME: -> (tensor<?xf32>, tensor<?xf32> {ssm.name = "d_arg0"})
// CHECK: %[[Y:.*]] = linalg.generic
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} ins(%[[X]], %{{.*}}, %[[DY]] : {{.*}}) outs(%[[Z]] : tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %{{.*}}: f32, %[[D:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[ONE:.*]] = arith.constant 1.0
// CHECK: arith.mulf %[[A]], %[[A]]
// CHECK-NEXT: %[[T0:.*]] = arith.mulf %[[A]], %[[ONE]]
// CHECK-NEXT: %[[T1:.*]] = arith.mulf %[[ONE]], %[[A]]
// CHECK-NEXT: %[[T:.*]] = arith.addf %[[T1]], %[[T0]]
// CHECK-NEXT: %[[C:.*]] = arith.mulf %[[D]], %[[T]]
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[C]]
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK: return %[[Y]], %[[DX]]
func.func @square(%x: tensor<?xf32>) -> tensor<?xf32> attributes {ssm.differentiate} {
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%x : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// A row sum: the adjoint of each row is broadcast back along d1, and the
// gradient op has no reduction loop (every loop indexes dx).
// CHECK-LABEL: func.func @row_sum_grad(
// CHECK: linalg.generic {indexing_maps = [#[[ID:.*]], #[[ROW:.*]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%arg0, %arg1, %arg2 : tensor<?x8xf32>, tensor<?xf32>, tensor<?xf32>)
func.func @row_sum(%x: tensor<?x8xf32>, %init: tensor<?xf32>) -> tensor<?xf32> attributes {ssm.differentiate} {
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// The initial value of a sum receives the adjoint unchanged.
// CHECK: return %{{.*}}, %{{.*}}, %arg2 :

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// A row max: only the points that attain the max receive the adjoint.
// CHECK-LABEL: func.func @row_max_grad(
// CHECK: ^bb0(%[[A:.*]]: f32, %{{.*}}: f32, %[[M:.*]]: f32, %[[D:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[C:.*]] = arith.mulf %[[D]], %{{.*}}
// CHECK: %[[EQ:.*]] = arith.cmpf oeq, %[[A]], %[[M]]
// CHECK: %[[SEL:.*]] = arith.select %[[EQ]], %[[C]], %{{.*}}
// CHECK: arith.addf %[[ACC]], %[[SEL]]
func.func @row_max(%x: tensor<?x8xf32>, %n: index) -> tensor<?xf32> attributes {ssm.differentiate} {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// -----

// Shape ops reverse structurally; a value used twice sums its adjoints; the
// integer argument gets no gradient.
// CHECK-LABEL: func.func @shapes_grad(
// CHECK-SAME: %[[X:.*]]: tensor<4x6xf32> {ssm.name = "x"}, %[[I:.*]]: tensor<2xi64> {ssm.name = "ids"}, %[[DY:.*]]: tensor<2x2x3xf32> {ssm.name = "d_y"}, %[[DS:.*]]: tensor<2x6xf32> {ssm.name = "d_s"})
// CHECK-SAME: -> (tensor<2x2x3xf32> {ssm.name = "y"}, tensor<2x6xf32> {ssm.name = "s"}, tensor<4x6xf32> {ssm.name = "d_x"})
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[DY]] {{\[}}[0], [1, 2]] : tensor<2x2x3xf32> into tensor<2x6xf32>
// CHECK: %[[IN2:.*]] = tensor.insert_slice %[[DS]] into %{{.*}}[2, 0] [2, 6] [1, 1]
// CHECK: %[[IN1:.*]] = tensor.insert_slice %[[C]] into %{{.*}}[0, 0] [2, 6] [1, 1]
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[IN2]], %[[IN1]] :
// CHECK: arith.addf
// CHECK: return %{{.*}}, %{{.*}}, %[[SUM]] :
func.func @shapes(%x: tensor<4x6xf32> {ssm.name = "x"}, %i: tensor<2xi64> {ssm.name = "ids"})
    -> (tensor<2x2x3xf32> {ssm.name = "y"}, tensor<2x6xf32> {ssm.name = "s"}) attributes {ssm.differentiate} {
  %a = tensor.extract_slice %x[0, 0] [2, 6] [1, 1] : tensor<4x6xf32> to tensor<2x6xf32>
  %b = tensor.extract_slice %x[2, 0] [2, 6] [1, 1] : tensor<4x6xf32> to tensor<2x6xf32>
  %y = tensor.expand_shape %a [[0], [1, 2]] output_shape [2, 2, 3] : tensor<2x6xf32> into tensor<2x2x3xf32>
  return %y, %b : tensor<2x2x3xf32>, tensor<2x6xf32>
}

// -----

// Named ops are generalized: a matrix product's gradients are products.
// CHECK-LABEL: func.func @matmul_grad(
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}, #{{.*}}, #[[DA:.*]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}, #{{.*}}, #[[DB:.*]]], iterator_types = ["reduction", "parallel", "parallel"]}
func.func @matmul(%a: tensor<3x4xf32>, %b: tensor<4x5xf32>) -> tensor<3x5xf32> attributes {ssm.differentiate} {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  %c = linalg.matmul ins(%a, %b : tensor<3x4xf32>, tensor<4x5xf32>) outs(%f : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %c : tensor<3x5xf32>
}

// -----

// The function's JSON signature (symbolic dimension names) carries over.
// CHECK-LABEL: func.func @named_grad(
// CHECK-SAME: ssm.signature = "{\22inputs\22:[{\22dtype\22:\22float32\22,\22name\22:\22x\22,\22shape\22:[\22batch\22]},{\22dtype\22:\22float32\22,\22name\22:\22d_y\22,\22shape\22:[\22batch\22]}],\22name\22:\22named_grad\22,\22outputs\22:[{\22dtype\22:\22float32\22,\22name\22:\22y\22,\22shape\22:[\22batch\22]},{\22dtype\22:\22float32\22,\22name\22:\22d_x\22,\22shape\22:[\22batch\22]}]}"
func.func @named(%x: tensor<?xf32> {ssm.name = "x"}) -> (tensor<?xf32> {ssm.name = "y"}) attributes {ssm.differentiate, ssm.signature = "{\22name\22:\22named\22,\22inputs\22:[{\22name\22:\22x\22,\22dtype\22:\22float32\22,\22shape\22:[\22batch\22]}],\22outputs\22:[{\22name\22:\22y\22,\22dtype\22:\22float32\22,\22shape\22:[\22batch\22]}]}"} {
  return %x : tensor<?xf32>
}

// -----

func.func @ssm_op(%x: tensor<2x3x8xf32>, %w: tensor<8xf32>) -> tensor<2x3x8xf32> attributes {ssm.differentiate} {
  // expected-error @+1 {{ssm-differentiate has no reverse rule for this op yet: lower it first (ssm-materialize-mixers, convert-ssm-to-linalg)}}
  %y = ssm.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

#in = affine_map<(d0, d1) -> (d0 + d1)>
#w = affine_map<(d0, d1) -> (d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @window(%x: tensor<10xf32>, %w: tensor<3xf32>, %init: tensor<8xf32>) -> tensor<8xf32> attributes {ssm.differentiate} {
  // expected-error @+1 {{operand #0 is read through affine_map<(d0, d1) -> (d0 + d1)>, not a projection of the loops; no reverse rule yet}}
  %y = linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x, %w : tensor<10xf32>, tensor<3xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
func.func @no_rule(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%x : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    // expected-error @+1 {{no derivative rule for this op in the body of a linalg.generic}}
    %t = math.atan %a : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#row = affine_map<(d0) -> ()>
func.func @product(%x: tensor<4xf32>, %init: tensor<f32>) -> tensor<f32> attributes {ssm.differentiate} {
  // expected-error @+1 {{output #0 is reduced by a combiner other than a sum (acc + e, possibly masked by selects), max or min of the accumulator; no reverse rule}}
  %y = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction"]}
      ins(%x : tensor<4xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %acc : f32
    linalg.yield %p : f32
  } -> tensor<f32>
  return %y : tensor<f32>
}

// -----

#id = affine_map<(d0) -> (d0)>
// An embedding lookup: the adjoint of each element read is added into the
// table's gradient at the same (computed) index, in a loop nest.
// CHECK-LABEL: func.func @gather_grad(
// CHECK-SAME: %[[T:.*]]: tensor<8x4xf32>, %[[IDS:.*]]: tensor<3xindex>, %[[DY:.*]]: tensor<3x4xf32>
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[G0:.*]] = %[[Z]])
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%[[G:.*]] = %[[G0]])
// CHECK-DAG: %[[ID:.*]] = tensor.extract %[[IDS]][%[[I]]]
// CHECK-DAG: %[[D:.*]] = tensor.extract %[[DY]][%[[I]], %[[J]]]
// CHECK: %[[C:.*]] = arith.mulf %[[D]], %{{.*}}
// CHECK: %[[OLD:.*]] = tensor.extract %[[G]][%[[ID]], %[[J]]]
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[C]]
// CHECK: tensor.insert %[[NEW]] into %[[G]][%[[ID]], %[[J]]]
#ij = affine_map<(d0, d1) -> (d0, d1)>
#i = affine_map<(d0, d1) -> (d0)>
func.func @gather(%t: tensor<8x4xf32>, %ids: tensor<3xindex>) -> tensor<3x4xf32> attributes {ssm.differentiate} {
  %e = tensor.empty() : tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#i, #ij], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<3xindex>) outs(%e : tensor<3x4xf32>) {
  ^bb0(%id: index, %o: f32):
    %j = linalg.index 1 : index
    %v = tensor.extract %t[%id, %j] : tensor<8x4xf32>
    linalg.yield %v : f32
  } -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
func.func @captured(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %s = tensor.extract %x[%c0] : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    // expected-error @+1 {{reads a value it captures from above that depends on the differentiated arguments (other than through tensor.extract)}}
    %v = arith.mulf %a, %s : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

#x = affine_map<(d0, d1) -> (d1)>
#y = affine_map<(d0, d1) -> (d0)>
// A masked cumulative sum (y[i] = sum_{j <= i} x[j]): the combiner adds
// under a select; the adjoint of x[j] sums dy[i] over i >= j.
// CHECK-LABEL: func.func @masked_sum_grad(
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK: arith.cmpi ule
// CHECK: arith.select
func.func @masked_sum(%x: tensor<5xf32>, %init: tensor<5xf32>) -> tensor<5xf32> attributes {ssm.differentiate} {
  %y = linalg.generic {indexing_maps = [#x, #y], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<5xf32>) outs(%init : tensor<5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %le = arith.cmpi ule, %j, %i : index
    %s = arith.addf %acc, %a : f32
    %r = arith.select %le, %s, %acc : f32
    linalg.yield %r : f32
  } -> tensor<5xf32>
  return %y : tensor<5xf32>
}

// -----

#k = affine_map<(d0, d1) -> (d0 floordiv 2, d1)>
#o = affine_map<(d0, d1) -> (d0, d1)>
#pair = affine_map<(d0, d1) -> (d0, -d1 + 1)>
// A key shared by groups of 2 heads (GQA, d0 floordiv 2): the gradient is
// taken per head, then summed over each group. The partner of a rotary pair
// (-d1 + 1): the gradient is taken along d1, then reversed.
// CHECK-LABEL: func.func @grouped_grad(
// CHECK: %[[PERHEAD:.*]] = linalg.generic {{.*}} ins(%arg0, %arg1, %arg2, %arg3 : {{.*}}) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: %[[SPLIT:.*]] = tensor.expand_shape %[[PERHEAD]] {{\[}}[0, 1], [2]] output_shape [2, 2, 2] : tensor<4x2xf32> into tensor<2x2x2xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[SPLIT]] : tensor<2x2x2xf32>)
// CHECK: %[[DKEY:.*]] = tensor.cast %[[SUM]] : tensor<2x2xf32> to tensor<?x2xf32>
// CHECK: %[[ALONG:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#[[REV:.*]], #{{.*}}], {{.*}} ins(%[[ALONG]] : tensor<4x2xf32>)
// CHECK: return %{{.*}}, %[[DKEY]], %[[DX]],
func.func @grouped(%key: tensor<?x2xf32>, %x: tensor<4x2xf32>, %init: tensor<4x2xf32>) -> tensor<4x2xf32> attributes {ssm.differentiate} {
  %y = linalg.generic {indexing_maps = [#k, #pair, #o], iterator_types = ["parallel", "parallel"]}
      ins(%key, %x : tensor<?x2xf32>, tensor<4x2xf32>) outs(%init : tensor<4x2xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

func.func @fill_value(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %s = tensor.extract %x[%c0] : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{ssm-differentiate: the fill value depends on the differentiated arguments; not supported yet}}
  %f = linalg.fill ins(%s : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %f : tensor<4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
func.func @scalar_operand(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %x[%c0] : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{ssm-differentiate: scalar operand #1 depends on the differentiated arguments; not supported yet}}
  %y = linalg.generic {indexing_maps = [#id, #s, #id], iterator_types = ["parallel"]}
      ins(%x, %v : tensor<4xf32>, f32) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
func.func @max_init(%x: tensor<4xf32>, %init: tensor<f32>) -> tensor<f32> attributes {ssm.differentiate} {
  // expected-error @+1 {{ssm-differentiate: the initial value of a max/min reduction depends on the differentiated arguments; not supported yet}}
  %y = linalg.generic {indexing_maps = [#id, #s], iterator_types = ["reduction"]}
      ins(%x : tensor<4xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %y : tensor<f32>
}

// -----

// expected-error @+1 {{ssm-differentiate: the function has no body}}
func.func private @external(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate}

// -----

// expected-error @+1 {{ssm-differentiate: the function has more than one block}}
func.func @blocks(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  cf.br ^bb1
^bb1:
  return %x : tensor<4xf32>
}

// -----

// An scf.for: a taping loop replaces the forward loop (it records the value
// carried into each iteration), and a reverse loop runs the iterations
// backwards from the tape, carrying the adjoint of the carried value and
// accumulating the captured weight's gradient one row at a time.

// CHECK-LABEL: func.func @loop_grad(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4xf32>, %[[W:[^:]*]]: tensor<3x4xf32>, %[[DR:[^:]*]]: tensor<4xf32>
// CHECK: %[[N0:.*]] = arith.ceildivsi
// CHECK: %[[N:.*]] = arith.maxsi %[[N0]]
// CHECK: %[[T0:.*]] = tensor.empty(%[[N]]) : tensor<?x4xf32>
// CHECK: %[[TAPED:.*]]:2 = scf.for %[[I:[^ ]*]] = {{.*}} iter_args(%[[A:[^ ]*]] = %[[X]], %[[TAPE:[^ ]*]] = %[[T0]])
// CHECK: %[[ROW:.*]] = arith.divui
// CHECK: %[[REC:.*]] = tensor.insert_slice %[[A]] into %[[TAPE]][%[[ROW]], 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<?x4xf32>
// CHECK: %[[FWD:.*]] = linalg.generic
// CHECK: scf.yield %[[FWD]], %[[REC]]
// CHECK: %[[REV:.*]]:2 = scf.for %{{[^ ]*}} = %{{[^ ]*}} to %[[N]] step %{{[^ ]*}} iter_args(%[[DA:[^ ]*]] = %[[DR]], %[[DW:[^ ]*]] = %{{[^ ]*}})
// CHECK: %[[LAST:.*]] = arith.subi %[[N]]
// CHECK: %[[BACK:.*]] = arith.subi %[[LAST]]
// CHECK: %[[T:.*]] = arith.addi
// CHECK: %[[AT:.*]] = tensor.extract_slice %[[TAPED]]#1[%[[BACK]], 0] [1, 4] [1, 1] : tensor<?x4xf32> to tensor<4xf32>
// CHECK: %[[WT:.*]] = tensor.extract_slice %[[W]][%[[T]], 0]
// The adjoint carried into the previous iteration: d(a * w_t)/da = w_t.
// CHECK: %[[DPREV:.*]] = linalg.generic {{.*}} ins(%[[AT]], %[[WT]], %{{.*}}, %[[DA]] :
// CHECK: %[[DROW:.*]] = linalg.generic {{.*}} ins(%[[AT]], %[[WT]], %{{.*}}, %[[DA]] :
// CHECK: %[[OLD:.*]] = tensor.extract_slice %[[DW]][%[[T]], 0] [1, 4] [1, 1]
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[OLD]], %[[DROW]] :
// CHECK: %[[NEWDW:.*]] = tensor.insert_slice %[[SUM]] into %[[DW]][%[[T]], 0] [1, 4] [1, 1]
// CHECK: scf.yield %[[DPREV]], %[[NEWDW]]
// CHECK: return %[[TAPED]]#0, %[[REV]]#0, %[[REV]]#1
func.func @loop(%x: tensor<4xf32>, %w: tensor<3x4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> tensor<4xf32> {
    %row = tensor.extract_slice %w[%i, 0] [1, 4] [1, 1] : tensor<3x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %m = linalg.mul ins(%a, %row : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    scf.yield %m : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// A carried value the body only writes slices of (the chunk states of a
// chunked scan) gets no tape: one tape, of %a only, and in the reverse
// loop an empty tensor stands in for the states.

// CHECK-LABEL: func.func @write_only_grad(
// CHECK: %[[TAPED:.*]]:3 = scf.for {{.*}} -> (tensor<4xf32>, tensor<3x4xf32>, tensor<?x4xf32>)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (tensor<4xf32>, tensor<3x4xf32>, tensor<4xf32>)
// CHECK: %[[A:.*]] = tensor.extract_slice %[[TAPED]]#2
// CHECK: %[[STANDIN:.*]] = tensor.empty() : tensor<3x4xf32>
// CHECK: tensor.insert_slice %[[A]] into %[[STANDIN]]
func.func @write_only(%x: tensor<4xf32>, %w: tensor<4xf32>) -> tensor<3x4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %s0 = tensor.empty() : tensor<3x4xf32>
  %r:2 = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x, %s = %s0) -> (tensor<4xf32>, tensor<3x4xf32>) {
    %w1 = tensor.insert_slice %a into %s[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<3x4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %m = linalg.mul ins(%a, %w : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    scf.yield %m, %w1 : tensor<4xf32>, tensor<3x4xf32>
  }
  return %r#1 : tensor<3x4xf32>
}

// -----

// A carried value the body only adds into (the accumulator of a reduction
// yielded in its place: attention's output over key tiles) gets no tape
// either: the taping loop returns the sum alone, the reverse loop passes
// the sum's adjoint through unchanged and never reads the sum (an empty
// tensor stands in for it) while it accumulates the gradient of %w's rows.

// CHECK-LABEL: func.func @running_sum_grad(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4xf32>, %[[W:[^:]*]]: tensor<3x4x5xf32>, %[[DR:[^:]*]]: tensor<4xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[X]]) -> (tensor<4xf32>)
// CHECK: %[[TAPED:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[X]]) -> (tensor<4xf32>)
// CHECK: scf.for {{.*}} iter_args(%[[DA:[^ ]*]] = %[[DR]], %{{.*}}) -> (tensor<4xf32>, tensor<3x4x5xf32>)
// CHECK: %[[STANDIN:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: linalg.generic {{.*}} outs(%[[STANDIN]] : tensor<4xf32>)
// CHECK: scf.yield %[[DA]], %{{.*}} : tensor<4xf32>, tensor<3x4x5xf32>
// CHECK: return %[[TAPED]]
func.func @running_sum(%x: tensor<4xf32>, %w: tensor<3x4x5xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> tensor<4xf32> {
    %row = tensor.extract_slice %w[%i, 0, 0] [1, 4, 5] [1, 1, 1] : tensor<3x4x5xf32> to tensor<4x5xf32>
    %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                         iterator_types = ["parallel", "reduction"]}
        ins(%row : tensor<4x5xf32>) outs(%a : tensor<4xf32>) {
    ^bb0(%e: f32, %acc: f32):
      %sq = arith.mulf %e, %e : f32
      %sum = arith.addf %acc, %sq : f32
      linalg.yield %sum : f32
    } -> tensor<4xf32>
    scf.yield %s : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// ssm.stop_gradient: y = x * stop_gradient(x) has dy/dx = stop_gradient(x)
// (not 2x): the one gradient generic reads the held value and the cotangent;
// no ssm.stop_gradient is left.

// CHECK-LABEL: func.func @stop_grad_grad(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4xf32>, %[[DY:[^:]*]]: tensor<4xf32>
// CHECK-NOT: ssm.stop_gradient
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[X]] :
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[X]], %{{.*}}, %[[DY]] :
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %[[H:[^:]*]]: f32, %{{.*}}: f32, %[[D:[^:]*]]: f32,
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.0
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: %[[T:.*]] = arith.mulf %[[ONE]], %[[H]] : f32
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[D]], %[[T]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %{{.*}}, %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]], %[[DX]]
func.func @stop_grad(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %h = ssm.stop_gradient %x : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.mul ins(%x, %h : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @loop_scalar(%x: tensor<4xf32>, %s: f32) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{ssm-differentiate: a loop-carried value is not a ranked tensor; no reverse rule yet}}
  %r:2 = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %x, %b = %s) -> (tensor<4xf32>, f32) {
    %t = arith.addf %b, %b : f32
    scf.yield %a, %t : tensor<4xf32>, f32
  }
  return %r#0 : tensor<4xf32>
}

// -----

func.func @loop_i32(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c4 = arith.constant 4 : i32
  // expected-error @+1 {{ssm-differentiate: the induction variable is not an index; no reverse rule yet}}
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %x) -> tensor<4xf32> : i32 {
    scf.yield %a : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @loop_captured_scalar(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %s = tensor.extract %x[%c0] : tensor<4xf32>
  // expected-error @+1 {{ssm-differentiate: the loop body captures a scalar that depends on the differentiated arguments; not supported yet}}
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %x) -> tensor<4xf32> {
    %t = tensor.insert %s into %a[%i] : tensor<4xf32>
    scf.yield %t : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// expected-error @+1 {{ssm-differentiate: cannot read the function's ssm.signature}}
func.func @bad_signature(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate, ssm.signature = "{\22inputs\22: 3}"} {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{ssm-differentiate: a symbol named 'taken_grad' exists already}}
func.func @taken(%x: tensor<4xf32>) -> tensor<4xf32> attributes {ssm.differentiate} {
  return %x : tensor<4xf32>
}
func.func @taken_grad() {
  return
}
