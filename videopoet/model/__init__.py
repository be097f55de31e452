"""The VideoPoet language model and its sampler."""

from videopoet.model.sampling import PrefixBatch, sample
from videopoet.model.transformer import VideoPoetTransformer, lm_loss, prefix_lm_mask

__all__ = ["PrefixBatch", "VideoPoetTransformer", "lm_loss", "prefix_lm_mask", "sample"]
