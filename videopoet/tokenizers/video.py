"""MAGVIT-v2-style video tokenizer: a causal 3D CNN with lookup-free quantization.

17 frames x H x W -> 5 x H/8 x W/8 integer tokens in [0, 2**K); a single image is a 1-frame video
and encodes to exactly the first latent frame of any video that starts with it, because every
temporal convolution is padded only in front (by repeating the first frame) and every norm works on
one frame at a time. Temporal downsampling is a stride-2 causal convolution (frames 1+4n -> 1+2n ->
1+n); the decoder upsamples by depth-to-space and drops the first of each pair of frames, so latent
frame 0 decodes to frame 0 alone. The decoder's group norms are modulated by the quantized latent
(adaptive group norm, as in MAGVIT-v2).

Two departures from the paper, both for the 2-core CPU the app runs on (encode + decode of a clip
within 1.5 s): the first layer folds 2x2 pixels into channels (space-to-depth) instead of running
full 3x3x3 convolutions at full resolution, and channel widths are small.

Quantization is `vector_quantize_pytorch.LFQ` (with its entropy loss); tokens are its indices.

    tok = VideoTokenizer.from_pretrained("weights/video_tokenizer")
    tokens = tok.encode_frames(video_uint8)      # (17, 128, 128, 3) -> (5, 16, 16) int64
    frames = tok.decode_frames(tokens)           # -> (17, 128, 128, 3) uint8
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from vector_quantize_pytorch import LFQ

SPATIAL_FACTOR = 8
TEMPORAL_FACTOR = 4


def _groups(channels: int) -> int:
    return next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0 and channels // g >= 2)


class CausalConv3d(nn.Module):
    """A 3D convolution that sees only the current and earlier frames (front padding by repeating
    the first frame, so a lone first frame looks like a still video)."""

    def __init__(self, cin: int, cout: int, kernel=(3, 3, 3), stride=(1, 1, 1)):
        super().__init__()
        kt, kh, kw = kernel
        self.time_pad = kt - 1
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride, padding=(0, kh // 2, kw // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            x = torch.cat([x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1), x], dim=2)
        return self.conv(x)


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over each frame separately: statistics over time would leak later frames into
    earlier ones and break causality."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, c, h, w).transpose(1, 2)


def _latent_for(z: torch.Tensor, t: int, h: int, w: int) -> torch.Tensor:
    """The latent frame each of `t` output frames comes from (frame 0 <- latent 0; then each latent
    frame covers the `ratio` frames ending at it), resized to h x w."""
    lt = z.shape[2]
    if t != lt:
        ratio = (t - 1) // max(1, lt - 1)
        index = (torch.arange(t, device=z.device) + ratio - 1) // ratio
        z = z.index_select(2, index)
    if z.shape[3:] != (h, w):
        z = F.interpolate(z, size=(z.shape[2], h, w), mode="nearest")
    return z


class AdaptiveGroupNorm(nn.Module):
    """Per-frame group norm whose scale and shift come from the quantized latent."""

    def __init__(self, channels: int, latent_channels: int):
        super().__init__()
        self.norm = FrameGroupNorm(_groups(channels), channels, affine=False)
        self.to_scale_shift = nn.Conv3d(latent_channels, 2 * channels, 1)
        nn.init.zeros_(self.to_scale_shift.weight)
        nn.init.zeros_(self.to_scale_shift.bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        scale, shift = self.to_scale_shift(_latent_for(z, *x.shape[2:])).chunk(2, dim=1)
        return self.norm(x) * (1 + scale) + shift


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, latent_channels: int | None = None):
        super().__init__()
        adaptive = latent_channels is not None
        self.norm1 = AdaptiveGroupNorm(cin, latent_channels) if adaptive else FrameGroupNorm(_groups(cin), cin)
        self.conv1 = CausalConv3d(cin, cout)
        self.norm2 = AdaptiveGroupNorm(cout, latent_channels) if adaptive else FrameGroupNorm(_groups(cout), cout)
        self.conv2 = CausalConv3d(cout, cout)
        self.skip = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()
        self.adaptive = adaptive

    def _norm(self, norm, x, z):
        return norm(x, z) if self.adaptive else norm(x)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self._norm(self.norm1, x, z)))
        h = self.conv2(F.silu(self._norm(self.norm2, h, z)))
        return self.skip(x) + h


class DepthToSpaceUp(nn.Module):
    """Upsample by a causal convolution to 2x (time) or 4x (space) channels, then depth-to-space.
    In time, frame pairs (2j-1, 2j) come from latent j and the first of latent 0's pair is dropped,
    so 1+n frames become 1+2n."""

    def __init__(self, cin: int, cout: int, time: bool):
        super().__init__()
        self.time = time
        self.factor = 2 if time else 4
        self.conv = CausalConv3d(cin, cout * self.factor, (3, 1, 1) if time else (1, 3, 3))
        self.cout = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        y = self.conv(x)
        if self.time:
            y = y.reshape(b, self.cout, 2, t, h, w).permute(0, 1, 3, 2, 4, 5).reshape(b, self.cout, 2 * t, h, w)
            return y[:, :, 1:]
        y = y.reshape(b, self.cout, 2, 2, t, h, w).permute(0, 1, 4, 5, 2, 6, 3)
        return y.reshape(b, self.cout, t, 2 * h, 2 * w)


class Encoder(nn.Module):
    """Pixels (space-to-depth by 2) -> stage at H/2 -> H/4 -> H/8 with time /2 -> time /2 again."""

    def __init__(self, channels: tuple[int, int, int], blocks: tuple[int, int, int], latent_channels: int):
        super().__init__()
        c0, c1, c2 = channels
        self.conv_in = CausalConv3d(12, c0)
        self.stages = nn.ModuleList([
            nn.ModuleList(ResBlock(c0, c0) for _ in range(blocks[0])),
            nn.ModuleList(ResBlock(c1, c1) for _ in range(blocks[1])),
            nn.ModuleList(ResBlock(c2, c2) for _ in range(blocks[2])),
        ])
        self.downs = nn.ModuleList([
            CausalConv3d(c0, c1, (1, 3, 3), stride=(1, 2, 2)),
            CausalConv3d(c1, c2, stride=(2, 2, 2)),
            CausalConv3d(c2, c2, (3, 1, 1), stride=(2, 1, 1)),
        ])
        self.norm_out = FrameGroupNorm(_groups(c2), c2)
        self.conv_out = nn.Conv3d(c2, latent_channels, 1)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = video.shape
        x = F.pixel_unshuffle(video.transpose(1, 2).reshape(b * t, c, h, w), 2)
        x = self.conv_in(x.reshape(b, t, 4 * c, h // 2, w // 2).transpose(1, 2))
        for stage, down in zip(self.stages, self.downs):
            for block in stage:
                x = block(x)
            x = down(x)
        return self.conv_out(F.silu(self.norm_out(x)))


class Decoder(nn.Module):
    """Latent -> time x2 -> space x2 -> time x2 -> space x2 -> pixels (depth-to-space by 2), with a
    stage of latent-modulated residual blocks before each upsampling and at the end."""

    def __init__(self, channels: tuple[int, int, int], blocks: tuple[int, int, int, int], latent_channels: int):
        super().__init__()
        c0, c1, c2 = channels
        k = latent_channels
        self.conv_in = CausalConv3d(k, c2)
        widths = (c2, c2, c1, c0)
        self.stages = nn.ModuleList(nn.ModuleList(ResBlock(c, c, k) for _ in range(n))
                                    for c, n in zip(widths, blocks))
        self.ups = nn.ModuleList([
            DepthToSpaceUp(c2, c2, time=True),
            DepthToSpaceUp(c2, c1, time=False),
            nn.Sequential(DepthToSpaceUp(c1, c1, time=True), DepthToSpaceUp(c1, c0, time=False)),
        ])
        self.norm_out = AdaptiveGroupNorm(c0, k)
        self.conv_out = CausalConv3d(c0, 12)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(z)
        for i, stage in enumerate(self.stages):
            for block in stage:
                x = block(x, z)
            if i < len(self.ups):
                x = self.ups[i](x)
        x = self.conv_out(F.silu(self.norm_out(x, z)))
        b, c, t, h, w = x.shape
        x = F.pixel_shuffle(x.transpose(1, 2).reshape(b * t, c, h, w), 2)
        return x.reshape(b, t, 3, 2 * h, 2 * w).transpose(1, 2)


class VideoTokenizer(ModelMixin, ConfigMixin):
    """Causal 3D-CNN video tokenizer with lookup-free quantization (2**codebook_bits codes).

    Pixels are floats in [-1, 1], laid out (B, 3, T, H, W); T is 1 + 4n (1, 5, 9, 17 ...), H and W
    multiples of 8. Tokens are (B, 1 + n, H/8, W/8) int64.
    """

    @register_to_config
    def __init__(
        self,
        codebook_bits: int = 14,
        channels: tuple[int, int, int] = (48, 96, 144),
        encoder_blocks: tuple[int, int, int] = (1, 1, 1),
        decoder_blocks: tuple[int, int, int, int] = (1, 1, 1, 1),
        entropy_loss_weight: float = 0.1,
        commitment_loss_weight: float = 0.25,
        diversity_gamma: float = 1.0,
        frac_per_sample_entropy: float = 1.0,
        loss_tokens: int = 8192,
    ):
        super().__init__()
        channels, encoder_blocks, decoder_blocks = tuple(channels), tuple(encoder_blocks), tuple(decoder_blocks)
        self.encoder = Encoder(channels, encoder_blocks, codebook_bits)
        self.decoder = Decoder(channels, decoder_blocks, codebook_bits)
        self.quantizer = LFQ(dim=codebook_bits, codebook_size=2**codebook_bits, entropy_loss_weight=entropy_loss_weight,
                             commitment_loss_weight=commitment_loss_weight, diversity_gamma=diversity_gamma,
                             frac_per_sample_entropy=frac_per_sample_entropy)

    @property
    def codebook_size(self) -> int:
        return 2 ** self.config.codebook_bits

    @staticmethod
    def latent_shape(frames: int, height: int, width: int) -> tuple[int, int, int]:
        """Token grid (t, h, w) for a clip of `frames` x `height` x `width` pixels."""
        check_video_shape(frames, height, width)
        return 1 + (frames - 1) // TEMPORAL_FACTOR, height // SPATIAL_FACTOR, width // SPATIAL_FACTOR

    def forward(self, video: torch.Tensor):
        """Training pass: (reconstruction, tokens, auxiliary quantizer loss).

        Quantization is LFQ's sign with a straight-through gradient on every token; LFQ's entropy and
        commitment losses are computed on at most `loss_tokens` random tokens, because its entropy
        compares each token with all 2**K codes (O(2**K) per token: a 16-clip batch at K=14 builds
        600M-entry matrices) while a sample of a few thousand tokens estimates the same averages."""
        check_video_shape(*video.shape[2:])
        latent = self.encoder(video)
        signs = torch.where(latent > 0, 1.0, -1.0).to(latent.dtype)
        quantized = latent + (signs - latent).detach()
        tokens = self._indices(latent)
        if not latent.requires_grad:  # a frozen encoder (decoder-only training): nothing to regularise
            return self.decoder(quantized), tokens, latent.new_zeros(())
        flat = latent.movedim(1, -1).reshape(-1, latent.shape[1])
        if len(flat) > self.config.loss_tokens:
            flat = flat[torch.randperm(len(flat), device=flat.device)[: self.config.loss_tokens]]
        _, _, aux_loss = self.quantizer(flat[None])
        return self.decoder(quantized), tokens, aux_loss

    def _indices(self, latent: torch.Tensor) -> torch.Tensor:
        weights = self.quantizer.mask.to(latent.device).long().view(1, -1, 1, 1, 1)
        return ((latent > 0).long() * weights).sum(dim=1)

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) pixels in [-1, 1] -> (B, t, h, w) tokens."""
        check_video_shape(*video.shape[2:])
        return self._indices(self.encoder(video.to(self.device, self.dtype)).float())

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, t, h, w) tokens -> (B, 3, T, H, W) pixels in [-1, 1]."""
        tokens = torch.as_tensor(tokens, device=self.device).long()
        if tokens.min() < 0 or tokens.max() >= self.codebook_size:
            raise ValueError(f"video tokens must lie in [0, {self.codebook_size})")
        codes = self.quantizer.indices_to_codes(tokens).to(self.dtype)
        return self.decoder(codes).clamp(-1, 1)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 (T, H, W, 3) or (B, T, H, W, 3) -> int64 tokens (t, h, w) or (B, t, h, w)."""
        frames = np.asarray(frames)
        single = frames.ndim == 4
        video = torch.from_numpy(np.ascontiguousarray(frames[None] if single else frames))
        tokens = self.encode(frames_to_tensor(video)).cpu().numpy()
        return tokens[0] if single else tokens

    def decode_frames(self, tokens: np.ndarray) -> np.ndarray:
        """int64 tokens (t, h, w) or (B, t, h, w) -> uint8 (T, H, W, 3) or (B, T, H, W, 3)."""
        tokens = np.asarray(tokens)
        single = tokens.ndim == 3
        frames = tensor_to_frames(self.decode(torch.from_numpy(tokens[None] if single else tokens)))
        return frames[0] if single else frames


def check_video_shape(frames: int, height: int, width: int) -> None:
    if (frames - 1) % TEMPORAL_FACTOR or height % SPATIAL_FACTOR or width % SPATIAL_FACTOR:
        raise ValueError(f"the video tokenizer takes 1+4n frames of sides divisible by 8, got {frames}x{height}x{width}")


def frames_to_tensor(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) -> float (B, 3, T, H, W) in [-1, 1]."""
    return frames.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)


def tensor_to_frames(video: torch.Tensor) -> np.ndarray:
    """float (B, 3, T, H, W) in [-1, 1] -> uint8 (B, T, H, W, 3)."""
    pixels = ((video.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 4, 1).cpu().numpy()
