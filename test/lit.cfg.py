# lit configuration for SSMC: FileCheck tests of ops and passes.
import os
import lit.formats

config.name = "SSMC"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ssm_obj_root, "test")
config.excludes = ["Inputs", "python", "lib", "lit.cfg.py"]

config.environment["PATH"] = os.pathsep.join(
    [config.ssm_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))

# The CUDA toolkit's ptxas (as ssmc --target=cuda finds it): tests that
# assemble the generated PTX need it.
import shutil
_cuda = os.environ.get("CUDA_PATH") or os.environ.get("CUDA_HOME") or "/usr/local/cuda"
if shutil.which("ptxas") or os.path.exists(os.path.join(_cuda, "bin", "ptxas")):
    config.available_features.add("ptxas")

# SPIRV-Tools' spirv-val (Debian's spirv-tools): tests that validate the
# Vulkan target's SPIR-V need it.
_spirv_val = shutil.which("spirv-val")
if _spirv_val:
    config.available_features.add("spirv-val")
    config.substitutions.append(("%spirv_val", _spirv_val))
