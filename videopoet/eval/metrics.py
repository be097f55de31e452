"""Automatic metrics of the evaluation harness: plain numpy / OpenCV / scipy, no networks.

Clips are uint8 (T, H, W, 3) RGB at 8 fps; audio is float32 mono at 16 kHz. Motion is measured
with OpenCV's Farneback flow and reported in pixels per frame at a 128-px short side, so a
128x128 clip and a 224x128 portrait clip read on the same scale.

    reconstruction    psnr, ssim
    motion            optical_flow, motion_amount, is_static, temporal_consistency, flow_correlation
    camera            camera_direction, camera_accuracy   (classifier: videopoet.world.camera)
    audio             onset_offsets, median_onset_offset_ms  (detector: videopoet.world.audio)
    audio codec       log_mel_l1, onset_f1
    distributions     feature_stats, frechet_distance, frechet_distance_from_stats  (FWD)
    baselines         first_frame_repeated
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np
import scipy.linalg

from videopoet.world.audio import SAMPLE_RATE, onset_times
from videopoet.world.camera import coarse_gray, dense_flow, estimate_camera

__all__ = [
    "camera_accuracy", "camera_direction", "feature_stats", "first_frame_repeated", "flow_correlation",
    "frechet_distance", "frechet_distance_from_stats", "is_static", "log_mel_l1", "median_onset_offset_ms",
    "motion_amount", "onset_f1", "onset_offsets", "optical_flow", "psnr", "ssim", "temporal_consistency",
]

STATIC_THRESHOLD = 0.25  # px/frame at 128 px: below this mean flow a clip counts as static
REFERENCE_SIDE = 128.0  # flow is reported as if the clip's short side were this many pixels


# ---------------------------------------------------------------------------------------------
# Reconstruction: PSNR and SSIM.

def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 images or clips (peak 255).

    `mask`, optional, is boolean over pixels — (T, H, W) or (H, W), the latter applied to every
    frame — and restricts the score to the True pixels (all channels): the unmasked region of
    inpainting/outpainting, or the given first frame of image-to-video. Identical inputs give
    float("inf").
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"psnr needs equal shapes, got {a.shape} and {b.shape}")
    diff = a.astype(np.float64) - b.astype(np.float64)
    sq = diff * diff
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        pixel_shape = a.shape[:-1] if a.ndim >= 3 and a.shape[-1] in (1, 3, 4) else a.shape
        try:
            m = np.broadcast_to(m, pixel_shape)
        except ValueError:
            raise ValueError(f"mask of shape {np.shape(mask)} does not fit pixels of shape {pixel_shape}") from None
        if not m.any():
            raise ValueError("psnr mask selects no pixels")
        sq = sq[m]
    mse = float(sq.mean())
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(255.0 ** 2 / mse))


def _luma(frames: np.ndarray) -> np.ndarray:
    """(N, H, W) float64 luma (BT.601, as cv2's RGB2GRAY) of RGB or gray images/clips."""
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim >= 3 and x.shape[-1] == 3:
        x = x @ np.array([0.299, 0.587, 0.114])
    elif x.ndim >= 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"expected an image or a clip, got shape {np.shape(frames)}")
    return x


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity over frames, on luma (Wang et al. 2004).

    Gaussian window 11x11, sigma 1.5, C1 = (0.01*255)^2, C2 = (0.03*255)^2, population
    covariances, averaged over the interior where the window fits (as scikit-image does with
    gaussian_weights=True). Identical inputs give 1.0.
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(f"ssim needs equal shapes, got {np.shape(a)} and {np.shape(b)}")
    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    pad = 5  # (11 - 1) // 2

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    scores = []
    for fx, fy in zip(x, y):
        mx, my = blur(fx), blur(fy)
        vx = blur(fx * fx) - mx * mx
        vy = blur(fy * fy) - my * my
        cxy = blur(fx * fy) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        h, w = s.shape
        if h > 2 * pad and w > 2 * pad:
            s = s[pad:h - pad, pad:w - pad]
        scores.append(s.mean())
    return float(np.mean(scores))


# ---------------------------------------------------------------------------------------------
# Motion.

def _gray_frames(video: np.ndarray) -> list[np.ndarray]:
    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 2:
        raise ValueError(f"expected an RGB clip (T>=2, H, W, 3), got shape {frames.shape}")
    if frames.dtype != np.uint8:
        frames = np.clip(frames, 0, 255).astype(np.uint8)
    return [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]


def optical_flow(video: np.ndarray) -> np.ndarray:
    """(T-1, H, W, 2) forward Farneback flow t -> t+1 in pixels of the clip (x then y).

    The same convention as the renderer's Sample.flow: flow[t] is where each pixel of frame t
    is at frame t+1.
    """
    return dense_flow(_gray_frames(video))


def _scale(video: np.ndarray) -> float:
    """Factor taking the clip's pixels to pixels at a 128-px short side."""
    return REFERENCE_SIDE / min(np.shape(video)[1:3])


def motion_amount(video: np.ndarray, flow: np.ndarray | None = None) -> float:
    """Mean Farneback flow magnitude, px/frame at a 128-px short side (0 for a frozen clip).

    Why: a generator that collapses to a still image scores well on per-frame quality; this
    number (and the "static clip" rate built on it) exposes that. Pass `flow` (from
    optical_flow) to reuse one already computed.
    """
    f = optical_flow(video) if flow is None else np.asarray(flow)
    return float(np.linalg.norm(f, axis=-1).mean() * _scale(video))


def is_static(video: np.ndarray, threshold: float = STATIC_THRESHOLD, flow: np.ndarray | None = None) -> bool:
    """True when the clip barely moves: motion_amount below `threshold` px/frame (at 128 px)."""
    return motion_amount(video, flow) < threshold


def temporal_consistency(video: np.ndarray, flow: np.ndarray | None = None) -> float:
    """Mean absolute flow-warp error between consecutive frames, in 0..255 intensity levels.

    Frame t+1 is warped back onto frame t along the Farneback flow t -> t+1 and compared with
    frame t (all channels), over the pixels whose flow stays inside the frame. Lower is
    smoother. Why: flicker, popping objects and frames that do not follow from each other
    cannot be explained by any motion, so they leave a residual that smooth motion does not.
    """
    frames = np.asarray(video)
    f = optical_flow(frames) if flow is None else np.asarray(flow, dtype=np.float32)
    _, h, w, _ = frames.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    total, count = 0.0, 0
    for t in range(len(f)):
        mx = xs + f[t, ..., 0]
        my = ys + f[t, ..., 1]
        warped = cv2.remap(frames[t + 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        err = np.abs(warped.astype(np.float32) - frames[t].astype(np.float32))[inside]
        total += float(err.sum())
        count += err.size
    return total / count if count else 0.0


def _coarse_flow(video: np.ndarray) -> np.ndarray:
    """Farneback flow on blurred half-size frames, vectors in px/frame at a 128-px short side.

    The world's styles paint a canvas texture that stays put while the scene moves; at full
    resolution its "no motion" outvotes the scene (videopoet.world.camera measures camera moves
    the same way, for the same reason).
    """
    gray = _gray_frames(video)
    h, w = gray[0].shape
    gray = coarse_gray(gray)
    flow = dense_flow(gray)
    flow[..., 0] *= (w / gray[0].shape[1]) * _scale(video)
    flow[..., 1] *= (h / gray[0].shape[0]) * _scale(video)
    return flow


def flow_correlation(video_a: np.ndarray, video_b: np.ndarray) -> float:
    """Pearson correlation of two clips' Farneback flow fields (all frames, pixels, x and y).

    Why: stylization must keep the input's motion while changing its look; the correlation of
    the two motion fields is high when it does, ~0 for unrelated or frozen motion and negative
    for motion reversed. Flow is measured on blurred half-size frames (see _coarse_flow): on
    ground-truth world clips restyled in each of the 8 styles this gives a median of 0.88 and a
    10th percentile of 0.78 (0.81 and 0.64 at full resolution). Clips of different size are
    compared after resizing b's flow to a's grid; they must have the same number of frames.
    Returns 1.0 when both fields are identical and constant, 0.0 when only one is constant.
    """
    fa, fb = _coarse_flow(video_a), _coarse_flow(video_b)
    if fa.shape[0] != fb.shape[0]:
        raise ValueError(f"flow_correlation needs the same number of frames, got {fa.shape[0] + 1} "
                         f"and {fb.shape[0] + 1}")
    if fa.shape != fb.shape:
        h, w = fa.shape[1:3]
        fb = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in fb])
    x = fa.astype(np.float64).ravel()
    y = fb.astype(np.float64).ravel()
    x -= x.mean()
    y -= y.mean()
    nx, ny = np.sqrt(x @ x), np.sqrt(y @ y)
    tiny = 1e-6 * np.sqrt(x.size)
    if nx <= tiny or ny <= tiny:
        return 1.0 if (nx <= tiny and ny <= tiny and np.allclose(fa, fb)) else 0.0
    return float(np.clip((x @ y) / (nx * ny), -1.0, 1.0))


# ---------------------------------------------------------------------------------------------
# Camera.

def camera_direction(video: np.ndarray, flow: np.ndarray | None = None) -> dict[str, float]:
    """The global motion of a clip from its Farneback flow, averaged over frames.

    Per frame an affine flow field u(p) = A (p - centre) + b is fitted by least squares; the
    result (px/frame at a 128-px short side, rates per frame) is
      dx, dy      mean flow of the image (b): content moving right / down is positive — so a
                  camera panning left gives dx > 0, tilting up gives dy > 0;
      divergence  trace(A): > 0 when content spreads from the centre (zoom in), < 0 zoom out;
      curl        A[1,0] - A[0,1]: twice the image rotation rate in rad/frame, > 0 clockwise on
                  screen (y points down), i.e. a camera rolling counter-clockwise.
    """
    f = optical_flow(video) if flow is None else np.asarray(flow, dtype=np.float64)
    _, h, w, _ = f.shape
    scale = _scale(video)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    # Coordinates in 128-px units so dx/dy and the rates share the reported scale.
    px = ((xs - (w - 1) / 2) * scale).ravel()
    py = ((ys - (h - 1) / 2) * scale).ravel()
    design = np.stack([px, py, np.ones_like(px)], axis=1)
    pinv = np.linalg.pinv(design)
    fits = []
    for ft in f:
        u = ft[..., 0].ravel() * scale
        v = ft[..., 1].ravel() * scale
        (a11, a12, bx), (a21, a22, by) = pinv @ u, pinv @ v
        fits.append((bx, by, a11 + a22, a21 - a12))
    bx, by, div, curl = np.mean(fits, axis=0)
    return {"dx": float(bx), "dy": float(by), "divergence": float(div), "curl": float(curl)}


def camera_accuracy(videos: Sequence[np.ndarray], wanted_moves: Sequence[str]) -> float:
    """Fraction of clips whose camera move, estimated from pixels alone, is the one asked for.

    Uses videopoet.world.camera.estimate_camera (pooled Farneback flow + a small classifier
    fitted on rendered clips). NaN for no clips.
    """
    videos, wanted_moves = list(videos), list(wanted_moves)
    if len(videos) != len(wanted_moves):
        raise ValueError(f"{len(videos)} clips but {len(wanted_moves)} wanted moves")
    if not videos:
        return float("nan")
    hits = [estimate_camera(v)[0] == m for v, m in zip(videos, wanted_moves)]
    return float(np.mean(hits))


# ---------------------------------------------------------------------------------------------
# Audio-visual sync.

def onset_offsets(audio: np.ndarray, event_times: Sequence[float], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """For each visual event time (s), the distance in ms to the nearest detected audio onset.

    Onsets come from videopoet.world.audio.onset_times; inf where the audio has no onset at
    all. Why: a sound that lands a few frames off its footstep or flash is the typical
    audio-video desync, and this measures it in the unit people perceive it in.
    """
    events = np.asarray(list(event_times), dtype=np.float64).ravel()
    onsets = onset_times(np.asarray(audio, dtype=np.float32), sample_rate)
    if len(onsets) == 0:
        return np.full(len(events), np.inf)
    return np.abs(events[:, None] - onsets[None, :]).min(axis=1) * 1000.0


def median_onset_offset_ms(audio: np.ndarray, event_times: Sequence[float], sample_rate: int = SAMPLE_RATE) -> float:
    """Median of onset_offsets (ms); NaN when there are no events to measure against.

    `event_times` may be seconds or the renderer's labels["events"] list of {"kind", "t"}.
    """
    times = [e["t"] if isinstance(e, dict) else e for e in event_times]
    if not times:
        return float("nan")
    return float(np.median(onset_offsets(audio, times, sample_rate)))


# ---------------------------------------------------------------------------------------------
# Distributions: the Fréchet distance behind FWD.

def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of an (N, D) feature matrix (unbiased; zeros for N = 1).

    Why separate: the ground-truth side of FWD can be computed once and cached.
    """
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"features must be an (N, D) matrix with N >= 1, got shape {np.shape(feats)}")
    mu = x.mean(axis=0)
    if x.shape[0] < 2:
        return mu, np.zeros((x.shape[1], x.shape[1]))
    return mu, np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance_from_stats(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray,
                                ridge: float = 1e-6) -> float:
    """Fréchet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b):

        |mu_a - mu_b|^2 + Tr(sigma_a + sigma_b - 2 (sigma_a sigma_b)^(1/2))

    The cross term is computed as Tr((sqrt(sa) sb sqrt(sa))^(1/2)), which equals
    Tr((sa sb)^(1/2)) but involves only symmetric PSD matrices (scipy.linalg.eigh), so it
    stays real and exact where scipy.linalg.sqrtm of the non-symmetric product loses
    precision on the singular covariances of small sets (identical sets give ~1e-15, not
    ~1e-7). `ridge` (times the mean variance) is added to both diagonals to keep tiny or
    rank-deficient sets well posed; it cancels for identical sets.
    """
    mu_a, mu_b = np.atleast_1d(np.asarray(mu_a, np.float64)), np.atleast_1d(np.asarray(mu_b, np.float64))
    sa, sb = np.atleast_2d(np.asarray(sigma_a, np.float64)), np.atleast_2d(np.asarray(sigma_b, np.float64))
    if mu_a.shape != mu_b.shape or sa.shape != sb.shape or sa.shape != (len(mu_a), len(mu_a)):
        raise ValueError(f"mismatched statistics: means {mu_a.shape}, {mu_b.shape}; covariances {sa.shape}, {sb.shape}")
    sa, sb = (sa + sa.T) / 2, (sb + sb.T) / 2
    eps = ridge * max(float(np.trace(sa) + np.trace(sb)) / (2 * len(mu_a)), 1e-12)
    sa = sa + eps * np.eye(len(mu_a))
    sb = sb + eps * np.eye(len(mu_b))
    w, v = scipy.linalg.eigh(sa)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root_a @ sb @ root_a
    lam = scipy.linalg.eigvalsh((middle + middle.T) / 2)
    cross = float(np.sqrt(np.clip(lam, 0, None)).sum())
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(sa) + np.trace(sb) - 2 * cross)
    return max(value, 0.0)


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray, ridge: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (any N, any D).

    FWD — the Fréchet World Distance, our FVD analogue — is this applied to the world judge's
    penultimate features of generated and of ground-truth clips. Symmetric; 0 for identical
    sets; grows with the squared shift of the means and with differences of spread.
    """
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, D) matrices of the same D, got {a.shape} and {b.shape}")
    return frechet_distance_from_stats(*feature_stats(a), *feature_stats(b), ridge=ridge)


# ---------------------------------------------------------------------------------------------
# Baselines.

def first_frame_repeated(video: np.ndarray, frames: int | None = None) -> np.ndarray:
    """The trivial "no motion" baseline: the clip's first frame repeated `frames` times
    (default: as many as the clip has). Every motion metric must tell it from real video."""
    v = np.asarray(video)
    n = v.shape[0] if frames is None else int(frames)
    return np.repeat(v[:1], n, axis=0)


# ---------------------------------------------------------------------------------------------
# Audio reconstruction: how close a decoded waveform is to the one that was encoded.

@functools.lru_cache(maxsize=4)
def _mel_filterbank(n_fft: int, n_mels: int, sample_rate: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale (20 Hz to Nyquist),
    each summing to 1, so every band reads as an average magnitude. Cached: treat as read-only."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = hz(np.linspace(mel(20.0), mel(sample_rate / 2), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.maximum(0.0, np.minimum((freqs[None] - lo) / (mid - lo), (hi - freqs[None]) / (hi - mid)))
    return bank / np.maximum(bank.sum(axis=1, keepdims=True), 1e-8)


def _log_mel(audio: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> np.ndarray:
    x = np.pad(np.asarray(audio, np.float64).ravel(), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(n_fft + 1)[:-1], axis=1))
    return np.log(magnitude @ _mel_filterbank(n_fft, n_mels, sample_rate).T + 1e-5)


def log_mel_l1(reference: np.ndarray, estimate: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Mean absolute difference of the two signals' log-mel spectrograms (64 mels, 1024-point
    Hann frames every 160 samples at 16 kHz, log(magnitude + 1e-5)); 0 for identical signals.

    Why: a codec can be far off sample by sample (phase) and still sound right; the log-mel
    distance follows what is heard, quiet passages included. Silence as the estimate is the
    baseline that a codec must beat by a wide margin.
    """
    a, b = np.asarray(reference).ravel(), np.asarray(estimate).ravel()
    if a.shape != b.shape:
        raise ValueError(f"log_mel_l1 needs equal lengths, got {a.shape[0]} and {b.shape[0]}")
    hop = round(sample_rate / 100)
    return float(np.mean(np.abs(_log_mel(a, sample_rate, 1024, hop, 64) - _log_mel(b, sample_rate, 1024, hop, 64))))


def onset_f1(reference: np.ndarray, estimate: np.ndarray, tolerance_s: float = 0.05,
             sample_rate: int = SAMPLE_RATE) -> float:
    """F1 of the estimate's audio onsets against the reference's, matched one to one within
    `tolerance_s` (closest pairs first). Onsets from videopoet.world.audio.onset_times. 1.0 when
    neither signal has an onset, 0.0 when only one has.

    Why: the sounds of the world are timed to what is seen; a codec that smears an attack or moves
    it by a frame breaks audio-visual sync even when its spectrogram distance looks fine.
    """
    ref = onset_times(np.asarray(reference, np.float32), sample_rate)
    est = onset_times(np.asarray(estimate, np.float32), sample_rate)
    if len(ref) == 0 and len(est) == 0:
        return 1.0
    distance = np.abs(ref[:, None] - est[None, :])
    pairs = sorted(zip(*np.nonzero(distance <= tolerance_s)), key=lambda ij: distance[ij])
    used_ref, used_est = set(), set()
    for i, j in pairs:
        if i not in used_ref and j not in used_est:
            used_ref.add(i)
            used_est.add(j)
    return 2.0 * len(used_ref) / (len(ref) + len(est))
