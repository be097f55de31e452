"""Camera moves as a 2.5-D layered camera, and their recovery from pixels.

The world is a stack of flat layers, each at a depth. A camera move is a handful of per-frame
curves (zoom, forward travel, sideways/vertical travel, pan, roll); a layer at depth z then moves
by one affine map per frame, so the optical flow of every pixel is known exactly, and parallax
(near layers moving more than far ones) is what tells a crane from a tilt or an arc from a pan.

`estimate_camera(video)` goes the other way, from pixels alone: OpenCV Farneback flow on blurred,
half-size frames, pooled into a 4x4 grid of robust (median) motions for each half of the clip,
read by a one-hidden-layer network whose weights live in camera_classifier.json (fitted on
rendered clips by `python -m videopoet.world fit-camera`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videopoet.world.vocab import CAMERAS

FPS = 8
FRAMES = 17
# Depth of the plane the subjects stand in. Sideways camera travel is expressed as the shift it
# causes at this depth, so moves read the same in every scene.
SUBJECT_DEPTH = 0.5
CLASSIFIER_PATH = Path(__file__).with_name("camera_classifier.json")


@dataclass(frozen=True)
class CameraPath:
    """Per-frame camera curves over FRAMES + 1 timesteps (one past the last frame, for its flow)."""

    name: str
    zoom: np.ndarray  # focal-length factor
    forward: np.ndarray  # travel toward the scene, in depth units
    travel: np.ndarray  # (T+1, 2) sideways/vertical travel, in pixels of shift at SUBJECT_DEPTH
    pan: np.ndarray  # (T+1, 2) uniform image shift from turning the camera, in pixels
    roll: np.ndarray  # radians, about the image centre


def camera_path(name: str, rng: np.random.Generator, size: tuple[int, int]) -> CameraPath:
    """The curves of one named move, with a random speed so no two clips move identically."""
    if name not in CAMERAS:
        raise ValueError(f"unknown camera move {name!r}; known: {sorted(CAMERAS)}")
    steps = FRAMES + 1
    u = np.arange(steps, dtype=np.float64) / (FRAMES - 1)  # 0 .. 1.0625
    speed = rng.uniform(0.85, 1.2)
    # Ease in so a move starts from rest like a real operator would, yet is moving by frame 2.
    s = u - np.sin(2 * np.pi * u) / (2 * np.pi) * 0.35
    scale = min(size) / 128.0
    zoom = np.ones(steps)
    forward = np.zeros(steps)
    travel = np.zeros((steps, 2))
    pan = np.zeros((steps, 2))
    roll = np.zeros(steps)
    shift = 42.0 * speed * scale * s
    if name == "pan left":
        pan[:, 0] = shift
    elif name == "pan right":
        pan[:, 0] = -shift
    elif name == "tilt up":
        pan[:, 1] = shift
    elif name == "tilt down":
        pan[:, 1] = -shift
    elif name == "zoom in":
        zoom = np.exp(0.55 * speed * s)
    elif name == "zoom out":
        zoom = np.exp(0.55 * speed * (1.0 - s))
    elif name == "dolly zoom":
        # Travel toward the subject while widening the lens so the subject keeps its size:
        # the far background shrinks and the near ground swells (the "vertigo" effect).
        forward = 0.2 * speed * s
        zoom = (SUBJECT_DEPTH - forward) / SUBJECT_DEPTH
    elif name == "fpv drone shot":
        forward = 0.21 * speed * s
        travel[:, 1] = -6.0 * scale * np.sin(np.pi * u)
        roll = 0.04 * np.sin(2 * np.pi * u * 0.8)
    elif name == "crane shot":
        # Rise while tilting down to keep the subject framed: the ground below slides down the
        # frame, the distance rises up it — unlike a tilt, which moves everything together.
        travel[:, 1] = -46.0 * speed * scale * s
        pan[:, 1] = travel[:, 1]
    elif name == "arc shot":
        # Move sideways while turning to keep the subject centred: far things slide one way,
        # near things the other, the subject stays put.
        travel[:, 0] = 52.0 * speed * scale * s
        pan[:, 0] = travel[:, 0]
    elif name == "orbit":
        roll = 0.42 * speed * s
        travel[:, 0] = -14.0 * speed * scale * s
        pan[:, 0] = travel[:, 0]
    return CameraPath(name, zoom, forward, travel, pan, roll)


def layer_affines(path: CameraPath, depth: float, size: tuple[int, int], layer_size: tuple[int, int],
                  local: np.ndarray | None = None) -> np.ndarray:
    """(T+1, 2, 3) maps from a layer's pixel coordinates to screen pixels.

    `local` (T+1, 2, 3), optional, is the layer's own motion inside the world (a walking
    subject, drifting clouds), applied before the camera.
    """
    h, w = size
    lh, lw = layer_size
    z = max(depth, 1e-3)
    distance = np.maximum(z - path.forward, 0.05)
    s = path.zoom * z / distance
    shift = path.pan - path.travel * (SUBJECT_DEPTH / z)
    cos, sin = np.cos(path.roll), np.sin(path.roll)
    a = np.empty((len(s), 2, 3))
    # screen = C + R(roll) @ (s * (q - layer_centre) + shift)
    a[:, 0, 0] = s * cos
    a[:, 0, 1] = -s * sin
    a[:, 1, 0] = s * sin
    a[:, 1, 1] = s * cos
    cx, cy = lw / 2.0, lh / 2.0
    tx = -s * cx + shift[:, 0]
    ty = -s * cy + shift[:, 1]
    a[:, 0, 2] = cos * tx - sin * ty + w / 2.0
    a[:, 1, 2] = sin * tx + cos * ty + h / 2.0
    if local is not None:
        a = compose(a, local)
    return a


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer ∘ inner for stacks of 2x3 affine maps."""
    out = np.empty(np.broadcast_shapes(outer.shape, inner.shape))
    out[..., :2] = outer[..., :2] @ inner[..., :2]
    out[..., 2] = (outer[..., :2] @ inner[..., 2:3])[..., 0] + outer[..., 2]
    return out


def step_maps(affines: np.ndarray) -> np.ndarray:
    """(T, 2, 3) maps taking a screen point at frame t to where it is at frame t+1."""
    lin = affines[:, :, :2]
    inv = np.linalg.inv(lin[:-1])
    m = lin[1:] @ inv
    b = affines[1:, :, 2] - (m @ affines[:-1, :, 2:3])[..., 0]
    return np.concatenate([m, b[..., None]], axis=-1)


@functools.cache
def pixel_grid(h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # Pixel centres, matching cv2.warpAffine's convention of integer coordinates at centres.
    return np.stack([xs, ys], axis=-1)


def affine_flow(step: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H, W, 2) flow of one step map over the pixel grid."""
    g = pixel_grid(h, w)
    m = step.astype(np.float32)
    fx = g[..., 0] * (m[0, 0] - 1) + g[..., 1] * m[0, 1] + m[0, 2]
    fy = g[..., 0] * m[1, 0] + g[..., 1] * (m[1, 1] - 1) + m[1, 2]
    return np.stack([fx, fy], axis=-1)


# ---------------------------------------------------------------------------------------------
# From pixels back to the move.

GRID = 4
# Flow is measured on blurred, half-size frames: styles paint a canvas texture that stays put
# while the scene moves, and at full resolution that texture's "no motion" outvotes the scene.
BLUR_SIGMA = 2.0
FLOW_SCALE = 0.5


def dense_flow(gray: list[np.ndarray]) -> np.ndarray:
    """(T-1, H, W, 2) Farneback flow of each grey frame to the next, in pixels (x then y): the
    same convention as Sample.flow, for clips whose true motion nobody knows (real footage)."""
    import cv2

    return np.stack([cv2.calcOpticalFlowFarneback(gray[t], gray[t + 1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
                     for t in range(len(gray) - 1)])


def coarse_gray(gray: list[np.ndarray]) -> list[np.ndarray]:
    """Blurred, half-size grey frames: what camera-motion flow is measured on (see FLOW_SCALE)."""
    import cv2

    h, w = gray[0].shape
    small = (max(8, int(w * FLOW_SCALE)), max(8, int(h * FLOW_SCALE)))
    return [cv2.resize(cv2.GaussianBlur(g, (0, 0), BLUR_SIGMA), small, interpolation=cv2.INTER_AREA) for g in gray]


def flow_features(video: np.ndarray) -> np.ndarray:
    """Camera-motion features of a clip from its pixels: per-cell median Farneback flow.

    Cells of a 4x4 grid, each the median over pixels and time of the flow between frames two
    apart, for the first and second half of the clip, in pixels per frame at 128 px. Medians keep
    a moving subject or falling rain from swaying the estimate of the camera.
    """
    import cv2

    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[0] < 5 or frames.shape[-1] != 3:
        raise ValueError("estimate_camera needs an RGB clip of at least 5 frames, shape (T, H, W, 3)")
    h, w = frames.shape[1:3]
    gray = coarse_gray([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    flow = np.stack([cv2.calcOpticalFlowFarneback(gray[t], gray[t + 2], None, 0.5, 3, 9, 3, 5, 1.1, 0)
                     for t in range(0, len(gray) - 2, 2)])
    flow *= 128.0 / (min(h, w) * FLOW_SCALE * 2)
    _, fh, fw, _ = flow.shape
    cells = []
    for half in np.array_split(flow, 2):
        for r in range(GRID):
            for c in range(GRID):
                block = half[:, r * fh // GRID:(r + 1) * fh // GRID, c * fw // GRID:(c + 1) * fw // GRID]
                cells.append(np.median(block.reshape(-1, 2), axis=0))
    return np.concatenate(cells).astype(np.float64)


@functools.cache
def _classifier() -> dict:
    with open(CLASSIFIER_PATH) as f:
        data = json.load(f)
    return {"labels": data["labels"], "mean": np.array(data["mean"]), "std": np.array(data["std"]),
            "layers": [(np.array(w), np.array(b)) for w, b in data["layers"]]}


def _logits(model: dict, features: np.ndarray) -> np.ndarray:
    x = (features - model["mean"]) / model["std"]
    for i, (w, b) in enumerate(model["layers"]):
        x = x @ w + b
        if i < len(model["layers"]) - 1:
            x = np.tanh(x)
    return x


def estimate_camera(video: np.ndarray) -> tuple[str, dict[str, float]]:
    """The camera move most likely to have produced `video`, and the probability of each."""
    model = _classifier()
    logits = _logits(model, flow_features(video))
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return model["labels"][int(np.argmax(p))], dict(zip(model["labels"], p.tolist()))


def fit_camera_classifier(features: np.ndarray, labels: list[str], hidden: int = 64, steps: int = 3000,
                          lr: float = 0.01, l2: float = 1e-3, seed: int = 0) -> dict:
    """A one-hidden-layer network (tanh) fitted by full-batch Adam in numpy; seconds on a CPU."""
    names = list(CAMERAS)
    y = np.array([names.index(label) for label in labels])
    mean, std = features.mean(0), features.std(0) + 1e-6
    x = (features - mean) / std
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), (hidden, len(names))), np.zeros(len(names))]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    onehot = np.eye(len(names))[y]
    for step in range(1, steps + 1):
        h = np.tanh(x @ params[0] + params[1])
        logits = h @ params[2] + params[3]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g_logits = (p - onehot) / len(x)
        g_h = g_logits @ params[2].T * (1 - h ** 2)
        grads = [x.T @ g_h + l2 * params[0], g_h.sum(0), h.T @ g_logits + l2 * params[2], g_logits.sum(0)]
        for param, grad, (m, v) in zip(params, grads, moments):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad ** 2
            param -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    model = {"labels": names, "mean": mean.tolist(), "std": std.tolist(),
             "layers": [[params[0].tolist(), params[1].tolist()], [params[2].tolist(), params[3].tolist()]]}
    predicted = _logits({**model, "mean": mean, "std": std,
                         "layers": [(params[0], params[1]), (params[2], params[3])]}, features).argmax(1)
    model["train_accuracy"] = float((predicted == y).mean())
    model["n"] = int(len(y))
    return model
