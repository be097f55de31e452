"""Tokenizers: media to the discrete tokens the language model reads and writes, and back.

video.py  MAGVIT-v2-style causal 3D CNN + lookup-free quantization (17x128x128 -> 5x16x16 tokens)
audio.py  SoundStream-style codec + residual VQ, 4 levels x 1024 codes (2.125 s -> 4x106 codes)
"""

from videopoet.tokenizers.audio import AudioTokenizer
from videopoet.tokenizers.video import VideoTokenizer

__all__ = ["AudioTokenizer", "VideoTokenizer"]
