//===- GPUVulkanKernelABI.cpp - Kernels and launches for Vulkan -----------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// SPIR-V for Vulkan has no memref descriptors and no scalar kernel
// arguments. Each kernel is rewritten to take the base buffer of each memref
// argument as a `memref<?xT>` (one descriptor binding each) and a last
// `memref<?xi32>`, the argument pack, holding the scalar arguments and the
// memrefs' dynamic offsets, strides and sizes. Loads and stores index the
// base buffers at their linearized positions. The launches pass the base
// buffers and fill the pack on the host.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGPUVULKANKERNELABI
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// How one argument of a kernel is passed.
struct ArgPlan {
  /// A memref in global memory: its base buffer is a binding.
  bool buffer = false;
  /// For a buffer: its type, and the position of its dynamic offset, strides
  /// and sizes in the pack (-1 for static ones, whose value is in `offset`,
  /// `strides`, `shape`).
  MemRefType type;
  int64_t offset = 0;
  SmallVector<int64_t> strides;
  int offsetSlot = -1;
  SmallVector<int> strideSlots, sizeSlots;
  /// For a scalar: its slot in the pack.
  int slot = -1;
};

struct KernelPlan {
  SmallVector<ArgPlan> args;
  int numSlots = 0;
  SmallVector<Type> bufferTypes;
};

bool isPackableScalar(Type t) {
  if (isa<IndexType>(t))
    return true;
  if (auto i = dyn_cast<IntegerType>(t))
    return i.getWidth() <= 64;
  return t.isF64() || t.isF32() || t.isF16() || t.isBF16();
}

/// 64-bit scalars take two words (low, high).
bool isWide(Type t) {
  return !isa<IndexType>(t) && t.getIntOrFloatBitWidth() == 64;
}

/// The two words of a 64-bit scalar.
std::pair<Value, Value> toSlots(OpBuilder &b, Location loc, Value value) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value bits = value.getType().isF64()
                   ? arith::BitcastOp::create(b, loc, i64, value).getResult()
                   : value;
  Value low = arith::TruncIOp::create(b, loc, i32, bits);
  Value shift = arith::ConstantIntOp::create(b, loc, 32, 64);
  Value high = arith::TruncIOp::create(
      b, loc, i32, arith::ShRUIOp::create(b, loc, bits, shift));
  return {low, high};
}

/// The 64-bit scalar of type `t` from its two words.
Value fromSlots(OpBuilder &b, Location loc, Value low, Value high, Type t) {
  Type i64 = b.getI64Type();
  Value shift = arith::ConstantIntOp::create(b, loc, 32, 64);
  Value lowBits = arith::ExtUIOp::create(b, loc, i64, low);
  Value highBits = arith::ExtUIOp::create(b, loc, i64, high);
  Value shifted = arith::ShLIOp::create(b, loc, highBits, shift);
  Value bits = arith::OrIOp::create(b, loc, lowBits, shifted);
  return t.isF64() ? arith::BitcastOp::create(b, loc, t, bits).getResult()
                   : bits;
}

/// `value` (a scalar argument of at most 32 bits, or index) as the i32 the
/// pack holds.
Value toSlot(OpBuilder &b, Location loc, Value value) {
  Type i32 = b.getI32Type();
  Type t = value.getType();
  if (isa<IndexType>(t))
    return arith::IndexCastOp::create(b, loc, i32, value);
  if (auto i = dyn_cast<IntegerType>(t))
    return i.getWidth() == 32
               ? value
               : arith::ExtUIOp::create(b, loc, i32, value).getResult();
  if (t.isF32())
    return arith::BitcastOp::create(b, loc, i32, value);
  Value bits = arith::BitcastOp::create(b, loc, b.getI16Type(), value);
  return arith::ExtUIOp::create(b, loc, i32, bits);
}

/// The pack's i32 `slot` as a value of type `t` (the inverse of toSlot).
Value fromSlot(OpBuilder &b, Location loc, Value slot, Type t) {
  if (isa<IndexType>(t))
    return arith::IndexCastOp::create(b, loc, t, slot);
  if (auto i = dyn_cast<IntegerType>(t))
    return i.getWidth() == 32
               ? slot
               : arith::TruncIOp::create(b, loc, t, slot).getResult();
  if (t.isF32())
    return arith::BitcastOp::create(b, loc, t, slot);
  Value bits = arith::TruncIOp::create(b, loc, b.getI16Type(), slot);
  return arith::BitcastOp::create(b, loc, t, bits);
}

FailureOr<KernelPlan> planKernel(gpu::GPUFuncOp kernel) {
  KernelPlan plan;
  for (auto [i, t] : llvm::enumerate(kernel.getArgumentTypes())) {
    ArgPlan arg;
    if (auto m = dyn_cast<MemRefType>(t)) {
      if (m.getMemorySpace())
        return kernel.emitError("argument ")
               << i << " is a memref outside global memory: " << t;
      Type e = m.getElementType();
      if (!(isa<FloatType>(e) ||
            (isa<IntegerType>(e) && cast<IntegerType>(e).getWidth() >= 8)))
        return kernel.emitError("argument ")
               << i << ": the Vulkan target has no buffers of " << e;
      if (failed(m.getStridesAndOffset(arg.strides, arg.offset)))
        return kernel.emitError("argument ")
               << i << " has a layout without strides: " << t;
      arg.buffer = true;
      arg.type = m;
      if (ShapedType::isDynamic(arg.offset))
        arg.offsetSlot = plan.numSlots++;
      for (int64_t s : arg.strides)
        arg.strideSlots.push_back(ShapedType::isDynamic(s) ? plan.numSlots++
                                                           : -1);
      for (int64_t s : m.getShape())
        arg.sizeSlots.push_back(ShapedType::isDynamic(s) ? plan.numSlots++
                                                         : -1);
      plan.bufferTypes.push_back(
          MemRefType::get({ShapedType::kDynamic}, m.getElementType()));
    } else if (isPackableScalar(t)) {
      arg.slot = plan.numSlots;
      plan.numSlots += isWide(t) ? 2 : 1;
    } else {
      return kernel.emitError("argument ")
             << i << " of type " << t
             << " cannot be passed to a Vulkan kernel (integers, index, f64, "
                "f32, f16 and bf16 can)";
    }
    plan.args.push_back(std::move(arg));
  }
  return plan;
}

/// A static `value` or the slot's dynamic one.
Value staticOr(OpBuilder &b, Location loc, int64_t value, int slot,
               ArrayRef<Value> slots) {
  if (slot >= 0)
    return slots[slot];
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// offset + sum indices[k] * strides[k], with static strides and offsets
/// folded.
Value linearize(OpBuilder &b, Location loc, const ArgPlan &arg,
                ValueRange indices, ArrayRef<Value> slots) {
  Value result;
  auto add = [&](Value v) {
    result = result ? arith::AddIOp::create(b, loc, result, v).getResult() : v;
  };
  if (arg.offsetSlot >= 0)
    add(slots[arg.offsetSlot]);
  else if (arg.offset != 0)
    add(arith::ConstantIndexOp::create(b, loc, arg.offset));
  for (auto [k, index] : llvm::enumerate(indices)) {
    if (arg.strideSlots[k] >= 0) {
      add(arith::MulIOp::create(b, loc, index, slots[arg.strideSlots[k]]));
    } else if (arg.strides[k] == 1) {
      add(index);
    } else if (arg.strides[k] != 0) {
      Value s = arith::ConstantIndexOp::create(b, loc, arg.strides[k]);
      add(arith::MulIOp::create(b, loc, index, s));
    }
  }
  if (!result)
    result = arith::ConstantIndexOp::create(b, loc, 0);
  return result;
}

/// Grids wider in x than a device allows (65535 blocks on many): the runtime
/// launches ceil(x / z) x 1 x z blocks instead and appends the launch's x
/// size to the argument pack, at word `gridWord`. The kernel's block index in
/// x becomes block_id.x + block_id.z * grid_dim.x, its grid size in x the
/// appended one, and the blocks past it do nothing (the body runs under an
/// scf.if; the workgroup memory stays at its start).
LogicalResult foldWideGrids(gpu::GPUFuncOp kernel, Value pack, int gridWord) {
  Block &entry = kernel.getBody().front();
  SmallVector<gpu::BlockIdOp> blockXs;
  SmallVector<gpu::GridDimOp> gridXs;
  WalkResult walk = kernel.walk([&](Operation *op) {
    if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
      if (id.getDimension() == gpu::Dimension::z)
        return WalkResult::interrupt();
      if (id.getDimension() == gpu::Dimension::x)
        blockXs.push_back(id);
    } else if (auto dim = dyn_cast<gpu::GridDimOp>(op)) {
      if (dim.getDimension() == gpu::Dimension::z)
        return WalkResult::interrupt();
      if (dim.getDimension() == gpu::Dimension::x)
        gridXs.push_back(dim);
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return kernel.emitError("a Vulkan kernel cannot use the z dimension of "
                            "its grid (the target folds wide x grids into it)");
  Operation *terminator = entry.getTerminator();
  if (!terminator || !isa<gpu::ReturnOp>(terminator) ||
      terminator->getNumOperands() || kernel.getBody().getBlocks().size() != 1)
    return kernel.emitError("a Vulkan kernel's body must be one block ending "
                            "in gpu.return");
  // Workgroup memory first, then the fold, then the guarded body.
  for (Operation &op : llvm::make_early_inc_range(entry))
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      alloc->moveBefore(&entry, entry.begin());
  Operation *first = &*entry.begin();
  while (isa<memref::AllocOp>(first))
    first = first->getNextNode();
  OpBuilder b(first);
  Location loc = kernel.getLoc();
  Value word = memref::LoadOp::create(
      b, loc, pack,
      ValueRange{arith::ConstantIndexOp::create(b, loc, gridWord)});
  Value gridX = arith::IndexCastOp::create(b, loc, b.getIndexType(), word);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value bz = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  Value gx = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  Value block =
      arith::AddIOp::create(b, loc, bx, arith::MulIOp::create(b, loc, bz, gx));
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, block, gridX);
  auto guard = scf::IfOp::create(b, loc, TypeRange{}, inRange,
                                 /*withElseRegion=*/false);
  Block &then = guard.getThenRegion().front();
  then.getOperations().splice(then.begin(), entry.getOperations(),
                              std::next(guard->getIterator()),
                              terminator->getIterator());
  for (gpu::BlockIdOp id : blockXs) {
    id.replaceAllUsesWith(block);
    id.erase();
  }
  for (gpu::GridDimOp dim : gridXs) {
    dim.replaceAllUsesWith(gridX);
    dim.erase();
  }
  return success();
}

LogicalResult rewriteKernel(gpu::GPUFuncOp kernel, const KernelPlan &plan) {
  MLIRContext *ctx = kernel.getContext();
  Location loc = kernel.getLoc();
  std::optional<ArrayRef<int32_t>> block = kernel.getKnownBlockSize();
  if (!block)
    return kernel.emitError("a Vulkan kernel needs a static block size "
                            "(known_block_size)");

  unsigned numOld = kernel.getNumArguments();
  SmallVector<Type> newTypes(plan.bufferTypes);
  newTypes.push_back(
      MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 32)));
  SmallVector<unsigned> positions(newTypes.size(), numOld);
  SmallVector<DictionaryAttr> attrs(newTypes.size(),
                                    DictionaryAttr::get(ctx, {}));
  SmallVector<Location> locs(newTypes.size(), loc);
  if (failed(kernel.insertArguments(positions, newTypes, attrs, locs)))
    return kernel.emitError("cannot add the Vulkan kernel arguments");
  Block &entry = kernel.getBody().front();
  Value pack = entry.getArgument(numOld + plan.bufferTypes.size());

  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  SmallVector<Value> raw;
  for (int s = 0; s < plan.numSlots; ++s) {
    Value index = arith::ConstantIndexOp::create(b, loc, s + 1);
    raw.push_back(memref::LoadOp::create(b, loc, pack, index));
  }
  // Index views of the slots that hold offsets, strides and sizes.
  SmallVector<Value> slots(raw.size());
  auto indexSlot = [&](int s) {
    if (s >= 0 && !slots[s])
      slots[s] = fromSlot(b, loc, raw[s], b.getIndexType());
  };
  // Every value the body needs, made at its start before any of its ops
  // (the first may be a load that is replaced below).
  SmallVector<Value> scalars(plan.args.size());
  for (auto [i, arg] : llvm::enumerate(plan.args)) {
    if (!arg.buffer) {
      Type t = kernel.getArgumentTypes()[i];
      scalars[i] = isWide(t)
                       ? fromSlots(b, loc, raw[arg.slot], raw[arg.slot + 1], t)
                       : fromSlot(b, loc, raw[arg.slot], t);
      continue;
    }
    indexSlot(arg.offsetSlot);
    for (int s : arg.strideSlots)
      indexSlot(s);
    for (int s : arg.sizeSlots)
      indexSlot(s);
  }
  unsigned bufferIndex = 0;
  for (auto [i, arg] : llvm::enumerate(plan.args)) {
    BlockArgument old = kernel.getArgument(i);
    if (!arg.buffer) {
      old.replaceAllUsesWith(scalars[i]);
      continue;
    }
    Value base = entry.getArgument(numOld + bufferIndex++);
    for (Operation *user : llvm::make_early_inc_range(old.getUsers())) {
      OpBuilder ub(user);
      if (auto load = dyn_cast<memref::LoadOp>(user)) {
        Value at = linearize(ub, load.getLoc(), arg, load.getIndices(), slots);
        load.replaceAllUsesWith(
            memref::LoadOp::create(ub, load.getLoc(), base, at).getResult());
        load.erase();
      } else if (auto store = dyn_cast<memref::StoreOp>(user)) {
        Value at =
            linearize(ub, store.getLoc(), arg, store.getIndices(), slots);
        memref::StoreOp::create(ub, store.getLoc(), store.getValueToStore(),
                                base, at);
        store.erase();
      } else if (auto dim = dyn_cast<memref::DimOp>(user)) {
        std::optional<int64_t> k = dim.getConstantIndex();
        if (!k || *k < 0 || *k >= arg.type.getRank())
          return dim.emitError("a Vulkan kernel reads a memref argument's "
                               "size at a dimension that is not a constant "
                               "in range");
        dim.replaceAllUsesWith(staticOr(ub, dim.getLoc(),
                                        arg.type.getDimSize(*k),
                                        arg.sizeSlots[*k], slots));
        dim.erase();
      } else {
        return user->emitError("a Vulkan kernel can only load, store and read "
                               "the sizes of its memref arguments, not '")
               << user->getName() << "'";
      }
    }
  }
  // Workgroup memory: allocations in SPIR-V's Workgroup storage class (which
  // MemRefToSPIRV makes module variables), not attributions. Replaced
  // before the old arguments are erased: Block::eraseArguments reads its
  // bit vector at every block argument, attributions included.
  if (kernel.getNumPrivateAttributions())
    return kernel.emitError("a Vulkan kernel cannot have private "
                            "attributions");
  unsigned numWorkgroup = kernel.getNumWorkgroupAttributions();
  if (numWorkgroup) {
    unsigned first = kernel.getFirstWorkgroupAttributionIndex();
    OpBuilder wb = OpBuilder::atBlockBegin(&entry);
    for (unsigned k = 0; k < numWorkgroup; ++k) {
      BlockArgument a = entry.getArgument(first + k);
      auto m = cast<MemRefType>(a.getType());
      if (!m.hasStaticShape() || !m.getLayout().isIdentity())
        return kernel.emitError("workgroup memory must have a static shape "
                                "and the identity layout, not ")
               << m;
      auto type = MemRefType::get(
          m.getShape(), m.getElementType(), MemRefLayoutAttrInterface(),
          spirv::StorageClassAttr::get(ctx, spirv::StorageClass::Workgroup));
      a.replaceAllUsesWith(memref::AllocOp::create(wb, loc, type));
    }
    entry.eraseArguments(first, numWorkgroup);
    kernel->removeAttr(kernel.getNumWorkgroupAttributionsAttrName());
  }
  llvm::BitVector erase(kernel.getNumArguments());
  erase.set(0, numOld);
  if (failed(kernel.eraseArguments(erase)))
    return kernel.emitError("cannot remove the kernel's old arguments");
  if (failed(foldWideGrids(kernel, pack, plan.numSlots + 1)))
    return failure();
  kernel->setAttr(spirv::getEntryPointABIAttrName(),
                  spirv::getEntryPointABIAttr(ctx, *block));
  return success();
}

/// The host side of one launch: base buffers and the filled pack.
LogicalResult rewriteLaunch(gpu::LaunchFuncOp launch, const KernelPlan &plan) {
  Location loc = launch.getLoc();
  auto func = launch->getParentOfType<FunctionOpInterface>();
  if (!func || func.isExternal())
    return launch.emitError("a kernel launch outside a function body");
  OpBuilder entryBuilder =
      OpBuilder::atBlockBegin(&func.getFunctionBody().front());
  Type i32 = entryBuilder.getI32Type();
  int64_t packSize = plan.numSlots + 1;
  Value packStatic = memref::AllocaOp::create(entryBuilder, loc,
                                              MemRefType::get({packSize}, i32));

  OpBuilder b(launch);
  SmallVector<Value> slotValues(plan.numSlots);
  SmallVector<Value> buffers;
  auto operands = llvm::to_vector(launch.getKernelOperands());
  if (operands.size() != plan.args.size())
    return launch.emitError("launches a kernel with ")
           << operands.size() << " operands; it takes " << plan.args.size();
  for (auto [value, arg] : llvm::zip(operands, plan.args)) {
    if (!arg.buffer) {
      if (isWide(value.getType()))
        std::tie(slotValues[arg.slot], slotValues[arg.slot + 1]) =
            toSlots(b, loc, value);
      else
        slotValues[arg.slot] = toSlot(b, loc, value);
      continue;
    }
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, value);
    // The elements the view spans: offset + 1 + sum (size - 1) * stride, or
    // 0 when it is empty.
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value extent = arith::AddIOp::create(b, loc, meta.getOffset(), one);
    Value empty = arith::ConstantIntOp::create(b, loc, 0, 1);
    for (auto [size, stride] : llvm::zip(meta.getSizes(), meta.getStrides())) {
      Value last = arith::SubIOp::create(b, loc, size, one);
      extent = arith::AddIOp::create(
          b, loc, extent, arith::MulIOp::create(b, loc, last, stride));
      empty = arith::OrIOp::create(
          b, loc, empty,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, zero));
    }
    extent = arith::SelectOp::create(b, loc, empty, zero, extent);
    auto flatType =
        MemRefType::get({ShapedType::kDynamic}, arg.type.getElementType());
    Value flat = memref::ReinterpretCastOp::create(
        b, loc, flatType, meta.getBaseBuffer(), OpFoldResult(b.getIndexAttr(0)),
        ArrayRef<OpFoldResult>{extent},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    buffers.push_back(flat);
    if (arg.offsetSlot >= 0)
      slotValues[arg.offsetSlot] = toSlot(b, loc, meta.getOffset());
    for (auto [k, s] : llvm::enumerate(arg.strideSlots))
      if (s >= 0)
        slotValues[s] = toSlot(b, loc, meta.getStrides()[k]);
    for (auto [k, s] : llvm::enumerate(arg.sizeSlots))
      if (s >= 0)
        slotValues[s] = toSlot(b, loc, meta.getSizes()[k]);
  }
  // Word 0: the pack's length in words.
  Value length = arith::ConstantIntOp::create(b, loc, packSize, 32);
  memref::StoreOp::create(
      b, loc, length, packStatic,
      ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
  for (auto [s, v] : llvm::enumerate(slotValues)) {
    Value index = arith::ConstantIndexOp::create(b, loc, s + 1);
    memref::StoreOp::create(b, loc, v, packStatic, index);
  }
  Value pack = memref::CastOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, i32), packStatic);
  buffers.push_back(pack);
  launch.getKernelOperandsMutable().assign(buffers);
  return success();
}

struct SSMGPUVulkanKernelABI
    : mlir::ssm::impl::SSMGPUVulkanKernelABIBase<SSMGPUVulkanKernelABI> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Plans of every kernel, by its symbol (module, kernel).
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, KernelPlan> plans;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      // A SPIR-V target of the module (spirv-attach-target) also as the
      // spirv.target_env attribute, the only place the math and arith
      // conversions look (else they assume a target without Int64, Float64).
      if (ArrayAttr targets = gpuModule.getTargetsAttr())
        for (Attribute t : targets)
          if (auto env = dyn_cast<spirv::TargetEnvAttr>(t)) {
            gpuModule->setAttr(spirv::getTargetEnvAttrName(), env);
            break;
          }
      // convert-gpu-to-spirv takes only the general (non-uniform) form of
      // gpu.subgroup_reduce, which the GroupNonUniform instructions are;
      // `uniform` is a promise only (every lane or none executes it), so
      // dropping it keeps the meaning.
      gpuModule.walk([](gpu::SubgroupReduceOp op) { op.setUniform(false); });
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>()) {
        if (!kernel.isKernel())
          continue;
        FailureOr<KernelPlan> plan = planKernel(kernel);
        if (failed(plan))
          return signalPassFailure();
        plans[std::make_pair(gpuModule.getSymNameAttr(),
                             kernel.getNameAttr())] = *plan;
      }
    }
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp l) { launches.push_back(l); });
    for (gpu::LaunchFuncOp launch : launches) {
      auto it =
          plans.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == plans.end()) {
        launch.emitError("launches a kernel that is not in a gpu.module of "
                         "this module");
        return signalPassFailure();
      }
      if (failed(rewriteLaunch(launch, it->second)))
        return signalPassFailure();
    }
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>())
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>())
        if (kernel.isKernel() &&
            failed(rewriteKernel(
                kernel, plans[std::make_pair(gpuModule.getSymNameAttr(),
                                             kernel.getNameAttr())])))
          return signalPassFailure();
  }
};

} // namespace
