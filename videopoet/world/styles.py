"""Artistic styles the world applies to rendered clips ("… in the style of Van Gogh", "a metal lion").

`apply_style(video, style, seed)` restyles a whole clip at once. Each style is built from cheap
OpenCV/NumPy operations over the clip stacked as one tall image (frames padded apart), so a
17×128×128 clip takes 1.5–4 ms on one core. Anything that belongs to the canvas rather than to the scene (brush strokes, paper
grain, hatching, the Van Gogh swirl field, the pixel-art palette) is made once from `seed`, cached,
and kept fixed over the frames of a clip: textures never flicker, and motion in the styled clip
follows the motion of the unstyled one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np

STYLES = (
    "none",
    "oil painting",
    "van gogh",
    "watercolor",
    "pixel art",
    "pencil sketch",
    "metallic",
    "cartoon",
    "neon",
)

# Canvases are keyed by (style, H, W, seed % SEED_VARIANTS): 16 looks per style and size. A canvas
# takes 5–50 ms to build and 16–250 KB to keep; the cache holds every canvas of both world sizes
# (about 14 MB when all are built), so a long-running worker builds each one once.
SEED_VARIANTS = 16
_CACHE_SIZE = 768
_cache: OrderedDict = OrderedDict()


def _cached(key: tuple, build: Callable[[], object]):
    """A small LRU cache for per-(style, size, seed) textures, maps and palettes."""
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    value = build()
    for a in value if isinstance(value, tuple) else (value,):
        a.flags.writeable = False  # shared by every clip that uses this canvas
    _cache[key] = value
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return value


def _rng(style: str, H: int, W: int, seed: int) -> np.random.Generator:
    return np.random.default_rng([STYLES.index(style), H, W, seed % SEED_VARIANTS])


# --------------------------------------------------------------------------------------------
# Clip helpers: the clip is processed as one tall image (T*H', W, C). Rows are padded above and
# below every frame (reflected) so that spatial filters never mix neighbouring frames.
# --------------------------------------------------------------------------------------------


def _pad(video: np.ndarray, p: int) -> np.ndarray:
    """(T, H, W[, C]) → (T, H + 2p, W[, C]) with BORDER_REFLECT_101 rows, as cv2 would pad (p < H)."""
    T, H = video.shape[:2]
    out = np.empty((T, H + 2 * p) + video.shape[2:], np.uint8)
    out[:, p : p + H] = video
    out[:, :p] = video[:, p:0:-1]
    out[:, p + H :] = video[:, np.arange(H - 2, H - 2 - p, -1)]
    return out


def _tall(x: np.ndarray) -> np.ndarray:
    """(T, H, W[, C]) → (T*H, W[, C]) view."""
    return x.reshape((-1,) + x.shape[2:])


def _frames(x: np.ndarray, T: int) -> np.ndarray:
    """(T*H, W[, C]) → (T, H, W[, C]) view."""
    return x.reshape((T, -1) + x.shape[1:])


def _unpad(x: np.ndarray, T: int, p: int) -> np.ndarray:
    f = _frames(x, T)
    return np.ascontiguousarray(f[:, p : f.shape[1] - p])


def _modulate(frames: np.ndarray, tex: np.ndarray, scale: float) -> np.ndarray:
    """In place: frames[t] = frames[t] * tex * scale (saturating), for every frame."""
    for f in frames:
        cv2.multiply(f, tex, dst=f, scale=scale)
    return frames


def _sat_matrix(s: float, gain=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)) -> np.ndarray:
    """3×4 cv2.transform matrix: saturation `s` around Rec.601 luma, then per-channel gain + offset."""
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    m = s * np.eye(3, dtype=np.float32) + (1.0 - s) * luma[None, :]
    m = m * np.asarray(gain, np.float32)[:, None]
    return np.concatenate([m, np.asarray(offset, np.float32)[:, None]], 1)


def _ramp_lut(stops: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """A 256×1×3 uint8 colour ramp through (position in [0,1], RGB) stops."""
    xs = np.array([s[0] for s in stops], np.float32) * 255.0
    cs = np.array([s[1] for s in stops], np.float32)
    i = np.arange(256, dtype=np.float32)
    lut = np.stack([np.interp(i, xs, cs[:, c]) for c in range(3)], 1)
    return np.clip(lut + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def _ramp(gray: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Map a 2-D uint8 image through a 256×1×3 colour ramp (three 1-channel LUTs beat one 3-channel)."""
    return cv2.merge([cv2.LUT(gray, np.ascontiguousarray(lut[:, 0, c])) for c in range(3)])


def _tile(tex: np.ndarray, T: int) -> np.ndarray:
    """A per-frame texture repeated for a tall clip."""
    return np.tile(tex, (T,) + (1,) * (tex.ndim - 1))


def _norm_noise(rng: np.random.Generator, H: int, W: int, sigma: float) -> np.ndarray:
    """Smooth float32 noise with zero mean and unit std."""
    n = rng.standard_normal((H, W)).astype(np.float32)
    if sigma > 0:
        n = cv2.GaussianBlur(n, (0, 0), sigma)
    n -= n.mean()
    return n / (n.std() + 1e-6)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def _strokes(rng, H, W, angle, n, length, width, smear, tints=None):
    """Paint `n` brush strokes that follow the angle field `angle` (H, W, radians).

    Returns the strokes' height map (float32, around 128) and a displacement field (dx, dy): every
    stroke drags the colour it covers by a random offset along its own direction, which is what
    breaks a smooth image into brush strokes once the clip is remapped through it. With `tints`
    (K, 3) each stroke also gets one of those colour multipliers, returned as a (H, W, 3) map.
    Strokes are drawn as ids into one map (later strokes on top); attributes are gathered from it.
    """
    seg = 4
    pts = np.empty((n, seg + 1, 2), np.float32)
    pts[:, 0, 0] = rng.uniform(-4, W + 4, n)
    pts[:, 0, 1] = rng.uniform(-4, H + 4, n)
    step = (length * rng.uniform(0.6, 1.4, n) / seg).astype(np.float32)
    a0 = None
    for k in range(seg):  # follow the field, all strokes at once
        xi = np.clip(pts[:, k, 0], 0, W - 1).astype(np.int32)
        yi = np.clip(pts[:, k, 1], 0, H - 1).astype(np.int32)
        a = angle[yi, xi]
        a0 = a if a0 is None else a0
        pts[:, k + 1, 0] = pts[:, k, 0] + step * np.cos(a)
        pts[:, k + 1, 1] = pts[:, k, 1] + step * np.sin(a)
    ipts = np.round(pts * 4).astype(np.int32)  # 2 fractional bits
    ids = np.zeros((H, W), np.int32)  # 0 = bare canvas
    for i in range(n):
        cv2.polylines(ids, [ipts[i]], False, i + 1, width, cv2.LINE_8, shift=2)
    vals = np.concatenate([[128.0], rng.uniform(40, 216, n)]).astype(np.float32)
    offs = np.concatenate([[0.0], rng.uniform(-smear, smear, n)]).astype(np.float32)
    ox = np.concatenate([[0.0], np.cos(a0)]).astype(np.float32) * offs
    oy = np.concatenate([[0.0], np.sin(a0)]).astype(np.float32) * offs
    h, dx, dy = vals[ids], ox[ids], oy[ids]
    if tints is None:
        return h, dx, dy
    which = rng.integers(0, len(tints), n)
    colours = np.concatenate([np.ones((1, 3), np.float32), np.asarray(tints, np.float32)[which]])
    return h, dx, dy, colours[ids]


def _emboss(h: np.ndarray, light=(-1.0, -1.0)) -> np.ndarray:
    """Directional derivative of a height map (lit from the top left)."""
    gx = cv2.Sobel(h, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(h, cv2.CV_32F, 0, 1, ksize=3)
    return -(light[0] * gx + light[1] * gy)


# --------------------------------------------------------------------------------------------
# Oil painting: colour dragged into brush strokes (a fixed remap), rich warm colours, impasto relief.
# --------------------------------------------------------------------------------------------

_OIL_MAT = _sat_matrix(1.5, gain=(1.1, 1.04, 0.92), offset=(-4, -6, -8))  # rich colours, warm varnish


def _impasto(h: np.ndarray, relief: float, shade: float, weave: float) -> np.ndarray:
    """Luminance change (float32, 0 = none, in 1/128ths) from a stroke height map, plus canvas weave."""
    H, W = h.shape
    w = np.zeros((H, W), np.float32)
    w[::2, :] += weave
    w[:, ::2] += weave
    return _emboss(cv2.GaussianBlur(h, (3, 3), 0)) * relief + (h - 128) * shade + w - weave


def _split_signed(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A signed texture as two uint8 halves (positive part, negative part)."""
    return _to_u8(np.maximum(d, 0)), _to_u8(np.maximum(-d, 0))


# local content detail (morphological gradient) → how much canvas texture shows (255 = all of it)
_DETAIL_TO_TEX = _to_u8(np.interp(np.arange(256), [0, 6, 40, 255], [255, 255, 24, 24]))


def _apply_canvas(x: np.ndarray, T: int, pos: np.ndarray, neg: np.ndarray, tint: np.ndarray | None = None):
    """Modulate a tall clip x (T*H, W, 3) by a fixed luminance texture (pos - neg, 1/128ths) and an
    optional luma-neutral colour tint (H, W, 3, 128 = 1.0).

    The texture is faded where the frame itself has detail: on flat paint the strokes show fully,
    on textured moving content the content stays in charge, so optical flow still follows it.
    """
    p = 2
    g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    g = _tall(_pad(_frames(g, T), p))
    d = cv2.blur(cv2.morphologyEx(g, cv2.MORPH_GRADIENT, None), (3, 3))
    w = _tall(_unpad(cv2.LUT(d, _DETAIL_TO_TEX), T, p))
    a = cv2.multiply(_tile(pos, T), w, scale=1.0 / 255)
    b = cv2.multiply(_tile(neg, T), w, scale=1.0 / 255)
    f = cv2.cvtColor(cv2.addWeighted(a, 1.0, b, -1.0, 128), cv2.COLOR_GRAY2RGB)
    if tint is not None:
        f = cv2.multiply(f, _tile(tint, T), scale=1.0 / 128)
    return _frames(cv2.multiply(x, f, scale=1.0 / 128), T)


def _maps(mx: np.ndarray, my: np.ndarray):
    """Integer sampling positions for cv2.INTER_NEAREST remapping (2.5× faster than bilinear)."""
    m, _ = cv2.convertMaps(mx.astype(np.float32), my.astype(np.float32), cv2.CV_16SC2, nninterpolation=True)
    return m


def _remap_clip(video: np.ndarray, m) -> np.ndarray:
    out = np.empty_like(video)
    for t in range(video.shape[0]):
        cv2.remap(video[t], m, None, cv2.INTER_NEAREST, dst=out[t], borderMode=cv2.BORDER_REFLECT_101)
    return out


def _oil_canvas(H, W, seed):
    def build():
        rng = _rng("oil painting", H, W, seed)
        sc = min(H, W) / 128
        angle = _norm_noise(rng, H, W, min(H, W) / 5) * 1.0 + rng.uniform(0, np.pi)
        h, dx, dy = _strokes(rng, H, W, angle, int(H * W / 10), 7 * sc, max(2, round(3 * sc)), 1.5 * sc)
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        m = _maps(xx + np.round(dx), yy + np.round(dy))
        return (m,) + _split_signed(_impasto(h, relief=0.22, shade=0.08, weave=2))

    return _cached(("oil painting", H, W, seed % SEED_VARIANTS), build)


def _oil(video, seed):
    T, H, W, _ = video.shape
    m, pos, neg = _oil_canvas(H, W, seed)
    x = cv2.transform(_tall(_remap_clip(video, m)), _OIL_MAT)
    return _apply_canvas(x, T, pos, neg)


# --------------------------------------------------------------------------------------------
# Van Gogh: a fixed swirl displacement, blue/yellow palette pull, strong curved stroke texture.
# --------------------------------------------------------------------------------------------


def _vg_matrix(pull: float) -> np.ndarray:
    """Saturate, then pull colours toward Van Gogh's palette: shadows ultramarine, lights chrome
    yellow (an affine map of luminance: (r, g, b) = k * luma + o), mixed in with weight `pull`."""
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    k = np.array([1.1, 0.95, 0.35], np.float32)
    o = np.array([-14.0, 0.0, 75.0], np.float32)
    m = _sat_matrix(1.5)
    m[:, :3] = (1 - pull) * m[:, :3] + pull * k[:, None] * luma[None, :]
    m[:, 3] = pull * o
    return m


_VG_MAT = _vg_matrix(0.45)
# colour of each dash: cobalt, ultramarine, chrome yellow, white, viridian, unchanged
_VG_TINTS = np.array(
    [(0.8, 0.95, 1.3), (0.7, 0.8, 1.25), (1.3, 1.15, 0.6), (1.2, 1.2, 1.15), (0.85, 1.1, 0.95), (1, 1, 1)], np.float32
)


def _vortices(rng, H, W):
    n = rng.integers(3, 6)
    s = min(H, W)
    return [
        (rng.uniform(0.1, 0.9) * W, rng.uniform(0.1, 0.9) * H, rng.uniform(0.18, 0.32) * s,
         rng.choice([-1.0, 1.0]) * rng.uniform(0.9, 1.4))
        for _ in range(n)
    ]


def _vangogh_canvas(H, W, seed):
    def build():
        rng = _rng("van gogh", H, W, seed)
        vort = _vortices(rng, H, W)
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        mx, my = xx.copy(), yy.copy()
        ax = np.full((H, W), 1e-3, np.float32)
        ay = np.zeros((H, W), np.float32)
        for cx, cy, r, strength in vort:
            dx, dy = xx - cx, yy - cy
            d2 = (dx * dx + dy * dy) / (r * r)
            theta = 0.28 * strength * np.exp(-d2)  # rotate sample positions about the vortex
            c, s_ = np.cos(theta), np.sin(theta)
            mx += (c - 1) * dx - s_ * dy
            my += s_ * dx + (c - 1) * dy
            w = np.exp(-d2 * 0.5)  # strokes run tangentially around the vortex
            norm = np.sqrt(dx * dx + dy * dy) + 1e-3
            ax += strength * (-dy / norm) * w
            ay += strength * (dx / norm) * w
        wave = 0.5 * np.sin(yy / H * 2 * np.pi * rng.uniform(1, 2) + rng.uniform(0, 6.28))
        ax += 0.6 * np.cos(wave)
        ay += 0.6 * np.sin(wave)
        ang = np.arctan2(ay, ax).astype(np.float32)
        sc = min(H, W) / 128
        h, sx, sy, tint = _strokes(rng, H, W, ang, int(H * W / 8), 8 * sc, max(2, round(2 * sc)), 2.0 * sc,
                                   tints=_VG_TINTS)
        m = _maps(mx + sx, my + sy)
        tint = tint / (tint @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]  # colour, not light
        return (m,) + _split_signed(_impasto(h, relief=0.2, shade=0.25, weave=0)) + (_to_u8(128 * tint),)

    return _cached(("van gogh", H, W, seed % SEED_VARIANTS), build)


def _vangogh(video, seed):
    T, H, W, _ = video.shape
    m, pos, neg, tint = _vangogh_canvas(H, W, seed)
    x = cv2.transform(_tall(_remap_clip(video, m)), _VG_MAT)
    return _apply_canvas(x, T, pos, neg, tint)


# --------------------------------------------------------------------------------------------
# Watercolor: soft washes, lighter and less saturated, pigment pooling at edges, paper grain.
# --------------------------------------------------------------------------------------------

_WC_MAT = _sat_matrix(0.9, gain=(0.78, 0.78, 0.78), offset=(62, 60, 56))
# wash edge strength → pigment density multiplier (128 = 1.0): pigment pools at the rims of washes
_WC_EDGE = _to_u8(128 + np.minimum(np.arange(256, dtype=np.float32) * 4.0, 127))


def _watercolor_paper(H, W, seed):
    def build():
        rng = _rng("watercolor", H, W, seed)
        s = min(H, W) / 128
        blots = _norm_noise(rng, H, W, 6 * s) * 0.16 + _norm_noise(rng, H, W, 2 * s) * 0.08  # uneven washes
        grain = _norm_noise(rng, H, W, 0.8) * 0.10  # pigment granulation in the paper's tooth
        density = np.clip(1.0 + blots + grain, 0.55, 1.6)
        return _to_u8(255 * density / 1.6)  # pigment density, 1.0 = 159

    return _cached(("watercolor", H, W, seed % SEED_VARIANTS), build)


def _soften(x: np.ndarray, T: int) -> np.ndarray:
    """Blur a padded tall clip by going to half resolution and back (frames stay separate when
    the padded frame height is even)."""
    Hp, W = x.shape[0] // T, x.shape[1]
    small = cv2.resize(x, (max(1, W // 2), T * (Hp // 2)), interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 3)
    return cv2.resize(small, (W, T * Hp), interpolation=cv2.INTER_LINEAR)


def _watercolor(video, seed):
    T, H, W, _ = video.shape
    p = 4
    x = _tall(_pad(video, p))
    x = _soften(x, T)
    x = cv2.transform(x, _WC_MAT)
    g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    e = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, None)
    e = _unpad(cv2.LUT(e, _WC_EDGE)[..., None], T, p)[..., 0]
    _modulate(e, _watercolor_paper(H, W, seed), 1.0 / 128)  # density = edge pooling × paper
    out = cv2.bitwise_not(_tall(_unpad(x, T, p)))  # pigment = 255 - wash
    cv2.multiply(out, cv2.cvtColor(_tall(e), cv2.COLOR_GRAY2RGB), dst=out, scale=1.6 / 255)
    return _frames(cv2.bitwise_not(out, dst=out), T)


# --------------------------------------------------------------------------------------------
# Pixel art: 4×4 blocks, a 16-colour retro palette chosen by seed.
# --------------------------------------------------------------------------------------------

_PALETTES = {
    "pico8": "000000 1d2b53 7e2553 008751 ab5236 5f574f c2c3c7 fff1e8 ff004d ffa300 ffec27 00e436 "
    "29adff 83769c ff77a8 ffccaa",
    "sweetie16": "1a1c2c 5d275d b13e53 ef7d57 ffcd75 a7f070 38b764 257179 29366f 3b5dc9 41a6f6 "
    "73eff7 f4f4f4 94b0c2 566c86 333c57",
    "db16": "140c1c 442434 30346d 4e4a4e 854c30 346524 d04648 757161 597dce d27d2c 8595a1 6daa2c "
    "d2aa99 6dc2ca dad45e deeed6",
    "c64": "000000 ffffff 68372b 70a4b2 6f3d86 588d43 352879 b8c76f 6f4f25 433900 9a6759 444444 "
    "6c6c6c 9ad284 6c5eb5 959595",
    "endesga16": "e4a672 b86f50 743f39 3f2832 9e2835 e53b44 fb922b ffe762 63c64d 327345 193d3f "
    "4f6781 afbfd2 ffffff 2ce8f4 0484d1",
}
_PALETTE_NAMES = tuple(_PALETTES)
_PIX_MAT = _sat_matrix(1.25, gain=(1.05, 1.05, 1.05), offset=(-4, -4, -4))


def _palette_lut(name: str):
    """(palette RGB (16, 3) uint8, index LUT over 5-bit RGB (32768,) uint8): nearest colour in CIELAB."""

    def build():
        pal = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in _PALETTES[name].split()], np.uint8)
        q = np.arange(32, dtype=np.float32) * 8 + 4  # centre of each 5-bit bin
        grid = np.stack(np.meshgrid(q, q, q, indexing="ij"), -1).reshape(-1, 1, 3) / 255.0
        lab = cv2.cvtColor(grid.astype(np.float32), cv2.COLOR_RGB2Lab).reshape(-1, 3)
        plab = cv2.cvtColor(pal.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
        d = ((lab[:, None, :] - plab[None, :, :]) ** 2).sum(-1)
        return pal, np.argmin(d, 1).astype(np.uint8)

    return _cached(("pixel art palette", name), build)


def _pixel(video, seed):
    T, H, W, _ = video.shape
    b = 4
    Hb, Wb = -(-H // b), -(-W // b)
    v = video
    if Hb * b != H or Wb * b != W:
        v = np.pad(video, ((0, 0), (0, Hb * b - H), (0, Wb * b - W), (0, 0)), mode="edge")
    small = cv2.resize(_tall(v), (Wb, T * Hb), interpolation=cv2.INTER_AREA)
    small = cv2.transform(small, _PIX_MAT)
    pal, lut = _palette_lut(_PALETTE_NAMES[(seed % SEED_VARIANTS) % len(_PALETTE_NAMES)])
    s = (small >> 3).astype(np.uint16)
    idx = lut[(s[..., 0] << 10) | (s[..., 1] << 5) | s[..., 2]]
    small = pal[idx]
    big = cv2.resize(small, (Wb * b, T * Hb * b), interpolation=cv2.INTER_NEAREST)
    out = _frames(big, T)
    if Hb * b != H or Wb * b != W:
        out = np.ascontiguousarray(out[:, :H, :W])
    return out


# --------------------------------------------------------------------------------------------
# Pencil sketch: colour-dodge line drawing, graphite hatching in the darks, tinted paper.
# --------------------------------------------------------------------------------------------


def _hatch_layer(rng, H, W, angle, spacing, jitter):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    u = u + _norm_noise(rng, H, W, 8.0) * jitter * spacing
    phase = (u / spacing) % 1.0
    line = np.clip(1.3 - np.abs(phase - 0.5) * 2 * spacing / 1.4, 0, 1)  # ~1.4 px wide lines
    # strokes of limited length: pressure varies along each line, lifting off now and then
    k = np.floor(u / spacing)
    press = np.sin(v / (spacing * rng.uniform(1.0, 1.4)) + k * 2.4 + rng.uniform(0, 6.28))
    press = np.clip(press * 1.5 + 0.9 + _norm_noise(rng, H, W, 1.0) * 0.25, 0, 1)
    return line * press


def _pencil_texture(H, W, seed):
    def build():
        rng = _rng("pencil sketch", H, W, seed)
        sc = min(H, W) / 128
        a = rng.uniform(0.55, 1.0)
        l1 = _hatch_layer(rng, H, W, a, 3.0 * sc, 0.12)
        l2 = _hatch_layer(rng, H, W, a - np.pi / 2 + rng.uniform(-0.3, 0.3), 3.0 * sc, 0.12)
        grain = _norm_noise(rng, H, W, 0.6)
        paper = _to_u8(np.full((H, W), 5, np.float32) + grain * 4)  # subtracted from the drawing
        return _to_u8(l1 * 255), _to_u8(l2 * 255), paper

    return _cached(("pencil sketch", H, W, seed % SEED_VARIANTS), build)


# graphite gray → paper-tinted RGB: gain and offset per channel
_PENCIL_TINT = np.array([[0.84, 0, 0, 38], [0, 0.82, 0, 38], [0, 0, 0.80, 40]], np.float32)
_PENCIL_LINE = _to_u8(255 * (np.arange(256, dtype=np.float32) / 255) ** 3.0)  # darker, crisper lines
_DARK1 = _to_u8(np.clip((np.arange(256) - 60) * 1.3, 0, 255))  # tone darkness → hatching weight
_DARK2 = _to_u8(np.clip((np.arange(256) - 140) * 2.2, 0, 255))  # darker → cross-hatching


def _pencil(video, seed):
    T, H, W, _ = video.shape
    p = 6
    x = _tall(_pad(video, p))
    g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    blur = cv2.blur(cv2.blur(g, (5, 5)), (5, 5))
    # colour dodge, gray / blur(gray), lifted by 48 so that dark fills are left to the hatching
    # (convertScaleAbs is a fast uint8 add; cv2.add with a scalar is 8× slower)
    lifted_g = cv2.convertScaleAbs(g, alpha=1.0, beta=48.0)
    lifted_blur = cv2.convertScaleAbs(blur, alpha=1.0, beta=48.0)
    sketch = cv2.LUT(cv2.divide(lifted_g, lifted_blur, scale=250), _PENCIL_LINE)
    sketch = _tall(_unpad(sketch[..., None], T, p))[..., 0]
    dark = cv2.bitwise_not(_tall(_unpad(blur[..., None], T, p))[..., 0])
    l1, l2, paper = _pencil_texture(H, W, seed)
    sketch = cv2.subtract(sketch, cv2.multiply(cv2.LUT(dark, _DARK1), _tile(l1, T), scale=0.6 / 255))
    sketch = cv2.subtract(sketch, cv2.multiply(cv2.LUT(dark, _DARK2), _tile(l2, T), scale=0.6 / 255))
    sketch = cv2.subtract(sketch, _tile(paper, T))
    return _frames(cv2.transform(cv2.cvtColor(sketch, cv2.COLOR_GRAY2RGB), _PENCIL_TINT), T)


# --------------------------------------------------------------------------------------------
# Metallic: a chrome / bronze / gold / steel surface: luminance as height, lit and reflecting.
# --------------------------------------------------------------------------------------------


def _metal_luts():
    i = np.arange(256, dtype=np.float32) / 255
    # chrome reflects a bright sky above a dark horizon and a mid-tone ground
    horizon = np.interp(i, [0, 0.3, 0.47, 0.5, 0.53, 0.7, 1.0], [0.25, 0.45, 0.62, 0.12, 0.75, 0.9, 1.0])
    ramps = [
        _ramp_lut([(0, (16, 18, 22)), (0.45, (120, 126, 134)), (0.8, (210, 216, 224)), (1, (255, 255, 255))]),
        _ramp_lut([(0, (28, 14, 5)), (0.4, (135, 75, 32)), (0.75, (212, 145, 78)), (1, (255, 232, 190))]),
        _ramp_lut([(0, (36, 22, 4)), (0.4, (165, 115, 28)), (0.75, (232, 190, 78)), (1, (255, 250, 212))]),
        _ramp_lut([(0, (14, 16, 20)), (0.45, (92, 99, 110)), (0.8, (174, 182, 194)), (1, (245, 248, 255))]),
    ]
    spec = np.clip((np.arange(256, dtype=np.float32) - 150) * 3.0, 0, 255)
    return _to_u8(horizon * 255), ramps, _to_u8(spec)


_METAL_HORIZON, _METAL_RAMPS, _METAL_SPEC = _metal_luts()
_METAL_NY = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32) * 0.35  # surface tilt (up/down)
_METAL_LIGHT = np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32) * 0.6  # lit from top left


def _metal_texture(H, W, seed):
    def build():
        rng = _rng("metallic", H, W, seed)
        n = rng.standard_normal((H, W)).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), sigmaX=min(W, H) / 10, sigmaY=0.4)  # brushed metal
        n = n / (n.std() + 1e-6)
        return _to_u8(128 + n * 5)

    return _cached(("metallic", H, W, seed % SEED_VARIANTS), build)


def _metallic(video, seed):
    T, H, W, _ = video.shape
    p = 5
    x = _tall(_pad(video, p))
    g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    hgt = cv2.blur(cv2.blur(g, (3, 3)), (3, 3))  # luminance as a smooth height map
    ny = cv2.filter2D(hgt, -1, _METAL_NY, delta=128)
    lit = cv2.filter2D(hgt, -1, _METAL_LIGHT, delta=128)
    refl = cv2.addWeighted(hgt, 0.35, ny, 0.8, -0.8 * 128 + 0.65 * 128)  # what the surface mirrors
    base = cv2.LUT(refl, _METAL_HORIZON)
    base = cv2.addWeighted(base, 1.0, lit, 0.7, -0.7 * 128)
    base = cv2.add(base, cv2.LUT(lit, _METAL_SPEC))
    base = _unpad(base[..., None], T, p)[..., 0]
    _modulate(base, _metal_texture(H, W, seed), 1.0 / 128)
    ramp = _METAL_RAMPS[(seed % SEED_VARIANTS) % len(_METAL_RAMPS)]
    out = _ramp(_tall(base), ramp)
    return _frames(out, T)


# --------------------------------------------------------------------------------------------
# Cartoon: smoothed, posterised, saturated flat colours with bold dark outlines.
# --------------------------------------------------------------------------------------------

def _quant_lut(levels: int, soft: float) -> np.ndarray:
    """Per-channel quantisation to `levels` levels, blended with identity by (1 - soft)."""
    i = np.arange(256, dtype=np.float32)
    step = 255.0 / (levels - 1)
    q = np.round(i / step) * step
    return _to_u8(soft * q + (1 - soft) * i)


_CARTOON_MAT = _sat_matrix(1.5, gain=(1.08, 1.08, 1.08), offset=(6, 6, 6))
_CARTOON_Q = _quant_lut(5, 1.0)


def _cartoon(video, seed):
    T = video.shape[0]
    p = 3
    x = _tall(_pad(video, p))
    x = cv2.medianBlur(x, 3)
    g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    e = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    keep = cv2.threshold(e, 36, 255, cv2.THRESH_BINARY_INV)[1]  # 0 on outlines
    x = cv2.transform(x, _CARTOON_MAT)
    x = cv2.LUT(x, _CARTOON_Q)
    x = cv2.min(x, cv2.cvtColor(keep, cv2.COLOR_GRAY2RGB))
    return _unpad(x, T, p)


# --------------------------------------------------------------------------------------------
# Neon: dark scene, edges glowing in saturated colours.
# --------------------------------------------------------------------------------------------

_NEON_SUM = np.full((1, 3), 0.45, np.float32)
_NEON_EDGE = _to_u8(np.clip((np.arange(256, dtype=np.float32) - 22) * 5.0, 0, 255))  # only clear edges glow
_NEON_TUBE = _sat_matrix(2.4, gain=(1.3, 1.3, 1.3), offset=(16, 16, 16))  # saturated, bright
_NEON_BG = _sat_matrix(1.2, gain=(0.14, 0.12, 0.2), offset=(2, 0, 8))  # the scene, in the dark


def _neon(video, seed):
    T, H, W, _ = video.shape
    p = min(8, H - 1)
    x = _tall(_pad(video, p))
    # edge strength: colour gradient (so red-on-green glows too), summed over channels
    e = cv2.transform(cv2.morphologyEx(cv2.blur(x, (3, 3)), cv2.MORPH_GRADIENT, None), _NEON_SUM)
    e = cv2.LUT(e, _NEON_EDGE)
    tubes = cv2.multiply(cv2.transform(x, _NEON_TUBE), cv2.cvtColor(e, cv2.COLOR_GRAY2RGB), scale=1.0 / 255)
    Hp = H + 2 * p
    tf = _frames(tubes, T)  # where padded frames meet, the false edge between them must not glow
    tf[:, :2] = 0
    tf[:, -2:] = 0
    if Hp % 4 == 0 and W % 4 == 0:  # blur at quarter resolution; frames stay apart
        small = cv2.resize(tubes, (W // 2, T * Hp // 2), interpolation=cv2.INTER_AREA)
        small = cv2.resize(small, (W // 4, T * Hp // 4), interpolation=cv2.INTER_AREA)
        for f in _frames(small, T):  # per frame: a 5×5 blur would reach past the 2-row pad
            cv2.GaussianBlur(f, (5, 5), 0, dst=f)
        glow = cv2.resize(small, (W, T * Hp), interpolation=cv2.INTER_LINEAR)
    else:  # any other size: blur each padded frame on its own
        glow = np.empty_like(tubes)
        for f, g in zip(tf, _frames(glow, T)):
            cv2.blur(cv2.blur(f, (9, 9)), (9, 9), dst=g)
    out = cv2.add(cv2.transform(x, _NEON_BG), tubes)
    out = cv2.addWeighted(out, 1.0, glow, 1.5, 0)
    return _unpad(out, T, p)


_STYLE_FNS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "oil painting": _oil,
    "van gogh": _vangogh,
    "watercolor": _watercolor,
    "pixel art": _pixel,
    "pencil sketch": _pencil,
    "metallic": _metallic,
    "cartoon": _cartoon,
    "neon": _neon,
}


def apply_style(video: np.ndarray, style: str, seed: int) -> np.ndarray:
    """Restyle a clip.

    Args:
        video: uint8 array (T, H, W, 3), RGB.
        style: one of `STYLES`.
        seed: chooses the canvas (strokes, paper, swirl field, palette); fixed over the clip.

    Returns:
        A new uint8 array of the same shape; for "none" the input itself.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; known styles: {', '.join(STYLES)}")
    video = np.asarray(video)
    if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"video must be uint8 (T, H, W, 3), got {video.dtype} {video.shape}")
    if style == "none":
        return video
    if video.shape[1] < 8 or video.shape[2] < 8:
        raise ValueError(f"video frames must be at least 8×8, got {video.shape[1]}×{video.shape[2]}")
    return _STYLE_FNS[style](np.ascontiguousarray(video), int(seed))
