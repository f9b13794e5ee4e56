// RUN: ssm-opt %s --ssm-transpose-constant-weights="panel-width=0" --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-transpose-constant-weights="panel-width=2" --split-input-file | FileCheck %s --check-prefix=PANEL
// RUN: not ssm-opt %s --ssm-transpose-constant-weights="panel-width=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: ssm-transpose-constant-weights: panel-width must be >= 0

#x = affine_map<(i, j, k) -> (i, k)>
#kn = affine_map<(i, j, k) -> (k, j)>
#nk = affine_map<(i, j, k) -> (j, k)>
#y = affine_map<(i, j, k) -> (i, j)>

// A (k, n) = (3, 2) constant read by two products (either input order) is
// stored once as (n, k) = (2, 3), with its values transposed, and read
// through (j, k) by both.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[NK:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @two_products
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
// CHECK-NOT: tensor<3x2xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[NK]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[W]] : tensor<?x3xf32>, tensor<2x3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[NK]], #[[X]], #{{.*}}]{{.*}} ins(%[[W]], %{{.*}} : tensor<2x3xf32>, tensor<?x3xf32>)
// With panel-width 2, the (3, 2) constant is one panel of 2 columns:
// (1, 3, 2), its rows as they were, read through (j floordiv 2, k, j mod 2).
// PANEL-DAG: #[[P:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 2, d2, d1 mod 2)>
// PANEL-LABEL: func.func @two_products
// PANEL: %[[W:.*]] = arith.constant dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]]> : tensor<1x3x2xf32>
// PANEL: linalg.generic {indexing_maps = [#{{.*}}, #[[P]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[W]] : tensor<?x3xf32>, tensor<1x3x2xf32>)
// PANEL: linalg.generic {indexing_maps = [#[[P]], #{{.*}}, #{{.*}}]{{.*}} ins(%[[W]], %{{.*}} : tensor<1x3x2xf32>, tensor<?x3xf32>)
func.func @two_products(%x: tensor<?x3xf32>, %o: tensor<?x2xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %y = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x3xf32>, tensor<3x2xf32>) outs(%o : tensor<?x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x2xf32>
  %z = linalg.generic {indexing_maps = [#kn, #x, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : tensor<3x2xf32>, tensor<?x3xf32>) outs(%o : tensor<?x2xf32>) {
  ^bb0(%b: f32, %a: f32, %acc: f32):
    %m = arith.mulf %b, %a : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?x2xf32>
  return %y, %z : tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

#x = affine_map<(i, j, k) -> (i, k)>
#xt = affine_map<(i, j, k) -> (k, i)>
#kn = affine_map<(i, j, k) -> (k, j)>
#nk = affine_map<(i, j, k) -> (j, k)>
#y = affine_map<(i, j, k) -> (i, j)>

// Left alone: a constant that is also returned, a product whose other
// input is not read along k last (the dot-product kernel would not apply),
// a weight already (n, k), and a product that is not a multiply-add.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: arith.constant {{.*}} : tensor<2x3xf32>
// CHECK-COUNT-3: arith.constant {{.*}} : tensor<3x2xf32>
// CHECK-NOT: arith.constant {{.*}} : tensor<2x3xf32>
// CHECK: return
func.func @left_alone(%x: tensor<4x3xf32>, %xt: tensor<3x4xf32>, %o: tensor<4x2xf32>, %e: tensor<2x3xf32>)
    -> (tensor<3x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %shared = arith.constant dense<1.0> : tensor<3x2xf32>
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %w2 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %a = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %shared : tensor<4x3xf32>, tensor<3x2xf32>) outs(%o : tensor<4x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  %b = linalg.generic {indexing_maps = [#xt, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xt, %w : tensor<3x4xf32>, tensor<3x2xf32>) outs(%o : tensor<4x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  %c = linalg.generic {indexing_maps = [#x, #nk, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %e : tensor<4x3xf32>, tensor<2x3xf32>) outs(%o : tensor<4x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  %d = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w2 : tensor<4x3xf32>, tensor<3x2xf32>) outs(%o : tensor<4x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.subf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  return %shared, %a, %b, %c, %d : tensor<3x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

#x = affine_map<(i, j, k) -> (i, k)>
#kn = affine_map<(i, j, k) -> (k, j)>
#y = affine_map<(i, j, k) -> (i, j)>

// Panels of 2 columns of a (2, 3) weight: column 2 starts a second panel,
// padded with zeros; a splat weight whose columns fill whole panels stays a
// splat, one that does not is padded.
// PANEL-LABEL: func.func @padded_panels
// PANEL: arith.constant dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00], [4.000000e+00, 5.000000e+00]], {{\[}}[3.000000e+00, 0.000000e+00], [6.000000e+00, 0.000000e+00]]]> : tensor<2x2x2xf32>
// PANEL: arith.constant dense<7.000000e+00> : tensor<2x2x2xf32>
// PANEL: arith.constant dense<{{\[}}{{\[}}[7.000000e+00, 7.000000e+00], [7.000000e+00, 7.000000e+00]], {{\[}}[7.000000e+00, 0.000000e+00], [7.000000e+00, 0.000000e+00]]]> : tensor<2x2x2xf32>
func.func @padded_panels(%x: tensor<?x2xf32>, %o: tensor<?x3xf32>, %o4: tensor<?x4xf32>)
    -> (tensor<?x3xf32>, tensor<?x4xf32>, tensor<?x3xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %s4 = arith.constant dense<7.0> : tensor<2x4xf32>
  %s3 = arith.constant dense<7.0> : tensor<2x3xf32>
  %y = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x2xf32>, tensor<2x3xf32>) outs(%o : tensor<?x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x3xf32>
  %z = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %s4 : tensor<?x2xf32>, tensor<2x4xf32>) outs(%o4 : tensor<?x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x4xf32>
  %v = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %s3 : tensor<?x2xf32>, tensor<2x3xf32>) outs(%o : tensor<?x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x3xf32>
  return %y, %z, %v : tensor<?x3xf32>, tensor<?x4xf32>, tensor<?x3xf32>
}

// -----

#x = affine_map<(i, j, k) -> (i, k)>
#nk = affine_map<(i, j, k) -> (j, k)>
#y = affine_map<(i, j, k) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#e = affine_map<(i, j) -> (i, j)>

// A tied embedding E (n, k) = (3, 2): the LM head reads it as (n, k), the
// token gather element by element. With panels, E is stored as panels of
// columns n ((2, 2, 2): E^T's columns 0-1, then column 2 and zeros), the
// product reads (j floordiv 2, k, j mod 2), and the gather E[t, c] reads
// P[t floordiv 2, c, t mod 2]. Without panels (n, k) is already the
// dot-product kernel's layout: nothing changes.
// PANEL-DAG: #[[P:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 2, d2, d1 mod 2)>
// PANEL-LABEL: func.func @tied_embedding
// PANEL: %[[E:.*]] = arith.constant dense<{{\[}}{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]], {{\[}}[5.000000e+00, 0.000000e+00], [6.000000e+00, 0.000000e+00]]]> : tensor<2x2x2xf32>
// PANEL-NOT: tensor<3x2xf32>
// PANEL: linalg.generic
// PANEL: %[[T:.*]] = arith.index_cast
// PANEL: %[[C:.*]] = linalg.index 1
// PANEL: %[[C2:.*]] = arith.constant 2 : index
// PANEL: %[[PANEL:.*]] = arith.divui %[[T]], %[[C2]]
// PANEL: %[[LANE:.*]] = arith.remui %[[T]], %[[C2]]
// PANEL: tensor.extract %[[E]][%[[PANEL]], %[[C]], %[[LANE]]] : tensor<2x2x2xf32>
// PANEL: linalg.generic {indexing_maps = [#{{.*}}, #[[P]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[E]] : tensor<?x2xf32>, tensor<2x2x2xf32>)
// CHECK-LABEL: func.func @tied_embedding
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<3x2xf32>
// CHECK-NOT: tensor<2x3xf32>
func.func @tied_embedding(%ids: tensor<?xi64>, %g: tensor<?x2xf32>, %o: tensor<?x3xf32>)
    -> (tensor<?x2xf32>, tensor<?x3xf32>) {
  %e = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %h = linalg.generic {indexing_maps = [#row, #e], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<?xi64>) outs(%g : tensor<?x2xf32>) {
  ^bb0(%id: i64, %out: f32):
    %t = arith.index_cast %id : i64 to index
    %c = linalg.index 1 : index
    %v = tensor.extract %e[%t, %c] : tensor<3x2xf32>
    linalg.yield %v : f32
  } -> tensor<?x2xf32>
  %y = linalg.generic {indexing_maps = [#x, #nk, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %e : tensor<?x2xf32>, tensor<3x2xf32>) outs(%o : tensor<?x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x3xf32>
  return %h, %y : tensor<?x2xf32>, tensor<?x3xf32>
}

// -----

#x = affine_map<(i, j, k) -> (i, k)>
#kn = affine_map<(i, j, k) -> (k, j)>
#nk = affine_map<(i, j, k) -> (j, k)>
#y = affine_map<(i, j, k) -> (i, j)>

// A square constant read as (k, n) by one product and as (n, k) by another
// keeps its layout: one stored copy cannot serve both.
// PANEL-LABEL: func.func @mixed_orientation
// PANEL: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// PANEL-NOT: tensor<1x2x2xf32>
// PANEL: return
func.func @mixed_orientation(%x: tensor<?x2xf32>, %o: tensor<?x2xf32>)
    -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %a = linalg.generic {indexing_maps = [#x, #kn, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x2xf32>, tensor<2x2xf32>) outs(%o : tensor<?x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x2xf32>
  %b = linalg.generic {indexing_maps = [#x, #nk, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x2xf32>, tensor<2x2xf32>) outs(%o : tensor<?x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x2xf32>
  return %a, %b : tensor<?x2xf32>, tensor<?x2xf32>
}
