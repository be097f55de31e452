"""A small monocular depth estimator: one RGB frame in, relative inverse depth out.

Stylization conditions the LM on a structure video (flow + depth, `videopoet.structure`). For world
clips the renderer knows the depth; for an uploaded clip this network estimates it, frame by frame,
as MiDaS does for VideoPoet: relative inverse depth ("disparity"), meaningful up to an unknown
scale and shift, which is all the structure video keeps (it min-max normalises inverse depth over
the clip).

    from videopoet.model.depth import DepthEstimator
    model = DepthEstimator.from_pretrained("weights/depth_estimator")
    disparity = model.predict(frames)   # (T, H, W, 3) uint8 -> (T, H, W) float32, larger = nearer

Architecture: a U-Net of residual blocks (GroupNorm, SiLU) at half resolution: 2x2 pixels are
folded into channels first and the output is upsampled bilinearly at the end, because the
structure video is tokenized at 8x8 pixels per token, so full-resolution depth edges would cost
half the compute and buy nothing. Four stride-2 stages down, bilinear-upsampling stages back up
with skip connections; a normalised row coordinate is a fourth input channel (where a pixel sits
vertically is the strongest single cue to its depth: sky above, ground below) and the bottleneck's
global average is added back to it (the whole frame's layout, beyond the receptive field of a few
3x3 convolutions). Works at any frame size (padded to a multiple of 32); trained on 128x128 and
224x128 world frames.

Trained with the scale-and-shift-invariant loss of MiDaS (Ranftl et al. 2020), see `ssi_loss`;
scored after least-squares scale-and-shift alignment in disparity, see `depth_errors`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "depth_estimator"
# Held-out world clips for depth: apart from the judge's (from HELD_OUT_FIRST_SEED), the tokenizers'
# (+200_000) and the benchmark's (+1_000_000).
HELD_OUT_SEED_OFFSET = 300_000
# Aligned predictions are capped at this distance before depth errors are taken (MiDaS caps at the
# benchmark's far limit); the world's sky is at 3, so the cap only stops a negative or near-zero
# aligned disparity from turning into an infinite depth.
DEPTH_CAP = 10.0
HELD_OUT_FRAMES = (0, 8, 16)  # frames of each held-out clip scored for depth (the clip's ends and middle)

__all__ = ["DEFAULT_WEIGHTS", "DepthEstimator", "align_scale_shift", "baseline_disparity", "depth_errors",
           "evaluate_heldout", "ssi_loss", "ssi_normalize"]


def _groups(c: int) -> int:
    return math.gcd(8, c)


class _Block(nn.Module):
    """Pre-activation residual block."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class DepthEstimator(ModelMixin, ConfigMixin):
    """Relative inverse depth from one RGB frame; see the module docstring.

    Args:
        channels: width of each level, half resolution first; each later level halves the frame again.
    """

    @register_to_config
    def __init__(self, channels: Sequence[int] = (24, 32, 48, 80, 112)):
        super().__init__()
        ch = list(channels)
        if len(ch) < 2:
            raise ValueError("channels needs at least two levels")
        self.multiple = 2 ** len(ch)
        self.stem = nn.Conv2d(4 * 4, ch[0], 3, 1, 1)
        self.down = nn.ModuleList()
        self.encode = nn.ModuleList([_Block(ch[0], ch[0])])
        for cin, cout in zip(ch[:-1], ch[1:]):
            self.down.append(nn.Conv2d(cin, cout, 3, 2, 1))
            self.encode.append(_Block(cout, cout))
        self.context = nn.Linear(ch[-1], ch[-1])
        self.decode = nn.ModuleList(_Block(c_deep + c_skip, c_skip) for c_skip, c_deep in zip(ch[:-1], ch[1:]))
        self.out_norm = nn.GroupNorm(_groups(ch[0]), ch[0])
        self.head = nn.Conv2d(ch[0], 1, 3, 1, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels (B, 3, H, W) in [0, 1] -> (B, H, W) relative inverse depth (arbitrary scale and shift)."""
        b, _, h, w = pixels.shape
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        x = pixels * 2.0 - 1.0
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
        rows = torch.cat([rows, rows[-1:].expand(ph)])  # the padding continues the last row
        x = torch.cat([x, rows.view(1, 1, -1, 1).expand(b, 1, -1, x.shape[-1])], dim=1)
        skips = []
        x = self.encode[0](self.stem(F.pixel_unshuffle(x, 2)))
        for down, block in zip(self.down, self.encode[1:]):
            skips.append(x)
            x = block(down(x))
        x = x + self.context(x.mean(dim=(2, 3)))[:, :, None, None]
        for block, skip in zip(reversed(self.decode), reversed(skips)):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        out = self.head(F.silu(self.out_norm(x)))
        out = F.interpolate(out, scale_factor=2.0, mode="bilinear", align_corners=False)
        return out[:, 0, :h, :w]

    @torch.no_grad()
    def predict(self, frames: np.ndarray, batch_size: int = 17) -> np.ndarray:
        """uint8 (T, H, W, 3) or (H, W, 3) RGB -> float32 (T, H, W) or (H, W) relative inverse depth,
        larger is nearer, normalised as in `ssi_normalize` (median 0, mean absolute deviation 1)
        over all the frames together: one scale and shift for a clip, so a dolly's approach still
        brightens. (On 24 held-out clips, with a checkpoint trained for one minute, per-frame
        normalisation correlated slightly less with the renderer's clip-wide structure channel:
        0.861 against 0.868.)"""
        frames = np.asarray(frames)
        single = frames.ndim == 3
        if single:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected RGB frames (T, H, W, 3), got {frames.shape}")
        was_training = self.training
        self.eval()
        dtype = next(self.parameters()).dtype
        out = []
        for i in range(0, len(frames), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(frames[i:i + batch_size])).to(self.device)
            x = x.permute(0, 3, 1, 2).to(dtype) / (255.0 if frames.dtype == np.uint8 else 1.0)
            out.append(self(x).float())
        self.train(was_training)
        raw = torch.cat(out)
        result = ssi_normalize(raw.reshape(1, -1)).reshape(raw.shape).cpu().numpy().astype(np.float32)
        return result[0] if single else result


# ----------------------------------------------------------------------------------------------
# loss and metrics


def ssi_normalize(d: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(B, H, W) -> each map minus its median, divided by its mean absolute deviation from it: the
    scale-and-shift estimate of MiDaS, robust to a few wild pixels."""
    flat = d.flatten(1)
    shift = flat.median(dim=1).values
    scale = (flat - shift[:, None]).abs().mean(dim=1).clamp_min(eps)
    return (d - shift[:, None, None]) / scale[:, None, None]


def ssi_loss(pred: torch.Tensor, target: torch.Tensor, grad_weight: float = 0.5, scales: int = 4) -> torch.Tensor:
    """The scale-and-shift-invariant loss of MiDaS on inverse depth, (B, H, W) each.

    Both maps are normalised by `ssi_normalize`; the loss is the mean absolute difference plus
    `grad_weight` x the gradient-matching term over `scales` scales (the difference's x and y
    gradients, every 2^k-th pixel). Why invariant: the structure video keeps inverse depth only up
    to scale and shift (it is min-max normalised over the clip), one frame cannot tell a toy
    close up from a house far away, and the world's depth unit (sky at 3) means nothing on real
    footage, so penalising scale or shift would spend the network on what it cannot know and does
    not need. Why inverse depth: the sky is at infinity on real footage (0 disparity, finite),
    and near things, which dominate how a frame reads, get the resolution. Why the gradient term:
    the world's depth is flat layers with sharp edges, and MiDaS found it sharpens boundaries.
    No trimming (MiDaS drops the worst 20% of residuals against noisy stereo labels): ours are exact.
    """
    pred, target = pred.float(), target.float()
    residual = ssi_normalize(pred) - ssi_normalize(target)
    loss = residual.abs().mean()
    if grad_weight:
        grad = residual.new_zeros(())
        for k in range(scales):
            r = residual[:, :: 2**k, :: 2**k]
            grad = grad + (r[:, :, 1:] - r[:, :, :-1]).abs().mean() + (r[:, 1:] - r[:, :-1]).abs().mean()
        loss = loss + grad_weight * grad / scales
    return loss


def align_scale_shift(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least-squares s * pred + t fit to target (one map each, any shape); a constant
    prediction becomes target's mean."""
    p, q = np.asarray(pred, np.float64).ravel(), np.asarray(target, np.float64).ravel()
    pc = p - p.mean()
    var = float(pc @ pc)
    s = float(pc @ (q - q.mean())) / var if var > 1e-12 * max(1.0, float(p @ p)) else 0.0
    return (s * (np.asarray(pred, np.float64) - p.mean()) + q.mean()).astype(np.float32)


def depth_errors(pred_disparity: np.ndarray, true_depth: np.ndarray) -> dict[str, float]:
    """Scale-and-shift-invariant errors of one frame (the MiDaS protocol): the prediction is aligned
    to the true inverse depth by least squares, turned into depth (capped at DEPTH_CAP), and
    compared: abs_rel = mean |d - d*| / d*, delta1 = share of pixels with max(d/d*, d*/d) < 1.25."""
    true_depth = np.asarray(true_depth, np.float32)
    aligned = align_scale_shift(pred_disparity, 1.0 / true_depth)
    depth = 1.0 / np.maximum(aligned, 1.0 / DEPTH_CAP)
    ratio = np.maximum(depth / true_depth, true_depth / depth)
    return {"abs_rel": float(np.mean(np.abs(depth - true_depth) / true_depth)), "delta1": float(np.mean(ratio < 1.25))}


def baseline_disparity(kind: str, shape: tuple[int, int]) -> np.ndarray:
    """Trivial predictions to beat: "constant" (one depth everywhere) or "vertical" (nearer
    towards the bottom of the frame, linearly: the sky-above-ground prior and nothing else)."""
    h, w = shape
    if kind == "constant":
        return np.zeros((h, w), np.float32)
    if kind == "vertical":
        return np.repeat(np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None], w, axis=1)
    raise ValueError(f"unknown baseline {kind!r}")


# ----------------------------------------------------------------------------------------------
# held-out evaluation


def heldout_jobs(n: int, first_seed: int | None = None) -> list[tuple[int, tuple[int, int]]]:
    """(seed, size) of `n` held-out world clips, square and portrait alternating."""
    from videopoet.eval.judge import HELD_OUT_FIRST_SEED
    from videopoet.world.render import SIZES

    first = HELD_OUT_FIRST_SEED + HELD_OUT_SEED_OFFSET if first_seed is None else first_seed
    if first < HELD_OUT_FIRST_SEED:
        raise ValueError(f"held-out seeds start at {HELD_OUT_FIRST_SEED}")
    return [(first + i, SIZES[i % 2]) for i in range(n)]


def render_video_depth(job: tuple[int, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(seed, size) -> the world clip's video (17, H, W, 3) uint8 and depth (17, H, W) float32."""
    from videopoet.world.render import render

    sample = render(*job)
    return sample.video, sample.depth


def evaluate_heldout(model: DepthEstimator, n: int = 256, first_seed: int | None = None, pool=None,
                     workers: int | None = None) -> dict:
    """Score `model` on `n` held-out world clips (never trained on), with the trivial baselines.

    Depth errors (`depth_errors`, averaged over frames HELD_OUT_FRAMES of every clip) for the model,
    a constant depth and a vertical gradient; and `structure_correlation`: per clip, the Pearson
    correlation of the depth channel of the structure video made from the estimate (as
    `videopoet.structure.structure_from_video` makes it) with the one made from the true depth,
    averaged over clips. Renders on `pool` when given, else on `workers` processes.
    """
    from videopoet.structure import depth_channel, depth_from_disparity

    jobs = heldout_jobs(n, first_seed)
    if pool is not None:
        clips = pool.map(render_video_depth, jobs, chunksize=4)
    else:
        from videopoet.world.dataset import worker_pool

        with worker_pool(workers) as own:
            clips = own.map(render_video_depth, jobs, chunksize=4) if own else [render_video_depth(j) for j in jobs]
    errors: dict[str, list[dict]] = {"model": [], "constant": [], "vertical": []}
    corr: dict[str, list[float]] = {"model": [], "vertical": []}
    for video, depth in clips:
        pred = model.predict(video)
        for t in HELD_OUT_FRAMES:
            errors["model"].append(depth_errors(pred[t], depth[t]))
            for kind in ("constant", "vertical"):
                errors[kind].append(depth_errors(baseline_disparity(kind, depth.shape[1:]), depth[t]))
        truth = depth_channel(depth).ravel()
        gradient = np.broadcast_to(baseline_disparity("vertical", depth.shape[1:]), depth.shape)
        for kind, disparity in (("model", pred), ("vertical", gradient)):
            # What videopoet.structure.estimated_depth hands structure_video.
            estimate = depth_from_disparity(disparity)
            corr[kind].append(_pearson(depth_channel(estimate).ravel(), truth))
    out: dict = {"clips": n, "first_seed": jobs[0][0] if jobs else None, "frames": list(HELD_OUT_FRAMES)}
    for kind, rows in errors.items():
        out[kind] = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("abs_rel", "delta1")}
        if kind in corr:
            out[kind]["structure_correlation"] = round(float(np.mean(corr[kind])), 4)
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64) - a.mean(), b.astype(np.float64) - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denom if denom > 0 else 0.0
