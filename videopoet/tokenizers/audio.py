"""SoundStream-style audio tokenizer: a 1-D CNN codec with residual vector quantization.

16 kHz mono in, 4 x 106 integer codes out per 2.125 s clip (VideoPoet's audio tokens: 4 RVQ levels
of 1024 codes, 50 frames per second). The encoder is SoundStream's: a stem convolution, then per
stage three residual units (dilated convolutions, dilations 1, 3, 9) and a strided convolution
(strides 2, 4, 5, 8: one latent frame per 320 samples), all non-causal ("same" padding: a clip is
coded as a whole, nothing streams). The latent (32-d) is batch-normalised, so its mean and scale
cannot drift away from the codebooks while the encoder trains, and quantized by
`vector_quantize_pytorch.ResidualVQ`: k-means initialised, EMA-updated codebooks with dead-code
replacement (a code the batches stop choosing is moved onto a recent latent), so all four
codebooks stay in use. The decoder mirrors the encoder with transposed convolutions and ends in
tanh.

A clip is 34,000 samples, which is not a whole number of 320-sample frames: the first 106 x 320 =
33,920 samples are coded, and `decode` returns 34,000 samples whose last 80 (5 ms) are zero.

    tok = AudioTokenizer.from_pretrained("weights/audio_tokenizer")
    codes = tok.encode_audio(audio)        # (34000,) float -> (4, 106) int64, row 0 = first RVQ level
    audio = tok.decode_audio(codes)        # -> (34000,) float32 in [-1, 1]

An untrained model initialises each codebook by k-means on the first latents it quantizes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from vector_quantize_pytorch import ResidualVQ

SAMPLE_RATE = 16000
CLIP_SAMPLES = 34000

__all__ = ["CLIP_SAMPLES", "SAMPLE_RATE", "AudioTokenizer"]


class ResidualUnit(nn.Module):
    """ELU, dilated convolution (kernel 7), ELU, 1x1 convolution, plus the input."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.dilated = nn.Conv1d(channels, channels, 7, dilation=dilation, padding=3 * dilation)
        self.pointwise = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pointwise(F.elu(self.dilated(F.elu(x))))


class Downsample(nn.Module):
    """Strided convolution (kernel 2 x stride) taking length L to exactly L / stride."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv1d(cin, cout, 2 * stride, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # kernel - stride = stride samples of padding, split so odd strides stay centred too
        return self.conv(F.pad(F.elu(x), (self.stride // 2, self.stride - self.stride // 2)))


class Upsample(nn.Module):
    """Transposed convolution (kernel 2 x stride) taking length L to exactly L x stride."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.elu(x))  # length L * stride + stride: trim the overhang the way Downsample padded
        left = self.stride // 2
        return y[..., left:left + x.shape[-1] * self.stride]


class AudioTokenizer(ModelMixin, ConfigMixin):
    """SoundStream-style encoder / residual VQ / decoder; see the module docstring.

    Args:
        channels: width at each rate, from the waveform (channels[0]) to the last stage
            (channels[-1], at the frame rate); one entry more than `strides`.
        strides: downsampling factor of each encoder stage (product = samples per frame, 320).
        dilations: of the residual units in every stage.
        latent_dim: size of each latent frame (and of every codebook vector).
        num_quantizers, codebook_size: RVQ levels and codes per level.
        codebook_decay: EMA decay of the codebook updates.
        dead_code_threshold: a code whose EMA usage count (latents per batch) falls below this is
            replaced by a latent from the batch; 2 suits batches of 64 clips (6,784 latents, 6.6 per
            code on average).
        kmeans_iters: k-means iterations of the codebook initialisation.
        commitment_weight: weight of the RVQ commitment loss that `forward` returns.
        sample_rate, clip_samples: the audio this tokenizer is for.
    """

    @register_to_config
    def __init__(
        self,
        channels: tuple[int, ...] = (16, 32, 48, 96, 128),
        strides: tuple[int, ...] = (2, 4, 5, 8),
        dilations: tuple[int, ...] = (1, 3, 9),
        latent_dim: int = 32,
        num_quantizers: int = 4,
        codebook_size: int = 1024,
        codebook_decay: float = 0.99,
        dead_code_threshold: float = 2.0,
        kmeans_iters: int = 10,
        commitment_weight: float = 1.0,
        sample_rate: int = SAMPLE_RATE,
        clip_samples: int = CLIP_SAMPLES,
    ):
        super().__init__()
        if len(channels) != len(strides) + 1:
            raise ValueError(f"channels needs one entry more than strides, got {channels} and {strides}")
        self.hop = math.prod(strides)
        self.frames = clip_samples // self.hop
        self.coded_samples = self.frames * self.hop

        encoder: list[nn.Module] = [nn.Conv1d(1, channels[0], 7, padding=3)]
        for cin, cout, stride in zip(channels[:-1], channels[1:], strides):
            encoder += [ResidualUnit(cin, d) for d in dilations]
            encoder.append(Downsample(cin, cout, stride))
        # Batch-normalised latent (no affine; running statistics at inference): while the encoder
        # trains, its output's mean and scale move faster than EMA codebooks follow, and without this
        # every level collapsed onto a handful of codes within the first steps.
        encoder += [nn.ELU(), nn.Conv1d(channels[-1], latent_dim, 3, padding=1),
                    nn.BatchNorm1d(latent_dim, affine=False)]
        self.encoder = nn.Sequential(*encoder)

        self.quantizer = ResidualVQ(
            dim=latent_dim,
            num_quantizers=num_quantizers,
            codebook_size=codebook_size,
            decay=codebook_decay,
            kmeans_init=True,
            kmeans_iters=kmeans_iters,
            threshold_ema_dead_code=dead_code_threshold,
            commitment_weight=commitment_weight,
        )

        decoder: list[nn.Module] = [nn.Conv1d(latent_dim, channels[-1], 7, padding=3)]
        for cin, cout, stride in reversed(list(zip(channels[:-1], channels[1:], strides))):
            decoder.append(Upsample(cout, cin, stride))
            decoder += [ResidualUnit(cin, d) for d in dilations]
        decoder += [nn.ELU(), nn.Conv1d(channels[0], 1, 7, padding=3)]
        self.decoder = nn.Sequential(*decoder)

    # ------------------------------------------------------------------------------------------
    # torch API

    def _check_audio(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.ndim != 2 or audio.shape[1] != self.config.clip_samples:
            raise ValueError(f"audio must be (B, {self.config.clip_samples}), got {tuple(audio.shape)}")
        return audio[:, :self.coded_samples].to(self.dtype).unsqueeze(1)

    def _synthesize(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, frames, latent_dim) quantized latent -> (B, clip_samples) waveform, tail zero."""
        wave = torch.tanh(self.decoder(latent.transpose(1, 2))).squeeze(1)
        return F.pad(wave, (0, self.config.clip_samples - self.coded_samples))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """audio (B, 34000) -> (reconstruction (B, 34000), codes (B, 4, 106), commitment loss).

        In training mode this also updates the codebooks (EMA, dead codes); the commitment loss is
        0 in eval mode.
        """
        latent = self.encoder(self._check_audio(audio)).transpose(1, 2)
        quantized, indices, commit = self.quantizer(latent)
        return self._synthesize(quantized), indices.transpose(1, 2), commit.sum()

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, 34000) float -> codes (B, 4, 106) int64 in [0, codebook_size), level-major."""
        latent = self.encoder(self._check_audio(audio)).transpose(1, 2)
        return self.quantizer(latent)[1].transpose(1, 2)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, 4, 106) int -> audio (B, 34000) in [-1, 1]; the last 80 samples are zero."""
        expected = (self.config.num_quantizers, self.frames)
        if codes.ndim != 3 or tuple(codes.shape[1:]) != expected:
            raise ValueError(f"codes must be (B, {expected[0]}, {expected[1]}), got {tuple(codes.shape)}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.config.codebook_size):
            raise ValueError(f"codes must lie in [0, {self.config.codebook_size}), got "
                             f"{int(codes.min())}..{int(codes.max())}")
        latent = self.quantizer.get_output_from_indices(codes.long().transpose(1, 2))
        return self._synthesize(latent.to(self.dtype))

    # ------------------------------------------------------------------------------------------
    # numpy API

    @torch.no_grad()
    def encode_audio(self, audio: np.ndarray) -> np.ndarray:
        """(34000,) or (B, 34000) float -> (4, 106) or (B, 4, 106) int64."""
        audio = np.asarray(audio, dtype=np.float32)
        batch = audio[None] if audio.ndim == 1 else audio
        codes = self.encode(torch.from_numpy(batch).to(self.device)).cpu().numpy().astype(np.int64)
        return codes[0] if audio.ndim == 1 else codes

    @torch.no_grad()
    def decode_audio(self, codes: np.ndarray) -> np.ndarray:
        """(4, 106) or (B, 4, 106) int -> (34000,) or (B, 34000) float32."""
        codes = np.asarray(codes)
        batch = codes[None] if codes.ndim == 2 else codes
        audio = self.decode(torch.from_numpy(batch.astype(np.int64)).to(self.device)).float().cpu().numpy()
        return audio[0] if codes.ndim == 2 else audio
