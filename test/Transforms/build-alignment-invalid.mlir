// RUN: ssm-opt %s --ssm-build-alignment=mode=matrix-orientation --split-input-file --verify-diagnostics
// RUN: not ssm-opt %s --split-input-file --ssm-build-alignment=mode=sideways 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not ssm-opt %s --split-input-file --ssm-build-alignment=entry=nowhere 2>&1 | FileCheck %s --check-prefix=ENTRY

// MODE: ssm-build-alignment: mode must be hidden-states, hidden-alignment or matrix-orientation, got 'sideways'
// ENTRY: ssm-build-alignment: no function named 'nowhere'

// expected-error @+1 {{ssm-build-alignment: the function has no mixer (attention, SSM) ops: no blocks to align}}
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  return %x : tensor<1x4x8xf32>
}

// -----

// The mixer's output leaves without a residual add.
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %q = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  // expected-error @+1 {{ssm-build-alignment: no residual connection around this mixer (an add of the block's input and a value computed from the mixer's output)}}
  %y = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o = tensor.collapse_shape %y [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}

// -----

// The second block reads the first block's input, not the stream after it.
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x8xf32>
  %q = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o = tensor.collapse_shape %y [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r = linalg.add ins(%x, %o : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %z = linalg.mul ins(%r, %r : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %q1 = tensor.expand_shape %z [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  // expected-error @+1 {{ssm-build-alignment: the residual stream of block 0 does not reach this mixer's block input}}
  %y1 = ssm.attention %q1, %q1, %q1 {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o1 = tensor.collapse_shape %y1 [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r1 = linalg.add ins(%z, %o1 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %r1 : tensor<1x4x8xf32>
}

// -----

// expected-error @+1 {{ssm-build-alignment: a symbol named 'loss' exists already}}
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  return %x : tensor<1x4x8xf32>
}
func.func @loss() {
  return
}

// -----

// Two mixers on one block input (a per-head hybrid): stage 1 compares one
// matrix per block.
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x8xf32>
  %q = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  // expected-error @+1 {{ssm-build-alignment: matrix orientation needs one mixer per block (this block has 2)}}
  %y2 = ssm.attention %q, %q, %q : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o = tensor.collapse_shape %y [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %o2 = tensor.collapse_shape %y2 [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %s = linalg.mul ins(%o, %o2 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %r = linalg.add ins(%x, %s : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %r : tensor<1x4x8xf32>
}

// -----

// expected-error @+1 {{ssm-build-alignment: the entry must take integer token ids first}}
func.func @main(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x8xf32>
  %q = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o = tensor.collapse_shape %y [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r = linalg.add ins(%x, %o : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %r : tensor<1x4x8xf32>
}

// -----

// expected-error @+1 {{ssm-build-alignment: the function must have a body of one block}}
func.func private @main(tensor<1x4xi64>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>

// -----

// A third mixer reads the first block's input again, after the second
// block: the blocks do not form one residual stream.
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x8xf32>
  %q = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o = tensor.collapse_shape %y [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r = linalg.add ins(%x, %o : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %q1 = tensor.expand_shape %r [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y1 = ssm.attention %q1, %q1, %q1 {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o1 = tensor.collapse_shape %y1 [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r1 = linalg.add ins(%r, %o1 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // expected-error @+1 {{ssm-build-alignment: this mixer's block input is an earlier block's}}
  %y2 = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o2 = tensor.collapse_shape %y2 [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r2 = linalg.add ins(%r1, %o2 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %r3 = linalg.add ins(%x, %r2 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %r3 : tensor<1x4x8xf32>
}
