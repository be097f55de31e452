"""The world judge: a small video+audio classifier that reads back the labels a prompt asked for.

We own the world that made the training data, so instead of CLIP scores we train a classifier on
ground-truth world clips and ask it what a generated clip shows: its subject(s) and how many, the
action, background, style, camera move, effects, and the sound classes heard. Its penultimate
features (256-d) define the Fréchet World Distance, our analogue of FVD.

    from videopoet.eval.judge import WorldJudge
    judge = WorldJudge.from_pretrained("weights/judge")
    judge.predict(videos, audios)   # -> [{"subjects": ["panda", "panda"], "action": "play cards", ...}]
    judge.features(video, audio)    # -> (B, 256) float tensor

Inputs: video uint8 (B, T, H, W, 3) (or float in [0, 1]), any T ≥ 5 (9 frames are sampled evenly)
and any size (resized to `video_width` = 64 px wide for motion, 128×128 -> 64×64, 224×128 -> 112×64,
and to `appearance_width` = 128 for the appearance stream; the network pools globally, so both
orientations go through the same weights); audio float
(B, 34000) at 16 kHz. Either modality may be None: a learned "missing" vector stands in for it (the
judge is trained with each modality dropped 10% of the time), so text-to-audio and video-only
tasks can be judged too.

Architecture: motion — 9 frames at 64 px wide, a (2+1)-D residual CNN (spatial 3×3 then temporal 3
convolutions, GroupNorm, SiLU), mean+max pooled; audio — a log-mel spectrogram computed in torch
(STFT, a mel filterbank built here, 64 mels, hop 160) into a small 2-D residual CNN, mean+max pooled;
the two are fused by an MLP into the feature vector; one linear head per label kind. Optionally
(`appearance_channels`), an appearance stream — 3 frames (first, middle, last) at 128 px wide through
a depthwise-separable 2-D CNN, mean+max pooled over space and frames — is read by the subject and
count heads beside the features: at 64 px a sprite is 15-25 px and 190 emoji look alike, and the
subject heads need the pixels, not the motion stream's time. It stays out of the feature vector, so
FWD weighs motion as before (a still clip has the same appearance as its source).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

SAMPLE_RATE = 16000
CLIP_SAMPLES = 34000
HELD_OUT_FIRST_SEED = 10**9  # seeds from here on are never used for training
# Heads and the config key holding each one's class names ("count" is 0..max_count).
HEADS = ("subjects", "count", "action", "background", "style", "camera", "effects", "audio_classes")
VOCAB_KEYS = {"subjects": "subjects", "action": "actions", "background": "backgrounds", "style": "styles",
              "camera": "cameras", "effects": "effects", "audio_classes": "audio_classes"}
MULTI_LABEL = ("subjects", "effects", "audio_classes")
APPEARANCE_HEADS = ("subjects", "count")  # read the appearance stream beside the features
SINGLE_LABEL = ("count", "action", "background", "style", "camera")
NO_ACTION = "none"

__all__ = ["HEADS", "HELD_OUT_FIRST_SEED", "WorldJudge", "canonical_labels", "default_vocab", "evaluate_heldout",
           "prepare_clip", "render_for_judge", "score"]


def default_vocab() -> dict[str, list[str]]:
    """Every label name the world can produce, per config key (subjects come from the atlas)."""
    from videopoet.world.atlas import load_atlas
    from videopoet.world.audio import BEDS, EVENT_KINDS
    from videopoet.world.styles import STYLES
    from videopoet.world.vocab import ACTIONS, BACKGROUNDS, CAMERAS, EFFECTS

    return {
        "subjects": list(load_atlas().subjects()),
        "actions": list(ACTIONS) + [NO_ACTION],
        "backgrounds": list(BACKGROUNDS),
        "styles": list(STYLES),
        "cameras": list(CAMERAS),
        "effects": list(EFFECTS),
        "audio_classes": list(EVENT_KINDS) + [b for b in BEDS if b not in EVENT_KINDS],
    }


def canonical_labels(labels: dict) -> dict:
    """World labels (or a prompt's) in the judge's form: subjects and sets sorted, "then" effects
    folded into effects, count added. Keys absent from `labels` stay absent (nothing to judge)."""
    out: dict = {}
    if "subjects" in labels and labels["subjects"] is not None:
        out["subjects"] = sorted(labels["subjects"])
        out["count"] = len(labels["subjects"])
    if "count" in labels and "count" not in out:
        out["count"] = int(labels["count"])
    for key in ("action", "background", "style", "camera"):
        if key in labels:
            out[key] = labels[key]
    if "effects" in labels or "then" in labels:
        then = [t["effect"] if isinstance(t, dict) else t[0] if isinstance(t, (list, tuple)) else t
                for t in labels.get("then") or []]
        out["effects"] = sorted(set(labels.get("effects") or []) | set(then))
    if "audio_classes" in labels:
        out["audio_classes"] = sorted(set(labels["audio_classes"]))
    return out


def prepare_clip(video: np.ndarray, width: int = 64, frames: int = 9) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (frames, H*width/W, width, 3) uint8: the frames the judge looks at, at
    the largest size it looks at them (`WorldJudge.clip_width`; what `WorldJudge` does to its input,
    done in numpy so data workers can ship small clips)."""
    import cv2

    video = np.asarray(video)
    t, h, w = video.shape[:3]
    if t < 5:
        raise ValueError(f"the judge needs at least 5 frames, got {t}")
    idx = _frame_indices(t, frames)
    out_h = max(1, round(h * width / w))
    picked = video[idx]
    if (h, w) == (out_h, width):
        return np.ascontiguousarray(picked)
    interp = cv2.INTER_AREA if w > width else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, out_h), interpolation=interp) for f in picked])


def _frame_indices(t: int, frames: int) -> np.ndarray:
    return np.round(np.linspace(0, t - 1, frames)).astype(np.int64)


def _resize(frames: torch.Tensor, width: int) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 3, H*width/W, width): area when shrinking (as `prepare_clip`'s
    INTER_AREA), bilinear when growing."""
    h, w = frames.shape[-2:]
    out_h = max(1, round(h * width / w))
    if (h, w) == (out_h, width):
        return frames
    return F.interpolate(frames, size=(out_h, width), mode="area" if w > width else "bilinear")


def _groups(c: int) -> int:
    return math.gcd(8, c)


def _mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, f_min: float = 20.0,
                    f_max: float | None = None) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, each summing to ~1."""
    f_max = f_max or sample_rate / 2

    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(up, down))
    fb /= np.maximum(fb.sum(axis=1, keepdims=True), 1e-8)
    return torch.tensor(fb, dtype=torch.float32)


@functools.lru_cache(maxsize=8)
def _frontend(n_fft: int, win_length: int, n_mels: int, sample_rate: int, device: torch.device):
    """Hann window and mel filterbank, float32, built once per device. Kept out of the module's
    buffers so `.half()` / `torch_dtype` never round them."""
    return (torch.hann_window(win_length, device=device),
            _mel_filterbank(n_fft, n_mels, sample_rate).to(device))


class _Block3d(nn.Module):
    """(2+1)-D pre-activation residual block: spatial 3×3 conv, then temporal 3 conv."""

    def __init__(self, cin: int, cout: int, stride: int = 1, tstride: int = 1):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.spatial = nn.Conv3d(cin, cout, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.temporal = nn.Conv3d(cout, cout, (3, 1, 1), (tstride, 1, 1), (1, 0, 0))
        same = cin == cout and stride == 1 and tstride == 1
        self.skip = nn.Identity() if same else nn.Conv3d(cin, cout, 1, (tstride, stride, stride), bias=False)

    def forward(self, x):
        h = self.spatial(F.silu(self.norm1(x)))
        h = self.temporal(F.silu(self.norm2(h)))
        return h + self.skip(x)


class _Block2d(nn.Module):
    """Pre-activation residual block over a spectrogram."""

    def __init__(self, cin: int, cout: int, stride: int = 2):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        same = cin == cout and stride == 1
        self.skip = nn.Identity() if same else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class _SeparableBlock2d(nn.Module):
    """Pre-activation residual block of two depthwise 3×3 + pointwise convolutions: most of a plain
    3×3 block's reach for a tenth of its weights (the judge must fit in 3 MiB)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.depth1 = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.point1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.depth2 = nn.Conv2d(cout, cout, 3, 1, 1, groups=cout, bias=False)
        self.point2 = nn.Conv2d(cout, cout, 1)
        same = cin == cout and stride == 1
        self.skip = nn.Identity() if same else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        h = self.point1(self.depth1(F.silu(self.norm1(x))))
        h = self.point2(self.depth2(F.silu(self.norm2(h))))
        return h + self.skip(x)


class WorldJudge(ModelMixin, ConfigMixin):
    """Video+audio classifier over the world's label kinds; see the module docstring.

    Args:
        subjects, actions, backgrounds, styles, cameras, effects, audio_classes: class names per
            head (None: the world's full vocabulary, see `default_vocab`); stored in config.json so
            a checkpoint describes itself. `actions` ends with "none" (no subject, no action).
        max_count: most subjects in a clip (the count head has max_count + 1 classes).
        video_width: the motion stream sees frames resized to this width (height keeps the aspect ratio).
        frames: frames sampled evenly from the clip.
        video_channels: stem width, then one (2+1)-D block per entry after the first; the first
            four blocks halve the spatial size, the last two also halve time.
        appearance_width, appearance_frames: the appearance stream sees this many frames (evenly
            spread over the `frames`) at this width.
        appearance_channels: None for no appearance stream; else its stride-2 stem width, then one
            separable block per entry after the first; the first three halve the spatial size.
        audio_channels: stem width, then one stride-2 2-D block per entry after the first.
        n_fft, hop_length, win_length, n_mels: log-mel front end at `sample_rate`.
        hidden: width of the fusion MLP; feature_dim: the penultimate features (FWD space).
        dropout: on the features, during training.
    """

    @register_to_config
    def __init__(
        self,
        subjects: Sequence[str] | None = None,
        actions: Sequence[str] | None = None,
        backgrounds: Sequence[str] | None = None,
        styles: Sequence[str] | None = None,
        cameras: Sequence[str] | None = None,
        effects: Sequence[str] | None = None,
        audio_classes: Sequence[str] | None = None,
        max_count: int = 3,
        video_width: int = 64,
        frames: int = 9,
        video_channels: Sequence[int] = (32, 48, 96, 128, 192),
        appearance_width: int = 128,
        appearance_frames: int = 3,
        appearance_channels: Sequence[int] | None = None,
        audio_channels: Sequence[int] = (16, 32, 48, 64, 96),
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = 512,
        win_length: int = 400,
        hop_length: int = 160,
        n_mels: int = 64,
        hidden: int = 384,
        feature_dim: int = 256,
        dropout: float = 0.1,
    ):
        super().__init__()
        given = {"subjects": subjects, "actions": actions, "backgrounds": backgrounds, "styles": styles,
                 "cameras": cameras, "effects": effects, "audio_classes": audio_classes}
        if any(v is None for v in given.values()):
            defaults = default_vocab()
            given = {k: list(v) if v is not None else defaults[k] for k, v in given.items()}
            self.register_to_config(**given)  # the config always names every class
        self.vocab = {k: list(v) for k, v in given.items()}
        if self.vocab["actions"][-1] != NO_ACTION:
            raise ValueError(f"actions must end with {NO_ACTION!r}")
        self.head_sizes = {head: len(self.vocab[key]) for head, key in VOCAB_KEYS.items()}
        self.head_sizes["count"] = max_count + 1

        vc, ac = list(video_channels), list(audio_channels)
        if len(vc) < 2 or len(ac) < 2:
            raise ValueError("video_channels and audio_channels need at least two entries")
        # Video: stem, then blocks; the first four halve the frame, the last two also halve time.
        self.video_stem = nn.Conv3d(3, vc[0], (1, 3, 3), 1, (0, 1, 1))
        blocks = []
        n = len(vc) - 1
        for i in range(n):
            stride = 2 if i <= 3 else 1
            tstride = 2 if i >= n - 2 and n >= 3 else 1
            blocks.append(_Block3d(vc[i], vc[i + 1], stride, tstride))
        self.video_blocks = nn.ModuleList(blocks)
        self.video_norm = nn.GroupNorm(_groups(vc[-1]), vc[-1])
        # Appearance: stride-2 stem, then separable blocks; the first three halve the frame.
        pc = list(appearance_channels or [])
        if appearance_channels is not None and len(pc) < 2:
            raise ValueError("appearance_channels needs at least two entries")
        if pc:
            self.appearance_stem = nn.Conv2d(3, pc[0], 3, 2, 1)
            self.appearance_blocks = nn.ModuleList(
                _SeparableBlock2d(pc[i], pc[i + 1], 2 if i <= 2 else 1) for i in range(len(pc) - 1))
            self.appearance_norm = nn.GroupNorm(_groups(pc[-1]), pc[-1])
            self.no_appearance = nn.Parameter(torch.zeros(2 * pc[-1]))
        self.has_appearance = bool(pc)
        # Audio: log-mel -> stem -> stride-2 blocks.
        self.audio_stem = nn.Conv2d(1, ac[0], 3, 1, 1)
        self.audio_blocks = nn.ModuleList(_Block2d(ac[i], ac[i + 1], 2) for i in range(len(ac) - 1))
        self.audio_norm = nn.GroupNorm(_groups(ac[-1]), ac[-1])
        # Stand-ins for a missing modality (learned; also used for modality dropout in training).
        self.no_video = nn.Parameter(torch.zeros(2 * vc[-1]))
        self.no_audio = nn.Parameter(torch.zeros(2 * ac[-1]))
        self.fuse = nn.Sequential(nn.Linear(2 * vc[-1] + 2 * ac[-1], hidden), nn.SiLU(),
                                  nn.Linear(hidden, feature_dim), nn.LayerNorm(feature_dim), nn.SiLU())
        self.drop = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h: nn.Linear(feature_dim + (2 * pc[-1] if pc and h in APPEARANCE_HEADS else 0),
                                                 self.head_sizes[h]) for h in HEADS})
        with torch.no_grad():  # start multi-label heads at a low prior so early BCE is small
            for h in MULTI_LABEL:
                self.heads[h].bias.fill_(-math.log(self.head_sizes[h]))

    # ------------------------------------------------------------------------------------------
    # inputs

    @property
    def clip_width(self) -> int:
        """The widest any video stream looks at: clips prepared at this width lose nothing."""
        if self.has_appearance:
            return max(self.config.video_width, self.config.appearance_width)
        return self.config.video_width

    def _video_tensors(self, video, appearance: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, H, W, 3) uint8/float -> normalized float (B, 3, frames, h, video_width) for the
        motion stream and (B * appearance_frames, 3, h', appearance_width) for the appearance stream
        (None without one, or when not asked for)."""
        cfg = self.config
        video = torch.as_tensor(video)
        if video.ndim != 5 or video.shape[-1] != 3:
            raise ValueError(f"video must be (B, T, H, W, 3), got {tuple(video.shape)}")
        b, t, h, w, _ = video.shape
        if t < 5:
            raise ValueError(f"the judge needs at least 5 frames, got {t}")
        video = video.to(self.device)
        if t != cfg.frames:
            video = video[:, torch.as_tensor(_frame_indices(t, cfg.frames), device=video.device)]
        x = video.float() / 255.0 if video.dtype == torch.uint8 else video.float()
        x = (x.permute(0, 1, 4, 2, 3) - 0.45) / 0.25  # (B, frames, 3, H, W); resizing commutes with this
        motion = _resize(x.reshape(b * cfg.frames, 3, h, w), cfg.video_width)
        motion = motion.reshape(b, cfg.frames, *motion.shape[1:]).transpose(1, 2).to(self.dtype)
        if not (self.has_appearance and appearance):
            return motion, None
        picked = torch.as_tensor(_frame_indices(cfg.frames, cfg.appearance_frames), device=x.device)
        appearance = _resize(x[:, picked].reshape(b * cfg.appearance_frames, 3, h, w), cfg.appearance_width)
        # Contiguous: frames at the stream's own width would stay channels-last from the permute above,
        # and on an AVX-512 CPU oneDNN's backward of a channels-last strided 1x1 convolution (the first
        # block's skip) segfaulted (torch 2.13).
        return motion, appearance.to(self.dtype).contiguous()

    def log_mel(self, audio) -> torch.Tensor:
        """(B, N) float audio -> (B, 1, n_mels, frames) log-mel, computed in float32."""
        cfg = self.config
        audio = torch.as_tensor(audio)
        if audio.ndim != 2:
            raise ValueError(f"audio must be (B, samples), got {tuple(audio.shape)}")
        audio = audio.to(self.device, torch.float32)
        window, mel_fb = _frontend(cfg.n_fft, cfg.win_length, cfg.n_mels, cfg.sample_rate, audio.device)
        with torch.autocast(device_type=audio.device.type, enabled=False):
            spec = torch.stft(audio, cfg.n_fft, cfg.hop_length, cfg.win_length, window=window, center=True,
                              return_complex=True)
            power = spec.real ** 2 + spec.imag ** 2
            mel = torch.matmul(mel_fb, power)
            logmel = (torch.log(mel + 1e-6) + 7.0) / 4.0
        return logmel[:, None]

    # ------------------------------------------------------------------------------------------
    # network

    def _video_pooled(self, video, appearance: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pooled motion and appearance vectors, (B, 2 * video_channels[-1]) and
        (B, 2 * appearance_channels[-1]) (None without an appearance stream, or when not asked for)."""
        motion, appearance = self._video_tensors(video, appearance)
        x = self.video_stem(motion)
        for block in self.video_blocks:
            x = block(x)
        x = F.silu(self.video_norm(x))
        pooled = torch.cat([x.mean(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4))], dim=1)
        if appearance is None:
            return pooled, None
        y = self.appearance_stem(appearance)
        for block in self.appearance_blocks:
            y = block(y)
        y = F.silu(self.appearance_norm(y))
        y = y.reshape(len(x), -1, *y.shape[1:])  # (B, appearance_frames, C, h, w)
        return pooled, torch.cat([y.mean(dim=(1, 3, 4)), y.amax(dim=(1, 3, 4))], dim=1)

    def _audio_pooled(self, audio) -> torch.Tensor:
        x = self.audio_stem(self.log_mel(audio).to(self.dtype))
        for block in self.audio_blocks:
            x = block(x)
        x = F.silu(self.audio_norm(x))
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)

    def _embed(self, video, audio, drop_video: torch.Tensor | None = None, drop_audio: torch.Tensor | None = None,
               appearance: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features, pooled appearance or None): what the heads read. drop_video / drop_audio: optional
        (B,) bool masks replacing that modality by its learned "missing" vectors for those clips
        (modality dropout in training); appearance=False skips that stream (features alone)."""
        if video is None and audio is None:
            raise ValueError("give the judge a video, an audio track, or both")
        b = len(video) if video is not None else len(audio)
        if video is not None:
            v, p = self._video_pooled(video, appearance)
            if drop_video is not None:
                drop = drop_video.to(v.device)[:, None]
                v = torch.where(drop, self.no_video.to(v.dtype), v)
                if p is not None:
                    p = torch.where(drop, self.no_appearance.to(p.dtype), p)
        else:
            v = self.no_video[None].expand(b, -1)
            p = self.no_appearance[None].expand(b, -1) if self.has_appearance and appearance else None
        if audio is not None:
            a = self._audio_pooled(audio)
            if drop_audio is not None:
                a = torch.where(drop_audio.to(a.device)[:, None], self.no_audio.to(a.dtype), a)
        else:
            a = self.no_audio[None].expand(b, -1)
        features = self.fuse(torch.cat([v.to(self.dtype), a.to(self.dtype)], dim=1))
        return features, None if p is None else p.to(self.dtype)

    def features(self, video=None, audio=None) -> torch.Tensor:
        """(B, feature_dim) penultimate features (the space of the Fréchet World Distance)."""
        return self._embed(video, audio, appearance=False)[0]

    def _logits(self, features: torch.Tensor, appearance: torch.Tensor | None) -> dict[str, torch.Tensor]:
        both = features if appearance is None else torch.cat([features, appearance], dim=1)
        return {h: head(both if h in APPEARANCE_HEADS else features) for h, head in self.heads.items()}

    def forward(self, video=None, audio=None, drop_video: torch.Tensor | None = None,
                drop_audio: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Logits per head: {"subjects": (B, S), "count": (B, max_count+1), "action": (B, 16), ...};
        multi-label heads (subjects, effects, audio_classes) are sigmoid logits, the rest softmax."""
        features, appearance = self._embed(video, audio, drop_video, drop_audio)
        return self._logits(self.drop(features), None if appearance is None else self.drop(appearance))

    # ------------------------------------------------------------------------------------------
    # labels

    def targets(self, labels: Sequence[dict]) -> dict[str, torch.Tensor]:
        """World label dicts -> training targets: class indices for single-label heads, multi-hot
        float for multi-label heads (subjects: which names appear, whatever their count)."""
        n = len(labels)
        out = {h: torch.zeros(n, self.head_sizes[h]) for h in MULTI_LABEL}
        out.update({h: torch.zeros(n, dtype=torch.long) for h in SINGLE_LABEL})
        index = {h: {name: i for i, name in enumerate(self.vocab[VOCAB_KEYS[h]])} for h in VOCAB_KEYS}
        for i, raw in enumerate(labels):
            lab = canonical_labels(raw)
            for h in MULTI_LABEL:
                for name in lab[h]:
                    out[h][i, index[h][name]] = 1.0
            out["count"][i] = min(lab["count"], self.config.max_count)
            out["action"][i] = index["action"][lab["action"] if lab["action"] is not None else NO_ACTION]
            for h in ("background", "style", "camera"):
                out[h][i] = index[h][lab[h]]
        return out

    def loss(self, logits: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
             as_tensors: bool = False) -> tuple[torch.Tensor, dict]:
        """Sum over heads: cross-entropy for single-label heads, BCE summed over classes (mean over
        the batch) for multi-label heads. Returns (total, {head: float}) (0-d detached tensors
        with as_tensors, which does not wait for the device)."""
        parts = {}
        for h in SINGLE_LABEL:
            parts[h] = F.cross_entropy(logits[h].float(), targets[h].to(logits[h].device))
        for h in MULTI_LABEL:
            t = targets[h].to(logits[h].device)
            parts[h] = F.binary_cross_entropy_with_logits(logits[h].float(), t, reduction="sum") / len(t)
        total = sum(parts.values())
        if as_tensors:
            return total, {h: v.detach() for h, v in parts.items()}
        return total, {h: float(v.detach()) for h, v in parts.items()}

    @torch.no_grad()
    def predict_proba(self, video=None, audio=None) -> dict[str, np.ndarray]:
        """Probabilities per head for one batch (sigmoid or softmax), as float32 numpy arrays."""
        return self.features_and_probabilities(video, audio)[1]

    @torch.no_grad()
    def features_and_probabilities(self, video=None, audio=None) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
        """Features (as `features`) and probabilities per head (as `predict_proba`) from one pass,
        in eval mode: sigmoid for multi-label heads, softmax for the rest."""
        was = self.training
        self.eval()
        try:
            features, appearance = self._embed(video, audio)
            logits = self._logits(features, appearance)
        finally:
            self.train(was)
        probs = {h: torch.sigmoid(z.float()) if h in MULTI_LABEL else torch.softmax(z.float(), -1)
                 for h, z in logits.items()}
        return features, {h: p.cpu().numpy() for h, p in probs.items()}

    def decode(self, probs: dict[str, np.ndarray], threshold: float = 0.5) -> list[dict]:
        """Per-head probabilities -> label dicts in the world's form (see `predict`)."""
        subjects = self.vocab["subjects"]
        out = []
        for i in range(len(probs["count"])):
            count = int(np.argmax(probs["count"][i]))
            p = probs["subjects"][i]
            order = np.argsort(-p)
            positives = int((p >= threshold).sum())
            if count == 0:
                names = []
            elif positives >= 2:  # several different subjects: the `count` most likely
                names = [subjects[j] for j in order[:count]]
            else:  # one kind of subject, `count` of them ("two pandas")
                names = [subjects[order[0]]] * count
            # "none" with subjects: they stand still (a judge trained with --still-p says so)
            action = None if count == 0 else self.vocab["actions"][int(np.argmax(probs["action"][i]))]
            label = {
                "subjects": sorted(names),
                "count": count,
                "action": action,
                "background": self.vocab["backgrounds"][int(np.argmax(probs["background"][i]))],
                "style": self.vocab["styles"][int(np.argmax(probs["style"][i]))],
                "camera": self.vocab["cameras"][int(np.argmax(probs["camera"][i]))],
                "effects": sorted(e for e, q in zip(self.vocab["effects"], probs["effects"][i]) if q >= threshold),
                "audio_classes": sorted(c for c, q in zip(self.vocab["audio_classes"], probs["audio_classes"][i])
                                        if q >= threshold),
            }
            out.append(label)
        return out

    def predict(self, videos=None, audios=None, batch_size: int = 32, threshold: float = 0.5) -> list[dict]:
        """Label dicts for clips, in the world's label form, comparable with `canonical_labels`:
        {"subjects": sorted names (a multiset of the predicted count: the top subjects, or the top
        one repeated when only one is above threshold), "count", "action" (None without subjects;
        "none" when they stand still), "background", "style", "camera", "effects" (sorted; "then"
        effects included), "audio_classes" (sorted)}. Multi-label thresholds are `threshold`.

        videos: (B, T, H, W, 3) array/tensor, or a list of (T, H, W, 3) clips (sizes may differ),
        or None; audios: (B, 34000), a list of (34000,) tracks, or None."""
        vids = _as_list(videos)
        auds = _as_list(audios)
        n = len(vids) if vids is not None else len(auds) if auds is not None else 0
        if vids is not None and auds is not None and len(vids) != len(auds):
            raise ValueError(f"{len(vids)} videos but {len(auds)} audio tracks")
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i in range(n):
            groups[tuple(np.shape(vids[i])) if vids is not None else ()].append(i)
        results: list[dict | None] = [None] * n
        for idx in groups.values():
            for s in range(0, len(idx), batch_size):
                chunk = idx[s:s + batch_size]
                v = _stack([vids[i] for i in chunk]) if vids is not None else None
                a = _stack([auds[i] for i in chunk]) if auds is not None else None
                for i, lab in zip(chunk, self.decode(self.predict_proba(v, a), threshold)):
                    results[i] = lab
        return results  # type: ignore[return-value]


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x[i] for i in range(len(x))]


def _stack(items) -> torch.Tensor:
    return torch.stack([torch.as_tensor(np.asarray(i) if not isinstance(i, torch.Tensor) else i) for i in items])


# ----------------------------------------------------------------------------------------------
# scoring


def score(predictions: Sequence[dict], truths: Sequence[dict]) -> dict:
    """Judge accuracy of predicted label dicts against true ones (both passed through
    `canonical_labels`; a kind the truth does not state is not scored).

    Single-label kinds (count, action, background, style, camera): top-1 accuracy. subjects: the
    predicted multiset equals the true one; subjects_recall: mean over subject names of how often a
    clip showing it has it among the predictions (per name in subjects_recall_per_name). effects and
    audio_classes: exact-set accuracy, and mean per-class F1 (<kind>_f1)."""
    preds = [canonical_labels(p) for p in predictions]
    trues = [canonical_labels(t) for t in truths]
    out: dict = {"n": len(trues)}
    for key in ("subjects", "count", "action", "background", "style", "camera", "effects", "audio_classes"):
        pairs = [(p.get(key), t[key]) for p, t in zip(preds, trues) if key in t]
        if pairs:
            out[key] = float(np.mean([p == t for p, t in pairs]))
    pairs = [(set(p.get("subjects", [])), set(t["subjects"])) for p, t in zip(preds, trues) if "subjects" in t]
    hits: dict[str, list[bool]] = defaultdict(list)
    for p, t in pairs:
        for name in t:
            hits[name].append(name in p)
    if hits:
        per_name = {k: float(np.mean(v)) for k, v in sorted(hits.items())}
        out["subjects_recall"] = float(np.mean(list(per_name.values())))
        out["subjects_recall_per_name"] = per_name
    for key in ("effects", "audio_classes"):
        pairs = [(set(p.get(key, [])), set(t[key])) for p, t in zip(preds, trues) if key in t]
        classes = sorted(set().union(*[p | t for p, t in pairs])) if pairs else []
        f1s = []
        for c in classes:
            tp = sum(c in p and c in t for p, t in pairs)
            fp = sum(c in p and c not in t for p, t in pairs)
            fn = sum(c not in p and c in t for p, t in pairs)
            f1s.append(2 * tp / max(1, 2 * tp + fp + fn))
        if f1s:
            out[f"{key}_f1"] = float(np.mean(f1s))
    return out


# ----------------------------------------------------------------------------------------------
# held-out ground truth


def render_for_judge(args: tuple) -> tuple[np.ndarray, np.ndarray, dict]:
    """(seed, (H, W), width, frames) -> (prepared video uint8, audio float16, labels): one world
    clip as the judge sees it. Module-level so worker processes can run it."""
    from videopoet.world.render import render

    seed, size, width, frames = args
    s = render(int(seed), tuple(size))
    return prepare_clip(s.video, width, frames), s.audio.astype(np.float16), s.labels


def heldout_jobs(n: int, width: int, frames: int, first_seed: int = HELD_OUT_FIRST_SEED) -> list[tuple]:
    """The fixed held-out set: seeds first_seed.., square and portrait alternating."""
    from videopoet.world.render import SIZES

    return [(first_seed + i, SIZES[i % 2], width, frames) for i in range(n)]


def evaluate_heldout(judge: WorldJudge, n: int = 1024, first_seed: int = HELD_OUT_FIRST_SEED,
                     workers: int | None = None, batch_size: int = 64, pool=None) -> dict:
    """Render `n` held-out clips (seeds first_seed.., never trained on) and score the judge on them.
    Uses `pool` (a multiprocessing pool) when given, else `workers` processes (1: in this process)."""
    jobs = heldout_jobs(n, judge.clip_width, judge.config.frames, first_seed)
    if pool is not None:
        clips = pool.map(render_for_judge, jobs, chunksize=8)
    else:
        from videopoet.world.dataset import worker_pool

        with worker_pool(workers) as own:
            clips = own.map(render_for_judge, jobs, chunksize=8) if own else [render_for_judge(j) for j in jobs]
    preds = judge.predict([c[0] for c in clips], [c[1].astype(np.float32) for c in clips], batch_size=batch_size)
    return score(preds, [c[2] for c in clips])
