"""The structure video that stylization conditions on: optical flow and depth in three channels.

VideoPoet stylizes a clip by feeding the LM the clip's motion and shape (RAFT flow and MiDaS depth,
normalised into a 3-channel video and tokenized by the ordinary video tokenizer), plus the text of
the wanted look. We do the same with the renderer's exact flow and depth at training time and with
OpenCV flow and our small depth estimator on an uploaded clip.

Channels: red = horizontal flow, green = vertical flow (pixels per frame, squashed by tanh so that
slow and fast motion both stay visible, 128 = still), blue = inverse depth scaled to 0..255 within
the clip (relative, as MiDaS gives it, so a rendered and an estimated depth look alike; unknown
depth is 0).

    structure = structure_video(sample.depth, sample.flow)   # a world clip: the renderer's own
    structure = structure_from_video(frames)                 # any clip: Farneback + DepthEstimator
"""

from __future__ import annotations

import functools

import numpy as np

FLOW_SCALE_PX = 8.0  # a flow of this many pixels per frame maps to tanh(1) of the channel's range


def structure_video(depth: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """depth (T, H, W) distances, flow (T, H, W, 2) pixels per frame -> uint8 (T, H, W, 3)."""
    depth = np.asarray(depth, np.float32)
    flow = np.asarray(flow, np.float32)
    if depth.ndim != 3 or flow.shape != (*depth.shape, 2):
        raise ValueError(f"structure needs depth (T, H, W) and flow (T, H, W, 2), got {depth.shape} and {flow.shape}")
    motion = 127.5 + 127.5 * np.tanh(flow / FLOW_SCALE_PX)
    return np.concatenate([motion, _nearness(depth)[..., None]], axis=-1).round().clip(0, 255).astype(np.uint8)


def _nearness(depth: np.ndarray) -> np.ndarray:
    # Real footage has no depth (NaN): it reads as far, like the sky, rather than poisoning the clip.
    known = np.isfinite(depth) & (depth > 0)
    if not known.any():
        return np.zeros(depth.shape, np.float32)
    nearness = np.where(known, 1.0 / np.maximum(np.where(known, depth, 1.0), 1e-3), np.nan)
    low, high = float(np.nanmin(nearness)), float(np.nanmax(nearness))
    return np.nan_to_num((nearness - low) / max(high - low, 1e-6) * 255.0, nan=0.0)


def depth_channel(depth: np.ndarray) -> np.ndarray:
    """The blue channel `structure_video` makes of depth (T, H, W), before rounding: float 0..255."""
    return _nearness(np.asarray(depth, np.float32))


def depth_from_disparity(disparity: np.ndarray) -> np.ndarray:
    """Relative inverse depth of a clip (any scale and shift, larger = nearer) -> positive distances
    whose `depth_channel` is exactly the disparity min-max normalised over the clip."""
    disparity = np.asarray(disparity, np.float32)
    return 1.0 / (disparity - disparity.min() + 1.0)


def estimated_depth(frames: np.ndarray, depth_model=None) -> np.ndarray:
    """uint8 (T, H, W, 3) -> (T, H, W) float32 distances estimated by `depth_model` (a
    videopoet.model.depth.DepthEstimator; None: the shipped one), frame by frame, in the form
    `structure_video` takes."""
    model = depth_model if depth_model is not None else load_depth_estimator()
    return depth_from_disparity(model.predict(frames))


def structure_from_video(frames: np.ndarray, depth_model=None) -> np.ndarray:
    """The structure video of any clip: uint8 (T, H, W, 3) RGB, T >= 2 -> uint8 (T, H, W, 3).

    Flow: OpenCV Farneback between consecutive frames (`videopoet.world.camera.dense_flow`, the
    settings real footage in the world's datasets gets), flow[t] = motion from frame t to t+1. The
    renderer's last flow is the motion one step past the clip; with no frame there to look at, the
    last frame repeats the previous flow (constant velocity), as the world's real video crops do.
    Depth: `depth_model` (a DepthEstimator; None: the shipped weights) on every frame.
    """
    import cv2

    from videopoet.world.camera import dense_flow

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 2:
        raise ValueError(f"structure_from_video needs an RGB clip (T >= 2, H, W, 3), got {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"structure_from_video needs uint8 frames, got {frames.dtype}")
    flow = np.empty((*frames.shape[:3], 2), np.float32)
    flow[:-1] = dense_flow([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    flow[-1] = flow[-2]
    return structure_video(estimated_depth(frames, depth_model), flow)


@functools.lru_cache(maxsize=1)
def load_depth_estimator():
    """The shipped depth estimator (weights/depth_estimator), loaded once, on the CPU, in eval mode."""
    from videopoet.errors import VideoPoetError
    from videopoet.model.depth import DEFAULT_WEIGHTS, DepthEstimator

    if not (DEFAULT_WEIGHTS / "config.json").exists():
        raise VideoPoetError(f"no depth estimator in {DEFAULT_WEIGHTS}: train one with "
                             "python -m videopoet.training.train_depth --out weights/depth_estimator")
    return DepthEstimator.from_pretrained(DEFAULT_WEIGHTS).eval()
