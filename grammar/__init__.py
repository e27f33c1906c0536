"""The .mem grammar (mem.lark), shipped inside the wheel as ``echodsl.grammar``."""
