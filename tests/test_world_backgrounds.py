"""The world's backgrounds: layer conventions, texture everywhere, depth from pixels, distinctness,
determinism and speed."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from videopoet.world import backgrounds as bgs
from videopoet.world import camera
from videopoet.world.backgrounds import GROUND_TOP, VARIANTS, background_layers, composite_frame0
from videopoet.world.camera import SUBJECT_DEPTH, CameraPath, layer_affines
from videopoet.world.layers import SKY_DEPTH, STEPS, Layer, layer_size
from videopoet.world.vocab import BACKGROUNDS

NAMES = list(BACKGROUNDS)
SIZES = [(128, 128), (224, 128)]


def _render(layers: list[Layer], size, path: CameraPath, frames: int = 9):
    """A minimal layered renderer (what the world's renderer does, minus subjects and effects):
    the first `frames` frames (T, H, W, 3) uint8, and how much of each pixel the layers cover.
    The test paths move at a constant rate, so half a clip shows all there is to see."""
    h, w = size
    video = np.zeros((frames, h, w, 3), np.float32)
    cover = np.zeros((frames, h, w), np.float32)
    for layer in layers:
        aff = layer_affines(path, layer.depth, size, layer.rgba.shape[:2], layer.local)
        for t in range(frames):
            img = cv2.warpAffine(layer.rgba, aff[t], (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT).astype(np.float32)
            a = img[..., 3] / 255.0
            video[t] = video[t] * (1 - a[..., None]) + img[..., :3] * a[..., None]
            cover[t] = cover[t] * (1 - a) + a
    return np.clip(video + 0.5, 0, 255).astype(np.uint8), cover


def _path(pan=(0.0, 0.0), travel=(0.0, 0.0)) -> CameraPath:
    """A camera moving at a constant rate: `pan` and `travel` in px per frame."""
    t = np.arange(STEPS, dtype=np.float64)[:, None]
    return CameraPath("test", np.ones(STEPS), np.zeros(STEPS), t * np.array(travel), t * np.array(pan), np.zeros(STEPS))


# How the camera-move classifier looks at motion: Farneback flow between frames two apart, on
# frames it may first blur and shrink, pooled by median over a grid of cells. Checked both at
# full resolution on a 3x3 grid and with the classifier's own preprocessing.
PIPELINES = {
    "full": (0.0, 1.0, 3),
    "classifier": (getattr(camera, "BLUR_SIGMA", 0.0), getattr(camera, "FLOW_SCALE", 1.0), getattr(camera, "GRID", 3)),
}


def _cell_flow(video: np.ndarray, blur: float = 0.0, scale: float = 1.0, grid: int = 3) -> np.ndarray:
    """(grid, grid, 2) median flow per cell, in screen px per frame."""
    h, w = video.shape[1:3]
    gray = []
    for frame in video:
        g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if blur:
            g = cv2.GaussianBlur(g, (0, 0), blur)
        if scale != 1.0:
            g = cv2.resize(g, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        gray.append(g)
    flow = np.stack([cv2.calcOpticalFlowFarneback(gray[t], gray[t + 2], None, 0.5, 3, 13 if scale == 1 else 9, 3, 5, 1.1, 0)
                     for t in range(0, len(gray) - 2, 2)]) / (2 * scale)
    fh, fw = flow.shape[1:3]
    return np.array([[np.median(flow[:, r * fh // grid:(r + 1) * fh // grid, c * fw // grid:(c + 1) * fw // grid].reshape(-1, 2), axis=0)
                      for c in range(grid)] for r in range(grid)])


def test_tables_agree():
    assert set(GROUND_TOP) == set(BACKGROUNDS)
    assert all(0.3 < v < 0.95 for v in GROUND_TOP.values())
    assert VARIANTS >= 4
    with pytest.raises(ValueError):
        background_layers("the moon", (128, 128), 0)
    with pytest.raises(ValueError):
        background_layers("mars", (128, 128), VARIANTS)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", NAMES)
def test_layer_conventions(name, size):
    lh, lw = layer_size(size)
    for variant in (0, 1, VARIANTS - 1):
        layers = background_layers(name, size, variant)
        assert 3 <= len(layers) <= 10
        depths = [layer.depth for layer in layers]
        assert all(a >= b for a, b in zip(depths, depths[1:])), f"{name}: depths not far -> near: {depths}"
        far = layers[0]
        assert far.depth >= 1.2 and (far.depth == SKY_DEPTH or far.depth <= 1.5)
        assert far.rgba[..., 3].min() == 255, f"{name}: the farthest layer must be opaque everywhere"
        assert depths[-1] <= 0.42, f"{name}: no near ground layer in front of the subject plane"
        assert min(depths) < SUBJECT_DEPTH < max(depths)
        for layer in layers:
            assert isinstance(layer, Layer) and layer.name
            assert layer.rgba.dtype == np.uint8 and layer.rgba.shape == (lh, lw, 4)
            assert not layer.rgba.flags.writeable
            assert layer.rgba[..., 3].max() > 0, f"{name}/{layer.name} is empty"
            if layer.local is not None:
                assert layer.local.shape == (STEPS, 2, 3) and np.isfinite(layer.local).all()
                assert not layer.local.flags.writeable
            if layer.tint is not None:
                assert layer.tint.shape == (STEPS, 4) and np.isfinite(layer.tint).all()
                assert np.all(layer.tint[:, 3] == 1.0) and layer.tint[:, :3].min() >= 0


def test_animated_parts():
    """Clouds, swirls, waves, waterfall, river and nebulae move on their own, gently; billboards
    and the forge flicker."""
    moving = {name: [l.name for l in background_layers(name, (128, 128), 0) if l.local is not None] for name in NAMES}
    tinted = {name: [l.name for l in background_layers(name, (128, 128), 0) if l.tint is not None] for name in NAMES}
    for name in ("starry night", "stormy sea", "nebula", "sunny beach", "jungle city", "grassy meadow", "snowy mountain"):
        assert moving[name], name
    assert sum("swirl" in n for n in moving["starry night"]) >= 2
    assert any("waterfall" in n for n in moving["jungle city"]) and any("river" in n for n in moving["jungle city"])
    assert sum("wave" in n for n in moving["stormy sea"]) >= 2
    assert len(tinted["times square"]) >= 3 and len(tinted["forge"]) >= 1
    for t in tinted["times square"]:
        tint = next(l.tint for l in background_layers("times square", (128, 128), 0) if l.name == t)
        assert tint[:, :3].max() - tint[:, :3].min() > 0.3, "billboards must visibly flash"

    for size in SIZES:
        h, w = size
        lh, lw = layer_size(size)
        # Points of each layer that are on screen at frame 0 (the central part of the layer).
        ys, xs = np.mgrid[(lh - h) / 2:(lh + h) / 2:8, (lw - w) / 2:(lw + w) / 2:8]
        pts = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
        for name in NAMES:
            for variant in (0, 1):
                for layer in background_layers(name, size, variant):
                    if layer.local is None:
                        continue
                    seen = layer.rgba[ys.ravel().astype(int), xs.ravel().astype(int), 3] > 0
                    p = layer.local @ pts  # (STEPS, 2, N)
                    step = np.linalg.norm(np.diff(p, axis=0), axis=1)[:, seen]
                    assert step.size == 0 or step.max() <= 1.5 + 1e-6, f"{name}/{layer.name} moves {step.max():.2f} px/frame"
                    assert np.abs(p - p[:1]).max() > 0.5, f"{name}/{layer.name} barely moves"


def _texture(img: np.ndarray) -> np.ndarray:
    """Mean absolute Laplacian of the grey image in each cell of a 3x3 grid."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = np.abs(cv2.Laplacian(g, cv2.CV_32F, ksize=1))
    h, w = g.shape
    return np.array([[lap[r * h // 3:(r + 1) * h // 3, c * w // 3:(c + 1) * w // 3].mean() for c in range(3)] for r in range(3)])


def _mid_texture(img: np.ndarray, grid: int = 4) -> np.ndarray:
    """Per cell, the weaker of the mean |x| and |y| gradients after a blur of 2 px and halving:
    texture coarse enough to survive the classifier's preprocessing, in both directions."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    h, w = g.shape
    g = cv2.resize(cv2.GaussianBlur(g, (0, 0), 2.0), (w // 2, h // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
    gx = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)) / 8
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8
    fh, fw = g.shape
    cell = lambda a, r, c: a[r * fh // grid:(r + 1) * fh // grid, c * fw // grid:(c + 1) * fw // grid].mean()  # noqa: E731
    return np.array([[min(cell(gx, r, c), cell(gy, r, c)) for c in range(grid)] for r in range(grid)])


@pytest.mark.parametrize("size", SIZES)
def test_texture_in_every_cell(size):
    for name in NAMES:
        for variant in range(VARIANTS):
            img = composite_frame0(background_layers(name, size, variant), size)
            tex = _texture(img)
            assert tex.min() > 2.0, f"{name} v{variant}: flat cell(s), local contrast {np.round(tex, 1).tolist()}"
            mid = _mid_texture(img)
            assert mid.min() > 0.5, f"{name} v{variant}: too little coarse texture {np.round(mid, 2).tolist()}"
            # No large flat patch anywhere: every 8x8 block varies.
            g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
            h, w = g.shape
            blocks = g[: h // 8 * 8, : w // 8 * 8].reshape(h // 8, 8, w // 8, 8)
            spread = blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))
            assert (spread >= 3).mean() > 0.97, f"{name} v{variant}: flat 8x8 blocks"


@pytest.mark.parametrize("size", SIZES)
def test_optical_flow_follows_a_pan_in_every_cell(size):
    """Farneback flow must see a pan and a tilt in every cell, at full resolution and through the
    classifier's preprocessing, and no layer may leave a hole while the camera moves."""
    rate = 1.9  # px per frame, about the speed of a slow pan in the world
    for name in NAMES:
        layers = background_layers(name, size, 0)
        for pan in ((rate, 0.0), (0.0, -rate)):
            video, cover = _render(layers, size, _path(pan=pan))
            assert cover.min() > 0.98, f"{name}: a hole opens during a pan"
            for pipe, (blur, scale, grid) in PIPELINES.items():
                cells = _cell_flow(video, blur, scale, grid)
                err = np.linalg.norm(cells - np.array(pan), axis=-1) / rate
                assert err.max() < 0.45, f"{name} pan {pan} ({pipe}): per-cell flow error {np.round(err, 2).tolist()}"


@pytest.mark.parametrize("size", SIZES)
def test_bottom_is_near_top_is_far(size):
    """Seen from pixels: rising on a crane, the bottom of the frame moves much more than the top;
    travelling sideways, top and bottom move apart. Also the visible depth at frame 0 falls from
    the top row to the bottom row."""
    for name in NAMES:
        layers = background_layers(name, size, 0)
        video, cover = _render(layers, size, _path(travel=(0.0, -1.6)))
        assert cover.min() > 0.98, f"{name}: a hole opens during a crane move"
        v = _cell_flow(video)[..., 1]
        assert v[2].mean() > 1.6 * v[0].mean() > 0, f"{name}: crane shows no parallax {np.round(v, 2).tolist()}"
        video, _ = _render(layers, size, _path(pan=(1.6, 0.0), travel=(1.6, 0.0)))
        u = _cell_flow(video)[..., 0]
        assert u[0].mean() - u[2].mean() > 0.5, f"{name}: arc shows no parallax {np.round(u, 2).tolist()}"

        # Depth of the nearest layer that covers each pixel at frame 0.
        h, w = size
        lh, lw = layer_size(size)
        y0, x0 = int(round((lh - h) / 2)), int(round((lw - w) / 2))
        depth = np.full((h, w), np.inf)
        for layer in layers:
            a = layer.rgba[y0:y0 + h, x0:x0 + w, 3] > 127
            depth[a] = layer.depth
        assert np.median(depth[0]) >= 0.8 and np.median(depth[-1]) <= 0.45, name
        row = int(min(h - 1, (GROUND_TOP[name] + 0.06) * h))
        assert np.median(depth[row]) < SUBJECT_DEPTH + 0.3, f"{name}: no ground just below GROUND_TOP"


@pytest.mark.parametrize("size", SIZES)
def test_backgrounds_are_distinct(size):
    imgs = {n: composite_frame0(background_layers(n, size, 0), size).astype(np.float32) for n in NAMES}
    for i, a in enumerate(NAMES):
        for b in NAMES[i + 1:]:
            d = np.abs(imgs[a] - imgs[b]).mean()
            assert d > 20, f"{a} and {b} look alike (mean abs diff {d:.1f})"
    # Variants differ but keep their identity: each variant is closer to its own background's
    # other variants than to any other background (nearest centroid on small thumbnails).
    thumbs = {n: [cv2.resize(composite_frame0(background_layers(n, size, v), size), (8, 8), interpolation=cv2.INTER_AREA)
                  .astype(np.float32).ravel() for v in range(VARIANTS)] for n in NAMES}
    right = 0
    for n in NAMES:
        for v in range(VARIANTS):
            assert np.abs(thumbs[n][v] - thumbs[n][(v + 1) % VARIANTS]).mean() > 1.0, f"{n}: variants {v} and {v + 1} identical"
            cents = {m: np.mean([t for k, t in enumerate(thumbs[m]) if not (m == n and k == v)], axis=0) for m in NAMES}
            right += min(cents, key=lambda m: np.abs(thumbs[n][v] - cents[m]).mean()) == n
    assert right / (len(NAMES) * VARIANTS) >= 0.95


def test_deterministic_cached_and_fast():
    bgs._build.cache_clear()
    first = background_layers("jungle city", (224, 128), 2)
    t = time.perf_counter()
    again = background_layers("jungle city", (224, 128), 2)
    assert time.perf_counter() - t < 1e-3
    assert all(a is b for a, b in zip(first, again))
    with pytest.raises(ValueError):
        first[0].rgba[0, 0, 0] = 1  # shared arrays are read-only
    bgs._build.cache_clear()
    rebuilt = background_layers("jungle city", (224, 128), 2)
    assert [l.name for l in rebuilt] == [l.name for l in first]
    for a, b in zip(first, rebuilt):
        assert np.array_equal(a.rgba, b.rgba) and a.depth == b.depth
        assert (a.local is None) == (b.local is None) and (a.local is None or np.array_equal(a.local, b.local))
    other = background_layers("jungle city", (224, 128), 3)
    assert not np.array_equal(other[0].rgba, first[0].rgba)

    # Uncached builds are cheap (the budget is 30 ms; the bound here leaves room for busy CI).
    background_layers("snowy mountain", (224, 128), 0)  # noise bank for this size is warm
    worst = 0.0
    for name in NAMES:
        bgs._build.cache_clear()
        t = time.process_time()
        background_layers(name, (224, 128), 4)
        worst = max(worst, time.process_time() - t)
    assert worst < 0.1, f"slowest uncached build took {worst * 1e3:.0f} ms"
