"""videopoet: one decoder-only language model that generates video and audio as discrete tokens."""

import logging

from videopoet.errors import VideoPoetError

# On CPUs with avx512_bf16, importing bitsandbytes warns on stderr that it could not fetch a 4-bit
# kernel from the Hub ("Failed to load CPU gemm_4bit_forward ..."). This package stores 8-bit and
# never uses 4-bit, so the line is noise in every command's error output.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

__all__ = ["PRECISIONS", "VideoPoetError", "default_precision"]

# How the LM's int8 checkpoint is loaded: kept 8-bit (on a CPU through PyTorch's weight-only int8
# matmul; on a GPU through bitsandbytes), dequantized to bf16, or dequantized to fp32.
PRECISIONS = ("int8", "bf16", "fp32")


def default_precision(device=None) -> str:
    """The fastest precision on `device` (a name or torch.device; None: CUDA when available, as the
    pipeline picks): int8 on a CPU, bf16 on a GPU, where a 128 x 128 clip with sound takes 3.1 s in
    bf16 and 31 s through bitsandbytes' int8 (weights/transformer/README.md, Speed)."""
    import torch

    if device is None:
        return "bf16" if torch.cuda.is_available() else "int8"
    return "bf16" if torch.device(device).type == "cuda" else "int8"
__version__ = "0.1.0"
