"""The VideoPoet language model, its sampler, and its 8-bit storage and loading."""

from videopoet.model.quantization import block_device_map, load_transformer, save_8bit
from videopoet.model.sampling import CUDAGraphDecodeStep, PrefixBatch, sample
from videopoet.model.transformer import VideoPoetTransformer, lm_loss, prefix_lm_mask

__all__ = ["CUDAGraphDecodeStep", "PrefixBatch", "VideoPoetTransformer", "block_device_map", "lm_loss",
           "load_transformer", "prefix_lm_mask", "sample", "save_8bit"]
