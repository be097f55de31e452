"""Automatic metrics of the evaluation harness, checked on rendered world clips with known truth."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import scipy.linalg

from videopoet.eval import (
    camera_accuracy,
    camera_direction,
    feature_stats,
    first_frame_repeated,
    flow_correlation,
    frechet_distance,
    frechet_distance_from_stats,
    is_static,
    median_onset_offset_ms,
    motion_amount,
    onset_offsets,
    optical_flow,
    psnr,
    ssim,
    temporal_consistency,
)
from videopoet.world import Spec, render

SR = 16000


@functools.cache
def clip(camera: str = "static", background: str = "white studio", subjects=("dog",), action="idle",
         style: str = "none", seed: int = 0, size=(128, 128)):
    return render(seed, size, spec=Spec(tuple(subjects), action, background, style=style, camera=camera))


def noisy(video, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(video + rng.normal(0, sigma, video.shape), 0, 255).astype(np.uint8)


# --- PSNR / SSIM -------------------------------------------------------------------------------

def test_identical_clips_psnr_inf_ssim_one():
    v = clip("pan left", "snowy mountain").video
    assert psnr(v, v.copy()) == float("inf")
    assert ssim(v, v.copy()) == pytest.approx(1.0, abs=1e-12)
    assert psnr(v[0], v[0]) == float("inf") and ssim(v[0], v[0]) == pytest.approx(1.0, abs=1e-12)


def test_psnr_value_and_noise_lowers_both_monotonically():
    v = clip("static", "grassy meadow").video
    # A uniform error of 10 levels is 20*log10(255/10) dB exactly.
    base = np.minimum(v, 245)
    assert psnr(base, base + 10) == pytest.approx(20 * np.log10(25.5), abs=1e-9)
    ps, ss = [], []
    for sigma in (2, 5, 10, 20, 40):
        n = noisy(v, sigma)
        ps.append(psnr(v, n))
        ss.append(ssim(v, n))
    assert all(a > b for a, b in itertools.pairwise(ps)), ps
    assert all(a > b for a, b in itertools.pairwise(ss)), ss
    assert 40 < ps[0] < 50 and ps[-1] < 18
    assert ss[0] > 0.9 and ss[-1] < 0.5
    assert psnr(v, n) == psnr(n, v) and ssim(v, n) == pytest.approx(ssim(n, v), abs=1e-12)


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    v = clip("static", "sunny beach").video[0]
    n = noisy(v, 12)
    luma = np.array([0.299, 0.587, 0.114])
    ref = metrics.structural_similarity(v @ luma, n @ luma, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255)
    assert ssim(v, n) == pytest.approx(ref, abs=1e-4)


def test_psnr_mask_scores_only_masked_pixels():
    v = clip("static", "snowy mountain").video
    t, h, w, _ = v.shape
    keep = np.zeros((h, w), bool)
    keep[:, : w // 2] = True  # the unmasked (given) half of an inpainting/outpainting task
    damaged = v.copy()
    damaged[:, :, w // 2:] = noisy(v[:, :, w // 2:], 30)
    assert psnr(v, damaged, mask=keep) == float("inf")
    assert psnr(v, damaged) < 30
    # Only the damaged pixels: the same as scoring that region alone.
    assert psnr(v, damaged, mask=~keep) == pytest.approx(psnr(v[:, :, w // 2:], damaged[:, :, w // 2:]))
    # (T, H, W) mask: the given first frame of image-to-video.
    i2v = noisy(v, 20)
    i2v[0] = v[0]
    first = np.zeros((t, h, w), bool)
    first[0] = True
    assert psnr(v, i2v, mask=first) == float("inf")
    assert psnr(v, i2v, mask=~first) == pytest.approx(psnr(v[1:], i2v[1:]))
    with pytest.raises(ValueError):
        psnr(v, damaged, mask=np.zeros((h, w), bool))
    with pytest.raises(ValueError):
        psnr(v, damaged[:-1])


# --- motion ------------------------------------------------------------------------------------

def test_static_clip_flagged_static_and_panning_not():
    still = clip("static").video
    pan = clip("pan left").video
    assert is_static(still) and motion_amount(still) < 0.1
    assert not is_static(pan) and motion_amount(pan) > 2.0
    frozen = first_frame_repeated(pan)
    assert frozen.shape == pan.shape and (frozen == pan[:1]).all()
    assert is_static(frozen) and motion_amount(frozen) < 0.01
    # px/frame at a 128-px short side: the portrait render of the same move reads the same.
    portrait = clip("pan left", size=(224, 128)).video
    assert motion_amount(portrait) == pytest.approx(motion_amount(pan), rel=0.15)
    assert optical_flow(pan).shape == (16, 128, 128, 2)
    assert first_frame_repeated(pan, 5).shape == (5, 128, 128, 3)


def test_farneback_flow_agrees_with_the_renderers_flow():
    s = clip("pan right", "snowy mountain")
    est = optical_flow(s.video)
    assert np.median(est[..., 0]) == pytest.approx(np.median(s.flow[:-1, ..., 0]), abs=0.3)


MOVES = ["pan left", "pan right", "zoom in", "zoom out", "tilt up", "static"]


@pytest.mark.parametrize("background", ["white studio", "snowy mountain"])
def test_known_camera_moves_recovered_with_direction(background):
    videos = [clip(m, background).video for m in MOVES]
    d = {m: camera_direction(v) for m, v in zip(MOVES, videos)}
    # Panning left turns the camera left, so the picture slides right (dx > 0), and vice versa.
    assert d["pan left"]["dx"] > 1.5 and abs(d["pan left"]["dy"]) < 0.3
    assert d["pan right"]["dx"] < -1.5 and abs(d["pan right"]["dy"]) < 0.3
    assert d["tilt up"]["dy"] > 1.5 and abs(d["tilt up"]["dx"]) < 0.3
    # Zooming in spreads the picture from the centre (divergence > 0).
    assert d["zoom in"]["divergence"] > 0.03 and abs(d["zoom in"]["dx"]) < 0.3
    assert d["zoom out"]["divergence"] < -0.03 and abs(d["zoom out"]["dx"]) < 0.3
    for m in ("pan left", "pan right", "tilt up", "static"):
        assert abs(d[m]["divergence"]) < 0.01 and abs(d[m]["curl"]) < 0.01
    assert max(abs(d["static"]["dx"]), abs(d["static"]["dy"])) < 0.1
    assert camera_accuracy(videos, MOVES) == 1.0
    wrong = MOVES[1:] + MOVES[:1]
    assert camera_accuracy(videos, wrong) == 0.0
    assert camera_accuracy(videos[:2], ["pan left", "pan left"]) == 0.5
    with pytest.raises(ValueError):
        camera_accuracy(videos, MOVES[:-1])


def test_orbit_shows_as_curl():
    d = camera_direction(clip("orbit", "grassy meadow").video)
    assert d["curl"] > 0.02 and abs(d["divergence"]) < 0.01


def test_temporal_consistency_punishes_flicker_and_shuffled_frames():
    v = clip("pan left", "snowy mountain").video
    rng = np.random.default_rng(0)
    smooth = temporal_consistency(v)
    shuffled = temporal_consistency(v[rng.permutation(len(v))])
    flicker = temporal_consistency(np.clip(v.astype(int) + rng.integers(-30, 31, (len(v), 1, 1, 1)), 0, 255)
                                   .astype(np.uint8))
    assert smooth < 3.0
    assert shuffled > 1.5 * smooth and flicker > 4 * smooth
    assert temporal_consistency(first_frame_repeated(v)) < 0.5


def test_flow_correlation_self_reversed_frozen_and_stylized():
    v = clip("pan left", "grassy meadow", ("horse",), "gallop", seed=3).video
    assert flow_correlation(v, v) == pytest.approx(1.0, abs=1e-9)
    assert flow_correlation(v, v[::-1]) < 0
    assert abs(flow_correlation(v, first_frame_repeated(v))) < 0.2
    styled = clip("pan left", "grassy meadow", ("horse",), "gallop", style="van gogh", seed=3).video
    assert flow_correlation(v, styled) >= 0.6  # the stylization target, met by ground truth
    still = first_frame_repeated(v)
    assert flow_correlation(still, still) == 1.0


# --- audio-visual sync -------------------------------------------------------------------------

def test_shifted_audio_shows_in_onset_offset():
    s = clip("static", "white studio", ("dog",), "walk")
    events = [e["t"] for e in s.labels["events"]]
    assert len(events) >= 3
    original = median_onset_offset_ms(s.audio, events)
    assert original <= 62.5  # within half a video frame
    assert median_onset_offset_ms(s.audio, s.labels["events"]) == original  # labels["events"] works too
    shift = int(0.25 * SR)
    late = np.concatenate([np.zeros(shift, np.float32), s.audio[:-shift]])
    delayed = median_onset_offset_ms(late, events)
    assert 200 <= delayed <= 300, delayed
    offsets = onset_offsets(late, events)
    assert offsets.shape == (len(events),) and (offsets > 150).all()


def test_onset_offsets_without_onsets_or_events():
    silence = np.zeros(34000, np.float32)
    assert np.isinf(onset_offsets(silence, [0.5, 1.0])).all()
    assert np.isnan(median_onset_offset_ms(silence, []))


# --- Fréchet distance --------------------------------------------------------------------------

def test_frechet_distance_identity_shift_and_symmetry():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 32))
    b = rng.normal(size=(64, 32))
    scale = np.trace(np.cov(a, rowvar=False))
    assert frechet_distance(a, a) <= 1e-6 * scale
    assert frechet_distance(a, a.copy()[rng.permutation(64)]) <= 1e-6 * scale  # order does not matter
    shifted = [frechet_distance(a, a + k) for k in (0.25, 0.5, 1.0, 2.0)]
    assert all(x < y for x, y in itertools.pairwise(shifted))
    assert shifted[-1] == pytest.approx(4.0 * 32, rel=1e-6)  # a pure mean shift adds |shift|^2
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
    assert frechet_distance(a, 3 * a) > frechet_distance(a, 1.5 * a) > 0  # spread counts too
    # Agrees with the textbook formula through scipy.linalg.sqrtm where that is well conditioned.
    big_a, big_b = rng.normal(size=(500, 8)), rng.normal(0.3, 1.2, size=(500, 8))
    (ma, sa), (mb, sb) = feature_stats(big_a), feature_stats(big_b)
    ref = ((ma - mb) ** 2).sum() + np.trace(sa + sb - 2 * scipy.linalg.sqrtm(sa @ sb).real)
    assert frechet_distance(big_a, big_b) == pytest.approx(ref, rel=1e-5)
    assert frechet_distance_from_stats(ma, sa, mb, sb) == pytest.approx(ref, rel=1e-5)


def test_frechet_distance_tiny_sets_and_bad_shapes():
    rng = np.random.default_rng(1)
    tiny = rng.normal(size=(3, 256))  # N << D: singular covariances
    assert frechet_distance(tiny, tiny) <= 1e-6 * np.trace(np.cov(tiny, rowvar=False))
    value = frechet_distance(tiny, rng.normal(size=(2, 256)))
    assert np.isfinite(value) and value > 0
    one = rng.normal(size=(1, 4))
    assert frechet_distance(one, one + 1.0) == pytest.approx(4.0, rel=1e-6)
    with pytest.raises(ValueError):
        frechet_distance(tiny, rng.normal(size=(3, 255)))
