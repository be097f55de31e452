"""Tests for videopoet.world.styles: API, look, temporal stability and speed of every style."""

import itertools
import time

import cv2
import numpy as np
import pytest

from videopoet.world import styles as styles_module
from videopoet.world.styles import STYLES, apply_style

SIZES = ((128, 128), (224, 128))  # (H, W), as the world renders
STYLED = STYLES[1:]


def scene_clip(H: int, W: int, T: int = 17) -> np.ndarray:
    """A colourful drawn clip: gradient sky, sun, hill, house, and a figure walking 2 px/frame."""
    frames = []
    s = min(H, W) / 128
    for t in range(T):
        img = np.zeros((H, W, 3), np.uint8)
        y = np.linspace(0, 1, H, dtype=np.float32)[:, None]
        sky = (1 - y) * np.array([40, 90, 200], np.float32) + y * np.array([250, 170, 120], np.float32)
        img[:] = sky[:, None, :].astype(np.uint8)
        cv2.circle(img, (int(W * 0.78), int(H * 0.22)), int(14 * s), (255, 220, 40), -1, cv2.LINE_AA)
        cv2.rectangle(img, (0, int(H * 0.7)), (W, H), (60, 150, 60), -1)
        cv2.rectangle(img, (int(W * 0.1), int(H * 0.55)), (int(W * 0.32), int(H * 0.75)), (200, 60, 50), -1)
        fx, fy = int(W * 0.45) + 2 * t, int(H * 0.6)
        cv2.circle(img, (fx, fy - int(18 * s)), int(7 * s), (240, 190, 150), -1, cv2.LINE_AA)
        cv2.line(img, (fx, fy - int(11 * s)), (fx, fy + int(12 * s)), (30, 60, 180), 4, cv2.LINE_AA)
        cv2.line(img, (fx, fy + int(12 * s)), (fx - int(7 * s), fy + int(26 * s)), (40, 40, 40), 3, cv2.LINE_AA)
        cv2.circle(img, (int(W * 0.8) - t, int(H * 0.86)), int(8 * s), (230, 30, 40), -1, cv2.LINE_AA)
        frames.append(img)
    return np.stack(frames)


def square_clip(H: int, W: int, T: int = 17, speed: int = 2, size: int = 48):
    """A randomly textured square translating `speed` px/frame to the right over a flat backdrop."""
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
    tex = cv2.GaussianBlur(cv2.resize(tex, (size, size), interpolation=cv2.INTER_CUBIC), (0, 0), 1.0)
    video = np.full((T, H, W, 3), 110, np.uint8)
    y0 = (H - size) // 2
    for t in range(T):
        x0 = 20 + speed * t
        video[t, y0 : y0 + size, x0 : x0 + size] = tex
    return video, y0


@pytest.fixture(scope="module")
def clips():
    return {size: scene_clip(*size) for size in SIZES}


@pytest.fixture(scope="module")
def styled(clips):
    return {(size, s): apply_style(clips[size], s, 3) for size in SIZES for s in STYLES}


def test_styles_tuple():
    assert STYLES == ("none", "oil painting", "van gogh", "watercolor", "pixel art", "pencil sketch",
                      "metallic", "cartoon", "neon")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("style", STYLES)
def test_shape_dtype(styled, clips, size, style):
    out = styled[(size, style)]
    assert out.shape == clips[size].shape == (17, *size, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous


@pytest.mark.parametrize("shape", [(1, 37, 50, 3), (2, 8, 8, 3), (3, 130, 66, 3)])
def test_odd_sizes(shape):
    """Any frame size ≥ 8×8 works, and a still clip stays still (no texture or glow leaks between frames)."""
    frame = np.random.default_rng(1).integers(0, 256, shape[1:], dtype=np.uint8)
    video = np.repeat(frame[None], shape[0], 0)
    for s in STYLES:
        out = apply_style(video, s, 11)
        assert out.shape == shape and out.dtype == np.uint8, s
        assert (out == out[:1]).all(), s


def test_none_is_identity(clips):
    video = clips[(128, 128)]
    before = video.copy()
    out = apply_style(video, "none", 5)
    assert out is video
    np.testing.assert_array_equal(out, before)


def test_input_not_modified(clips):
    video = clips[(128, 128)]
    before = video.copy()
    for s in STYLED:
        apply_style(video, s, 1)
    np.testing.assert_array_equal(video, before)


def test_deterministic(clips):
    video = clips[(224, 128)]
    for s in STYLED:
        a = apply_style(video, s, 42)
        styles_module._cache.clear()  # rebuilt canvases must be identical too
        b = apply_style(video.copy(), s, 42)
        np.testing.assert_array_equal(a, b, err_msg=s)


def test_static_clip_does_not_flicker(clips):
    """Canvas textures are fixed over a clip: a still scene gives identical styled frames."""
    still = np.repeat(clips[(128, 128)][:1], 4, 0)
    for s in STYLED:
        out = apply_style(still, s, 5)
        assert (out == out[:1]).all(), s


def test_seed_changes_canvas(clips):
    video = clips[(128, 128)]
    for s in ("oil painting", "van gogh", "watercolor", "pixel art", "pencil sketch", "metallic"):
        a, b = apply_style(video, s, 0), apply_style(video, s, 1)
        assert np.abs(a.astype(int) - b).mean() > 1.0, s


def test_unknown_style_raises():
    video = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError) as err:
        apply_style(video, "cubism", 0)
    for s in STYLES:
        assert s in str(err.value)


@pytest.mark.parametrize("bad", [np.zeros((2, 16, 16, 3), np.float32), np.zeros((16, 16, 3), np.uint8),
                                 np.zeros((2, 16, 16, 4), np.uint8)])
def test_bad_video_raises(bad):
    with pytest.raises(ValueError):
        apply_style(bad, "cartoon", 0)


@pytest.mark.parametrize("size", SIZES)
def test_each_style_changes_image(styled, clips, size):
    for s in STYLED:
        diff = np.abs(styled[(size, s)].astype(np.int16) - clips[size]).mean()
        assert diff > 12, (s, diff)


@pytest.mark.parametrize("size", SIZES)
def test_styles_differ_pairwise(styled, size):
    for a, b in itertools.combinations(STYLED, 2):
        diff = np.abs(styled[(size, a)].astype(np.int16) - styled[(size, b)]).mean()
        assert diff > 12, (a, b, diff)


@pytest.mark.parametrize("size", SIZES)
def test_silhouette_survives(styled, size):
    """The house's left wall is still a visible edge, stronger than the style's own texture nearby."""
    H, W = size
    rows, x1 = slice(int(H * 0.58), int(H * 0.68)), int(W * 0.1)
    for s in STYLED:
        gray = cv2.cvtColor(styled[(size, s)][0], cv2.COLOR_RGB2GRAY).astype(np.float32)
        gx = np.abs(cv2.Sobel(cv2.GaussianBlur(gray, (0, 0), 2), cv2.CV_32F, 1, 0))
        wall = gx[rows, x1 - 2 : x1 + 3].max(1).mean()
        inside = gx[rows, x1 + 8 : x1 + 18].max(1).mean()
        assert wall > 15 and wall > 1.3 * inside, (s, wall, inside)


@pytest.mark.parametrize("size", SIZES)
def test_colours_survive(styled, size):
    """Painterly styles keep a red house red, grass green and the top of the sky blue."""
    H, W = size
    house = styled[(size, "none")][:, int(H * 0.58) : int(H * 0.72), int(W * 0.13) : int(W * 0.29)]
    assert house.mean((0, 1, 2))[0] > 150
    for s in ("oil painting", "van gogh", "watercolor", "pixel art", "cartoon"):
        out = styled[(size, s)].astype(np.float32)
        r, g, b = out[:, int(H * 0.58) : int(H * 0.72), int(W * 0.13) : int(W * 0.29)].mean((0, 1, 2))
        assert r > g + 20 and r > b + 20, (s, "house", r, g, b)
        r, g, b = out[:, int(H * 0.9) :, int(W * 0.4) : int(W * 0.6)].mean((0, 1, 2))
        assert g > r + 20 and g > b, (s, "grass", r, g, b)
        r, g, b = out[:, : int(H * 0.1)].mean((0, 1, 2))
        assert b > r + 20, (s, "sky", r, g, b)


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ga, gb = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (a, b))
    return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("style", [s for s in STYLES if s != "pixel art"])
def test_motion_survives(size, style):
    video, y0 = square_clip(*size)
    out = apply_style(video, style, 7)
    vectors = []
    for t in range(0, 16, 3):
        flow = _farneback(out[t], out[t + 1])
        x0 = 20 + 2 * t
        vectors.append(flow[y0 + 8 : y0 + 40, x0 + 8 : x0 + 40].reshape(-1, 2))
    median = np.median(np.concatenate(vectors), 0)
    assert abs(median[0] - 2.0) < 0.75 and abs(median[1]) < 0.75, (style, median)


@pytest.mark.parametrize("size", SIZES)
def test_pixel_art_motion_is_block_shift(size):
    """2 px/frame on a 4 px grid: two frames later the square's blocks have moved by exactly one block."""
    video, y0 = square_clip(*size)
    out = apply_style(video, "pixel art", 7).astype(np.int16)
    for t in range(0, 14, 3):
        x0 = 20 + 2 * t
        x0 += -x0 % 4  # block-aligned window inside the square
        rows = slice(y0 + 8 - (y0 + 8) % 4, y0 + 40 - (y0 + 40) % 4)
        now = out[t, rows, x0 + 4 : x0 + 36]
        shifted = out[t + 2, rows, x0 + 8 : x0 + 40]
        still = out[t + 2, rows, x0 + 4 : x0 + 36]
        assert np.abs(now - shifted).mean() < 1.0
        assert np.abs(now - still).mean() > 10


@pytest.mark.parametrize("size", SIZES)
def test_pixel_art_palette_and_blocks(styled, size):
    out = styled[(size, "pixel art")]
    rgb = out.reshape(-1, 3).astype(np.int32)
    assert len(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])) <= 16
    T, H, W, _ = out.shape
    blocks = out.reshape(T, H // 4, 4, W // 4, 4, 3)
    assert (blocks == blocks[:, :, :1, :, :1]).all()


@pytest.mark.parametrize("size", SIZES)
def test_pencil_is_grayscale(styled, size):
    out = styled[(size, "pencil sketch")].astype(np.int16)
    spread = out.max(-1) - out.min(-1)
    assert spread.max() <= 12 and spread.mean() < 10


@pytest.mark.parametrize("seed", range(8))
def test_metallic_is_gray_or_bronze(clips, seed):
    out = apply_style(clips[(128, 128)], "metallic", seed).reshape(-1, 128, 3)
    chroma = (out.max(-1).astype(np.int16) - out.min(-1)).mean()
    if chroma > 25:  # coloured metal: bronze / gold hues (orange to yellow, 15°–55°)
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3).astype(np.float32)
        hue_deg = hsv[hsv[:, 1] > 50, 0] * 360 / 256
        assert 15 < np.median(hue_deg) < 55, np.median(hue_deg)
    else:  # chrome / steel: nearly neutral
        assert chroma < 20, chroma


def test_speed():
    """Median apply_style time on a 17×128×128 clip is well under budget (8 ms) for every style.

    Wall time (perf_counter) is what counts; on a shared machine that is busy with other work, the
    process's own CPU time per call stands in for it, since waiting for a core is not our cost.
    """
    video = scene_clip(128, 128)
    for s in STYLED:
        apply_style(video, s, 9)  # warm-up: builds and caches the canvas
        best = np.inf
        for _attempt in range(3):  # a busy machine may slow one round; the best round counts
            wall, cpu = [], []
            for _ in range(10):
                t0, c0 = time.perf_counter(), time.process_time()
                apply_style(video, s, 9)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            best = min(best, float(np.median(wall)), float(np.median(cpu)))
            if best < 0.008:
                break
        assert best < 0.008, (s, best)
