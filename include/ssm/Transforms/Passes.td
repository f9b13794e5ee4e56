//===- Passes.td - SSM transformation passes ---------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PASSES_TD
#define SSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMMaterializeMixers : Pass<"ssm-materialize-mixers"> {
  let summary = "Lower every mixer to its quadratic (materialized mixing matrix) form";
  let description = [{
    Replaces every op implementing `MixerOpInterface` by the ops that
    `buildQuadraticForm` builds: the per-head mixing matrix materialized in
    `linalg`/`tensor`/`arith`/`math`, applied to the inputs, plus the
    initial-state contribution, skip connection, gate and final states. This
    is the reference semantics that chunked and GPU forms are tested
    against; it costs O(L^2) memory per head.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMMixersToRecurrent : Pass<"ssm-mixers-to-recurrent"> {
  let summary = "Lower every mixer to its recurrent form: a loop of single-token steps";
  let description = [{
    Replaces every op implementing `MixerOpInterface` by an `scf.for` over
    the tokens whose body is the op's `buildRecurrentStep`, carrying the
    explicit state of `getStateInfo` (SSM state, rotary angle, last token,
    KV cache) from token to token. This is the form decode entry points use
    one token at a time; as a whole-sequence lowering it is the second
    reference the quadratic form is checked against. Non-causal attention and
    attention with an additive mask have no recurrent form: the pass reports
    an error on them.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMSelectChunkSizes : Pass<"ssm-select-chunk-sizes"> {
  let summary = "Choose the chunk size of every mixer that has a chunked form";
  let description = [{
    Records on every mixer with a chunked form the chunk size the chunked
    lowering will use, as the discardable attribute `ssm.chunk_size`
    (`i64`). A size already present (written by hand, or by an earlier run)
    is kept; the `chunk-size` option overrides every op. Mixers marked
    `ssm.single_token` (those of a derived `decode`, which run over one
    token) get none: their quadratic form is cheapest.

    The cost model (CPU) balances the two parts of the chunked algorithm.
    Per token and head, with chunks of `Q` tokens, head size `p` and state
    size `n`, the intra-chunk part costs about `Q (n + p)` multiply-adds
    (building and applying the chunk's mixing matrix) and the state part
    about `2 p n` (writing the chunk's state and reading the state entering
    it), independent of `Q`; the loop over chunks is sequential, `L / Q`
    steps. The model takes `Q` where the intra-chunk work equals the state
    work, `Q = 2 p n / (n + p)`, rounded to the nearest power of two and
    clamped to `[16, 256]`: smaller chunks would leave the sequential state
    passing dominant, larger ones add quadratic work. It never exceeds a
    static sequence length. Mamba-3 uses the same balance with its
    `(p, n)` state.

    For attention the size is the key tile of the online softmax: the
    tile's keys and values, `T (d + dv)` floats, fill 64 KiB, so that they
    stay in the L2 cache while every query row reads them:
    `T = 16384 / (d + dv)` rounded down to a power of two, clamped to
    `[16, 256]` and to a static key count.
  }];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"0",
           "Chunk size for every mixer (0: the cost model)">
  ];
}

def SSMChunkMixers : Pass<"ssm-chunk-mixers"> {
  let summary = "Lower mixers that carry a chunk size to their chunked form";
  let description = [{
    Replaces every mixer carrying `ssm.chunk_size` (see
    `ssm-select-chunk-sizes`) by the ops that `buildChunkedForm` builds.
    The result equals the quadratic form for every chunk size (up to
    rounding); memory is O(L x chunk) per head instead of O(L^2).

    - `ssm.ssd`, `ssm.discrete_ssd`: the sequence cut into chunks (the last
      one zero-padded), every chunk's intra-chunk mixing matrix and own
      state built at once as batched matrix products, and a loop over the
      chunks that only passes the state.
    - `ssm.mamba3` (SISO and MIMO): a loop over the chunks, each computed
      in quadratic form (its `(Q r) x (Q r)` mixing matrix) from the state,
      angle, last key and last input the previous chunk left.
    - `ssm.attention`: online softmax over tiles of keys (keys, values and
      mask zero-padded, padding keys masked): the loop over the tiles
      carries each query row's running maximum, running sum and output,
      rescaled when the maximum grows; the scores are `(b, hq, l, T)`,
      never `l x s`.

    With `differentiable`, mixers use `buildDifferentiableChunkedForm`, the
    form the differentiation passes reverse without a tape of the values the
    loops carry. For `ssm.attention` that is three loops over the key tiles:
    each query row's maximum score (through `ssm.stop_gradient`: the
    log-sum-exp does not depend on it), the sum of `exp(score - max)`, then
    the output as a sum of `exp(score - lse) v`. Every loop only adds into
    what it carries (or is held constant), so its reverse recomputes each
    tile's scores and probabilities from the log-sum-exp instead of taping
    an accumulator per tile; the forward pass computes the scores three
    times instead of once. The other mixers have one chunked form.

    Mixers without the attribute are left for the next lowering; a mixer
    with the attribute but no chunked form (`ssm.linear_attention`) is an
    error.
  }];
  let options = [
    Option<"differentiable", "differentiable", "bool", /*default=*/"false",
           "Build the chunked forms meant to be differentiated "
           "(buildDifferentiableChunkedForm)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMFuseAttention : Pass<"ssm-fuse-attention"> {
  let summary = "Replace ssm.attention by ssm.fused_attention (one kernel on GPU targets)";
  let description = [{
    The GPU targets run softmax attention as one FlashAttention kernel
    rather than as the chunked form's loop of linalg ops (a kernel launch
    per op and per key tile, the scores stored). This pass rewrites each
    `ssm.attention` into `ssm.fused_attention` on `f32` tensors: the
    operands cast to `f32`, the default scale `1/sqrt(d)` made explicit, the
    result written to a new `tensor.empty` and cast back to the op's
    result type. `ssm-linalg-to-gpu` then emits the kernel from the
    bufferized op.

    The kernel keeps a block's output rows in registers, so only attention
    whose value head size is at most `max-value-dim` (default and largest
    value 128; a larger one is an error) is rewritten; any other stays an
    `ssm.attention` for the mixer passes. The GPU pipelines of
    `ssmc` run this pass before the mixers are lowered (all mixer forms;
    `--fused-attention=false` leaves attention to them).

    ```mlir
    %y = ssm.attention %q, %k, %v {causal}
        : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>)
        -> tensor<?x?x8x64xf32>
    // becomes
    %e = tensor.empty(%b, %l) : tensor<?x?x8x64xf32>
    %y = ssm.fused_attention %q, %k, %v outs(%e : tensor<?x?x8x64xf32>)
        {causal, scale = 1.250000e-01 : f32} : ... -> tensor<?x?x8x64xf32>
    ```
  }];
  let options = [
    Option<"maxValueDim", "max-value-dim", "int64_t", /*default=*/"128",
           "Largest value head size the fused kernel takes">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMFuseSSD : Pass<"ssm-fuse-ssd"> {
  let summary = "Replace ssm.ssd and ssm.discrete_ssd by ssm.fused_ssd (fused kernels on GPU targets)";
  let description = [{
    The GPU targets run the scalar-decay SSMs (Mamba-2's SSD and Discrete
    Mamba-2) as two fused kernels rather than as the chunked form's linalg
    ops (a launch per op, every chunk's state stored). This pass rewrites
    each `ssm.ssd` and `ssm.discrete_ssd` on tensors into its prologue
    (linalg ops computing the per-token log decay and, for SSD, the input
    scale `dt'`; the gate bias of Discrete Mamba-2) followed by
    `ssm.fused_ssd` on `f32` tensors, whose results are written to new
    `tensor.empty` tensors and cast back to the op's result types.
    `ssm-linalg-to-gpu` then emits the kernels from the bufferized op.

    The kernels keep a head's state slice in workgroup memory, so only ops
    whose state size `n` is at most `max-state-dim` (default and largest
    value 128; a larger one is an error) are rewritten; any other stays for
    the mixer passes. The GPU pipelines of `ssmc` run this pass before the
    mixers are lowered (all mixer forms; `--fused-ssd=false` leaves the SSMs
    to them).

    ```mlir
    %y, %s = ssm.discrete_ssd %x, %a, %B, %C
        : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<?x?x1x32xf32>,
           tensor<?x?x1x32xf32>)
        -> (tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>)
    // becomes (the log decay -softplus(a) computed by a linalg.generic)
    %y, %s = ssm.fused_ssd %x, %g, %B, %C outs(%ye, %se : ...) : ...
    ```
  }];
  let options = [
    Option<"maxStateDim", "max-state-dim", "int64_t", /*default=*/"128",
           "Largest state size the fused kernels take">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def SSMStripStopGradients : Pass<"ssm-strip-stop-gradients"> {
  let summary = "Replace every ssm.stop_gradient by its operand";
  let description = [{
    `ssm.stop_gradient` only matters to the differentiation passes (which
    strip it themselves when they are done). This pass replaces the ones left
    by their operands, so that a pipeline without differentiation lowers the
    rest; the CPU and CUDA pipelines run it after `convert-ssm-to-linalg`.
  }];
}

def SSMDeriveGeneration : Pass<"ssm-derive-generation", "::mlir::ModuleOp"> {
  let summary = "Derive stateful prefill and decode entry points from a model function";
  let description = [{
    From a model function `entry(tokens) -> outputs` (the ONNX importer's
    `main`: token ids `(batch, seq)` in, logits out), builds two functions
    that carry the model's recurrent state from call to call:

    ```
    prefill(tokens (batch, seq), state...) -> (outputs..., state...)
    decode (tokens (batch, 1),   state...) -> (outputs..., state...)
    ```

    The state is, in this order: `position` (`tensor<1xi64>`, the tokens
    the sequences already hold), then for every stateful op in program order
    its state, named `<kind>.<i>`:

    * `ssm.causal_conv1d`: `conv_state (batch, channels, kernel - 1)`;
    * `ssm.ssd`, `ssm.discrete_ssd`: `ssm_state (batch, heads, p, n)`;
    * `ssm.linear_attention`: `linear_attention_state (batch, hkv, dk, dv)`;
    * `ssm.mamba3`: `ssm_state`, `angle_state`, `k_state`, `x_state`;
    * `ssm.attention` (causal, without an additive mask): `k_cache` and
      `v_cache (batch, past, kv_heads, dim)`, which grow by `seq` tokens per
      call: the new keys and values are appended and the queries attend to
      the whole cache (the op's causal alignment to the end of the keys).
    * `ssm.token_positions` reads `position` as its offset.

    The state inputs become the ops' `initial_*` operands, their final
    states (and the extended caches) the state outputs; `position` grows by
    `seq`. So prefill of `L` tokens followed by decode steps equals the
    forward function over all the tokens. `decode` is `prefill` with a
    sequence of one token, its mixers marked `ssm.single_token` (so that
    they keep their quadratic form, a 1 x 1 matrix and the state update in
    the state's own layout, instead of a chunked form).
    Both get an `ssm.signature` (inputs and outputs as in the entry's, then
    the state, with `"state"` giving its count and `"generation"` the kind).

    With `prefill-logits=last` (the default), prefill returns, of every
    entry output that has one row per token (its dimension 1 named as the
    token input's sequence size in the entry's signature: the logits), the
    row of the last token only, `(batch, 1, ...)`: what generation needs
    to pick the next token. The slice is moved up through the per-token
    ops that compute that output alone (the final norm, the LM head, the
    last block's projections and MLP; upstream linalg and tensor bubble-up
    patterns), so prefill computes them for one token instead of `seq`:
    for a language model most of the LM head's work. `prefill-logits=all`
    keeps every token's row (scoring a prompt).

    The entry function is kept. The pass fails with a message when the
    model cannot be run token by token: more inputs than the token ids, a
    static sequence length, an op marked `ssm.token_mixing` by the importer
    that still contributes to the outputs (a decomposed mixer the importer
    did not recognize), attention that is not causal or has an additive
    mask, or an op that already takes an initial state.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "The model function to derive prefill and decode from">,
    Option<"prefillLogits", "prefill-logits", "std::string",
           /*default=*/"\"last\"",
           "Rows of the per-token outputs that prefill returns: 'last' "
           "(the last token's) or 'all'">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"
  ];
}

def SSMDifferentiate : Pass<"ssm-differentiate", "::mlir::ModuleOp"> {
  let summary = "Build the gradient function of a function (reverse mode)";
  let description = [{
    For each function `f(x...) -> (y...)` named in `functions` (or, when
    that list is empty, carrying the unit attribute `ssm.differentiate`),
    adds a public function `f_grad(x..., dy...) -> (y..., dx...)`: one
    cotangent argument per floating-point tensor result (named `d_<result>`)
    and, after the original results, the gradient of every floating-point
    tensor argument (named `d_<argument>`): the vector-Jacobian product
    `dx = (dy/dx)^T dy`. Integer arguments (token ids) get no gradient.

    The gradient function runs the forward computation, then the reverse
    of each op in reverse order, accumulating the adjoints of values used
    more than once. Every forward value stays available to the reverse
    (no recomputation yet). Rules:

    - `linalg.generic`: for each operand `x` that depends on the
      differentiated arguments, a generic over the same loops computes
      `dx[m_x(i)] += sum_k dy_k[m_k(i)] * d body_k / d x` with the
      derivative of the body taken in forward mode over its scalar ops
      (`arith` add, sub, mul, div, neg, max/min, select, extf, truncf;
      `math` exp, exp2, expm1, log, log1p, log2, sqrt, rsqrt, tanh, sin,
      cos, absf, erf, powf, fma; floor, ceil, round and trunc have zero
      derivative); loops that `m_x` does not use are reduced. Reduction
      loops are supported when each output combines its accumulator as
      `acc + e` (the adjoint flows to `e` and unchanged to the initial
      value) or `max/min(acc, e)` (the adjoint flows to the points that
      attain the result). Operands must be read through projections of
      the loops, constants allowed (a convolution's taps: the gradient goes
      to that slice). Elements the body reads with `tensor.extract` from a
      tensor it captures (an embedding lookup) have their adjoints added at
      the same indices, in a sequential loop nest over the op's iteration
      space (indices may repeat).
    - named `linalg` ops are generalized first; `linalg.fill` overwrites
      its output (no gradient flows through it).
    - `tensor.extract_slice`, `insert_slice`, `expand_shape`,
      `collapse_shape` and `cast`: their structural reverses.
    - `scf.for` with an index induction variable and tensors carried: the
      loop is replaced by one that also records the values carried into
      each iteration (a tape of trip count x carried size), and a reverse
      loop runs the iterations backwards: it recomputes each iteration's
      body from the tape and applies the body's reverse (these rules,
      nested loops included), carrying the adjoints of the carried values
      and accumulating those of the tensors the body captures (a slice of
      a captured tensor gets its adjoint added to that slice only). The
      delta rules' forward substitution is such a loop. A carried value
      the reverse never reads gets no tape: one the body only writes
      slices of (`insert_slice` into it, yielded in its place) or only adds
      into (the accumulator of a reduction `acc + e`, yielded in its place).
    - `ssm.stop_gradient`: its result is held constant. Every
      `ssm.stop_gradient` in the module is replaced by its operand at the
      end of the pass.

    The other `ssm` dialect ops have no rule yet: lower them first (`ssmc
    --gradients` runs `ssm-chunk-mixers{differentiable}` for the mixers
    with a chunked form,
    `ssm-materialize-mixers` for the others, then `convert-ssm-to-linalg`). A value that a generic's body captures
    from above and uses other than through `tensor.extract`, loops carrying
    scalars, scalars a loop captures, other control flow, calls and any
    other op on a value that depends on the arguments are
    reported as errors.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "The functions to differentiate (default: those carrying "
               "ssm.differentiate)">,
    Option<"suffix", "suffix", "std::string", /*default=*/"\"_grad\"",
           "The gradient function's name: the function's name and this">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMBuildAlignment : Pass<"ssm-build-alignment", "::mlir::ModuleOp"> {
  let summary = "MOHAWK stages 1 and 2: a model's blocks, hidden states, "
                "mixing matrices and alignment losses";
  let description = [{
    Finds the blocks of the entry function on its residual stream: each
    mixer op's block input is the value its operands are computed from
    that an elementwise add joins with a value computed from the mixer's
    output (the residual connection; mixers sharing an input, as in a
    per-head hybrid, form one block). The stream then runs through further
    residual adds (an add of the stream and a value computed from it: the
    MLP's) to the next block's input, and after the last block to the final
    hidden state (the input of the final norm). Then, by `mode`:

    - `hidden-states` (the teacher): adds `hidden_states(inputs...) ->
      (hidden.0, ..., hidden.n)`, the n block inputs and the final hidden
      state, and `mixing_matrices(inputs...) -> (mixing.0, ...)`, each
      mixer's materialized mixing matrix (batch, heads, L, L) in program
      order (the interface's `materializeMixingMatrix`: an attention
      layer's softmax matrix; skip connections and gates not included).
    - `hidden-alignment` (MOHAWK stage 2, SEMANTICS.md): adds
      `loss(input_ids, hidden.0, ..., hidden.n, parameters...) -> loss`:
      every block reads `hidden.l` (the teacher's block input) in place of
      its own, and `loss = sum_l mean_{b,t} ||block_l(hidden.l)_t -
      hidden.(l+1)_t||_2` (per-token L2 norm, not squared).
    - `matrix-orientation` (MOHAWK stage 1): adds `loss(input_ids,
      hidden.0, ..., hidden.(n-1), mixing.0, ..., parameters...) -> loss`:
      each mixer's matrix `T_l` computed from the teacher's block input,
      `loss = sum_l mean_{b,h} ||T_l - mixing.l||_F`. One mixer per block.

    The norms are 0 with derivative 0 at 0 (as `torch.linalg.norm`).
    `ssm-build-train-step` with the same `loss` builds the train step from
    this function. A model without mixers, a mixer without a residual
    connection, or a stream that does not reach the next block is an error.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "The model's entry function">,
    Option<"mode", "mode", "std::string", /*default=*/"\"hidden-states\"",
           "hidden-states (teacher outputs), hidden-alignment (stage 2 "
           "loss) or matrix-orientation (stage 1 loss)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMBuildTrainStep : Pass<"ssm-build-train-step", "::mlir::ModuleOp"> {
  let summary = "Build a language model's cross-entropy loss and AdamW train step";
  let description = [{
    From the entry function `main(input_ids, parameters...) -> (logits,
    ...)` (integer token ids (batch, seq) first, float32 logits (batch,
    seq, vocab) first; the parameters are the other float arguments, as
    `ssmc --train` imports them), adds:

    - `loss(input_ids, labels, parameters...) -> loss`: the mean over the
      tokens of `logsumexp(logits) - logits[label]`; labels outside
      `[0, vocab)` (PyTorch's -100) are ignored and not counted.
      With `loss=distillation` (MOHAWK stage 3, SEMANTICS.md), `loss`
      takes `teacher_logits` (batch, seq, vocab) after the labels and
      averages `-sum_v softmax(teacher)_v log softmax(logits / T)_v` over
      the tokens whose labels are valid, plus `label-weight` times the
      cross-entropy; the teacher's logits get no gradient.
    - `loss_grad`: its gradient function (ssm-differentiate).
    - `train_step(input_ids, labels, parameters..., adam_m.<p>...,
      adam_v.<p>..., lr, step) -> (loss, grad_norm, parameters'...,
      adam_m.<p>'..., adam_v.<p>'...)`: one AdamW step at learning rate
      `lr` (a scalar, so that the caller runs any schedule) and step number
      `step` (1 for the first step; bias corrections `1 - beta^step`):
      gradients scaled by `min(1, max-grad-norm / (norm + 1e-6))` (the
      global norm over the trained parameters, returned as `grad_norm`),
      `m' = b1 m + (1 - b1) g`, `v' = b2 v + (1 - b2) g^2`,
      `p' = p - lr (m'/(1 - b1^t) / (sqrt(v'/(1 - b2^t)) + eps) + wd p)`.
      Parameters whose names match a `frozen` glob pattern are returned
      unchanged and left out of the norm.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "The model's entry function">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.95", "AdamW beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.1",
           "Decoupled weight decay">,
    Option<"maxGradNorm", "max-grad-norm", "double", /*default=*/"1.0",
           "Clip the global gradient norm to this (0: no clipping)">,
    ListOption<"frozen", "frozen", "std::string",
               "Glob patterns of parameter names not to train">,
    Option<"loss", "loss", "std::string", /*default=*/"\"cross-entropy\"",
           "cross-entropy (on the labels) or distillation (knowledge "
           "distillation from teacher logits, MOHAWK stage 3)">,
    Option<"temperature", "temperature", "double", /*default=*/"1.0",
           "distillation: the student's softmax temperature">,
    Option<"labelWeight", "label-weight", "double", /*default=*/"0.0",
           "distillation: weight of the cross-entropy on the labels added "
           "to the distillation loss">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMFoldTransposes : Pass<"ssm-fold-transposes"> {
  let summary = "Read transposed operands of contractions in place instead of copying them";
  let description = [{
    A `linalg.transpose` whose result feeds a `linalg.generic` with a
    reduction loop (a contraction: the importer's MatMul, Gemm and einsum
    lowerings) is folded into that generic: the generic reads the
    transpose's input through its indexing map composed with the
    permutation. The transposed copy is no longer written (it is erased
    when nothing else reads it). The typical case is a language model with
    tied embeddings, whose LM head is `MatMul(x, Transpose(embedding))`: the
    transpose of a `(vocab, d)` constant was copied on every call. Elementwise
    consumers are left alone (they are cheap to fuse later; a contraction
    re-reads its operands, so the copy cost is paid once per call either
    way, but an operand read in place needs no memory of its own).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SSMTransposeConstantWeights : Pass<"ssm-transpose-constant-weights"> {
  let summary = "Store the constant weights of matrix products in column panels";
  let description = [{
    A matrix product `C[.., n] += A[.., k] * W[k, n]` whose `W` is a rank-2
    f32 constant (a model weight, as ONNX `MatMul` stores it) reads `W` one
    row of `k` at a time: every block of output columns reads a short piece
    of each of the `k` rows, far apart in memory. This pass stores the
    constant in panels of `panel-width` columns, `P[n floordiv w, k, n mod
    w]` (the last panel padded with zeros), and reads it through that
    indexing map: the block of output columns that a register tile of
    `ssm-cpu-contraction-kernels`' outer-product kernel computes then reads
    its weights as one contiguous stream along the reduction, with no mask
    on the padded last panel. That kernel runs the projections of prefill
    at the speed of onnxruntime's MLAS and streams the weights of a decode
    step at the memory bandwidth (measured in bench/RESULTS.md). With
    `panel-width=0` the constant is stored transposed instead, `W^T[n, k]`,
    read through `(n, k)`: the layout of the dot-product kernel.

    It applies when the other input's last index is the reduction `k` and
    only to constants that nothing else reads: a constant also read in
    another way keeps its layout, rather than being stored twice. The
    layout change is done once, at compile time.
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"64",
           "Store the weight in panels (n floordiv w, k, n mod w) of this "
           "many columns (0: as (n, k))">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMFuseElementwise : Pass<"ssm-fuse-elementwise"> {
  let summary = "Fuse elementwise prologues and epilogues into single loop nests";
  let description = [{
    Runs on `linalg` on tensors, after the mixers and the supporting `ssm`
    ops are lowered. Chains of elementwise `linalg.generic` ops, and the
    reductions they feed, become one `linalg.generic`, so that the values
    between the steps are computed in registers and never written to
    memory. Among them, in the models of the zoo:

    - the dt prologue: `dt + dt_bias`, softplus, the clamp and the log-decay
      `min(dt A, 0)` the chunked SSD accumulates;
    - the depthwise causal convolution and its SiLU (the convolution is an
      elementwise op over its static taps, see `convert-ssm-to-linalg`),
      including the transposes around it of a channels-first export;
    - the epilogue of a Mamba-2 mixer: the D skip `y + D x`, the gate
      `y * silu(z)` and the gated RMSNorm (its sum of squares and its
      scaling, each reading `y`, `x` and `z` once);
    - RMSNorms of B and C (Mamba-3) and of queries and keys, with their biases;
    - residual additions and the norms that follow them.

    The rules:

    - An elementwise producer (all loops parallel, one result) fuses into a
      consumer `linalg.generic` that reads a different element in every
      iteration: each index is one of the consumer's loops, each loop used
      once, optionally negated and shifted (the partner `1 - s` of a rotary
      pair). So every element is computed once per read. It does not fuse
      into a broadcast read (a per-token statistic used by every feature)
      or into a matrix product (which would recompute it for every output
      column and hide the product from `ssm-cpu-contraction-kernels`).
    - A producer whose result has several uses, all of which could fuse it,
      is cloned once per use when its body has at most 32 ops and the
      copies read less memory than writing it once: with `f` distinct
      tensors read in full (not broadcast, not constant) and `k` uses, when
      `k * f < f + 2 + k` (writing the result reads its inputs once, costs a
      read and a write of the line, and each use reads it). Each consumer
      then recomputes it instead of reading a written copy. The decision
      waits until the producers of its inputs have fused into it or been
      cloned. So the gated value of a Mamba-2 epilogue is never written,
      while a residual stream is written every other layer (cloning every
      residual sum would make each norm re-add all the previous layers'
      outputs).
    - `tensor.expand_shape` and `tensor.collapse_shape` between elementwise
      steps (heads split from or merged into features) move past the
      generic on their collapsed side, which is expanded to the finer loops
      (never a matrix product).
    - `linalg.transpose` becomes a `linalg.generic` that fuses like the
      others (transposes feeding matrix products were folded into them by
      `ssm-fold-transposes` before).
    - Unit dimensions are dropped from every op except matrix products
      first (a `keepdims` statistic `(b, l, 1)` read through the constant
      index 0 becomes a `(b, l)` projection the rules above accept).

    Each fused op computes the same values with the same operations as the
    chain it replaces; only a reduction split by reshape propagation (a sum
    over `h * p` becoming sums over `h` and `p`) may add in another order
    once `ssm-cpu-loop-order` lets LLVM vectorize it. A
    `tensor.expand_shape` whose static `output_shape` contradicts its result
    type (which the upstream verifier accepts) is an error: the reshape
    patterns would rewrite it forever.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMCPUMathApproximation : Pass<"ssm-cpu-math-approximation"> {
  let summary = "Replace exp, expm1, log, log1p and tanh on f32 by polynomial approximations";
  let description = [{
    Runs after `ssm-cpu-parallel-loops`, on the bodies of the remaining
    loop nests. Rewrites the f32 `math.exp`, `math.expm1`, `math.log`,
    `math.log1p` and `math.tanh` ops (scalars or vectors) into the
    polynomial approximations
    of upstream MLIR (range reduction, a minimax polynomial and exponent
    arithmetic, in `arith`), instead of calls to libm. A loop whose body
    calls `expf` cannot be vectorized by LLVM; the arithmetic form can, so
    the decay exponentials of the chunked SSD, the sigmoids of SiLU and the
    softplus of dt run in vector lanes. Measured errors are below 2 float32
    ulps (test_math_approximation.py bounds them by 1e-6 relative); every
    model test compares with float64 references within its tolerance.

    With `all-functions` every function upstream approximates (also sin,
    cos, erf, atan, asin, acos, cbrt, rsqrt, ...) is rewritten, after the
    f32 expansions of upstream (powf, tan, ...): the CUDA target uses this
    so that its kernels need no libdevice.
  }];
  let options = [
    Option<"allFunctions", "all-functions", "bool", /*default=*/"false",
           "Approximate every function upstream can, not only exp, expm1, "
           "log, log1p and tanh">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def SSMCPUContractionKernels : Pass<"ssm-cpu-contraction-kernels", "ModuleOp"> {
  let summary = "Register-tiled vector kernels for matrix-product contractions on buffers";
  let description = [{
    Replaces every `linalg.generic` on buffers that computes
    `C[..] += A[..] * B[..]` over one reduction loop `k` (the body exactly a
    multiply and an accumulating add, all operands `f32`) by a
    register-tiled vector kernel, when one of two layouts fits:

    - **Outer-product kernel.** The last index of both `C` and `B` is the
      same parallel loop `n`, unit-stride, that `A` does not use (the SSD
      chunk products, a projection `x W` with `W` as `(k, n)`), or `B` is
      stored in panels `(n floordiv w, k, n mod w)` of a static width `w`
      that is a multiple of `vector-width` (the weights of projections, see
      `ssm-transpose-constant-weights`). A tile of `rows` rows by `vectors`
      vectors of `vector-width` columns (with panels: by one panel) stays in
      registers over a block of `block-k` reduction indices: per `k`, each
      row's `A` value is broadcast and multiplied into the vectors of `B`'s
      row `k` (`vector.fma`), read from one panel as a contiguous stream.
      The body may also be a product of three inputs, `C += A * B * S` (a
      chunked SSD weights its products by decays), in any order, where the
      scale `S` does not depend on the columns: a scale per reduction index
      multiplies `B`'s vectors once per `k` for all rows of the tile, a scale
      per output row multiplies the tile's sums once after the reduction.
    - **Dot-product kernel.** The last index of both `A` and `B` is `k`,
      unit-stride (the LM head of tied embeddings, `x E^T`). A tile of
      `dot-rows` rows by `dot-cols` columns of `C` keeps one vector of
      partial sums per element over `k` (the sums are reassociated), reduced
      at the end. The reduction runs in blocks of `dot-block-k` indices, all
      columns per block, each block's sums added to `C`: the block of rows
      of `A` (`block-rows` by `dot-block-k`) then stays in the L2 cache while
      the columns stream, and the tile's columns in L1. The default tile,
      3 x 6 (18 accumulators, 27 of the 32 AVX-512 registers), loads one
      `A` vector per 6 multiply-adds from L2 (measured in bench/RESULTS.md).

    Which input is `A`, `B` (and `S`) is chosen among the assignments that
    fit, the first with the most row loops. The rows are all parallel loops
    used by `A` and `C` and not by `B` (batch and sequence together, so that
    a batch of single-token decode steps shares one pass over the weights),
    visited in blocks of `block-rows` (the `A` block stays in the cache
    while `B` is streamed). A single row (a decode step of one sequence,
    decided at run time when the row count is dynamic) gets tiles of one
    row, instead of a full tile of clamped duplicates; over a paneled `B`
    (with no outer loops) such a tile takes `narrow-panels` whole panels at
    once, so that each core reads that many streams of weights from memory
    (a single stream per core is limited by its misses in flight), and the
    last, partial panel alone. With paneled `B`, the first tile of each
    block of rows, the one that streams the panels from memory, prefetches
    each panel's row `prefetch-rows` ahead of `k` (clamped to the last row);
    the later tiles of the block find the panels in the cache.
    Other parallel loops (those `B` uses, as the heads of a batched product)
    become plain loops around the kernel. Partial tiles recompute the last
    row or column (the duplicates store the same value) and mask the vector
    loads and stores past the end of `n` or `k`, so any size works. Other
    contractions are left to `ssm-cpu-loop-order`.

    Several reductions fold into one first when they are consecutive loops
    that every operand indexes consecutively and in order, through
    dimensions its buffer can collapse (`memref.collapse_shape`), and the
    folded op fits a kernel: a weight's gradient `dW[i, j] += x[b, t, i]
    dy[b, t, j]` sums over batch and sequence, and with `k = (b, t)` it is
    a matrix product (each output's sum keeps its order).

    The work is one loop over the outer loops and the blocks of columns
    together (a block: the columns of one tile), inside the blocks of rows.
    With `parallel` (the default), that loop is outlined into a private
    function `__ssm_kernel*(begin, end, cost, values...)` marked
    `ssm.parallel_body`, called once with the whole range and the number of
    multiply-adds as `cost`; `ssm-lower-parallel-calls` turns the call into
    one through the model support code's thread pool, which runs parts of
    the range on its threads (a call that stays a plain call runs the whole
    range on the calling thread). Threads write disjoint columns, so the
    result does not depend on their number.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"6",
           "Rows of the outer-product kernel's register tile">,
    Option<"vectors", "vectors", "int64_t", /*default=*/"2",
           "Vectors per row of the outer-product kernel's register tile">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector">,
    Option<"dotRows", "dot-rows", "int64_t", /*default=*/"3",
           "Rows of the dot-product kernel's register tile">,
    Option<"dotCols", "dot-cols", "int64_t", /*default=*/"6",
           "Columns of the dot-product kernel's register tile">,
    Option<"blockRows", "block-rows", "int64_t", /*default=*/"192",
           "Rows per cache block (rounded up to a multiple of the tile rows)">,
    Option<"dotBlockK", "dot-block-k", "int64_t", /*default=*/"1024",
           "Reduction indices per cache block of the dot-product kernel "
           "(rounded up to whole vectors; 0: the whole reduction at once)">,
    Option<"blockK", "block-k", "int64_t", /*default=*/"512",
           "Reduction indices per cache block of the outer-product kernel "
           "(0: the whole reduction at once)">,
    Option<"narrowPanels", "narrow-panels", "int64_t", /*default=*/"4",
           "Panels of a paneled B per one-row tile of the outer-product "
           "kernel (streams read at once)">,
    Option<"prefetchRows", "prefetch-rows", "int64_t", /*default=*/"4",
           "How many rows of each panel ahead one-row tiles prefetch "
           "(0: none)">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Outline the loop over column blocks for the thread pool">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def SSMCPUParallelLoops : Pass<"ssm-cpu-parallel-loops", "ModuleOp"> {
  let summary = "Distribute the outer parallel loops of linalg.generic ops over the thread pool";
  let description = [{
    Runs on buffers after `ssm-cpu-contraction-kernels` and
    `ssm-cpu-loop-order`. Every `linalg.generic` left in a function's own
    block (elementwise ops, norms, the chunked mixers' products with
    exponentials, reductions) is split into work items over its leading
    parallel loops (those before the first reduction that index every
    output; the innermost loop always stays in the item, for LLVM's
    vectorizer; static inner loops join the item until it has 4096
    elements, so that per-item index arithmetic stays small, and an op
    whose loops are all static and fit one item is left whole): the loops
    are tiled by 1, linearized into one range, and
    the loop over it is outlined into a private function
    `__ssm_loops*(begin, end, cost, values...)` marked `ssm.parallel_body`,
    called with the whole range and the work estimate as `cost` (the
    elements: these loop nests are mostly bound by memory, so an element
    counts as one multiply-add of the kernels, and a decode step's state
    update stays on the calling thread instead of paying for a wake-up).
    `ssm-lower-parallel-calls` then runs parts of the range on the model
    support code's threads when the cost is worth waking them (the rest of
    the time, and outside a model library, the call runs on the calling
    thread).

    A generic whose first loop is a reduction (a gradient summing over the
    batch and sequence loops) has its parallel loops other than the
    innermost moved ahead of the reductions first, each group keeping its
    order, so that they become the items.

    Items write disjoint parts of the outputs, and each element is computed
    in the same order as before, so results do not depend on the number of
    threads. A generic is left alone when an output map is not a projected
    permutation, or an input views an output's buffer other than as that
    same operand read through the same map (items could then read what
    others write); generics inside loops (the sequential chunk loop of a
    mixer, the row blocks of `ssm-cpu-loop-order`) run whole per iteration.
    The outlined functions each get a record of their arguments in the
    caller's frame (`ssm-lower-parallel-calls`), a few hundred bytes per
    call site.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SSMMergeParallelBodies : Pass<"ssm-merge-parallel-bodies", "ModuleOp"> {
  let summary = "Merge the outlined thread-pool functions that are identical up to their names";
  let description = [{
    `ssm-cpu-contraction-kernels` and `ssm-cpu-parallel-loops` outline one
    private function per loop nest, marked `ssm.parallel_body`, with
    weights and activations passed as arguments. The layers of a model
    share their shapes, so most of these functions are copies: a 24-layer
    model outlines each layer's kernels 24 times per entry point. This
    pass keeps one function of every class of identical ones (the same
    type, attributes other than the name, and body up to locations) and
    points the calls of the others to it, so that LLVM translates,
    optimizes and emits each kernel once. Only `func.func` ops marked
    `ssm.parallel_body` and called by `func.call` are merged; a function
    with another use (its address taken, say) is kept as it is.
  }];
}

def SSMLowerParallelCalls : Pass<"ssm-lower-parallel-calls", "ModuleOp"> {
  let summary = "Call the functions marked ssm.parallel_body through the model support thread pool";
  let description = [{
    Runs on the LLVM dialect, after the conversion of a module where
    `ssm-cpu-contraction-kernels` outlined parallel loops. A function marked
    `ssm.parallel_body` takes `(begin, end, cost, values...)` and runs the
    items `[begin, end)` of its loop. For each such function the pass adds a
    task function `<name>_task(ctx, begin, end)` that reads the first item
    and the values from the record `ctx` points to and runs the items
    `[first + begin, first + end)`. Every call `f(first, last, cost,
    values...)` becomes: the record filled on the stack and
    `__ssm_parallel_for(f_task, record, last - first, cost)`. A calling
    function has one stack slot for all its records, in its entry block,
    as large as the largest of them: the pool returns only when a call's
    items are done, so the calls can share it. The pass finds all calls in
    one walk of the module (a model has thousands of such functions).
    `__ssm_parallel_for` is implemented by the model support code
    (lib/Target/CPU/ModelSupport.c): it runs parts of the range on its threads, or all of it on the caller when the
    cost is small. The outcome does not depend on the number of threads.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SSMCPULoopOrder : Pass<"ssm-cpu-loop-order"> {
  let summary = "Order linalg.generic loops for CPU code: a contiguous parallel loop or a vectorizable dot product innermost";
  let description = [{
    Contractions come out of the importer and the mixer lowerings with their
    reduction loops innermost (`C[m, n] += A[m, k] B[k, n]` iterates `k`
    last), which walks `B` with a stride and leaves LLVM a floating-point
    sum it may not reorder, so the innermost loop stays scalar. This pass
    interchanges the loops of every `linalg.generic` whose innermost loop is
    a reduction and whose output's last index is a parallel loop that is also
    the last index of some input: that loop moves innermost, all others keep
    their order. Every access of the new innermost loop is then contiguous in
    the output and that input, and each iteration is independent, so LLVM's
    loop vectorizer vectorizes it. Sums keep their order (only the loops
    around them are reordered), so results are bit-identical.

    A generic whose innermost loop is a reduction and that has no such
    parallel loop (a row reduction, or `C[m, n] += A[m, k] B[n, k]`, the
    LM head of tied embeddings) keeps the reduction innermost as a dot
    product: its accumulating `arith.addf` gets `fastmath<reassoc,contract>`
    (and the `arith.mulf` feeding it `contract`), so that LLVM may vectorize
    the sum (partial sums in vector lanes: the rounding differs from the
    sequential sum), and its parallel loops are reordered so that those of
    the largest input (by static elements) are outermost: that operand is
    streamed once while the others stay in cache.

    A contraction on buffers ordered with a contiguous parallel loop
    innermost whose largest input is a static matrix of at least 64K
    elements (the weights of a projection) that some outer parallel loops do
    not index (the rows: batch and sequence) is blocked by 8 rows: an
    `scf.for` over blocks of rows, and inside a block the reductions outside
    the rows, so that each row of the weights is read once per block of rows
    (from the cache) instead of once per row.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // SSM_TRANSFORMS_PASSES_TD
