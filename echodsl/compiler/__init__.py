"""Lowering profiles to modules: ``lower`` → ``MemoryPlan`` → ``build`` → ``torch.compile``."""

from echodsl.compiler.model import MemoryWorldModel, build, compile_model, make_memory
from echodsl.compiler.plan import LOWERING_VERSION, MemoryPlan, build_hash, lower

__all__ = ["LOWERING_VERSION", "MemoryPlan", "MemoryWorldModel", "build", "build_hash", "compile_model", "lower",
           "make_memory"]
