"""The world's 15 backgrounds: 2.5-D parallax scenes painted procedurally as flat layers.

`background_layers(name, size, variant)` returns a background's layers, far to near. Each layer
is painted at `layers.layer_size(size)` (MARGIN times the screen) and is drawn centred on the
screen at frame 0, so screen pixel (x, y) shows layer pixel (x + (lw - W) / 2, y + (lh - H) / 2).
The farthest layer (sky or back wall) is opaque everywhere; nearer layers are opaque only where
they are, and every silhouette is filled down to the bottom of its layer, so a camera that rises
and lets the near ground drop away always finds a farther layer behind it.

Conventions every scene keeps, because the renderer and the camera-move classifier rely on them:
  * the top of the screen is far (sky, walls, mountains) and the bottom is near (a ground, floor,
    table or water layer at depth 0.34-0.42, nearer than the subject plane at 0.5), so crane, arc
    and dolly moves show parallax between the top and the bottom of the frame;
  * every part of the screen carries texture (grain, stars, windows, strokes, waves, stones,
    blades, tiles), so dense optical flow sees the camera move in every cell of a 3x3 grid;
  * moving parts are layers with a `local` motion (drifting clouds, rotating swirls and nebula
    clouds, bobbing waves, a falling waterfall, a flowing river; at most ~1.5 px per frame), and
    flashing billboards and a flickering forge are layers with a `tint`. A moving part never
    shows its own end: cloud and nebula layers fade out before their edges, the waterfall starts
    behind the rock above its lip, and a river's upstream end hides under a bank of its depth.

Images are painted as planar float32 (3, h, w) arrays (fast to broadcast) and textures are cut
from a shared, cached bank of noise fields, so a background builds in a few milliseconds.
Everything is deterministic in (name, size, variant) and cached; the arrays returned are
read-only and shared between callers.
"""

from __future__ import annotations

import functools
import zlib

import cv2
import numpy as np

from videopoet.world.camera import compose
from videopoet.world.layers import SKY_DEPTH, STEPS, Layer, layer_size, similarity, translation
from videopoet.world.vocab import BACKGROUNDS

VARIANTS = 6

# Fraction of the screen height (at frame 0) where the walkable ground, floor, table top or water
# surface begins; the renderer stands subjects on or below it.
GROUND_TOP: dict[str, float] = {
    "times square": 0.72,
    "starry night": 0.72,
    "card table": 0.60,
    "white studio": 0.62,
    "stormy sea": 0.60,
    "nebula": 0.80,
    "sea cliff": 0.62,
    "sunny beach": 0.66,
    "frozen lake": 0.60,
    "forge": 0.70,
    "mars": 0.63,
    "jungle city": 0.80,
    "grassy meadow": 0.68,
    "snowy mountain": 0.66,
    "portrait wall": 0.76,
}

_T = np.arange(STEPS, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Painting helpers. Images are planar float32 (3, h, w) RGB 0..255; colours (3,) broadcast as
# (3, 1, 1); masks and textures are (h, w) float32, mostly 0..1.


class _Canvas:
    """Geometry of a layer: screen fractions -> layer pixels, and its pixel grid."""

    def __init__(self, size: tuple[int, int]):
        self.H, self.W = size
        self.lh, self.lw = layer_size(size)
        self.shape = (self.lh, self.lw)
        self.oy = (self.lh - self.H) / 2.0
        self.ox = (self.lw - self.W) / 2.0
        self.s = min(size) / 128.0  # feature scale (1.0 at both sizes the world uses)
        self.yy, self.xx = _grid(self.lh, self.lw)

    def Y(self, f):
        """Layer row of screen-height fraction f (0 = top of the screen at frame 0)."""
        return self.oy + f * self.H

    def X(self, f):
        return self.ox + f * self.W

    def zeros(self) -> np.ndarray:
        return np.zeros((3, self.lh, self.lw), np.float32)


@functools.cache
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


def _rng(name: str, variant: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(name.encode("utf-8")), int(variant)])


def _p(x) -> np.ndarray:
    """A colour (3,) as (3, 1, 1); planar images pass through."""
    x = np.asarray(x, np.float32)
    return x.reshape(3, 1, 1) if x.ndim == 1 else x


def _jit(c, rng: np.random.Generator, amount: float = 0.08) -> np.ndarray:
    """A colour nudged per variant (multiplicative per channel)."""
    return np.clip(np.asarray(c, np.float32) * (1.0 + rng.uniform(-amount, amount, 3)), 0, 255).astype(np.float32)


def _mix(a, b, t) -> np.ndarray:
    """a -> b by t; a and b colours or planar images, t a scalar or an (h, w) mask."""
    a, b = _p(a), _p(b)
    t = np.asarray(t, np.float32)
    d = b - a
    if d.shape == np.broadcast_shapes(d.shape, t.shape):
        d *= t
    else:
        d = d * t
    d += a
    return d


def _fmod(x, period: float) -> np.ndarray:
    """x mod period for float arrays (NumPy's float % is slow)."""
    return x - np.floor(x * np.float32(1.0 / period)) * np.float32(period)


def _smooth(x, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Smoothstep from lo to hi (float32)."""
    t = np.subtract(x, np.float32(lo), dtype=np.float32)
    t *= np.float32(1.0 / max(hi - lo, 1e-6))
    np.clip(t, 0, 1, out=t)
    t2 = t * t
    t *= -2
    t += 3
    t *= t2
    return t


def _profile(n: int, cell: float, rng: np.random.Generator, octaves: int = 4, smooth: bool = False,
             persistence: float = 0.5) -> np.ndarray:
    """1-D fractal noise of length n in [0, 1]: linear pieces look like ridges, cubic like hills."""
    out = np.zeros(n, np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        k = max(2, int(n / cell) + 2)
        pts = rng.random(k).astype(np.float32)
        if smooth:
            seg = cv2.resize(pts[None, :], (n, 1), interpolation=cv2.INTER_CUBIC)[0]
        else:
            seg = np.interp(np.linspace(0, k - 1, n), np.arange(k), pts).astype(np.float32)
        out += amp * seg
        total += amp
        amp *= persistence
        cell /= 2.0
    lo, hi = out.min(), out.max()
    return (out - lo) / max(hi - lo, 1e-6)


_BANK_PAD = 96


@functools.lru_cache(maxsize=None)
def _bank(h: int, w: int, cell: float, octaves: int, stretch: float, angle: int) -> np.ndarray:
    """A field of smooth fractal noise (uint8, 0..255), larger than a layer, cut at random offsets.

    `stretch` > 1 elongates the blobs along x (strokes, streaks), then the field is turned by
    `angle` degrees. Built once per process from a fixed seed and shared by every background.
    """
    rng = np.random.default_rng([h, w, int(cell * 100), octaves, int(stretch * 100), angle % 360])
    bh, bw = h + _BANK_PAD, w + _BANK_PAD
    if angle % 180:
        side = int(np.ceil(np.hypot(bh, bw))) + 2
        gh, gw = side, side
    else:
        gh, gw = bh, bw
    out = np.zeros((gh, gw), np.float32)
    amp, total, cy = 1.0, 0.0, cell
    for _ in range(octaves):
        cx = cy * stretch
        grid = rng.random((max(2, int(gh / max(cy, 1.2)) + 2), max(2, int(gw / max(cx, 1.2)) + 2)), dtype=np.float32)
        cv2.scaleAdd(cv2.resize(grid, (gw, gh), interpolation=cv2.INTER_CUBIC), amp, out, out)
        total += amp
        amp *= 0.5
        cy /= 2.0
        if cy < 1.2:
            break
    if angle % 180:
        rot = cv2.getRotationMatrix2D((gw / 2.0, gh / 2.0), angle, 1.0)
        rot[:, 2] += ((bw - gw) / 2.0, (bh - gh) / 2.0)
        out = cv2.warpAffine(out, rot, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    lo, hi = np.percentile(out, 0.5), np.percentile(out, 99.5)
    out = cv2.convertScaleAbs(out, alpha=255.0 / max(hi - lo, 1e-6), beta=-lo * 255.0 / max(hi - lo, 1e-6))
    out.flags.writeable = False  # uint8: a quarter of the memory of float32
    return out


def _noise(c: _Canvas, cell: float, rng: np.random.Generator, octaves: int = 3, stretch: float = 1.0,
           angle: float = 0.0, extra: int = 0) -> np.ndarray:
    """Smooth fractal noise in [0, 1] (float32) at layer size; `extra` adds rows below."""
    bank = _bank(c.lh, c.lw, round(float(cell) * 2) / 2, int(octaves), round(float(stretch), 1), int(round(angle / 5.0)) * 5)
    y = int(rng.integers(0, _BANK_PAD - extra + 1))
    x = int(rng.integers(0, _BANK_PAD + 1))
    return np.multiply(bank[y:y + c.lh + extra, x:x + c.lw], np.float32(1 / 255), dtype=np.float32)


def _streaks(c: _Canvas, rng, cell: float, length: float, angle: float = 0.0, octaves: int = 2) -> np.ndarray:
    """Noise drawn out along a direction (degrees, 0 = horizontal): strokes, wave streaks, grain."""
    return _noise(c, cell, rng, octaves, stretch=max(1.0, length / cell), angle=angle)


def _below(c: _Canvas, prof: np.ndarray) -> np.ndarray:
    """Anti-aliased mask of everything below a per-column row profile."""
    return np.clip(c.yy - (prof[None, :].astype(np.float32) - 0.5), 0, 1)


def _poly_into(img: np.ndarray, polys, color) -> None:
    pts = [np.round(np.asarray(p, np.float64) * 16).astype(np.int32) for p in polys]
    cv2.fillPoly(img, pts, color, lineType=cv2.LINE_AA, shift=4)


def _fill(c: _Canvas, *polys) -> np.ndarray:
    """A mask of anti-aliased filled polygons (lists of (x, y) layer pixels)."""
    m = np.zeros(c.shape, np.uint8)
    _poly_into(m, polys, 255)
    return m.astype(np.float32) * np.float32(1 / 255)


def _win(c: _Canvas, x: float, y: float, rx: float, ry: float | None = None):
    """A window of the layer around (x, y): its slices and the offsets of its pixels from (x, y)."""
    ry = rx if ry is None else ry
    y0, y1 = max(0, int(y - ry) - 1), min(c.lh, int(y + ry) + 2)
    x0, x1 = max(0, int(x - rx) - 1), min(c.lw, int(x + rx) + 2)
    if y1 <= y0 or x1 <= x0:
        return None
    return (slice(y0, y1), slice(x0, x1)), c.xx[y0:y1, x0:x1] - np.float32(x), c.yy[y0:y1, x0:x1] - np.float32(y)


def _xwindow(c: _Canvas, pad: float) -> np.ndarray:
    """1 in the middle of the layer, fading to 0 within `pad` px of its left and right edges."""
    x = np.arange(c.lw, dtype=np.float32)
    return _smooth(np.minimum(x, c.lw - 1 - x), pad * 0.35, pad)[None, :]


def _perspective(c: _Canvas, y0: float, e: float = 0.18):
    """World coordinates of a ground plane seen from above, its horizon at layer row y0.

    Returns (gx, gz, fade, aa): across, distance (1/e at the horizon .. ~0.8 at the layer
    bottom), a 0..1 weight fading fine patterns out near the horizon, and the change of gz per
    pixel (for anti-aliasing lines).
    """
    span = max(c.lh - y0, 1.0)
    d = np.clip((c.yy[:, :1] - np.float32(y0)) * np.float32(1 / span), 0, None)
    gz = 1.0 / (d + np.float32(e))
    gx = (c.xx - np.float32(c.lw / 2.0)) * (gz * np.float32(1 / span))
    fade = _smooth(d, 0.0, 0.25)
    aa = gz * gz * np.float32(1 / span)
    return gx, gz, fade, aa


def _lines(coord: np.ndarray, period: float, width: float, aa) -> np.ndarray:
    """Anti-aliased periodic lines (1 on a line) along a coordinate; `aa` its change per px."""
    f = coord * np.float32(1 / period)
    dist = np.abs(f - np.round(f)) * np.float32(period)
    return np.clip((np.float32(width / 2) - dist) / np.maximum(aa, np.float32(1e-3)) + 0.5, 0, 1)


def _stars(c: _Canvas, rng: np.random.Generator, n: int, bright: float = 255.0, big: float = 0.06) -> np.ndarray:
    """An intensity map of n small stars (0..~255)."""
    img = np.zeros(c.shape, np.float32)
    ys, xs = rng.integers(0, c.lh, n), rng.integers(0, c.lw, n)
    img[ys, xs] = bright * rng.uniform(0.35, 1.0, n).astype(np.float32) ** 2
    img = cv2.GaussianBlur(img, (5, 5), 0.6) * np.float32(2.2)
    nb = int(n * big)
    if nb:
        glow = np.zeros(c.shape, np.float32)
        glow[rng.integers(0, c.lh, nb), rng.integers(0, c.lw, nb)] = bright * 14
        img += cv2.GaussianBlur(glow, (9, 9), 1.3 * c.s)
    return img


def _mirror_local(local: np.ndarray | None, lw: int) -> np.ndarray | None:
    if local is None:
        return None
    f = np.array([[-1.0, 0.0, lw - 1.0], [0.0, 1.0, 0.0]])
    return compose(compose(f, local), f)


def _bob(ax: float, ay: float, px: float, py: float, phase: float) -> np.ndarray:
    """A wave layer's own motion: bobbing up and down and swaying sideways, no net drift."""
    dx = ax * np.sin(2 * np.pi * _T / px + phase)
    dy = ay * np.sin(2 * np.pi * _T / py + phase * 1.7)
    return translation(dx - dx[0], dy - dy[0])


def _drift(speed: float) -> np.ndarray:
    return translation(speed * _T, np.zeros(STEPS))


def _flash(rng: np.random.Generator, lo: float = 0.45) -> np.ndarray:
    """A billboard's tint: bright and dim frames with a colour swing; alpha stays 1."""
    period = int(rng.integers(2, 5))
    phase = int(rng.integers(0, 2 * period))
    on = ((np.arange(STEPS) + phase) // period) % 2 == 0
    level = np.where(on, 1.0, lo)
    hue = rng.uniform(0, 2 * np.pi) + _T * rng.uniform(0.3, 0.8)
    tint = np.ones((STEPS, 4))
    for ch in range(3):
        tint[:, ch] = level * (0.85 + 0.15 * np.cos(hue + ch * 2.1))
    return tint


def _rgba(c: _Canvas, rgb, alpha) -> np.ndarray:
    """Planar float RGB and a 0..1 alpha -> (h, w, 4) uint8."""
    rgb = np.broadcast_to(_p(rgb), (3, c.lh, c.lw))
    u8 = cv2.convertScaleAbs(np.maximum(rgb, 0).reshape(3 * c.lh, c.lw)).reshape(3, c.lh, c.lw)
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(alpha, np.float32), c.shape))
    return cv2.merge([u8[0], u8[1], u8[2], cv2.convertScaleAbs(a, alpha=255.0)])


class _Builder:
    """Collects a background's layers, far -> near."""

    def __init__(self, c: _Canvas):
        self.c = c
        self.layers: list[Layer] = []

    def add(self, name: str, rgb, alpha, depth: float, local=None, tint=None) -> None:
        self.layers.append(Layer(rgba=_rgba(self.c, rgb, alpha), depth=float(depth), local=local, tint=tint, name=name))


# ---------------------------------------------------------------------------------------------
# Scene parts shared by several backgrounds.


def _sky(c: _Canvas, rng, top, bottom, texture: float = 10.0, horizon: float = 0.5, haze: float = 0.0,
         grain: float = 9.0, mottle: float = 24.0) -> np.ndarray:
    """An opaque sky: `top` at the top of the screen to `bottom` at the horizon fraction, with
    soft cloud texture, a mottle of small cloudlets and a fine grain, so that optical flow can
    follow it even on blurred, downscaled frames."""
    t = np.clip((c.yy[:, :1] - c.Y(-0.1)) / max(c.Y(horizon) - c.Y(-0.1), 1.0), 0, 1)
    rgb = _mix(top, bottom, t)
    tex = (_noise(c, 28, rng, 4) - 0.5) * (texture * 1.6) + (_streaks(c, rng, 4, 16) - 0.5) * (texture * 1.4)
    tex += (_streaks(c, rng, 2, 5, octaves=1) - 0.5) * (grain * 2)
    tex += (_streaks(c, rng, 5, 9, octaves=2) - 0.5) * mottle
    rgb = rgb + tex
    if haze:
        rgb = _mix(rgb, bottom, haze * _smooth(t, 0.6, 1.0))
    return rgb


def _cumulus(c: _Canvas, rng, light, shade, cover: float, top: float, bottom: float, cell: float = 22.0,
             soft: float = 0.3):
    """Puffy clouds between screen fractions top..bottom: (planar rgb, alpha)."""
    lift = int(4 * c.s)
    nn = _noise(c, cell, rng, 4, extra=lift)
    n, n_dn = nn[:-lift], nn[lift:]
    yy = c.yy[:, :1]
    band = _smooth(yy, c.Y(top) - 6, c.Y(top) + 12) * (1 - _smooth(yy, c.Y(bottom) - 14, c.Y(bottom)))
    thr = 1.0 - cover
    a = _smooth(n * band, thr, thr + soft)
    # Lit from above: where the cloud thins below, it is the top of a puff.
    lit = _smooth(n - n_dn, -0.2, 0.2) * 0.7 + _smooth(n * band, thr, thr + 0.6) * 0.3
    rgb = _mix(shade, light, lit) + (_noise(c, 4, rng, 2) - 0.5) * 20
    return rgb, a * _xwindow(c, 30 * c.s)


def _mountains(c: _Canvas, rng, base: float, height: float, rock, snow, shadow, snowline: float,
               cell: float = 40.0, sun_left: bool = True):
    """Jagged snowy peaks above screen fraction `base`: (planar rgb, alpha, ridge rows)."""
    prof = _profile(c.lw, cell * c.s, rng, 5, smooth=False, persistence=0.45)
    ridge = (c.Y(base) - prof * (height * c.H)).astype(np.float32)
    a = _below(c, ridge)
    # Faces: the slope of the ridge says which side of a peak faces the sun.
    slope = np.gradient(cv2.GaussianBlur(ridge[None, :], (0, 0), 2.0)[0])
    lit_col = ((slope < 0) if sun_left else (slope > 0)).astype(np.float32)[None, :]
    below = c.yy - ridge[None, :]
    gully = _streaks(c, rng, 3, 12, angle=90)
    light = _smooth(lit_col * np.exp(-below * np.float32(1 / (30 * c.s))) + (gully - 0.5) * 0.8, 0.2, 0.8)
    snow_amt = _smooth((c.Y(base) - snowline * c.H) - c.yy + (gully - 0.5) * (26 * c.s), -4, 4)
    rgb = _mix(_mix(_p(rock) * 0.7, rock, light), _mix(shadow, snow, light), snow_amt)
    rgb = rgb + (_noise(c, 3, rng, 2) - 0.5) * 18
    return rgb, a, ridge


def _pines(c: _Canvas, rng, base: float, count: int, h_lo: float, h_hi: float, green, snow=None, jitter: float = 0.04):
    """A row of conifers on screen fraction `base`, with the ground below filled: (rgb, alpha)."""
    mask = np.zeros(c.shape, np.uint8)
    snowm = np.zeros(c.shape, np.uint8)
    x = np.sort(rng.uniform(-10, c.lw + 10, count))[:, None]
    yb = c.Y(base + rng.uniform(-jitter, jitter, (count, 1)))
    h = rng.uniform(h_lo, h_hi, (count, 1)) * c.H
    w = h * rng.uniform(0.28, 0.4, (count, 1))
    k = np.arange(3)[None, :]
    t0, top, ww = yb - h * (k / 3) * 0.9, yb - h * (k + 1.6) / 3.6, w * (1 - k / 3.5)
    tris = np.stack([np.stack([x - ww / 2, t0], -1), np.stack([x + 0 * ww, top], -1), np.stack([x + ww / 2, t0], -1)], -2)
    caps = np.stack([np.stack([x - ww * 0.22, top + (t0 - top) * 0.42], -1), np.stack([x + 0 * ww, top], -1),
                     np.stack([x + ww * 0.22, top + (t0 - top) * 0.42], -1)], -2)
    for tri, cap in zip(np.round(tris.reshape(-1, 3, 2) * 16).astype(np.int32), np.round(caps.reshape(-1, 3, 2) * 16).astype(np.int32)):
        cv2.fillPoly(mask, [tri], 255, cv2.LINE_AA, 4)
        if snow is not None:
            cv2.fillPoly(snowm, [cap], 255, cv2.LINE_AA, 4)
    a = np.maximum(mask.astype(np.float32) * np.float32(1 / 255), np.clip(c.yy - c.Y(base) + 1.5, 0, 1))
    n = _noise(c, 2.5, rng, 2)
    rgb = _mix(_p(green) * 0.55, _p(green) * 1.3, n)
    if snow is not None:
        rgb = _mix(rgb, snow, snowm.astype(np.float32) * np.float32(0.9 / 255) * _smooth(n, 0.25, 0.6))
    return rgb, a


def _on_plane(c: _Canvas, rng, horizon: float, cell: float, stretch: float, scale: float = 40.0,
              octaves: int = 2, e: float = 0.15) -> np.ndarray:
    """A noise texture laid on a ground plane in perspective below layer row `horizon`: big near
    the bottom of the layer, ever finer towards the horizon."""
    gx, gz, _, _ = _perspective(c, horizon, e)
    bank = _bank(c.lh, c.lw, float(cell), octaves, float(stretch), 0)
    bh, bw = bank.shape
    u = gx * np.float32(scale) + np.float32(rng.uniform(0.3, 0.7) * bw)
    v = np.broadcast_to((gz - np.float32(1 / (1 + e))) * np.float32(scale) + np.float32(rng.uniform(0, 0.2) * bh), c.shape)
    tex = cv2.remap(bank, u, np.ascontiguousarray(v), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.multiply(tex, np.float32(1 / 255), dtype=np.float32)


def _sea_surface(c: _Canvas, rng, horizon: float, dark, light, foam, foam_amount: float, scale: float = 40.0):
    """Planar rgb of a wave-covered sea in perspective below the layer row `horizon`."""
    swell = _on_plane(c, rng, horizon, 5, 3.0, scale)
    chop = _on_plane(c, rng, horizon, 2.5, 2.0, scale)
    h = 0.65 * swell + 0.35 * chop
    rgb = _mix(dark, light, _smooth(h, 0.15, 0.85))
    crest = _smooth(h, 1.0 - 0.35 * foam_amount, 1.05 - 0.2 * foam_amount)
    return _mix(rgb, foam, crest)


def _flowing_water(c: _Canvas, y0: float, y1: float, speed: float):
    """A band of water scrolling sideways: (mask, local motion, how far it travels)."""
    band = _smooth(c.yy, y0 - 6, y0 - 5) * (1 - _smooth(c.yy, y1 + 5, y1 + 6))
    dx = speed * _T
    return band, translation(dx, np.zeros_like(dx)), float(np.abs(dx).max())


# ---------------------------------------------------------------------------------------------
# The scenes. Each paints its layers far -> near into the builder; odd variants of the scenes
# in _MIRROR are then mirrored left-right.


def _times_square(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    sky = _sky(c, rng, _jit((14, 10, 38), rng, 0.2), _jit((95, 40, 95), rng, 0.2), texture=5.0, horizon=0.45)
    sky = sky + _stars(c, rng, int(60 * s * s), 150) * _smooth(c.Y(0.35) - c.yy, 0, 30)
    b.add("night sky", sky, 1.0, SKY_DEPTH)

    # Far skyline: towers with lit windows.
    # Per column: which tower, where it starts, its top, shade, and how many windows are lit.
    edges = np.cumsum(rng.uniform(12, 30, 40) * s + rng.uniform(0, 4, 40) * s) - 5
    edges = edges[: int(np.searchsorted(edges, c.lw)) + 1]
    n = len(edges)
    which = np.searchsorted(edges, np.arange(c.lw), side="right")
    left = np.concatenate([[-5.0], edges])[which].astype(np.float32)
    right = edges[np.minimum(which, n - 1)].astype(np.float32) - rng.uniform(0, 3) * s
    top = c.Y(rng.uniform(0.0, 0.3, n + 1))[which].astype(np.float32)
    shade = rng.uniform(28, 60, n + 1)[which]
    tone = np.stack([shade, shade * rng.uniform(0.85, 1.05, n + 1)[which], shade * rng.uniform(1.0, 1.3, n + 1)[which]]).astype(np.float32)
    mask = ((c.yy >= top[None, :]) & (c.xx < right[None, :])).astype(np.float32)
    wx, wy = 3.0 * s, 4.0 * s
    xx, yy = c.xx - left[None, :], c.yy - top[None, :]
    cells = (_fmod(xx, wx) < wx * 0.55) & (_fmod(yy, wy) < wy * 0.5) & (xx > 1.5) & (c.xx < right[None, :] - 2)
    h = np.sin(np.floor(xx / wx) * 12.9898 + np.floor(yy / wy) * 78.233 + which[None, :] * 3.7) * 43758.5453
    on = (h - np.floor(h)) < rng.uniform(0.35, 0.7, n + 1)[which][None, :]
    win = (cells & on).astype(np.float32) * rng.uniform(0.6, 1.0, n + 1)[which][None, :].astype(np.float32)
    wcol = _mix(_jit((255, 215, 120), rng, 0.1), _jit((170, 220, 255), rng, 0.1), (_noise(c, 6, rng, 1) > 0.65).astype(np.float32))
    rgb = _mix(tone[:, None, :], wcol, win * 0.9) + (_noise(c, 3, rng, 2) - 0.5) * 16
    b.add("skyline", rgb, mask, 1.3)

    # Billboards on the far facades, in three groups flashing out of step.
    palette = [(255, 40, 80), (40, 220, 255), (255, 220, 30), (120, 255, 90), (255, 90, 220), (255, 140, 20)]
    order = rng.permutation(len(palette))
    slots = [(0.1, 0.22), (0.6, 0.1), (0.36, 0.3), (0.84, 0.3), (-0.04, 0.44), (0.5, 0.02)]
    slots = [slots[i] for i in rng.permutation(len(slots))]
    for gi in range(3):
        rgb = c.zeros()
        a = np.zeros(c.shape, np.float32)
        for k in range(2):
            fx, fy = slots[gi * 2 + k]
            bw, bh = rng.uniform(22, 34) * s, rng.uniform(14, 24) * s
            x0, y0 = c.X(fx) + rng.uniform(-4, 4) * s, c.Y(fy)
            xi0, yi0, xi1, yi1 = int(max(0, x0)), int(max(0, y0)), int(min(c.lw, x0 + bw)), int(min(c.lh, y0 + bh))
            if xi1 <= xi0 or yi1 <= yi0:
                continue
            col, col2 = palette[order[gi * 2 + k]], palette[order[(gi * 2 + k + 3) % len(palette)]]
            yy, xx = c.yy[yi0:yi1, xi0:xi1] - np.float32(y0), c.xx[yi0:yi1, xi0:xi1] - np.float32(x0)
            kind = (gi + k + v) % 3
            if kind == 0:  # diagonal stripes
                pat = np.sin(xx / (2.2 * s) + yy / (3.0 * s)) > 0
            elif kind == 1:  # a bright disc and lines of "text"
                pat = ((xx - bw * 0.3) ** 2 + (yy - bh / 2) ** 2 < (bh * 0.33) ** 2) | ((_fmod(yy, 4 * s) < 1.6 * s) & (xx > bw * 0.55) & (xx < bw * 0.92))
            else:  # rows of "text"
                pat = (_fmod(yy, 5 * s) < 2.4 * s) & (np.sin(xx / (1.3 * s)) * np.sin(xx / (5.1 * s)) > -0.2)
            frame = (xx < 1.2 * s) | (yy < 1.2 * s) | (xx > bw - 1.2 * s) | (yy > bh - 1.2 * s)
            patch = _mix(_mix(_p(col) * 0.55, col2, pat.astype(np.float32)), (235, 235, 235), frame.astype(np.float32))
            rgb[:, yi0:yi1, xi0:xi1] = patch
            a[yi0:yi1, xi0:xi1] = 1.0
        b.add(f"billboards {gi}", rgb, a, 1.3, tint=_flash(rng))

    # Near buildings at the sides of the square, with vertical LED signs.
    wl, wr = c.X(rng.uniform(0.04, 0.12)), c.X(rng.uniform(0.88, 0.96))
    side = ((c.xx < wl) | (c.xx > wr)).astype(np.float32)
    bcol = _jit((48, 40, 62), rng, 0.15)
    rgb = _mix(_p(bcol) * 0.7, _p(bcol) * 1.4, _noise(c, 3, rng, 2))
    grid_w = (_fmod(c.xx[:1], 5 * s) < 2.5 * s) & (_fmod(c.yy[:, :1], 6 * s) < 3 * s) & (_noise(c, 5, rng, 1) > 0.5)
    rgb = _mix(rgb, (255, 230, 150), grid_w.astype(np.float32) * 0.8)
    stripes = (0.55 + 0.45 * (np.sin(c.yy[:, :1] / (2.5 * s)) > 0)).astype(np.float32)
    for xe, sign in ((wl, -1), (wr, 1)):
        led = (np.abs(c.xx[:1] - (xe + sign * 9 * s)) < 3 * s).astype(np.float32)
        rgb = _mix(rgb, _p(palette[int(rng.integers(len(palette)))]) * stripes, led)
    b.add("side buildings", rgb, side, 0.85)

    # The street: asphalt with a crosswalk, lane lines and coloured reflections.
    y0 = c.Y(GROUND_TOP["times square"])
    gx, gz, fade, aa = _perspective(c, y0)
    asph = _mix((30, 28, 36), (64, 60, 72), _noise(c, 2.5, rng, 3))
    rcol = _mix(palette[order[0]], palette[order[1]], _noise(c, 40, rng, 2))
    asph = _mix(asph, rcol * 0.6, _smooth(_streaks(c, rng, 5, 25, angle=90), 0.5, 0.95) * 0.4)
    zebra = _lines(gx, 0.5, 0.25, aa * 1.2 + 0.02) * (np.abs(gz - 1.6) < 0.35)
    lane = _lines(gx, 2.0, 0.06, aa * 0.6 + 0.02) * ((np.abs(gz - 1.6) >= 0.35) & (_fmod(gz, 0.9) < 0.5))
    asph = _mix(asph, (225, 225, 215), zebra * fade * 0.85)
    asph = _mix(asph, (240, 200, 40), lane * fade * 0.9)
    curb = _smooth(c.yy[:, :1], y0 - 1, y0 + 1) * (1 - _smooth(c.yy[:, :1], y0 + 2.5 * s, y0 + 3.5 * s))
    asph = _mix(asph, (110, 105, 115), curb)
    b.add("street", asph, _smooth(c.yy, y0 - 1, y0), 0.38)


def _starry_night(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    top, low = _jit((18, 42, 118), rng, 0.12), _jit((60, 105, 170), rng, 0.12)
    t = np.clip((c.yy[:, :1] - c.Y(-0.1)) / (c.Y(0.6) - c.Y(-0.1)), 0, 1)
    # Wavy horizontal brush strokes.
    st = _streaks(c, rng, 3.5, 14)
    warp = (6 * s * np.sin(c.xx[:1] / (23 * s) + rng.uniform(0, 6)) + 4 * s * np.sin(c.xx[:1] / (9 * s))).astype(np.float32)
    st = cv2.remap(np.ascontiguousarray(st), c.xx, c.yy + warp, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    rgb = _mix(_mix(top, low, t) * 0.78, _mix(low, (150, 190, 220), 0.5), _smooth(st, 0.35, 0.9) * 0.8)
    rgb = rgb + (_noise(c, 2.5, rng, 2) - 0.5) * 22
    # Stars with ringed yellow halos, and a crescent moon.
    mx, my = (0.82 if v % 2 == 0 else 0.18) + rng.uniform(-0.06, 0.06), rng.uniform(0.08, 0.16)
    stars = [(rng.uniform(0.02, 0.98), rng.uniform(0.03, 0.42), rng.uniform(4, 7.5)) for _ in range(int(rng.integers(9, 13)))]
    for k, (fx, fy, r) in enumerate(stars + [(mx, my, 11.0)]):
        r *= s
        w = _win(c, c.X(fx), c.Y(fy), 2.6 * r)
        if w is None:
            continue
        sl, dx, dy = w
        d = np.sqrt(dx * dx + dy * dy)
        rings = 0.55 + 0.45 * (0.5 + 0.5 * np.cos(d * np.float32(2 * np.pi / (2.6 * s))))
        halo = np.exp(-(d / (1.6 * r)) ** 2) * rings
        patch = _mix(rgb[:, sl[0], sl[1]], (225, 215, 120), halo * 0.75)
        patch = _mix(patch, (255, 248, 190), _smooth(r * 0.45 - d, -0.8, 0.8))
        if k == len(stars):  # bite a disc out of the moon: a crescent
            d2 = np.sqrt((dx - 2.5 * s) ** 2 + (dy + 1.5 * s) ** 2)
            patch = _mix(patch, (235, 175, 40), _smooth(4.2 * s - d2, -0.8, 0.8) * _smooth(6 * s - d, -1, 1))
        rgb[:, sl[0], sl[1]] = patch
    b.add("swirling sky", rgb, 1.0, SKY_DEPTH)

    # Swirls: discs of spiral strokes, each turning slowly about its own centre.
    for k, (fx, fy, fr, spin) in enumerate([(rng.uniform(0.32, 0.48), rng.uniform(0.22, 0.3), 0.17, 0.022),
                                            (rng.uniform(0.58, 0.72), rng.uniform(0.18, 0.3), 0.12, -0.028)]):
        cx, cy, r = c.X(fx), c.Y(fy), fr * c.W * (1.0 if c.H == c.W else 1.1)
        sl, dx, dy = _win(c, cx, cy, r)
        d = np.sqrt(dx * dx + dy * dy)
        th = np.arctan2(dy, dx)
        arms = 0.5 + 0.5 * np.cos(2 * th * np.sign(spin) + d / (1.7 * s) - 0.5 * np.sin(3 * th))
        brush = _noise(c, 2.5, rng, 2)[sl]
        rgb = c.zeros()
        patch = _mix((70, 110, 190), (205, 225, 240), _smooth(arms * 0.8 + brush * 0.4, 0.35, 0.9))
        rgb[:, sl[0], sl[1]] = _mix(patch, (240, 235, 170), _smooth(-d, -0.45 * r, 0) * 0.6)
        a = np.zeros(c.shape, np.float32)
        a[sl] = _smooth(r - d, 0, 0.35 * r) * 0.92
        b.add(f"swirl {k}", rgb, a, 2.8, local=similarity(cx, cy, 1.0, 1.0, spin * _T, 0.0, 0.0))

    # Dark rolling hills.
    prof = c.Y(0.58) - _profile(c.lw, 60 * s, rng, 3, smooth=True) * (0.12 * c.H)
    st = _streaks(c, rng, 3, 10, angle=rng.uniform(-25, 25))
    b.add("hills", _mix(_jit((20, 35, 75), rng), _jit((55, 85, 120), rng), st), _below(c, prof), 1.2)

    # The village: little houses, a church spire, yellow windows.
    base = c.Y(0.72)
    mask = np.zeros(c.shape, np.uint8)
    wins = np.zeros(c.shape, np.uint8)
    x = c.X(-0.3)
    while x < c.X(1.3):
        w, h, roof = rng.uniform(6, 11) * s, rng.uniform(4, 8) * s, rng.uniform(2.5, 5) * s
        yb = base + rng.uniform(-3, 3) * s
        _poly_into(mask, [[(x, yb), (x, yb - h), (x + w / 2, yb - h - roof), (x + w, yb - h), (x + w, yb)]], 255)
        if rng.random() < 0.75:
            wx = int(x + rng.uniform(0.2, 0.7) * w)
            cv2.rectangle(wins, (wx, int(yb - h * 0.7)), (wx + max(1, int(1.6 * s)), int(yb - h * 0.7 + 1.6 * s)), 255, -1)
        x += w + rng.uniform(0.5, 3) * s
    sx = c.X(rng.uniform(0.35, 0.65))
    _poly_into(mask, [[(sx - 3 * s, base), (sx - 3 * s, base - 10 * s), (sx, base - 28 * s), (sx + 3 * s, base - 10 * s), (sx + 3 * s, base)]], 255)
    a = np.maximum(mask.astype(np.float32) * np.float32(1 / 255), _smooth(c.yy, base - 2 * s, base))
    rgb = _mix((25, 40, 80), (75, 95, 120), _streaks(c, rng, 2.5, 8, angle=90))
    b.add("village", _mix(rgb, (245, 215, 80), wins.astype(np.float32) * np.float32(1 / 255)), a, 0.9)

    # The field the horse runs across.
    y0 = c.Y(GROUND_TOP["starry night"])
    prof = y0 - _profile(c.lw, 50 * s, rng, 3, smooth=True) * 3 * s
    rgb = _mix(_jit((18, 42, 38), rng), _jit((80, 105, 75), rng), _streaks(c, rng, 4.5, 12, angle=rng.uniform(-20, 20)))
    rgb = _mix(rgb, (40, 60, 110), _smooth(_noise(c, 14, rng, 2), 0.5, 0.8) * 0.6)
    b.add("field", rgb, _below(c, prof), 0.38)

    # The cypress: a dark flame rising from the bottom to the top of the screen.
    cx = c.X(0.14 if v % 2 == 0 else 0.86) + rng.uniform(-6, 6) * s
    ytop = c.Y(rng.uniform(0.0, 0.06))
    f = np.clip((c.yy[:, :1] - ytop) / (c.lh - ytop), 0, 1)
    sway = cx + 4 * s * np.sin(c.yy[:, :1] / (14 * s) + rng.uniform(0, 6))
    half = 12 * s * f ** 0.55 * (1 + 0.25 * np.sin(c.yy[:, :1] / (4.5 * s))) + 2 * s
    a = _smooth(half - np.abs(c.xx - sway), -0.7, 0.7) * (c.yy[:, :1] > ytop)
    flames = _streaks(c, rng, 2.5, 9, angle=80)
    rgb = _mix(_mix((14, 28, 18), (70, 95, 45), flames), (110, 70, 30), _smooth(flames, 0.8, 1.0) * 0.6)
    b.add("cypress", rgb, a, 0.34)


def _card_table(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    papers = [(120, 35, 40), (40, 85, 60), (150, 110, 50), (60, 60, 110), (115, 60, 45), (45, 90, 95)]
    paper = _p(_jit(papers[v % len(papers)], rng, 0.06))
    # Damask wallpaper: rows of diamonds in staggered columns, mottled by age and lamplight.
    row = np.floor(c.yy[:, :1] / (16 * s))
    mx = np.abs(_fmod(c.xx + (row % 2) * (7 * s), 14 * s) - 7 * s)
    my = np.abs(_fmod(c.yy[:, :1], 16 * s) - 8 * s)
    motif = _smooth(6 * s - (mx + my * 0.8), -0.8, 0.8)
    stripe = (np.sin(c.xx[:1] * np.float32(2 * np.pi / (14 * s))) > 0.85).astype(np.float32)
    rgb = _mix(paper * 0.75, paper * 1.2, np.maximum(motif * 0.8, stripe * 0.5))
    rgb = rgb * (0.82 + 0.3 * _noise(c, 6, rng, 2) + 0.1 * _noise(c, 2.5, rng, 1))
    # Wood wainscot below a rail, with panels.
    rail = c.Y(rng.uniform(0.4, 0.48))
    wood = _p(_jit((95, 55, 30), rng, 0.1))
    grain = 0.6 * _streaks(c, rng, 2, 14, angle=90) + 0.4 * _streaks(c, rng, 5, 14, angle=90)
    px = _fmod(c.xx[:1], 22 * s)
    low = (c.yy[:, :1] > rail + 5 * s).astype(np.float32)
    panel = ((px > 3 * s) & (px < 19 * s)).astype(np.float32) * low
    edge = ((np.abs(px - 3 * s) < 0.8 * s) | (np.abs(px - 19 * s) < 0.8 * s)).astype(np.float32) * low
    wrgb = _mix(wood * 0.7, wood * 1.25, grain) * (1 - 0.15 * panel) + 40 * edge
    rgb = _mix(rgb, wrgb, _smooth(c.yy[:, :1], rail, rail + 1))
    rgb = _mix(rgb, (60, 35, 20), (np.abs(c.yy[:, :1] - rail - 1.5 * s) < 1.5 * s).astype(np.float32))
    # A framed picture, and a warm light on the wall.
    fw, fh = rng.uniform(20, 28) * s, rng.uniform(15, 20) * s
    fx, fy = c.X(rng.choice([0.2, 0.72]) + rng.uniform(-0.05, 0.05)), c.Y(rng.uniform(0.06, 0.14))
    sl, dx, dy = _win(c, fx + fw / 2, fy + fh / 2, fw / 2, fh / 2)
    inner = ((np.abs(dx) < fw / 2 - 2.5 * s) & (np.abs(dy) < fh / 2 - 2.5 * s)).astype(np.float32)
    inside = ((np.abs(dx) < fw / 2) & (np.abs(dy) < fh / 2)).astype(np.float32)
    pic = _mix(_mix((60, 90, 110), (160, 140, 90), _noise(c, 6, rng, 3)[sl]), (185, 145, 60), 1 - inner)
    rgb[:, sl[0], sl[1]] = _mix(rgb[:, sl[0], sl[1]], pic, inside)
    lx = c.X(0.5 + rng.uniform(-0.08, 0.08))
    glow = np.exp(-((c.xx - lx) ** 2 + (c.yy - c.Y(0.15)) ** 2) * np.float32(1 / (55 * s) ** 2))
    b.add("room wall", rgb * (0.55 + 0.6 * glow), 1.0, 1.3)

    # A hanging lamp over the table.
    ly = c.Y(rng.uniform(0.1, 0.16))
    mask = np.zeros(c.shape, np.uint8)
    cv2.line(mask, (int(lx), 0), (int(lx), int(ly)), 255, max(1, int(round(1.2 * s))), cv2.LINE_AA)
    sw = rng.uniform(13, 17) * s
    _poly_into(mask, [[(lx - 3 * s, ly - 1), (lx + 3 * s, ly - 1), (lx + sw, ly + 8 * s), (lx - sw, ly + 8 * s)]], 255)
    shade = _p(_jit((30, 110, 60) if v % 3 else (160, 110, 40), rng, 0.1))
    rgb = _mix(shade * 0.6, shade * 1.3, _smooth(c.xx[:1] - lx, -sw, sw))
    rgb = _mix(rgb, (255, 235, 160), _smooth(c.yy[:, :1], ly + 6.5 * s, ly + 8 * s))
    rgb = _mix(rgb, (30, 30, 30), (c.yy[:, :1] < ly - 1).astype(np.float32))
    b.add("lamp", rgb, mask.astype(np.float32) * np.float32(1 / 255), 0.9)

    # The table: a wooden rim and green felt, lit from above.
    y0 = c.Y(GROUND_TOP["card table"])
    felt = _p(_jit((28, 110, 62), rng, 0.1))
    weave = 0.5 + 0.5 * np.sin(c.xx * np.float32(2.2 / s)) * np.sin(c.yy * np.float32(2.2 / s))
    pool = np.exp(-(((c.xx - lx) * np.float32(1 / (0.55 * c.W))) ** 2 + ((c.yy - c.Y(0.85)) * np.float32(1 / (0.35 * c.H))) ** 2))
    frgb = felt * ((0.65 + 0.25 * _noise(c, 2, rng, 2) + 0.3 * _noise(c, 6, rng, 2) + 0.08 * weave) * (0.75 + 0.45 * pool))
    rrgb = _mix((70, 38, 18), (140, 85, 45), _streaks(c, rng, 2, 16))
    rgb = _mix(frgb, rrgb, (c.yy[:, :1] < y0 + 4 * s).astype(np.float32))
    rgb = _mix(rgb, (20, 12, 8), (np.abs(c.yy[:, :1] - y0 - 4.5 * s) < 0.8 * s).astype(np.float32))
    b.add("table", rgb, _smooth(c.yy, y0 - 1, y0), 0.38)


def _white_studio(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    # A seamless paper backdrop: strips of paper with faint seams and soft wrinkles.
    wall = _p(_jit((246, 246, 248), rng, 0.015))
    pw = rng.uniform(22, 30) * s
    seam = _lines(c.xx[:1] + rng.uniform(0, pw), pw, 1.2 * s, 0.7)
    wrinkle = _streaks(c, rng, 5, 14, angle=90 + rng.uniform(-10, 10))
    rgb = wall * (0.88 + 0.08 * _noise(c, 2.5, rng, 3) + 0.12 * wrinkle - 0.1 * seam)
    sx = c.X(rng.uniform(0.35, 0.65))
    spot = np.exp(-((c.xx - sx) ** 2 + (c.yy - c.Y(0.35)) ** 2) * np.float32(1 / (0.9 * c.W) ** 2))
    y0 = c.Y(GROUND_TOP["white studio"])
    cove = _smooth(c.yy[:, :1], y0 - 30 * s, y0)
    b.add("studio wall", rgb * (0.9 + 0.12 * spot - 0.06 * cove), 1.0, 1.3)

    # A softbox light on a tripod stand at one side of the set.
    lx = c.X(rng.uniform(0.08, 0.15))
    top, foot = c.Y(rng.uniform(0.12, 0.2)), c.Y(GROUND_TOP["white studio"] + 0.01)
    bw, bh = rng.uniform(24, 30) * s, rng.uniform(20, 26) * s
    box = [(lx - bw / 2, top), (lx + bw / 2, top + 2 * s), (lx + bw / 2, top + bh - 2 * s), (lx - bw / 2, top + bh)]
    face = [(lx - bw / 2 + 2 * s, top + 2 * s), (lx + bw / 2 - 2 * s, top + 3.5 * s),
            (lx + bw / 2 - 2 * s, top + bh - 3.5 * s), (lx - bw / 2 + 2 * s, top + bh - 2 * s)]
    stand = np.zeros(c.shape, np.uint8)
    th = max(1, int(round(1.5 * s)))
    cv2.line(stand, (int(lx), int(top + bh)), (int(lx), int(foot - 6 * s)), 255, th, cv2.LINE_AA)
    for dx in (-7, 0, 7):
        cv2.line(stand, (int(lx), int(foot - 6 * s)), (int(lx + dx * s), int(foot)), 255, th, cv2.LINE_AA)
    glow = _fill(c, face)
    sl, dx, dy = _win(c, lx + 3 * s, top + bh / 2, 1.6 * bw)
    halo = np.zeros(c.shape, np.float32)
    halo[sl] = np.exp(-(dx * dx + dy * dy) * np.float32(1 / (0.75 * bw) ** 2)) * 0.55
    solid = np.maximum(_fill(c, box), stand.astype(np.float32) * np.float32(1 / 255))
    lit = _mix((236, 236, 240), (255, 255, 252), _noise(c, 3, rng, 2))
    rgb = _mix(_mix((40, 40, 44), (85, 85, 92), _noise(c, 2, rng, 2)), lit, np.maximum(glow, 1 - solid))
    a = np.maximum(solid, halo)
    b.add("studio light", rgb, a, 0.9)

    # The floor: pale tiles in perspective with a soft reflection of the wall.
    gx, gz, fade, aa = _perspective(c, y0, e=0.22)
    tile = 0.55 + 0.1 * v / VARIANTS
    grout = np.maximum(_lines(gx, tile, 0.025, aa * 0.7 + 0.02), _lines(gz, tile * 0.8, 0.025, aa + 0.02)) * (0.35 + 0.65 * fade)
    floor = _p(_jit((222, 222, 226), rng, 0.03))
    rgb = floor * (0.86 + 0.1 * _noise(c, 2.5, rng, 2) + 0.1 * _on_plane(c, rng, y0, 5, 1.0, 30.0) - 0.15 * grout)
    refl = _smooth(c.yy[:, :1], y0, y0 + 10 * s) * (1 - _smooth(c.yy[:, :1], y0 + 10 * s, y0 + 40 * s))
    lit = np.exp(-((c.xx - sx) ** 2 + (c.yy - c.Y(0.8)) ** 2) * np.float32(1 / (0.8 * c.W) ** 2))
    rgb = rgb * ((1 - 0.06 * refl) * (0.85 + 0.2 * lit))
    rgb = rgb * (1 - 0.12 * (np.abs(c.yy[:, :1] - y0 - 0.5) < 0.8 * s))
    b.add("studio floor", rgb, _smooth(c.yy, y0 - 1, y0), 0.38)


def _stormy_sea(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    hz = c.Y(rng.uniform(0.38, 0.44))
    top, low = _jit((34, 36, 46), rng, 0.12), _jit((92, 98, 108), rng, 0.1)
    rgb = _sky(c, rng, top, low, texture=12.0, horizon=0.42)
    curtains = _streaks(c, rng, 3, 24, angle=100)
    rgb = _mix(rgb, _p(low) * 0.8, _smooth(curtains, 0.5, 0.9) * 0.5 * _smooth(c.yy[:, :1], c.Y(0.1), hz))
    b.add("storm sky", rgb, 1.0, SKY_DEPTH)

    crgb, ca = _cumulus(c, rng, _jit((135, 138, 148), rng), _jit((16, 18, 26), rng), 0.78, -0.25, 0.34, cell=26, soft=0.35)
    b.add("storm clouds", crgb, ca * 0.92, 2.5, local=_drift(0.45 if v % 4 < 2 else -0.45))

    sea_dark, sea_light = _jit((14, 26, 34), rng, 0.12), _jit((66, 92, 102), rng, 0.12)
    foam = (200, 210, 212)
    surf = _sea_surface(c, rng, hz, sea_dark, sea_light, foam, 1.0)
    surf = _mix(surf, low, (1 - _smooth(c.yy[:, :1], hz, hz + 14 * s)) * 0.6)
    b.add("far sea", surf, _smooth(c.yy, hz - 0.5, hz + 0.5), 1.2)

    # Rough wave rows in front, nearer rows bigger, each bobbing and swaying.
    for k, (top_f, amp, depth, period) in enumerate([(0.5, 6.0, 0.75, 11.0), (GROUND_TOP["stormy sea"], 10.0, 0.4, 9.0)]):
        prof = _profile(c.lw, 16 * s * (1 + k), rng, 4, smooth=False, persistence=0.6)
        crest = (c.Y(top_f) - prof * amp * s).astype(np.float32)
        under = c.yy - crest[None, :]
        body = _sea_surface(c, rng, hz, _p(sea_dark) * (1.1 - 0.15 * k), _p(sea_light) * (1.1 + 0.1 * k), foam, 1.2)
        body = _mix(body, _p(sea_light) * 1.3, _smooth(8 * s - under, 0, 8 * s) * 0.5)
        lip = _smooth(3.5 * s * (1 + k) - under, 0, 2.5 * s) * _smooth(_noise(c, 3, rng, 2), 0.25, 0.6)
        body = _mix(body, (225, 232, 232), lip)
        local = _bob(1.2 + 0.4 * k, 1.0 + 0.6 * k, 18 + 3 * k, period + 4, rng.uniform(0, 6))
        b.add(f"waves {k}", body, _below(c, crest), depth, local=local)


def _nebula(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    t = (c.yy[:, :1] / c.lh).astype(np.float32)
    rgb = _mix(_jit((6, 6, 20), rng, 0.3), _jit((14, 8, 26), rng, 0.3), t) + _p((18, 12, 30)) * _noise(c, 20, rng, 4)
    rgb = rgb + (_noise(c, 2.5, rng, 2) - 0.5) * 14 + _p((14, 10, 24)) * (_streaks(c, rng, 5, 10) - 0.3)
    st = _stars(c, rng, int(420 * s * s), 255, big=0.05)
    rgb = rgb + _mix((1.0, 0.92, 0.82), (0.75, 0.82, 1.0), _noise(c, 2, rng, 1)) * st
    b.add("space", rgb, 1.0, SKY_DEPTH)

    schemes = [((230, 60, 170), (70, 120, 255), (255, 170, 90)), ((60, 200, 210), (200, 60, 220), (255, 120, 60)),
               ((255, 100, 60), (120, 60, 230), (80, 230, 200)), ((140, 80, 255), (255, 80, 140), (90, 220, 255)),
               ((60, 120, 255), (255, 200, 80), (230, 60, 120)), ((240, 70, 110), (60, 210, 160), (150, 110, 255))]
    c1, c2, c3 = (_jit(x, rng, 0.06) for x in schemes[v % len(schemes)])
    r = np.sqrt((c.xx - c.lw / 2) ** 2 + (c.yy - c.lh / 2) ** 2)
    edge = _smooth(min(c.lw, c.lh) * 0.5 - r, 0, 25 * s)
    for k, (depth, spin, cover) in enumerate([(2.2, 0.004, 0.65), (1.6, -0.0055, 0.5)]):
        n = _noise(c, 46 - 14 * k, rng, 5)
        fil = (1 - np.abs(2 * _noise(c, 12, rng, 3) - 1)) ** 3
        col = _mix(c1 if k == 0 else c2, c2 if k == 0 else c3, _noise(c, 60, rng, 2))
        col = _mix(_mix(_p(col) * 0.55, _p(col) * 1.25, n), (255, 240, 230), fil * n * 0.45)
        a = _smooth(n, 1 - cover, 1 - cover + 0.45) * (0.65 + 0.35 * fil) * edge * 0.9
        b.add(f"nebula {k}", col, a, depth, local=similarity(c.lw / 2 - 0.5, c.lh / 2 - 0.5, 1, 1, spin * _T, 0, 0))

    # A few bright near stars with diffraction spikes.
    img = np.zeros(c.shape, np.float32)
    for _ in range(int(rng.integers(4, 8))):
        w = _win(c, c.X(rng.uniform(0, 1)), c.Y(rng.uniform(0, 0.7)), 9 * s)
        if w is None:
            continue
        sl, dx, dy = w
        spikes = np.exp(-np.abs(dx) / (0.5 * s) - np.abs(dy) / (3 * s)) + np.exp(-np.abs(dy) / (0.5 * s) - np.abs(dx) / (3 * s))
        img[sl] = np.maximum(img[sl], np.exp(-(dx * dx + dy * dy) / (1.4 * s) ** 2) + 0.7 * spikes)
    b.add("bright stars", _mix((200, 220, 255), (255, 255, 255), np.clip(img, 0, 1)), np.clip(img * 1.3, 0, 1), 1.0)

    # Pillars of dark dust rising from the bottom, rimmed with light.
    y0 = c.Y(GROUND_TOP["nebula"])
    pillars = np.zeros(c.lw, np.float32)
    for _ in range(int(rng.integers(2, 4))):
        px, pw, ph = rng.uniform(c.X(-0.1), c.X(1.1)), rng.uniform(12, 20) * s, rng.uniform(0.16, 0.32) * c.H
        pillars = np.maximum(pillars, ph * np.clip(1 - ((np.arange(c.lw) - px) / pw) ** 2, 0, 1) ** 0.35)
    prof = y0 - pillars - _profile(c.lw, 5 * s, rng, 3) * 6 * s - _profile(c.lw, 30 * s, rng, 2, smooth=True) * 10 * s
    under = c.yy - prof[None, :].astype(np.float32)
    rgb = _mix((30, 14, 12), (95, 50, 35), _noise(c, 5, rng, 3))
    rgb = _mix(rgb, _mix(c3, (255, 220, 160), 0.4), _smooth(3.5 * s - under, 0, 3 * s) * 0.9)
    rgb = _mix(rgb, (10, 6, 8), _smooth(under, 10 * s, 40 * s) * 0.6) + (_noise(c, 2, rng, 2) - 0.5) * 28
    b.add("dust pillars", rgb, _below(c, prof), 0.4)


def _sea_cliff(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    rgb = _sky(c, rng, _jit((178, 198, 214), rng, 0.05), _jit((226, 230, 228), rng, 0.03), texture=9.0, horizon=0.3)
    b.add("pale sky", rgb, 1.0, SKY_DEPTH)

    # The sea far below, seen from high up: the horizon high on the screen, a far headland.
    hz = c.Y(rng.uniform(0.24, 0.3))
    sea = _p(_jit((70, 108, 130), rng, 0.1))
    st = _streaks(c, rng, 2.2, 12)
    rgb = _mix(_mix((160, 178, 188), sea, _smooth(c.yy[:, :1], hz, hz + 60 * s)), sea * 0.75, 0.5 * (1 - st))
    rgb = _mix(rgb, (220, 230, 235), _smooth(st, 0.75, 0.95) * 0.7)
    head = c.X(0.78) + rng.uniform(-0.1, 0.1) * c.W
    hp = hz - _smooth(c.xx[0] - head, 0, 25 * s) * (8 + 6 * _profile(c.lw, 12 * s, rng, 3)) * s
    hmask = np.clip(c.yy - hp[None, :] + 0.5, 0, 1) * (c.yy[:, :1] < hz + 1.5 * s)
    rgb = _mix(rgb, _mix((105, 115, 110), (150, 155, 140), _noise(c, 3, rng, 2)), hmask)
    b.add("far sea", rgb, _below(c, hp.astype(np.float32)), 1.3)

    # The nearer water at the foot of the cliff, with surf.
    y1 = c.Y(0.52)
    surf = _sea_surface(c, rng, hz, _p(sea) * 0.7, _p(sea) * 1.3, (225, 235, 238), 0.6, scale=60.0)
    b.add("sea below", surf, _smooth(c.yy, y1 - 1, y1), 0.75, local=_bob(1.5, 1.0, 17, 13, rng.uniform(0, 6)))

    # The cliff on one side: a grassy top to stand on, a rock face dropping to the sea.
    y0 = c.Y(GROUND_TOP["sea cliff"])
    edge_x = c.X(rng.uniform(0.52, 0.62))
    top = y0 + (_profile(14, 3, rng, 2) - 0.5) * 3 * s
    pts = [(-4.0, c.lh + 2.0), (-4.0, top[0])]
    pts += [(-4 + (edge_x + 4) * t, yt) for t, yt in zip(np.linspace(0, 1, 14), top)]
    lean = rng.uniform(-0.02, 0.1) * c.W
    pts += [(edge_x + lean * k / 8 + rng.uniform(-4, 4) * s, y0 + (c.lh - y0 + 2) * k / 8) for k in range(1, 9)]
    a = _fill(c, pts)
    strata = _streaks(c, rng, 2.5, 16, angle=rng.uniform(-15, 15))
    blocks = _streaks(c, rng, 3, 10, angle=90)
    rock = _mix(_jit((80, 72, 66), rng), _jit((165, 150, 130), rng), 0.55 * strata + 0.45 * blocks)
    crack = _smooth(np.abs(blocks - 0.5), 0.0, 0.03)
    rock = rock * (0.7 + 0.3 * crack)
    grass_d = c.yy - top.mean() - (_noise(c, 4, rng, 2) - 0.5) * 8 * s
    grass = (1 - _smooth(grass_d, 6 * s, 10 * s)) * _smooth(edge_x - 6 * s - c.xx, 0, 10 * s)
    gcol = _mix((60, 90, 40), (140, 160, 75), _noise(c, 2, rng, 2))
    rgb = _mix(rock, gcol, grass)
    rgb = rgb * (0.65 + 0.45 * _smooth(edge_x - c.xx, 0, 40 * s)) * (1.1 - 0.35 * _smooth(c.yy[:, :1], y0, c.lh))
    b.add("cliff", rgb, a, 0.36)


def _sunny_beach(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    hz = c.Y(rng.uniform(0.44, 0.5))
    rgb = _sky(c, rng, _jit((45, 120, 220), rng, 0.08), _jit((165, 210, 245), rng, 0.05), texture=6.0, horizon=0.47)
    left_sun = rng.random() < 0.5
    sl, dx, dy = _win(c, c.X((0.2 if left_sun else 0.8) + rng.uniform(-0.08, 0.08)), c.Y(rng.uniform(0.08, 0.16)), 40 * s)
    d = np.sqrt(dx * dx + dy * dy)
    patch = _mix(rgb[:, sl[0], sl[1]], (255, 250, 215), np.exp(-(d / (22 * s)) ** 2) * 0.6)
    rgb[:, sl[0], sl[1]] = _mix(patch, (255, 245, 170), _smooth(7 * s - d, -0.8, 0.8))
    b.add("blue sky", rgb + (_noise(c, 3, rng, 2) - 0.5) * 12, 1.0, SKY_DEPTH)

    crgb, ca = _cumulus(c, rng, (255, 255, 255), (200, 210, 228), 0.42, -0.15, 0.32, cell=18, soft=0.3)
    b.add("clouds", crgb, ca, 2.6, local=_drift(0.45 if v % 4 < 2 else -0.45))

    sea_far, sea_near = _jit((25, 110, 170), rng, 0.08), _jit((40, 200, 200), rng, 0.08)
    st = _streaks(c, rng, 2.2, 12)
    rgb = _mix(sea_far, sea_near, _smooth(c.yy[:, :1], hz, hz + 35 * s)) * (0.75 + 0.3 * st + 0.2 * _streaks(c, rng, 5, 12))
    b.add("turquoise sea", _mix(rgb, (245, 250, 250), _smooth(st, 0.8, 0.95) * 0.8), _smooth(c.yy, hz - 0.5, hz + 0.5), 1.2)

    # The surf line, washing back and forth.
    y0 = c.Y(GROUND_TOP["sunny beach"])
    yf = y0 - 9 * s - _profile(c.lw, 10 * s, rng, 3, smooth=True) * 4 * s
    under = c.yy - yf[None, :]
    rgb = _mix(_mix((250, 252, 250), _p(sea_near) * 1.15, _smooth(under, 0, 4 * s)), (245, 250, 245), _smooth(_noise(c, 2.5, rng, 2), 0.6, 0.8) * 0.7)
    b.add("surf", rgb, _below(c, yf), 0.6, local=_bob(1.0, 2.0, 19, 12, rng.uniform(0, 6)))

    # Sand: grain, ripples, wet sand at the waterline, a few shells.
    yp = y0 - _profile(c.lw, 20 * s, rng, 3, smooth=True) * 3 * s
    sand = _p(_jit((230, 205, 155), rng, 0.05))
    ripple = 0.5 + 0.5 * np.sin(c.yy / (2.2 * s) + 3 * _noise(c, 20, rng, 2))
    rgb = sand * (0.85 + 0.2 * _noise(c, 2, rng, 2) + 0.08 * ripple)
    below = c.yy - yp[None, :]
    rgb = _mix(rgb, sand * 0.72, (1 - _smooth(below, 2 * s, 9 * s)) * 0.8)
    shells = np.clip(_stars(c, rng, int(60 * s * s), 255, big=0.0) * (below > 6 * s) * np.float32(1 / 120), 0, 1)
    b.add("sand", _mix(rgb, (250, 240, 230), shells), _below(c, yp), 0.38)

    if v % 3 != 2:
        # A palm leaning in from one side.
        left = not left_sun
        tx, ty = c.X(0.12 if left else 0.88), c.Y(0.1)
        trunk = np.zeros(c.shape, np.uint8)
        cv2.line(trunk, (int(c.X(-0.02 if left else 1.02)), c.lh), (int(tx), int(ty)), 255, int(5 * s), cv2.LINE_AA)
        leaves = np.zeros(c.shape, np.uint8)
        for ang in np.linspace(0, 2 * np.pi, 9, endpoint=False) + rng.uniform(0, 1):
            L = rng.uniform(20, 30) * s
            curve = np.array([(tx, ty), (tx + L * 0.5 * np.cos(ang), ty + L * 0.3 * np.sin(ang) - 4 * s),
                              (tx + L * np.cos(ang), ty + L * 0.6 * np.sin(ang) + 6 * s)])
            cv2.polylines(leaves, [np.round(curve * 16).astype(np.int32)], False, 255, max(2, int(4 * s)), cv2.LINE_AA, 4)
        leaf = leaves.astype(np.float32) * np.float32(1 / 255)
        n = _noise(c, 2, rng, 2)
        bark = _mix((95, 70, 45), (150, 115, 75), (np.sin(c.yy / (1.5 * s)) > 0) * 0.6 + 0.4 * n)
        rgb = _mix(bark, _mix((25, 90, 35), (90, 160, 60), n), leaf)
        b.add("palm", rgb, np.maximum(trunk.astype(np.float32) * np.float32(1 / 255), leaf), 0.34)


def _frozen_lake(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    b.add("pale sky", _sky(c, rng, _jit((170, 200, 232), rng, 0.05), _jit((232, 238, 246), rng, 0.02), texture=7.0, horizon=0.45),
          1.0, SKY_DEPTH)
    mrgb, ma, _ = _mountains(c, rng, rng.uniform(0.5, 0.54), rng.uniform(0.22, 0.32), (110, 115, 130), (250, 252, 255),
                             (165, 180, 210), 0.16, cell=45, sun_left=rng.random() < 0.5)
    b.add("snowy mountains", _mix(mrgb, (215, 225, 240), 0.3), ma, 1.4)
    shore = GROUND_TOP["frozen lake"] - 0.025
    prgb, pa = _pines(c, rng, shore, int(50 * c.lw / 205), 0.1, 0.24, _jit((30, 70, 55), rng, 0.1), snow=(245, 250, 255))
    snowbank = _mix((225, 232, 245), (250, 252, 255), _noise(c, 3, rng, 2))
    prgb = _mix(prgb, snowbank, _smooth(c.yy[:, :1], c.Y(shore) - 1, c.Y(shore) + 2 * s))
    b.add("snowy pines", prgb, pa, 0.9)

    # The ice: glassy cyan, mirror images of the trees under the shore, cracks, skate scratches.
    y0 = c.Y(GROUND_TOP["frozen lake"])
    ice = _mix(_jit((150, 205, 225), rng, 0.05), _jit((70, 165, 200), rng, 0.06), _smooth(c.yy[:, :1], y0, c.Y(1.05)))
    shift = int(round(2 * y0 - c.lh + 1))
    refl = np.roll(prgb[:, ::-1], shift, axis=1)
    ra = np.roll(pa[::-1], shift, axis=0) * (1 - _smooth(c.yy[:, :1], y0, y0 + 22 * s))
    ice = _mix(ice, refl * _p((0.75, 0.9, 1.0)), ra * 0.45) * (0.9 + 0.2 * _noise(c, 3, rng, 3))
    cracks = np.zeros(c.shape, np.uint8)
    for _ in range(int(rng.integers(7, 11))):
        x, y = rng.uniform(0, c.lw), rng.uniform(y0 + 6 * s, c.lh)
        ang = rng.uniform(0, 2 * np.pi)
        pts = [(x, y)]
        for _ in range(int(rng.integers(5, 10))):
            ang += rng.uniform(-0.7, 0.7)
            step = rng.uniform(5, 12) * s * (0.5 + (y - y0) / (c.lh - y0))
            x, y = x + step * np.cos(ang), y + step * 0.45 * np.sin(ang)
            pts.append((x, y))
        cv2.polylines(cracks, [np.round(np.array(pts) * 16).astype(np.int32)], False, 255, 1, cv2.LINE_AA, 4)
    scr = ((np.sin(c.xx / (9 * s) + c.yy / (3 * s) + 4 * _noise(c, 30, rng, 1)) > 0.97) & (c.yy > y0 + 8 * s)).astype(np.float32)
    ice = _mix(ice, (245, 252, 255), np.maximum(cracks.astype(np.float32) * np.float32(0.9 / 255), scr * 0.35))
    ice = _mix(ice, (235, 245, 250), _smooth(c.yy[:, :1], y0 - 1, y0) * (1 - _smooth(c.yy[:, :1], y0 + 1, y0 + 2.5 * s)) * 0.8)
    b.add("ice", ice, _smooth(c.yy, y0 - 1, y0), 0.38)


def _forge(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    fx, fy = c.X(0.5 + rng.uniform(-0.2, 0.2)), c.Y(0.5)
    light = np.exp(-((c.xx - fx) ** 2 + (c.yy - fy) ** 2) * np.float32(1 / (0.7 * c.W) ** 2))
    bw, bh = rng.uniform(9, 12) * s, rng.uniform(4.2, 5.5) * s
    row = np.floor(c.yy[:, :1] / bh)
    bx = c.xx + (row % 2) * (bw / 2)
    mortar = np.maximum(_lines(bx, bw, 1.0 * s, 0.7), _lines(c.yy[:, :1], bh, 1.0 * s, 0.7))
    cell = _fmod(np.floor(bx / bw) * 7.13 + row * 3.71, 1.0)
    brick = _mix(_jit((60, 26, 18), rng, 0.1), _jit((125, 62, 38), rng, 0.1), cell) * (0.75 + 0.25 * _noise(c, 2, rng, 2) + 0.25 * _noise(c, 6, rng, 2))
    rgb = _mix(brick, (25, 18, 16), mortar * 0.85)
    b.add("brick wall", rgb * (0.38 + 0.8 * light) + _p((45, 14, 0)) * light, 1.0, 1.4)

    # The furnace: a stone hood and arch around a glowing mouth.
    fw = rng.uniform(0.34, 0.42) * c.W
    ytop = c.Y(0.28)
    a = _fill(c, [(fx - fw * 0.4, c.Y(-0.5)), (fx + fw * 0.4, c.Y(-0.5)), (fx + fw * 0.4, ytop - 8 * s), (fx + fw / 2 + 4 * s, ytop),
                  (fx + fw / 2 + 4 * s, c.lh), (fx - fw / 2 - 4 * s, c.lh), (fx - fw / 2 - 4 * s, ytop), (fx - fw * 0.4, ytop - 8 * s)])
    joints = np.maximum(_lines(c.xx + (np.floor(c.yy[:, :1] / (7 * s)) % 2) * 5 * s, 10 * s, 1.0 * s, 0.7), _lines(c.yy[:, :1], 7 * s, 1.0 * s, 0.7))
    stone = _mix(_mix((60, 55, 52), (120, 110, 100), _noise(c, 3, rng, 3)), (30, 26, 24), joints * 0.8)
    b.add("furnace", stone * (0.3 + 0.9 * light) + _p((50, 20, 0)) * light, a, 1.0)

    # The fire in the mouth, flickering.
    mouth_y0, mouth_y1 = fy - 2 * s, c.Y(0.62)
    mw = fw * 0.3
    dx = (c.xx[:1] - fx) / mw
    arch = mouth_y0 + (1 - np.sqrt(np.clip(1 - dx ** 2, 0, 1))) * 10 * s
    a = (np.abs(dx) < 1) * _smooth(c.yy - arch, 0, 1.5) * _smooth(mouth_y1 - c.yy, 0, 1.5)
    heat = np.clip(_smooth(c.yy[:, :1], mouth_y0, mouth_y1) * 0.8 + _streaks(c, rng, 2.5, 9, angle=90) * 0.6, 0, 1)
    fire = _mix(_mix((180, 40, 5), (255, 150, 20), heat), (255, 240, 170), _smooth(heat, 0.7, 1.0))
    fl = 0.82 + 0.18 * np.clip(rng.normal(0, 1, STEPS) * 0.5 + np.sin(_T * 1.7), -1, 1)
    tint = np.ones((STEPS, 4))
    tint[:, 0], tint[:, 1], tint[:, 2] = fl, fl ** 1.5, fl ** 2
    b.add("fire", fire, a, 1.0, tint=tint)

    # Orange light spilling out of the mouth, flickering with the fire.
    glow = np.exp(-((c.xx - fx) ** 2 + (c.yy - mouth_y1) ** 2) * np.float32(1 / (0.42 * c.W) ** 2)) * (0.38 + 0.17 * _noise(c, 8, rng, 2))
    tint2 = tint.copy()
    tint2[:, :3] = 0.75 + 0.25 * tint[:, :3]
    b.add("glow", (255, 120, 30), glow, 0.95, tint=tint2)

    # Stone floor, lit orange near the furnace.
    y0 = c.Y(GROUND_TOP["forge"])
    gx, gz, fade, aa = _perspective(c, y0, e=0.25)
    row = np.floor(gz / 0.3)
    sx = gx + row * 0.23
    joints = np.maximum(_lines(sx, 0.45, 0.04, aa * 0.7 + 0.02), _lines(gz, 0.3, 0.035, aa + 0.02))
    cellv = _fmod(np.floor(sx / 0.45) * 5.3 + row * 2.9, 1.0)
    floor = _mix((40, 36, 34), (85, 75, 68), 0.5 * cellv + 0.5 * _noise(c, 2.2, rng, 2))
    floor = _mix(floor, (15, 12, 10), joints * (0.4 + 0.5 * fade))
    lit = np.exp(-((c.xx - fx) ** 2 + (c.yy - y0) ** 2) * np.float32(1 / (0.6 * c.W) ** 2))
    b.add("stone floor", floor * (0.6 + 0.7 * lit) + _p((90, 35, 0)) * lit, _smooth(c.yy, y0 - 1, y0), 0.38)

    # An anvil on a wooden block at one side.
    ax, ay, w = c.X(0.82 if v % 2 == 0 else 0.18), c.Y(0.84), 16 * s
    body = [(ax - w, ay - 9 * s), (ax + w * 0.75, ay - 9 * s), (ax + w * 0.9, ay - 11 * s), (ax + w * 1.2, ay - 10 * s),
            (ax + w * 0.6, ay - 5 * s), (ax + w * 0.3, ay - 4 * s), (ax + w * 0.35, ay + 6 * s), (ax + w * 0.55, ay + 12 * s),
            (ax - w * 0.55, ay + 12 * s), (ax - w * 0.35, ay + 6 * s), (ax - w * 0.3, ay - 4 * s), (ax - w * 0.8, ay - 5 * s)]
    block = [(ax - w * 0.7, ay + 12 * s), (ax + w * 0.7, ay + 12 * s), (ax + w * 0.7, c.lh + 2), (ax - w * 0.7, c.lh + 2)]
    metal = _mix((25, 25, 28), (80, 80, 88), _noise(c, 2, rng, 2))
    edge = _smooth(c.yy[:, :1], ay - 11 * s, ay - 8 * s) * (1 - _smooth(c.yy[:, :1], ay - 8 * s, ay - 6 * s))
    metal = _mix(metal, (255, 160, 80), edge * 0.8)
    wood = _mix((60, 35, 20), (110, 70, 40), _streaks(c, rng, 2, 10, angle=90))
    b.add("anvil", _mix(metal, wood, (c.yy[:, :1] > ay + 12 * s).astype(np.float32)), _fill(c, body, block), 0.34)


def _mars(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    b.add("butterscotch sky", _sky(c, rng, _jit((190, 140, 95), rng, 0.05), _jit((232, 190, 140), rng, 0.04), texture=9.0,
                                   horizon=0.5, haze=0.3), 1.0, SKY_DEPTH)
    hz = rng.uniform(0.46, 0.52)
    prof = _profile(c.lw, 45 * s, rng, 3, smooth=True)
    mesa = np.clip((prof - 0.45) * 3, 0, 1) ** 0.3
    ridge = (c.Y(hz) - (mesa * 0.14 + prof * 0.05) * c.H).astype(np.float32)
    rgb = _mix(_mix(_jit((140, 80, 55), rng), _jit((195, 122, 85), rng), 0.5 * _streaks(c, rng, 2.5, 10) + 0.5 * _noise(c, 6, rng, 2)), (205, 150, 110), 0.3)
    b.add("far mesas", rgb, _below(c, ridge), 1.4)

    prof = (c.Y(hz + 0.07) - _profile(c.lw, 35 * s, rng, 4, smooth=True) * 0.1 * c.H).astype(np.float32)
    rgb = _mix(_jit((135, 60, 35), rng), _jit((190, 100, 60), rng), _noise(c, 3, rng, 3))
    b.add("red hills", rgb * (1.1 - 0.3 * _smooth(c.yy - prof[None, :], 0, 20 * s)), _below(c, prof), 0.9)

    y0 = c.Y(GROUND_TOP["mars"])
    yp = (y0 - _profile(c.lw, 25 * s, rng, 3, smooth=True) * 3 * s).astype(np.float32)
    dust = _mix(_jit((150, 70, 40), rng, 0.05), _jit((200, 110, 65), rng, 0.05), _noise(c, 2.5, rng, 3))
    ripple = _smooth(np.sin(c.yy / (2.5 * s) + 4 * _noise(c, 25, rng, 2)), 0.6, 1.0)
    dust = dust * (1 - 0.1 * ripple)
    rocks = np.zeros(c.shape, np.uint8)
    lit = np.zeros(c.shape, np.uint8)
    for _ in range(int(55 * c.lw / 205 * c.lh / 205)):
        x, y = rng.uniform(0, c.lw), rng.uniform(y0 + 2 * s, c.lh)
        r = rng.uniform(1.0, 3.8) * s * (0.5 + 1.3 * (y - y0) / (c.lh - y0))
        cv2.ellipse(rocks, ((float(x), float(y)), (2 * r, 1.2 * r), 0.0), 255, -1, cv2.LINE_AA)
        cv2.ellipse(lit, ((float(x - 0.3 * r), float(y - 0.25 * r)), (1.2 * r, 0.45 * r), 0.0), 255, -1, cv2.LINE_AA)
    rgb = _mix(dust, (70, 35, 25), rocks.astype(np.float32) * np.float32(0.9 / 255))
    rgb = _mix(rgb, (175, 100, 70), lit.astype(np.float32) * np.float32(0.8 / 255))
    b.add("rusty ground", rgb, _below(c, yp), 0.38)


def _jungle_city(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    b.add("hazy sky", _sky(c, rng, _jit((150, 185, 200), rng, 0.06), _jit((215, 228, 220), rng, 0.04), texture=8.0, horizon=0.4),
          1.0, SKY_DEPTH)

    # The waterfall: a strip falling behind a slot in the cliffs. It starts behind the rock
    # above the lip, and falls at most `fall * STEPS` px, so its top never shows.
    wfx = c.X(rng.uniform(0.4, 0.6))
    ww = rng.uniform(14, 18) * s
    lip = c.Y(rng.uniform(0.3, 0.36))
    fall = 0.9 * s
    strip_top = lip - fall * STEPS - 3 * s
    water = _mix((150, 200, 225), (250, 252, 255), _smooth(_streaks(c, rng, 2, 16, angle=90), 0.3, 0.8))
    wa = _smooth(ww / 2 + 2 * s - np.abs(c.xx[:1] - wfx), 0, 1.5) * (c.yy[:, :1] > strip_top)
    b.add("waterfall", water, wa, 1.45, local=translation(np.zeros(STEPS), fall * _T))

    # Steep grey cliffs with vertical striations, tall at the sides, parted by the waterfall.
    prof = _profile(c.lw, 24 * s, rng, 4, smooth=False, persistence=0.5)
    side = _smooth(np.abs(c.xx[0] - wfx), 0.12 * c.W, 0.5 * c.W)
    ridge = (strip_top - 4 * s - prof * 0.1 * c.H - side * 0.55 * c.H).astype(np.float32)
    slot = _smooth(ww / 2 - np.abs(c.xx[:1] - wfx), -0.8, 0.8) * _smooth(c.yy[:, :1], lip, lip + 1.5)
    rgb = _mix(_jit((90, 95, 95), rng), _jit((172, 174, 168), rng), _streaks(c, rng, 2.2, 14, angle=90))
    rgb = _mix(rgb, (70, 110, 55), _smooth(_noise(c, 8, rng, 3), 0.58, 0.75) * 0.75)
    rgb = _mix(rgb * (1.0 - 0.25 * _smooth(c.yy[:, :1], lip, c.Y(0.7))), (200, 215, 215), 0.3 * (1 - _smooth(c.yy[:, :1], c.Y(-0.2), c.Y(0.5))))
    b.add("cliffs", rgb, _below(c, ridge) * (1 - slot), 1.4)

    # Elven towers of pale stone with pointed roofs and arched windows.
    mask = np.zeros(c.shape, np.uint8)
    roofm = np.zeros(c.shape, np.uint8)
    win = np.zeros(c.shape, np.uint8)
    base = c.Y(0.62)
    xs = np.sort(rng.uniform(c.X(-0.1), c.X(1.1), int(rng.integers(5, 8))))
    for tx in xs:
        if abs(tx - wfx) < ww * 1.2:
            tx += np.sign(tx - wfx + 1e-3) * ww * 1.5
        tw, th = rng.uniform(6, 10) * s, rng.uniform(0.18, 0.4) * c.H
        top = base - th
        _poly_into(mask, [[(tx - tw / 2, c.lh), (tx - tw / 2, top), (tx + tw / 2, top), (tx + tw / 2, c.lh)]], 255)
        _poly_into(roofm, [[(tx - tw / 2 - 1.5 * s, top + 1), (tx, top - tw * 1.6), (tx + tw / 2 + 1.5 * s, top + 1)]], 255)
        for wy in np.arange(top + 4 * s, base, 7 * s):
            cv2.ellipse(win, (int(tx), int(wy)), (max(1, int(tw * 0.16)), max(1, int(1.8 * s))), 0, 0, 360, 255, -1)
    roof = roofm.astype(np.float32) * np.float32(1 / 255)
    rgb = _mix(_mix((150, 145, 125), (215, 210, 190), _noise(c, 2.5, rng, 2)), (110, 105, 95), _lines(c.yy[:, :1], 3.5 * s, 0.7 * s, 0.7) * 0.6)
    rgb = _mix(rgb, (40, 45, 40), win.astype(np.float32) * np.float32(1 / 255))
    rgb = _mix(rgb, (60, 110, 50), _smooth(_noise(c, 5, rng, 2), 0.62, 0.8) * 0.8)
    rgb = _mix(rgb, _mix((40, 110, 100), (90, 170, 150), _noise(c, 3, rng, 2)), roof)
    b.add("stone towers", rgb, np.maximum(mask.astype(np.float32) * np.float32(1 / 255), roof), 1.0)

    # Jungle canopy.
    prof = (c.Y(0.6) - _profile(c.lw, 12 * s, rng, 4, smooth=True, persistence=0.6) * 0.15 * c.H).astype(np.float32)
    rgb = _mix((20, 65, 25), (95, 170, 55), _noise(c, 3, rng, 3)) * (1.1 - 0.4 * _smooth(c.yy - prof[None, :], 0, 25 * s))
    b.add("jungle", rgb, _below(c, prof), 0.75)

    # The brilliant blue river, flowing sideways; its upstream end hides under a bank of the
    # same depth, so the moving band's end never shows.
    y0, y1 = c.Y(0.66), c.Y(0.84)
    band, local, reach = _flowing_water(c, y0, y1, 0.9)
    st = _streaks(c, rng, 2.2, 16)
    rgb = _mix(_jit((40, 150, 245), rng, 0.05), _jit((15, 85, 210), rng, 0.05), _smooth(c.yy[:, :1], y0, y1)) * (0.8 + 0.4 * st)
    b.add("blue river", _mix(rgb, (210, 240, 255), _smooth(st, 0.78, 0.95) * 0.8), band, 0.55, local=local)
    cover = ((c.xx < reach + 8 * s) & (c.yy[:, :1] > y0 - 8 * s)).astype(np.float32)
    bank = (y0 + 2.5 * s - _profile(c.lw, 8 * s, rng, 3) * 3 * s).astype(np.float32)
    a = np.maximum(cover, np.clip(bank[None, :] - c.yy + 0.5, 0, 1) * (c.yy[:, :1] > y0 - 8 * s))
    rgb = _mix((40, 70, 35), (110, 120, 80), _noise(c, 2.5, rng, 2))
    b.add("river bank", rgb, a, 0.55)

    # The near bank: ferns and big leaves.
    yb = c.Y(GROUND_TOP["jungle city"])
    prof = (yb - _profile(c.lw, 6 * s, rng, 3) * 6 * s).astype(np.float32)
    mask = np.zeros(c.shape, np.uint8)
    shade = np.zeros(c.shape, np.uint8)
    for _ in range(int(70 * c.lw / 205)):
        x, y = rng.uniform(-5, c.lw + 5), rng.uniform(yb - 8 * s, c.lh + 5)
        L, ang = rng.uniform(5, 11) * s * (0.6 + (y - yb) / (c.lh - yb)), rng.uniform(-160, -20)
        box = ((float(x), float(y)), (2 * L, 0.7 * L), float(ang))
        cv2.ellipse(mask, box, 255, -1, cv2.LINE_AA)
        cv2.ellipse(shade, box, int(rng.integers(40, 256)), -1, cv2.LINE_AA)
        cv2.ellipse(shade, ((float(x), float(y)), (2 * L, 1.0), float(ang)), 20, 1, cv2.LINE_AA)
    a = np.maximum(_below(c, prof), mask.astype(np.float32) * np.float32(1 / 255))
    t = np.maximum(shade.astype(np.float32) * np.float32(1 / 255), 0.35 * _noise(c, 2, rng, 2))
    b.add("ferns", _mix((12, 45, 18), (110, 175, 60), t), a, 0.38)


def _grassy_meadow(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    b.add("sky", _sky(c, rng, _jit((70, 140, 225), rng, 0.08), _jit((190, 220, 240), rng, 0.05), texture=7.0, horizon=0.5), 1.0, SKY_DEPTH)
    crgb, ca = _cumulus(c, rng, (255, 255, 255), (185, 195, 215), 0.45, -0.15, 0.38, cell=20, soft=0.35)
    b.add("clouds", crgb, ca, 2.6, local=_drift(0.4 if v % 4 < 2 else -0.4))

    hz = c.Y(rng.uniform(0.46, 0.52))
    hills = (hz - _profile(c.lw, 50 * s, rng, 3, smooth=True) * 10 * s).astype(np.float32)
    bumps = _smooth(_profile(c.lw, 4 * s, rng, 2, smooth=True), 0.2, 0.8) * (_profile(c.lw, 30 * s, rng, 2) > 0.35)
    trees = (hills - bumps * 10 * s).astype(np.float32)
    n = _noise(c, 2.2, rng, 3)
    rgb = _mix(_mix(_jit((35, 80, 45), rng), _jit((85, 130, 70), rng), n), _mix((110, 150, 80), (150, 180, 100), n),
               (c.yy > hills[None, :] + 1).astype(np.float32))
    b.add("distant trees", _mix(rgb, (170, 200, 215), 0.25), _below(c, trees), 1.2)

    y1 = c.Y(0.56)
    rgb = _mix(_jit((80, 140, 50), rng), _jit((150, 195, 80), rng), 0.6 * _noise(c, 2.5, rng, 3) + 0.4 * _streaks(c, rng, 2.2, 9, angle=90))
    flowers = (_stars(c, rng, int(120 * s * s), 255, big=0) > 70).astype(np.float32)
    rgb = _mix(rgb, _jit(((255, 230, 80), (250, 250, 250), (240, 120, 170))[v % 3], rng, 0.05), flowers * 0.9)
    b.add("meadow", rgb, _smooth(c.yy, y1 - 1, y1), 0.75)

    # Tall grass: blades rising from the bottom over a dense base.
    y0 = c.Y(GROUND_TOP["grassy meadow"])
    shade = np.zeros(c.shape, np.uint8)
    mask = np.zeros(c.shape, np.uint8)
    th = max(1, int(round(1.3 * s)))
    for _ in range(int(260 * c.lw / 205)):
        x0, lean = rng.uniform(-5, c.lw + 5), rng.uniform(-9, 9) * s
        top = y0 + rng.uniform(-12, 10) * s
        pts = np.round(np.array([(x0, c.lh + 2), (x0 + lean * 0.4, (top + c.lh) / 2), (x0 + lean, top)]) * 16).astype(np.int32)
        cv2.polylines(mask, [pts], False, 255, th, cv2.LINE_AA, 4)
        cv2.polylines(shade, [pts], False, int(rng.integers(60, 256)), th, cv2.LINE_AA, 4)
    a = np.maximum(mask.astype(np.float32) * np.float32(1 / 255), _smooth(c.yy, y0 + 10 * s, y0 + 16 * s))
    t = np.maximum(shade.astype(np.float32) * np.float32(1 / 255), 0.4 * _noise(c, 2, rng, 2))
    rgb = _mix(_jit((40, 95, 25), rng), _jit((150, 200, 70), rng), t) * (1.05 - 0.35 * _smooth(c.yy[:, :1], y0, c.lh))
    rgb = rgb * (0.75 + 0.45 * _noise(c, 6, rng, 2))  # clumps and shadows in the grass
    b.add("tall grass", rgb, a, 0.36)


def _snowy_mountain(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    t = np.clip((c.yy[:, :1] - c.Y(-0.2)) / (c.Y(0.55) - c.Y(-0.2)), 0, 1)
    top, mid, low = _jit((40, 60, 130), rng, 0.08), _jit((225, 130, 140), rng, 0.06), _jit((255, 200, 120), rng, 0.05)
    rgb = np.where(t < 0.6, _mix(top, mid, t / 0.6), _mix(mid, low, (t - 0.6) / 0.4))
    rgb = _mix(rgb, (255, 170, 150), _smooth(_streaks(c, rng, 3, 18), 0.6, 0.9) * 0.45) + (_streaks(c, rng, 5, 9) - 0.5) * 24
    sx, sy = c.X(rng.uniform(0.25, 0.75)), c.Y(rng.uniform(0.28, 0.36))
    sl, dx, dy = _win(c, sx, sy, 60 * s)
    d = np.sqrt(dx * dx + dy * dy)
    patch = _mix(rgb[:, sl[0], sl[1]], (255, 235, 180), np.exp(-(d / (30 * s)) ** 2) * 0.7)
    rgb[:, sl[0], sl[1]] = _mix(patch, (255, 250, 220), _smooth(8 * s - d, -0.8, 0.8))
    b.add("sunrise sky", rgb + (_noise(c, 2.5, rng, 2) - 0.5) * 12, 1.0, SKY_DEPTH)

    mrgb, ma, _ = _mountains(c, rng, rng.uniform(0.55, 0.6), rng.uniform(0.38, 0.48), (95, 90, 110), (255, 235, 225),
                             (120, 130, 185), 0.24, cell=50, sun_left=sx < c.lw / 2)
    b.add("snowy peaks", mrgb, ma, 1.4)

    # The forest on a snowy slope down to the river.
    fb = 0.62
    prgb, pa = _pines(c, rng, fb, int(60 * c.lw / 205), 0.08, 0.2, _jit((25, 55, 45), rng, 0.1), snow=(240, 240, 255))
    snow = _mix((190, 195, 225), (250, 250, 255), _noise(c, 2.5, rng, 3))
    snow = _mix(snow, (150, 160, 200), _smooth(_streaks(c, rng, 3, 20, angle=rng.uniform(-8, 8)), 0.6, 0.9) * 0.5)
    b.add("forest", _mix(prgb, snow, _smooth(c.yy[:, :1], c.Y(fb) + 1, c.Y(fb) + 3 * s)), pa, 0.8)

    # The clear river: pebbles seen through the water, flowing sideways, between snowy banks of
    # the same depth that also hide its upstream end.
    y0, y1 = c.Y(0.73), c.Y(0.9)
    band, local, reach = _flowing_water(c, y0, y1, 0.8)
    water = _mix(_jit((120, 190, 210), rng, 0.05), _jit((60, 150, 175), rng, 0.05), _smooth(c.yy[:, :1], y0, y1))
    water = _mix(water, (120, 140, 130), _smooth(_noise(c, 2.5, rng, 3), 0.55, 0.8) * 0.35)
    st = _streaks(c, rng, 2.2, 16)
    b.add("clear river", _mix(water, (240, 250, 255), _smooth(st, 0.75, 0.95) * 0.8), band, 0.42, local=local)
    near = (y1 - _profile(c.lw, 14 * s, rng, 3, smooth=True) * 5 * s).astype(np.float32)
    far = (y0 + 1 * s + _profile(c.lw, 10 * s, rng, 3, smooth=True) * 4 * s).astype(np.float32)
    upper = np.clip(far[None, :] - c.yy + 0.5, 0, 1) * (c.yy[:, :1] > y0 - 8 * s)
    cover = ((c.xx < reach + 8 * s) & (c.yy[:, :1] > y0 - 8 * s)).astype(np.float32)
    a = np.maximum(np.maximum(_below(c, near), upper), cover)
    rgb = _mix((205, 212, 238), (252, 252, 255), _noise(c, 2.5, rng, 3))
    rocks = _noise(c, 7, rng, 2)
    rgb = _mix(rgb, _mix((70, 68, 75), (135, 130, 135), _smooth(rocks, 0.86, 0.95)), _smooth(rocks, 0.82, 0.85) * 0.9)
    edge = np.minimum(np.abs(c.yy - near[None, :]), np.abs(c.yy - far[None, :]))
    b.add("snowy banks", rgb * (1 - 0.25 * _smooth(3 * s - edge, 0, 3 * s)), a, 0.42)


def _portrait_wall(c: _Canvas, rng, v: int, b: _Builder) -> None:
    s = c.s
    # A hazy painted landscape far behind: pale sky, blue-green hills, a winding road.
    hz = rng.uniform(0.42, 0.5)
    rgb = _sky(c, rng, _jit((105, 118, 105), rng, 0.06), _jit((165, 168, 138), rng, 0.05), texture=6.0, horizon=hz)
    for k, (base, amp, col) in enumerate([(hz - 0.04, 0.12, (110, 130, 128)), (hz + 0.04, 0.1, (82, 100, 88)), (hz + 0.12, 0.08, (70, 78, 55))]):
        prof = (c.Y(base) - _profile(c.lw, 30 * s, rng, 4, smooth=k > 0) * amp * c.H).astype(np.float32)
        rgb = _mix(rgb, _p(col) * (0.85 + 0.3 * _noise(c, 3, rng, 2)), _below(c, prof))
    road = np.abs(c.xx - c.X(0.5) - 18 * s * np.sin(c.yy[:, :1] / (9 * s))) < (c.yy[:, :1] - c.Y(hz)) * 0.06 + 0.5
    rgb = _mix(rgb, (160, 140, 100), (road & (c.yy[:, :1] > c.Y(hz + 0.04))).astype(np.float32) * 0.6)
    rgb = _mix(rgb, (150, 155, 135), 0.25) * 0.75  # sfumato haze, and the dim varnish of an old painting
    rgb = rgb * (0.8 + 0.3 * _streaks(c, rng, 4.5, 12, angle=rng.uniform(20, 60))) + (_noise(c, 2, rng, 2) - 0.5) * 14
    crack = _smooth(np.abs(_noise(c, 5, rng, 2) - 0.5), 0.0, 0.02)
    b.add("painted landscape", rgb * (0.82 + 0.18 * crack), 1.0, SKY_DEPTH)

    # Dark painted columns of a loggia framing the view, and a dark sfumato vignette.
    cw = rng.uniform(0.1, 0.16)
    frame = np.maximum(_smooth(c.X(cw) - c.xx[:1], -1, 1), _smooth(c.xx[:1] - c.X(1 - cw), -1, 1))
    vign = ((c.xx - c.lw / 2) * np.float32(1 / (0.55 * c.W))) ** 2 + ((c.yy - c.Y(0.4)) * np.float32(1 / (0.7 * c.H))) ** 2
    a = np.maximum(frame, _smooth(vign, 0.3, 1.3) * 0.95)
    dark = _p(_jit(((50, 38, 25), (35, 40, 30), (45, 30, 30))[v % 3], rng, 0.1))
    b.add("dark frame", _mix(dark * 0.5, dark * 1.7, _streaks(c, rng, 4, 12, angle=rng.uniform(60, 120))), a, 1.2)

    # The parapet in front.
    y0 = c.Y(GROUND_TOP["portrait wall"])
    rgb = _mix(dark * 0.6, dark * 1.8, 0.5 * _streaks(c, rng, 2.5, 14) + 0.5 * _noise(c, 6, rng, 2))
    rgb = _mix(rgb, dark * 2.2, _smooth(c.yy[:, :1], y0, y0 + 1.5 * s) * (1 - _smooth(c.yy[:, :1], y0 + 2 * s, y0 + 3.5 * s)))
    b.add("parapet", rgb, _smooth(c.yy, y0 - 1, y0), 0.4)


_SCENES = {
    "times square": _times_square,
    "starry night": _starry_night,
    "card table": _card_table,
    "white studio": _white_studio,
    "stormy sea": _stormy_sea,
    "nebula": _nebula,
    "sea cliff": _sea_cliff,
    "sunny beach": _sunny_beach,
    "frozen lake": _frozen_lake,
    "forge": _forge,
    "mars": _mars,
    "jungle city": _jungle_city,
    "grassy meadow": _grassy_meadow,
    "snowy mountain": _snowy_mountain,
    "portrait wall": _portrait_wall,
}
assert set(_SCENES) == set(BACKGROUNDS) == set(GROUND_TOP)

# Scenes whose odd variants are mirrored left-right (the others place their asymmetric parts
# per variant themselves).
_MIRROR = {"times square", "card table", "white studio", "stormy sea", "nebula", "sea cliff", "frozen lake",
           "mars", "jungle city", "grassy meadow", "snowy mountain", "portrait wall"}


def background_layers(name: str, size: tuple[int, int], variant: int) -> list[Layer]:
    """Layers far -> near for background `name` (a key of vocab.BACKGROUNDS) at screen size (H, W),
    (128,128) or (224,128); `variant` in range(VARIANTS) picks one of several deterministic looks.

    The result is cached and shared: its arrays are read-only; treat the layers as immutable.
    """
    if name not in _SCENES:
        raise ValueError(f"unknown background {name!r}; known: {sorted(_SCENES)}")
    if not 0 <= int(variant) < VARIANTS:
        raise ValueError(f"variant must be in range({VARIANTS}), got {variant}")
    return list(_build(name, (int(size[0]), int(size[1])), int(variant)))


@functools.lru_cache(maxsize=256)
def _build(name: str, size: tuple[int, int], variant: int) -> tuple[Layer, ...]:
    c = _Canvas(size)
    b = _Builder(c)
    _SCENES[name](c, _rng(name, variant), variant, b)
    flip = name in _MIRROR and variant % 2 == 1
    out = []
    for layer in b.layers:
        rgba = np.ascontiguousarray(layer.rgba[:, ::-1]) if flip else layer.rgba
        local = _mirror_local(layer.local, c.lw) if flip else layer.local
        for arr in (rgba, local, layer.tint):
            if arr is not None:
                arr.flags.writeable = False
        out.append(Layer(rgba=rgba, depth=layer.depth, local=local, tint=layer.tint, name=layer.name))
    return tuple(out)


def composite_frame0(layers: list[Layer], size: tuple[int, int], local: bool = False) -> np.ndarray:
    """(H, W, 3) uint8: the layers drawn centred on the screen at frame 0 with no camera move,
    far to near with straight-alpha "over"; with `local`, each layer's own motion at step 0 is
    applied. Tints are ignored. For contact sheets and tests; the renderer draws the real thing."""
    h, w = size
    out = np.zeros((h, w, 3), np.float32)
    for layer in layers:
        lh, lw = layer.rgba.shape[:2]
        m = np.array([[1.0, 0.0, -(lw - w) / 2.0], [0.0, 1.0, -(lh - h) / 2.0]])
        if local and layer.local is not None:
            m = compose(m, layer.local[0])
        img = cv2.warpAffine(layer.rgba, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=(0, 0, 0, 0)).astype(np.float32)
        a = img[..., 3:4] * np.float32(1 / 255)
        out = out * (1 - a) + img[..., :3] * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
