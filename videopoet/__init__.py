"""videopoet: one decoder-only language model that generates video and audio as discrete tokens."""

import logging

from videopoet.errors import VideoPoetError

# On CPUs with avx512_bf16, importing bitsandbytes warns on stderr that it could not fetch a 4-bit
# kernel from the Hub ("Failed to load CPU gemm_4bit_forward ..."). This package stores 8-bit and
# never uses 4-bit, so the line is noise in every command's error output.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

__all__ = ["DEFAULT_PRECISION", "PRECISIONS", "VideoPoetError"]

# How the LM's int8 checkpoint is loaded: kept 8-bit (the default; on a CPU also the fastest, through
# PyTorch's weight-only int8 matmul; on a GPU bitsandbytes), dequantized to bf16 (fastest on a GPU),
# or dequantized to fp32.
PRECISIONS = ("int8", "bf16", "fp32")
DEFAULT_PRECISION = "int8"
__version__ = "0.1.0"
