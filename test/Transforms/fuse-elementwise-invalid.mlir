// RUN: ssm-opt %s --ssm-fuse-elementwise --split-input-file --verify-diagnostics

// The upstream verifier accepts a static output_shape entry that differs
// from the result type; the reshape patterns would rewrite it forever.
func.func @inconsistent_expand(%x: tensor<?x8xf32>, %b: index) -> tensor<?x2x4xf32> {
  // expected-error @+1 {{'tensor.expand_shape' op output_shape entry 1 is 3, but the result type has 2}}
  %a = tensor.expand_shape %x [[0], [1, 2]] output_shape [%b, 3, 4] : tensor<?x8xf32> into tensor<?x2x4xf32>
  return %a : tensor<?x2x4xf32>
}
