// Upstream's linalg.transpose parser crashes after reporting a malformed
// permutation; ssm-opt and ssmc recover and exit 1 with the error.
// RUN: not ssm-opt %s 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not ssmc %s -o %t.so 2>&1 | FileCheck %s --check-prefix=SSMC
// RUN: not ls %t.so
// OPT: error: custom op 'linalg.transpose' expected integer value
// OPT: ssm-opt: error: MLIR crashed after reporting the errors above; the input is invalid
// SSMC: error: custom op 'linalg.transpose' expected integer value
// SSMC: ssmc: error: {{.*}}parser-crash.mlir: the MLIR parser crashed on this input (after the errors above, if any); it is invalid
func.func @f(%t: tensor<2x6x5xf32>) -> tensor<2x5x6xf32> {
  %e = tensor.empty() : tensor<2x5x6xf32>
  %r = linalg.transpose ins(%t : tensor<2x6x5xf32>) outs(%e : tensor<2x5x6xf32>) permutation = [0, 2, ?]
  return %r : tensor<2x5x6xf32>
}
