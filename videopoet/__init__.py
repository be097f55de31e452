"""videopoet: one decoder-only language model that generates video and audio as discrete tokens."""

from videopoet.errors import VideoPoetError

__all__ = ["DEFAULT_PRECISION", "PRECISIONS", "VideoPoetError"]

# How the LM's int8 checkpoint is loaded: dequantized to bf16 (the default: fastest measured, on a
# 2-core CPU and on an H200 alike), kept 8-bit in memory (bitsandbytes), or dequantized to fp32.
PRECISIONS = ("bf16", "int8", "fp32")
DEFAULT_PRECISION = "bf16"
__version__ = "0.1.0"
