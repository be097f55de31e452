"""The structure video and what makes it for any clip: structure_video's ranges, Farneback flow
on a known translation, the depth estimator (save/load, its loss and metrics, the size budget),
structure_from_video on both frame sizes, and the depth training script end to end."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from videopoet.eval.judge import HELD_OUT_FIRST_SEED
from videopoet.model.depth import DepthEstimator, align_scale_shift, baseline_disparity, depth_errors, ssi_loss
from videopoet.structure import depth_channel, depth_from_disparity, structure_from_video, structure_video
from videopoet.training.train_depth import TINY, augment

SIZES = [(128, 128), (224, 128)]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return DepthEstimator(**TINY).eval()


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture with detail at several scales: something Farneback can track."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for cell in (4, 8, 16):
        coarse = rng.random((h // cell + 2, w // cell + 2, 3)).astype(np.float32)
        img += cv2.resize(coarse, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[cell:cell + h,
                                                                                              cell:cell + w]
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 255).astype(np.uint8)


def test_structure_video_shape_and_ranges():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.3, 3.0, (17, 128, 128)).astype(np.float32)
    flow = rng.normal(0, 20, (17, 128, 128, 2)).astype(np.float32)
    s = structure_video(depth, flow)
    assert s.shape == (17, 128, 128, 3) and s.dtype == np.uint8
    assert s[..., 2].min() == 0 and s[..., 2].max() == 255  # inverse depth spans the range over the clip
    # Nearer is brighter.
    near, far = np.unravel_index(depth.argmin(), depth.shape), np.unravel_index(depth.argmax(), depth.shape)
    assert s[near][2] == 255 and s[far][2] == 0
    # Fast motion saturates towards the ends, never past them; the sign of the flow is kept.
    assert s[..., :2].min() >= 0 and s[..., :2].max() <= 255
    assert (s[..., 0][flow[..., 0] > 1] > 128).all() and (s[..., 0][flow[..., 0] < -1] < 128).all()
    with pytest.raises(ValueError):
        structure_video(depth, flow[..., :1])


def test_unknown_depth_reads_as_far():
    depth = np.full((2, 224, 128), 3.0, np.float32)
    depth[:, :100] = 0.5
    depth[:, -10:] = np.nan  # real footage has no depth
    s = structure_video(depth, np.zeros((2, 224, 128, 2), np.float32))
    assert (s[:, :100, :, 2] == 255).all() and (s[:, 100:, :, 2] == 0).all()
    assert (structure_video(np.full((2, 8, 8), np.nan), np.zeros((2, 8, 8, 2)))[..., 2] == 0).all()


def test_still_clip_has_flow_channels_at_128():
    depth = np.broadcast_to(np.linspace(0.5, 3.0, 128, dtype=np.float32)[:, None], (17, 128, 128))
    s = structure_video(depth, np.zeros((17, 128, 128, 2), np.float32))
    assert (s[..., :2] == 128).all()
    # And through the estimated path: a clip that does not move reads as still (Farneback leaves
    # a few hundredths of a pixel at the frame's edge: a level or two).
    frames = np.repeat(_texture(128, 128)[None], 17, axis=0)
    off = np.abs(structure_from_video(frames, DepthEstimator(**TINY).eval())[..., :2].astype(int) - 128)
    assert off.max() <= 2 and (off <= 1).mean() > 0.99


def test_farneback_recovers_a_known_translation(tiny):
    """Content moving right and up (dx=+2, dy=-1 px/frame): red above 128, green below 128, and the
    last frame repeats the previous frame's flow."""
    big = _texture(160, 160, seed=3)
    frames = np.stack([big[16 + t: 16 + t + 128, 16 - 2 * t: 16 - 2 * t + 128] for t in range(6)])
    s = structure_from_video(frames, tiny).astype(int)
    inner = s[:, 16:-16, 16:-16]
    assert (np.median(inner[:-1, ..., 0], axis=(1, 2)) > 128 + 20).all()  # tanh(2/8) of the half-range: ~+31
    assert (np.median(inner[:-1, ..., 1], axis=(1, 2)) < 128 - 10).all()  # ~-16
    red, green = np.median(inner[0, ..., 0]), np.median(inner[0, ..., 1])
    assert abs(red - (127.5 + 127.5 * np.tanh(2 / 8))) < 4 and abs(green - (127.5 - 127.5 * np.tanh(1 / 8))) < 4
    assert np.array_equal(s[-1, ..., :2], s[-2, ..., :2])


@pytest.mark.parametrize("size", SIZES)
def test_structure_from_video_shapes(tiny, size):
    frames = np.random.default_rng(1).integers(0, 256, (17, *size, 3), dtype=np.uint8)
    s = structure_from_video(frames, tiny)
    assert s.shape == (17, *size, 3) and s.dtype == np.uint8
    assert s[..., 2].min() == 0 and s[..., 2].max() == 255
    with pytest.raises(ValueError):
        structure_from_video(frames[:1], tiny)


@pytest.mark.parametrize("size", SIZES + [(100, 70)])
def test_depth_estimator_shapes(tiny, size):
    with torch.no_grad():
        assert tiny(torch.rand(2, 3, *size)).shape == (2, *size)
    frames = np.zeros((3, *size, 3), np.uint8)
    pred = tiny.predict(frames)
    assert pred.shape == (3, *size) and pred.dtype == np.float32 and np.isfinite(pred).all()
    assert tiny.predict(frames[0]).shape == size


def test_depth_estimator_save_load_round_trip(tiny, tmp_path):
    x = torch.rand(2, 3, 128, 128)
    tiny.save_pretrained(tmp_path / "fp32")
    again = DepthEstimator.from_pretrained(tmp_path / "fp32").eval()
    assert again.config.channels == list(TINY["channels"])
    with torch.no_grad():
        assert torch.equal(tiny(x), again(x))
    # Shipped weights are fp16: they reload to what was saved.
    half = DepthEstimator.from_pretrained(tmp_path / "fp32").half()
    half.save_pretrained(tmp_path / "fp16")
    reloaded = DepthEstimator.from_pretrained(tmp_path / "fp16", torch_dtype=torch.float16)
    for (name, a), (_, b) in zip(half.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_default_estimator_fits_the_budget():
    params = sum(p.numel() for p in DepthEstimator().parameters())
    assert params * 2 <= 2 * 2**20 * 0.95  # fp16, with room for the safetensors header


def test_ssi_loss_ignores_scale_and_shift():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(4, 32, 32, generator=g) + 0.3
    pred = torch.rand(4, 32, 32, generator=g)
    assert ssi_loss(target * 3.0 - 7.0, target).item() < 1e-5
    assert abs(ssi_loss(pred * 5.0 + 2.0, target).item() - ssi_loss(pred, target).item()) < 1e-4
    assert ssi_loss(pred, target).item() > 0.1


def test_depth_errors_and_baselines():
    depth = np.where(np.arange(64)[:, None] < 24, 3.0, 0.5) * np.ones((64, 48))
    perfect = depth_errors(2.0 / depth + 1.0, depth)  # any scale and shift of the true inverse depth
    assert perfect["abs_rel"] < 1e-5 and perfect["delta1"] == 1.0
    constant = depth_errors(baseline_disparity("constant", depth.shape), depth)
    vertical = depth_errors(baseline_disparity("vertical", depth.shape), depth)
    assert constant["abs_rel"] > vertical["abs_rel"] > perfect["abs_rel"]
    assert np.allclose(align_scale_shift(np.zeros(5), np.arange(5.0)), 2.0)


def test_depth_from_disparity_keeps_the_normalised_disparity():
    disparity = np.random.default_rng(2).normal(size=(17, 16, 16)).astype(np.float32)
    channel = depth_channel(depth_from_disparity(disparity))
    expected = (disparity - disparity.min()) / (disparity.max() - disparity.min()) * 255
    assert np.allclose(channel, expected, atol=1e-2)


def test_augment_keeps_shapes_and_range():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 224, 128, 3), dtype=torch.uint8, generator=g)
    disparity = torch.rand(6, 224, 128, generator=g).half() + 0.3
    x, d = augment(images, disparity, g, blur_p=0.5)
    assert x.shape == (6, 3, 224, 128) and d.shape == (6, 224, 128)
    assert 0.0 <= x.min() and x.max() <= 1.0
    # Depth is resampled, never blended: every value is one the frame had.
    assert torch.isin(d.half(), disparity).all()


def test_training_script_end_to_end_on_a_pool(tmp_path):
    """Trains on a pool folder whose last two clips have held-out seeds: they must be dropped."""
    from videopoet.training.train_depth import main
    from videopoet.world.dataset import write_dataset

    pool = write_dataset(tmp_path / "pool", n=4, shard_size=2, first_seed=HELD_OUT_FIRST_SEED - 2, workers=1)
    out = tmp_path / "depth"
    result = main(["--out", str(out), "--data", str(pool), "--steps", "4", "--minutes", "1", "--device", "cpu",
                   "--tiny", "--heldout", "2", "--batch", "4", "--workers", "1", "--log-every", "2"])
    assert result["steps"] == 4 and result["frames_rendered"] <= 2 * 17
    for name in ("config.json", "diffusion_pytorch_model.safetensors", "README.md", "eval.json", "train_log.jsonl"):
        assert (out / name).exists(), name
    card = (out / "README.md").read_text()
    assert "--steps 4" in card and "Held-out accuracy" in card and "vertical gradient" in card
    heldout = json.loads((out / "eval.json").read_text())["heldout"]
    assert heldout["clips"] == 2 and heldout["first_seed"] >= HELD_OUT_FIRST_SEED
    assert set(heldout) >= {"model", "constant", "vertical"}
    assert DepthEstimator.from_pretrained(out).config.channels == list(TINY["channels"])
