"""What a scene is made of: flat layers at a depth, and particles; plus the texture helpers that
backgrounds, effects and subjects all paint with."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from videopoet.world.camera import FRAMES

STEPS = FRAMES + 1  # motion is known one step past the last frame, so its flow is exact too
SKY_DEPTH = 3.0
# Layers are painted larger than the screen so camera moves never reveal an edge.
MARGIN = 2.0


@dataclass
class Layer:
    """A painted sheet in the world. Drawn centred on the screen at frame 0 when `local` is None."""

    rgba: np.ndarray  # (h, w, 4) uint8, straight (not premultiplied) alpha
    depth: float  # distance from the camera; subjects stand at camera.SUBJECT_DEPTH (0.5)
    local: np.ndarray | None = None  # (STEPS, 2, 3) its own motion, layer px -> layer px
    tint: np.ndarray | None = None  # (STEPS, 4) per-frame multipliers of R, G, B, alpha
    name: str = ""
    # Where it is drawn in the far-to-near order, when that differs from its depth: a subject
    # stands at 0.5 for parallax yet must be drawn over the ground sheet (0.35-0.4) it stands on.
    order: float | None = None


@dataclass
class Particles:
    """Small round things that each move their own way: rain, sparks, snow, stars, paint."""

    xy: np.ndarray  # (STEPS, N, 2) positions in pixels relative to the screen centre, at `depth`
    radius: np.ndarray  # (N,) pixels
    color: np.ndarray  # (N, 3) float RGB 0..255
    alpha: np.ndarray  # (STEPS, N) 0..1; 0 hides a particle in that frame
    depth: float
    trail: int = 0  # extra copies drawn back along the motion, for streaks (rain)
    name: str = ""
    vel: np.ndarray | None = None  # (STEPS, N, 2) own motion per step when xy wraps around
    grow: float = 0.0  # radius growth per second, as a fraction of the radius (smoke puffs swell)
    order: float | None = None  # drawing order when it differs from depth (see Layer.order)


def layer_size(size: tuple[int, int]) -> tuple[int, int]:
    h, w = size
    return int(round(h * MARGIN)), int(round(w * MARGIN))


def noise(shape: tuple[int, int], cell: float, rng: np.random.Generator, octaves: int = 3) -> np.ndarray:
    """Smooth fractal noise in [0, 1], float32; `cell` is the size in pixels of its coarsest blobs."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cell /= 2.0
    out /= total
    lo, hi = out.min(), out.max()
    return (out - lo) / max(hi - lo, 1e-6)


def vertical_gradient(shape: tuple[int, int], top, bottom) -> np.ndarray:
    """(h, w, 3) float32 RGB blend from `top` to `bottom`."""
    h, w = shape
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to((1 - t) * np.float32(top) + t * np.float32(bottom), (h, w, 3)).copy()


def to_rgba(rgb: np.ndarray, alpha: np.ndarray | float = 1.0) -> np.ndarray:
    """float RGB 0..255 and alpha 0..1 -> uint8 RGBA."""
    h, w = rgb.shape[:2]
    a = np.broadcast_to(np.asarray(alpha, np.float32), (h, w))
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3] = np.clip(rgb, 0, 255)
    out[..., 3] = np.clip(a * 255.0, 0, 255)
    return out


def translation(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """(STEPS, 2, 3) pure translations."""
    out = np.zeros((len(dx), 2, 3))
    out[:, 0, 0] = out[:, 1, 1] = 1.0
    out[:, 0, 2], out[:, 1, 2] = dx, dy
    return out


def similarity(cx: float, cy: float, scale_x, scale_y, angle, dx, dy) -> np.ndarray:
    """(STEPS, 2, 3): scale and rotate about (cx, cy), then move by (dx, dy). Arguments broadcast."""
    sx, sy, th, dx, dy = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (scale_x, scale_y, angle, dx, dy)))
    c, s = np.cos(th), np.sin(th)
    out = np.zeros(sx.shape + (2, 3))
    out[..., 0, 0], out[..., 0, 1] = c * sx, -s * sy
    out[..., 1, 0], out[..., 1, 1] = s * sx, c * sy
    out[..., 0, 2] = cx + dx - (out[..., 0, 0] * cx + out[..., 0, 1] * cy)
    out[..., 1, 2] = cy + dy - (out[..., 1, 0] * cx + out[..., 1, 1] * cy)
    return out


# Drawing order of things that stand on the ground: over the ground sheet, under rain.
ON_GROUND_ORDER = 0.33


def draw_order(item: Layer | Particles) -> float:
    return item.depth if item.order is None else item.order
