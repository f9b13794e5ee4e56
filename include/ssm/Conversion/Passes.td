//===- Passes.td - SSM conversion passes -------------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_TD
#define SSM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSSMToLinalg : Pass<"convert-ssm-to-linalg"> {
  let summary = "Lower the supporting ssm ops to linalg, tensor, arith and math";
  let description = [{
    Lowers `ssm.rms_norm`, `ssm.causal_conv1d`, `ssm.rotary`,
    `ssm.hybrid_merge` and `ssm.token_positions` to `linalg.generic` ops on
    tensors, computing in f32 and casting back to the result element type. Mixers must have been
    lowered before (by `ssm-materialize-mixers` or `ssm-mixers-to-recurrent`);
    a mixer left in the input is reported as an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def SSMMemrefCopyToLinalg : Pass<"ssm-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    `memref.copy` between buffers with non-identity layouts lowers to a call
    of `memrefCopy` from MLIR's runner library, which a self-contained
    model library does not have. As `linalg.copy` it lowers to plain loops
    (`convert-linalg-to-loops`). The reference CPU pipeline runs this after
    bufferization.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SSMIdentityLayoutResults : Pass<"ssm-identity-layout-results", "::mlir::func::FuncOp"> {
  let summary = "Copy function results that are strided views into identity-layout buffers";
  let description = [{
    With `function-boundary-type-conversion=identity-layout-map`,
    one-shot-bufferize returns a view of a larger buffer (a
    `memref.subview`, for example the first `l` tokens of a padded
    sequence) through a `memref.cast` to the identity layout. The cast is
    only right when the view's strides happen to be the identity ones: a
    subview at offset 0 with a dynamic outer stride (such as
    `strided<[?, 8, 4, 1]>`) passes the cast's static check, and the caller
    then reads the buffer with wrong strides.

    This pass, run right after one-shot-bufferize, replaces each such
    returned cast (from a non-identity layout to the identity layout) by a
    new identity-layout buffer and a copy of the view into it. Returned
    buffers that already have the identity layout are left alone.

    ```mlir
    %v = memref.subview %buf[0, 0] [2, %l] [1, 1]
        : memref<2x?xf32> to memref<2x?xf32, strided<[?, 1]>>
    %c = memref.cast %v : memref<2x?xf32, strided<[?, 1]>> to memref<2x?xf32>
    return %c : memref<2x?xf32>
    // becomes
    %d = memref.dim %v, %c1 : memref<2x?xf32, strided<[?, 1]>>
    %new = memref.alloc(%d) : memref<2x?xf32>
    memref.copy %v, %new : memref<2x?xf32, strided<[?, 1]>> to memref<2x?xf32>
    return %new : memref<2x?xf32>
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def SSMLinalgToGPU : Pass<"ssm-linalg-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run every linalg.generic on buffers as a GPU kernel: one thread per point of its parallel loops, tiles for contractions, a block per point for long reductions";
  let description = [{
    Each `linalg.generic` on buffers in a host function becomes a
    `gpu.launch` on a 1-D grid of `block-size`-thread blocks. The parallel
    loops are linearized into one range (the innermost fastest, so that
    neighbouring threads touch neighbouring elements); the thread at point
    `i` (guarded by `i < range`) recovers its loop indices with `remui` and
    `divui`, loads the inputs through the indexing maps, and runs the
    reduction loops as `scf.for` loops carrying the outputs' values, stored
    after them. A range of 0 points launches nothing.

    Contractions whose operands neighbouring points read again (matrix
    products) run as tiled kernels when both tiled loops fill a tile.
    Reductions of few points with many terms each (at most 16384 points of
    at least 256 terms: a row norm or softmax at a decode step, a
    matrix-vector product, a full reduction such as a loss) run one block
    per point instead, when every output's yielded value is
    `combiner(output, term)` with a term that reads no output and an
    associative, commutative combiner (`arith` addf, addi, maximumf,
    minimumf, maxnumf, minnumf, max/min si/ui on 32- and 64-bit types): the
    block's threads combine the terms in turn from the combiner's identity,
    then the partial values in workgroup memory in halving steps, and thread
    0 combines the total into the output (float sums in another order than
    the sequential one). Static sizes decide between the kernels at compile
    time, dynamic ones at run time (both kernels are emitted).

    With `subgroup-reductions`, a block reduction whose combiners subgroup
    operations compute exactly (float adds, 32-bit integer adds, min and
    max; float min and max keep the tree, as the subgroup operations leave
    NaN operands undefined, and so do 64-bit integers, whose subgroup
    operations need a device feature the runtime does not enable) also gets
    a variant `<name>_subgroups`: each
    subgroup combines its threads' values with `gpu.subgroup_reduce`, its
    lane 0 stores the result at the subgroup's index in workgroup memory,
    and thread 0 combines the `gpu.num_subgroups` values in order. The host
    calls `func.func private @__ssm_gpu_subgroup_reductions() -> i32` (the
    target's support code: nonzero when the device has subgroup arithmetic
    in compute shaders) and launches the variant when it answers nonzero,
    else the tree kernel.

    An op whose points could touch the same memory (an output map that is
    not a projected permutation of exactly the parallel loops, or an input
    viewing an output's buffer other than as that very operand through the
    same map) runs whole on one thread, in the op's sequential order, so
    the result never depends on scheduling.

    Host loop nests become kernels too: an outermost `scf.for` outside any
    kernel, with no results, whose body is scalar code (loops, branches,
    `memref.load`/`memref.store` and side-effect-free scalar ops) over
    device buffers (buffers a kernel uses, public functions' arguments,
    globals) — the scatter-add that differentiation makes of a gather's
    adjoint. A loop of the nest's perfectly nested prefix whose bounds are
    defined outside the nest runs across threads when its induction
    variable is an index of every store and every buffer stored to is read
    and written through the same memref at the same indices only (its
    iterations then touch disjoint elements); the other loops run in order
    in each thread, and a nest with no such loop runs on one thread. Loops
    over buffers only the host touches (the deallocation helpers' arrays)
    stay on the host.

    `ssm.fused_attention` on buffers becomes one FlashAttention kernel,
    `<kernel-prefix><n>_attention`: a block of 16 x 16 threads per 64
    rows of one (batch, kv head), a row being a (query, head) pair of the
    query heads that share that kv head (with grouped-query attention they
    share the key and value tiles, and a decode step fills as many rows as
    there are query heads per kv head), key tiles of 64 in order (causal and
    window masks skip the tiles no row of the block sees). A tile's scores
    come from 16-wide head-size slices of q and k staged in workgroup
    memory (each thread 4 rows x 4 keys, operands read as vectors of 4
    floats); then scale, softcap, mask, and an online softmax (four threads
    per row: running maximum and sum, the output rescaled when the maximum
    grows); the output, 4 rows x 4 value columns per 64 value dims per
    thread, stays in registers and takes P v over 16-key slices of v. The
    value head size is at most 128.
    One query per sequence known at compile time (a decode step), at most
    16 query heads per kv head and head sizes up to 128 make
    `<kernel-prefix><n>_attention_step` instead: a block of 128 threads per
    (batch, kv head), the kv head's query rows in workgroup memory, per
    tile of 128 keys each thread scoring its own key against every row,
    the rows' maxima and sums in halving steps through workgroup memory,
    then each thread accumulating (row, value dim) output elements over the
    tile's keys.

    `ssm.fused_ssd` on buffers becomes up to three kernels over chunks of
    64 tokens, with device buffers between them (allocated before, freed
    after): `<kernel-prefix><n>_ssd_cb`, a block of 16 x 16 threads per
    (batch, chunk, group) computing the chunk's 64 x 64 products C_i . B_j
    from 16-wide state slices staged in workgroup memory;
    `<kernel-prefix><n>_ssd_scan`, a block of 8 x 16 threads per (batch,
    head, 32 head dims, segment) that passes over the segment's chunks in
    order with the state slice (32 head dims x n) in workgroup memory: per
    chunk the prefix sums of the log decays, then y (each thread 4 tokens x
    4 head dims) from the decayed C B^T products times x over 16-token
    slices plus exp(cum) C times the state over 16-state slices, D x and
    the gate, then the state decayed by the chunk's total and updated with
    the weighted x B^T (each thread 4 head dims x 4 state dims per 64 state
    dims). With fewer than 1024 (batch, head, tile) blocks the sequence is
    cut into segments of whole chunks scanned in parallel (the first from
    the initial state, the others from 0), and
    `<kernel-prefix><n>_ssd_fixup` adds to each later segment's y the
    contribution of the state entering it (carried over the segments'
    own final states and total decays) and writes the final state. No
    per-chunk state is stored. The state size is at most 128. A sequence
    size of 1 known at compile time (a decode step) is one kernel instead,
    `<kernel-prefix><n>_ssd_step`: a block of 128 threads per (batch, head,
    32 head dims), each thread 8 head dims x the state dims lane + 32 m of
    the new state (exp(min(g, 0)) S + scale x B^T, read and written with
    neighbouring threads on neighbouring state dims) and their C products,
    summed per head dim through workgroup memory into y.

    With `tensor-cores` (the CUDA target, sm_80 and later), the scan and
    the fix-up multiply on NVIDIA tensor cores instead (`nvgpu.mma.sync`,
    m16n8k8 on TF32 operands, f32 accumulators): a block of 8 warps per
    (batch, head, 64 head dims, segment), segments while there are fewer
    than 256 blocks. Per chunk, y = M x with M's fragments built in
    registers from the C B^T buffer and the decays (only the token tiles up
    to the diagonal), then per slice of 32 state dims (C and B staged) y's
    state term from the state's copy in workgroup memory and the state
    update (the state lives in registers as mma accumulators, 64 head dims
    x n spread over the 8 warps), D x and the gate. x, the state copy, the
    slices and the per-token table take up to 72 KiB of dynamic workgroup
    memory. `tf32` rounds each operand to TF32 (to nearest); `tf32x3`
    splits each into a TF32 high part and a TF32 low part and adds three
    products (low x high, high x low, high x high): about f32 accuracy.

    The kernels are named `<kernel-prefix><n>` in the gpu.module
    `<kernel-prefix>module` (`gpu-kernel-outlining` then puts them all in
    one module: one device binary per model). Named linalg ops must be
    generalized first (`linalg-generalize-named-ops`); any other is an
    error.

    ```mlir
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%a : memref<?xf32>) outs(%b : memref<?xf32>) { ... }
    // becomes
    scf.if %nonempty {
      gpu.launch blocks(%bx, ...) in (%gx = %blocks, ...)
                 threads(%tx, ...) in (%sx = %c256, ...) {
        %i = (%bx * 256 + %tx)
        scf.if (%i < %n) { %x = memref.load %a[%i] ... memref.store %y, %b[%i] }
        gpu.terminator
      }
    }
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block">,
    Option<"kernelPrefix", "kernel-prefix", "std::string",
           /*default=*/"\"ssm_kernel\"",
           "Prefix of the kernels' names (and of their gpu.module's)">,
    Option<"subgroupReductions", "subgroup-reductions", "bool",
           /*default=*/"false",
           "Also emit a subgroup variant of each block reduction that "
           "subgroup operations compute exactly, chosen at run time by "
           "__ssm_gpu_subgroup_reductions()">,
    Option<"tensorCores", "tensor-cores", "std::string",
           /*default=*/"\"none\"",
           "Matrix products of the fused SSD scan on NVIDIA tensor cores "
           "(nvgpu.mma.sync, sm_80 and later): none, tf32 (operands rounded "
           "to TF32) or tf32x3 (each operand split into two TF32 parts, "
           "three products: about f32 accuracy)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::ub::UBDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SSMGPUDeviceBuffers : Pass<"ssm-gpu-device-buffers", "::mlir::ModuleOp"> {
  let summary = "Keep the buffers of kernel-launching host code in device memory";
  let description = [{
    Runs after `ssm-linalg-to-gpu`, on the functions that launch kernels and
    on every public function (the entry points, whose arguments and results
    are device memory on the CUDA target). There `memref.alloc` and
    `memref.dealloc` stand for the device allocator of the CUDA model
    support code, and what the host reads or writes is rewritten:

    - a buffer only the host touches (loads, stores, deallocs, pointer
      extraction and calls of host helper functions: the deallocation
      pipeline's arrays of pointers and flags) becomes a `memref.alloca`
      (it must have a static shape) and its deallocs are dropped;
    - a host `memref.store` into any other buffer becomes a one-thread
      `gpu.launch` doing that store;
    - a host `memref.load` of any other buffer becomes a one-thread launch
      copying the element into a one-element device buffer, a call of
      `__ssm_gpu_copy_to_host(i64 dst, i64 src, i64 bytes)` (support code:
      it waits for the kernels launched before) into a one-element alloca,
      and a load of that.

    The names and byte sizes of the `memref.global`s these functions use are
    recorded in the module attribute `ssm.gpu.device_globals`, for
    `ssm-gpu-device-constants`.
  }];
  let options = [
    Option<"kernelPrefix", "kernel-prefix", "std::string",
           /*default=*/"\"ssm_kernel\"",
           "Prefix of the one-thread kernels' names">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect"
  ];
}

def SSMGPUDeviceConstants : Pass<"ssm-gpu-device-constants", "::mlir::ModuleOp"> {
  let summary = "Read the constants that kernels use from their device copies";
  let description = [{
    Runs on the LLVM dialect after the host code is lowered. Each
    `llvm.mlir.addressof` in a host function of a global named in the module
    attribute `ssm.gpu.device_globals` (name to size in bytes, written by
    `ssm-gpu-device-buffers`) is followed by a call of
    `ptr __ssm_gpu_constant(ptr host, i64 bytes)`, whose result replaces the
    address: the CUDA model support code copies the global to the device on
    first use and keeps the copy while the library is loaded. The attribute
    is removed.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SSMGPUVulkanKernelABI
    : Pass<"ssm-gpu-vulkan-kernel-abi", "::mlir::ModuleOp"> {
  let summary = "Give GPU kernels and their launches the Vulkan target's ABI";
  let description = [{
    Runs after `gpu-kernel-outlining`. SPIR-V for Vulkan has no memref
    descriptors: a buffer is a descriptor binding of a runtime array, and a
    kernel cannot take scalars. Every kernel of a `gpu.module` is rewritten so
    that its arguments are

      - one `memref<?xT>` per memref argument in global memory (binding i of
        descriptor set 0, in argument order): the argument's base buffer;
      - a last `memref<?xi32>`, the argument pack: its length in words, then
        each scalar argument (index truncated to i32, integers up to 32 bits
        widened, i64 and f64 as two words, low first, f32 and f16/bf16 bit
        patterns) and each memref argument's dynamic offset, strides and
        sizes, in argument order.

    In the kernel, loads and stores of a memref argument index its base buffer
    at the offset plus the indices times the strides (static ones folded);
    `memref.dim` reads the size. Each `gpu.launch_func` of the kernel passes
    `memref.extract_strided_metadata`'s base buffer of each memref (reshaped to
    `memref<?xT>` over the elements it spans) and an argument pack filled
    before the launch in an `memref.alloca` of the host function's entry
    block. Kernels get `spirv.entry_point_abi` with their `known_block_size`
    as the workgroup size. A `gpu.module` with a `#spirv.target_env` among
    its targets (`spirv-attach-target`) gets it as its `spirv.target_env`
    attribute too, where upstream's math and arith conversions to SPIR-V
    look for it. `gpu.subgroup_reduce` loses its `uniform` flag (a promise
    that all lanes or none execute it, which canonicalization infers):
    `convert-gpu-to-spirv` takes only the general form, which the SPIR-V
    GroupNonUniform instructions are.

    Wide grids: many devices allow 65535 blocks in x. The runtime launches a
    grid of x blocks as ceil(x / z) x 1 x z blocks when x is larger, and
    appends x to the argument pack (the word after the kernel's slots). Each
    kernel computes its block index in x as `block_id.x + block_id.z *
    grid_dim.x`, reads its grid size in x from that word, and runs its body
    only for blocks below it (workgroup memory stays at the start).

    Errors: a kernel without a static block size or using the z dimension of
    its grid, a body of more than one block, a memref argument of i1,
    index or non-strided layout, a memref argument used other than by
    load/store/dim, a scalar argument of another type than integer, index,
    f64, f32, f16 or bf16.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::spirv::SPIRVDialect"
  ];
}

def SSMGPUSerializeSPIRV : Pass<"ssm-gpu-serialize-spirv", "::mlir::ModuleOp"> {
  let summary = "Serialize the SPIR-V modules of GPU kernels into gpu.binary";
  let description = [{
    Runs after `convert-gpu-to-spirv` for a Vulkan (Shader) target, which
    writes each `gpu.module @m`'s kernels as a `spirv.module @__spv__m` beside
    it. Each such `spirv.module` is split into one SPIR-V binary per entry
    point (the entry point, its function and the variables it uses, with the
    capabilities and extensions that kernel needs: a device without, say,
    subgroup arithmetic still takes the kernels that do not use it), so that
    a driver parses and compiles only the kernel it makes a pipeline for, and
    the `gpu.module` is replaced by `gpu.binary @m` holding them as a
    `#gpu.object` of the module's target attribute (format `bin`), which
    `gpu-to-llvm` and the LLVM IR translation load with `mgpuModuleLoad`.
    The object is a container: the words `SSMV` (0x564D5353) and the kernel
    count, then per kernel, sorted by name, the byte offset and length of its
    name, the byte offset and word count of its code and the mask of the
    descriptor bindings it may write (two words, low first; bit i: binding i;
    a storage buffer whose address reaches anything but loads counts as
    written, a binding past 63 sets every bit), then the names (0 ended,
    padded to words) and the code. The runtime orders a dispatch after the
    commands before it only where they touch a buffer it writes or write
    one it touches. With `validator` (the path of
    SPIRV-Tools' `spirv-val`), the whole module is validated for
    `validator-env` first, and a module the validator rejects is an error
    that carries the validator's message.
  }];
  let options = [
    Option<"validator", "validator", "std::string", /*default=*/"\"\"",
           "spirv-val to run on every binary (empty: none)">,
    Option<"validatorEnv", "validator-env", "std::string",
           /*default=*/"\"vulkan1.1\"",
           "spirv-val's --target-env">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
