"""The benchmark: a fixed, seeded, held-out prompt/clip set per task, any generator, one dict of metrics.

    from videopoet.eval.bench import run_bench, builtin_generators
    result = run_bench("t2v", 16, builtin_generators(["ground_truth", "first_frame"]), judge)

Every item is a world clip (or, for a third of image-to-video, a held-out real photo under a Ken
Burns move) rendered from a seed no training run sees: task k uses seeds
first_seed + 1_000_000 + 100_000·k + i, square and portrait alternating. An item holds what a generator is
`given` and the `truth` it is scored against (video, audio, labels with the event times):

| task         | given (always also the caption)                                  | output               |
|--------------|------------------------------------------------------------------|----------------------|
| t2v          | –                                                                | video                |
| t2i          | – (the scene's camera is static)                                 | image (1 frame)      |
| i2v          | image: the first frame                                           | video                |
| continuation | video: the first 9 frames; audio: their 1.125 s                  | video + audio        |
| inpaint      | video with the masked pixels 0, mask (a box, or random 8×8 cells) | video                |
| outpaint     | the same, mask a border or one half                              | video                |
| stylize      | structure: `videopoet.structure.structure_video` of depth + flow | video                |
| v2a          | video                                                            | audio                |
| a2v          | audio                                                            | video                |
| t2a          | –                                                                | audio                |
| long_video   | video: the first 9 frames; asked for 41 frames                   | video (≥ 17 frames)  |

Generated videos are 17 frames (t2i: 1) at the item's size; audio is 34,000 samples at 16 kHz.
A long video is scored on its last 17 frames, where drift from the given start has had longest to
grow (its context PSNR on its first 9).

Metrics per generator (mean over items unless said): the judge sees exactly what the task
outputs (video tasks: video only; continuation: video and audio; audio tasks: audio only), so
no input leaks into its verdict.
    text_<kind>          judge agreement with what the prompt asked for: subjects (each asked subject
                         detected), action, background, style, camera, effects (exact set); text_mean
    camera_accuracy      the asked camera move recovered from pixels alone (metrics.camera_accuracy)
    camera_accuracy_real_photo   i2v: the same over the held-out real photos only
    motion, static_rate, temporal_consistency   Farneback flow, computed once per clip
    flow_correlation     stylize: the generated motion against the true motion
    psnr_given, ssim_given   the part the generator was given: first frame (i2v), the context
                         frames (continuation, long video), the unmasked region (inpaint, outpaint);
                         PSNR of the pooled squared error, so inf only when every item is exact
    audio_class_accuracy, audio_class_f1   judge's audio_classes head (exact set, mean F1)
    onset_offset_ms      v2a: median over items of the median distance from each true visual event
                         to the nearest audio onset (ms)
    fwd                  Fréchet World Distance to the ground-truth outputs of the same items, in
                         the judge's feature space. N is small next to the feature size, so the
                         covariances are rank-deficient; frechet_distance's ridge keeps it defined.

Generators are `Callable[[str, BenchItem], GeneratedClip]`. Built in: `ground_truth` (the upper
bound), `tokenized_ground_truth` (`TokenizedGroundTruth`: the ground truth encoded and decoded by
the tokenizers, the upper bound of any model over their tokens: its gap to `ground_truth` is what the
tokenizers alone lose), `independent_ground_truth` (the same scene from another seed: the FWD noise
floor), `first_frame` (a still), `random_tokens` (`RandomTokens`: uniform random tokens through the
tokenizers), and `lm` (`LanguageModel`: the shipped language model, each task through `VideoPoetPipeline`).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from videopoet.errors import VideoPoetError
from videopoet.eval.judge import (
    HELD_OUT_FIRST_SEED,
    WorldJudge,
    prepare_clip,
    score,
)
from videopoet.eval.metrics import (
    camera_accuracy,
    first_frame_repeated,
    flow_correlation,
    frechet_distance,
    is_static,
    median_onset_offset_ms,
    motion_amount,
    optical_flow,
    psnr,
    ssim,
    temporal_consistency,
)
from videopoet.world.audio import CLIP_SAMPLES, SAMPLE_RATE
from videopoet.world.camera import FPS, FRAMES
from videopoet.structure import structure_video
from videopoet.world.dataset import worker_pool

if TYPE_CHECKING:
    from videopoet.world.real import Source
    from videopoet.world.scene import Spec

TASKS = ("t2v", "t2i", "i2v", "continuation", "inpaint", "outpaint", "stylize", "v2a", "a2v", "t2a", "long_video")
VIDEO_OUT = frozenset({"t2v", "i2v", "continuation", "inpaint", "outpaint", "stylize", "a2v", "long_video"})
AUDIO_OUT = frozenset({"continuation", "v2a", "t2a"})
CONTEXT_FRAMES = 9  # three latent frames of the causal 4x-in-time tokenizer: 1 + 4 + 4
CONTEXT_SAMPLES = CONTEXT_FRAMES * SAMPLE_RATE // FPS
LONG_VIDEO_FRAMES = 41  # the first clip and three one-second extensions
# Above the judge's held-out clips (from HELD_OUT_FIRST_SEED) and the tokenizers' (from +200_000).
BENCH_SEED_OFFSET = 1_000_000
TASK_SEED_STRIDE = 100_000
INDEPENDENT_SEED_OFFSET = 50_000  # within the task's stride, so at most this many items per task
REAL_PHOTO_EVERY = 3  # i2v items i with i % 3 == 2 are real photos (both orientations, as i alternates)
EXAMPLE_ITEMS = 2  # items per task kept for the contact sheet
AUDIO_CODES = (4, 106)  # RVQ levels x frames per clip
AUDIO_CODEBOOK = 1024

# Report order and meaning; higher is better unless marked (lower).
METRICS = {
    "text_mean": "mean of the text_* columns",
    "text_subjects": "asked subjects detected by the judge",
    "text_action": "judge agrees on the action",
    "text_background": "judge agrees on the background",
    "text_style": "judge agrees on the style",
    "text_camera": "judge agrees on the camera move",
    "text_effects": "judge finds exactly the asked effects",
    "camera_accuracy": "asked camera move recovered from pixels alone",
    "camera_accuracy_real_photo": "i2v: camera_accuracy on the held-out real photos only",
    "motion": "mean flow magnitude, px/frame at 128 px (ground truth shows the right amount)",
    "static_rate": "share of clips that barely move (ground truth shows the right rate)",
    "temporal_consistency": "flow-warp error, 0..255 levels (lower)",
    "flow_correlation": "stylize: generated motion vs the true motion",
    "psnr_given": "PSNR (dB) of the part that was given",
    "ssim_given": "SSIM of the part that was given",
    "audio_class_accuracy": "judge hears exactly the true sound classes",
    "audio_class_f1": "mean per-class F1 of the heard sound classes",
    "onset_offset_ms": "median ms from a visual event to the nearest audio onset (lower)",
    "fwd": "Fréchet World Distance to the ground truth of the same items (lower)",
}
TEXT_KINDS = ("subjects", "action", "background", "style", "camera", "effects")
ASKED_KEYS = ("subjects", "action", "background", "style", "camera", "effects", "then")

__all__ = ["AUDIO_OUT", "TASKS", "VIDEO_OUT", "BenchItem", "GeneratedClip", "Generator", "GeneratorSkipped", "Given",
           "LanguageModel", "RandomTokens", "TokenizedGroundTruth", "Truth", "build_items", "builtin_generators",
           "contact_sheet", "first_frame", "ground_truth", "independent_ground_truth", "item_seeds", "markdown_report",
           "run_bench", "worker_pool", "write_report"]


@dataclass
class Given:
    """What a generator is given. Fields a task does not use are None."""

    caption: str
    size: tuple[int, int]  # (H, W) of the clip to generate
    frames: int  # frames to generate (t2i: 1; long_video: at least 17, asked for 41)
    image: np.ndarray | None = None  # (H, W, 3) uint8: i2v's first frame
    video: np.ndarray | None = None  # (T, H, W, 3) uint8: context, masked clip, or v2a's clip
    mask: np.ndarray | None = None  # (H, W) bool, True where pixels are to be generated
    structure: np.ndarray | None = None  # (17, H, W, 3) uint8: stylize's flow + depth clip
    audio: np.ndarray | None = None  # float32 at 16 kHz: a2v's track, continuation's first 1.125 s


@dataclass
class Truth:
    """What a generated clip is scored against. A generator under test must not read it."""

    video: np.ndarray  # (17, H, W, 3) uint8
    audio: np.ndarray  # (34000,) float32
    labels: dict  # world labels (real photos: camera only), with the visual events in labels["events"]


@dataclass
class BenchItem:
    task: str
    index: int
    seed: int
    given: Given
    truth: Truth
    spec: Spec | None  # the world scene, or None for a real photo
    source: Source | None  # the real photo, or None


@dataclass
class GeneratedClip:
    video: np.ndarray | None = None  # (T, H, W, 3) uint8
    audio: np.ndarray | None = None  # (34000,) float32


Generator = Callable[[str, BenchItem], GeneratedClip]


class GeneratorSkipped(Exception):
    """Raised by a generator that cannot run here (say, its weights are missing); the benchmark
    records {"skipped": reason} for it instead of failing."""


# ---------------------------------------------------------------------------------------------
# Items.

def item_seeds(task: str, n: int, first_seed: int = HELD_OUT_FIRST_SEED) -> list[int]:
    """The item seeds of a task: its own block above `first_seed`, never trained on."""
    _check_task(task, n, first_seed)
    start = first_seed + BENCH_SEED_OFFSET + TASK_SEED_STRIDE * TASKS.index(task)
    return list(range(start, start + n))


def _check_task(task: str, n: int, first_seed: int) -> None:
    if task not in TASKS:
        raise VideoPoetError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if not 1 <= n <= INDEPENDENT_SEED_OFFSET:
        raise VideoPoetError(f"n must be between 1 and {INDEPENDENT_SEED_OFFSET}, not {n}")
    if first_seed < HELD_OUT_FIRST_SEED:
        raise VideoPoetError(f"seeds below {HELD_OUT_FIRST_SEED} are training seeds; use --seed >= {HELD_OUT_FIRST_SEED}")


def _task_spec(task: str, seed: int):
    from videopoet.world.scene import random_spec
    from videopoet.world.styles import STYLES

    rng = np.random.default_rng([seed, 1])
    spec = random_spec(rng)
    if task == "t2i":
        spec = replace(spec, camera="static")  # an image has no camera move to ask for
    if task == "stylize" and spec.style == "none":
        spec = replace(spec, style=str(rng.choice(STYLES[1:])))
    return spec


def _grid_mask(rng: np.random.Generator, size: tuple[int, int], task: str, kind: int) -> np.ndarray:
    """True where pixels are to be generated; edges on the tokenizer's 8-px grid so the masked
    region is whole tokens. inpaint: a box (kind 0) or random cells (1); outpaint: a border (0)
    or one half (1)."""
    h, w = size
    cells = np.zeros((h // 8, w // 8), bool)
    ch, cw = cells.shape
    if task == "inpaint" and kind == 0:
        bh, bw = (int(rng.integers(round(0.3 * d), round(0.5 * d) + 1)) for d in (ch, cw))
        y, x = int(rng.integers(0, ch - bh + 1)), int(rng.integers(0, cw - bw + 1))
        cells[y:y + bh, x:x + bw] = True
    elif task == "inpaint":
        cells = rng.random((ch, cw)) < 0.4
    elif kind == 0:
        band = max(1, min(ch, cw) // 4)
        cells[:] = True
        cells[band:ch - band, band:cw - band] = False
    else:
        side = int(rng.integers(4))
        if side < 2:
            cells[:, :cw // 2] = True
        else:
            cells[:ch // 2] = True
        cells = cells[:, ::-1] if side == 1 else cells[::-1] if side == 3 else cells
    return np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)


def _render_item(job: tuple[str, int, int]) -> BenchItem:
    """(task, index, seed) -> one item. Module-level so pool workers can run it."""
    from videopoet.world.real import ken_burns, split
    from videopoet.world.render import SIZES, render

    task, index, seed = job
    size = SIZES[index % 2]
    spec = source = None
    if task == "i2v" and index % REAL_PHOTO_EVERY == REAL_PHOTO_EVERY - 1:
        photos = split("photo", held_out=True)
        source = photos[int(np.random.default_rng([seed, 2]).integers(len(photos)))]
        sample = ken_burns(source, seed, size)
        labels = {"camera": sample.labels["camera"], "events": [], "source": "photo", "file": source.name}
    else:
        spec = _task_spec(task, seed)
        sample = render(seed, size, spec)
        labels = sample.labels
    given = Given(caption=sample.caption, size=size, frames=FRAMES)
    if task == "t2i":
        given.frames = 1
    elif task == "i2v":
        given.image = sample.video[0].copy()
    elif task in ("continuation", "long_video"):
        given.video = sample.video[:CONTEXT_FRAMES].copy()
        if task == "continuation":
            given.audio = sample.audio[:CONTEXT_SAMPLES].copy()
        else:
            given.frames = LONG_VIDEO_FRAMES
    elif task in ("inpaint", "outpaint"):
        given.mask = _grid_mask(np.random.default_rng([seed, 3]), size, task, (index // 2) % 2)
        given.video = np.where(given.mask[None, ..., None], np.uint8(0), sample.video)
    elif task == "stylize":
        given.structure = structure_video(sample.depth, sample.flow)
    elif task == "v2a":
        given.video = sample.video
    elif task == "a2v":
        given.audio = sample.audio
    return BenchItem(task, index, seed, given, Truth(sample.video, sample.audio, labels), spec, source)


def build_items(task: str, n: int, first_seed: int = HELD_OUT_FIRST_SEED, pool=None) -> list[BenchItem]:
    """The task's first `n` items, identical on every run (rendered in `pool` when given)."""
    jobs = [(task, i, seed) for i, seed in enumerate(item_seeds(task, n, first_seed))]
    return _map(pool, _render_item, jobs)


# ---------------------------------------------------------------------------------------------
# Generators.

def _output(task: str, video: np.ndarray, audio: np.ndarray) -> GeneratedClip:
    """A full world clip cut to what the task outputs."""
    return GeneratedClip(video=video[:1] if task == "t2i" else video if task in VIDEO_OUT else None,
                         audio=audio if task in AUDIO_OUT else None)


def ground_truth(task: str, item: BenchItem) -> GeneratedClip:
    """The true clip: the upper bound of every metric, and the reference FWD is measured to."""
    return _output(task, item.truth.video, item.truth.audio)


def independent_ground_truth(task: str, item: BenchItem) -> GeneratedClip:
    """The same scene (spec, or photo and camera move) rendered from another seed: a clip as
    right as the truth but not the same clip, so FWD to the truth shows the distance's noise floor."""
    seed = item.seed + INDEPENDENT_SEED_OFFSET
    if item.source is not None:
        from videopoet.world.real import ken_burns

        sample = ken_burns(item.source, seed, item.given.size, camera=item.truth.labels["camera"])
    else:
        from videopoet.world.render import render

        sample = render(seed, item.given.size, item.spec)
    return _output(task, sample.video, sample.audio)


independent_ground_truth.parallel = True  # renders: worth a pool worker; pure and picklable


def first_frame(task: str, item: BenchItem) -> GeneratedClip:
    """The still baseline: the first frame of the given picture (i2v's image, the context or
    masked clip), else of the ground truth, held for 17 frames; silence for audio."""
    if task == "t2i":
        raise GeneratorSkipped("for t2i the ground truth's first frame is the ground truth")
    given = item.given
    picture = given.image if given.image is not None else given.video[0] if given.video is not None \
        else item.truth.video[0]
    return _output(task, first_frame_repeated(picture[None], FRAMES), np.zeros(CLIP_SAMPLES, np.float32))


class _Tokenizers:
    """The shipped tokenizers, for the generators that go through them: loaded on first use from
    `video_weights` / `audio_weights`, or passed in. A missing weights folder skips the generator."""

    def __init__(self, video_tokenizer=None, audio_tokenizer=None, video_weights: str = "weights/video_tokenizer",
                 audio_weights: str = "weights/audio_tokenizer"):
        self.video_tokenizer = video_tokenizer
        self.audio_tokenizer = audio_tokenizer
        self.video_weights = video_weights
        self.audio_weights = audio_weights

    def _video(self):
        if self.video_tokenizer is None:
            if not Path(self.video_weights).is_dir():
                raise GeneratorSkipped(f"{self.video_weights} not found")
            from videopoet.tokenizers.video import VideoTokenizer

            self.video_tokenizer = VideoTokenizer.from_pretrained(self.video_weights)
        return self.video_tokenizer

    def _audio(self):
        if self.audio_tokenizer is None:
            if not Path(self.audio_weights).is_dir():
                raise GeneratorSkipped(f"{self.audio_weights} not found")
            from videopoet.tokenizers.audio import AudioTokenizer

            self.audio_tokenizer = AudioTokenizer.from_pretrained(self.audio_weights)
        return self.audio_tokenizer


class RandomTokens(_Tokenizers):
    """Uniform random tokens decoded by the tokenizers: what a model that learned nothing shows.

    The tokenizers load as `_Tokenizers` says, or are passed in (anything with VideoTokenizer's
    `config.codebook_bits`, `latent_shape` and `decode_frames`, or AudioTokenizer's `decode_audio`).
    """

    def __call__(self, task: str, item: BenchItem) -> GeneratedClip:
        rng = np.random.default_rng([item.seed, 4])
        video = audio = None
        if task in VIDEO_OUT or task == "t2i":
            tokenizer = self._video()
            shape = tokenizer.latent_shape(item.given.frames, *item.given.size)
            codes = rng.integers(0, 2 ** tokenizer.config.codebook_bits, size=(1, *shape), dtype=np.int64)
            video = np.asarray(tokenizer.decode_frames(codes))[0]
        if task in AUDIO_OUT:
            codes = rng.integers(0, AUDIO_CODEBOOK, size=(1, *AUDIO_CODES), dtype=np.int64)
            audio = np.asarray(self._audio().decode_audio(codes), np.float32)[0]
        return GeneratedClip(video, audio)


class TokenizedGroundTruth(_Tokenizers):
    """The ground truth through the tokenizers: its video encoded and decoded by the video tokenizer,
    its sound (for tasks that output sound) by the audio tokenizer. No language model over these
    tokens can do better, so its distance from `ground_truth` is what the tokenizers alone lose.

    The tokenizers load as `_Tokenizers` says, or are passed in (anything with VideoTokenizer's
    `encode_frames` and `decode_frames`, or AudioTokenizer's `encode_audio` and `decode_audio`).
    """

    def __call__(self, task: str, item: BenchItem) -> GeneratedClip:
        truth = ground_truth(task, item)  # t2i: the first frame, which encodes to one latent frame
        video = audio = None
        if truth.video is not None:
            tokenizer = self._video()
            video = np.asarray(tokenizer.decode_frames(tokenizer.encode_frames(truth.video[None])))[0]
        if truth.audio is not None:
            tokenizer = self._audio()
            audio = np.asarray(tokenizer.decode_audio(tokenizer.encode_audio(truth.audio[None])), np.float32)[0]
        return GeneratedClip(video, audio)


# The pipeline's sampling settings a benchmark run may change, each with the type its value reads as.
SAMPLING = {"temperature": float, "top_k": int, "top_p": float, "cfg_scale": float}


class LanguageModel:
    """The language model: each task run as the matching `VideoPoetPipeline` task.

    The pipeline loads on first use from `weights` (the folder holding model_index.json) at
    `precision` on `device` (defaults: `videopoet.default_precision`, CUDA when available),
    without the prompt interpreter: the captions are already in the world's caption grammar the
    model trained on. A weights folder
    lacking a component skips the generator; a loaded `VideoPoetPipeline` can be passed as `pipe`.
    An item samples from seed `seed + item.seed`, so a run is reproducible; video tasks make no
    sound unless the task outputs it. `sampling` (temperature, top_k, top_p, cfg_scale) goes to
    every task call in place of the pipeline's defaults.

    t2v, t2i, i2v, inpaint, outpaint, stylize (from the structure video), v2a, a2v and t2a are the
    pipeline's tasks of those names, given the caption wherever the task takes text. Continuation and
    long video are `extend`, which continues the last second (latent frames 3..4) of a clip's tokens:
    the given 9 frames encode to latent frames 0..2, whose second (1..2, the context continuation
    trains on) is put there. Their output is the given frames through the tokenizer, then the new
    seconds, as a long video is stitched; continuation's sound is the given sound, then the new second.
    """

    def __init__(self, weights: str | os.PathLike = "weights", precision: str | None = None,
                 device: str | torch.device | None = None, seed: int = 0, pipe=None, sampling: dict | None = None):
        unknown = set(sampling or {}) - set(SAMPLING)
        if unknown:
            raise VideoPoetError(f"unknown sampling setting {sorted(unknown)[0]!r}; known: {', '.join(SAMPLING)}")
        self.sampling = dict(sampling or {})
        self.weights = Path(weights)
        self.precision = precision
        self.device = device
        self.seed = seed
        self.pipe = pipe

    def _pipeline(self):
        if self.pipe is None:
            from videopoet.pipeline import COMPONENTS, VideoPoetPipeline

            for path in (self.weights / "model_index.json", *(self.weights / name for name in COMPONENTS)):
                if not path.exists():
                    raise GeneratorSkipped(f"{path} not found")
            self.pipe = VideoPoetPipeline.from_pretrained(self.weights, precision=self.precision, device=self.device,
                                                          use_interpreter=False)
        return self.pipe

    def __call__(self, task: str, item: BenchItem) -> GeneratedClip:
        pipe = self._pipeline()
        g = item.given
        seed = self.seed + item.seed
        portrait = g.size == pipe.clip_size(portrait=True)
        sampled = {"seed": seed, **self.sampling}
        clip_args = {"portrait": portrait, "with_audio": False, **sampled}
        if task == "t2v":
            return GeneratedClip(pipe.text_to_video(g.caption, **clip_args).frames)
        if task == "t2i":
            return GeneratedClip(pipe.text_to_image(g.caption, portrait=portrait, **sampled).frames)
        if task == "i2v":
            return GeneratedClip(pipe.image_to_video(g.image, g.caption, **clip_args).frames)
        if task in ("inpaint", "outpaint"):
            fill = pipe.inpaint if task == "inpaint" else pipe.outpaint
            return GeneratedClip(fill(g.video, g.mask, g.caption, **clip_args).frames)
        if task == "stylize":
            return GeneratedClip(pipe.stylize(g.caption, structure=g.structure, **clip_args).frames)
        if task == "v2a":
            return GeneratedClip(audio=pipe.video_to_audio(g.video, portrait=portrait, **sampled).audio)
        if task == "a2v":
            return GeneratedClip(pipe.audio_to_video(g.audio, g.caption, portrait=portrait, **sampled).frames)
        if task == "t2a":
            return GeneratedClip(audio=pipe.text_to_audio(g.caption, **sampled).audio)
        if task in ("continuation", "long_video"):
            return self._continue(pipe, task, g, sampled)
        raise VideoPoetError(f"unknown task {task!r}; known: {', '.join(TASKS)}")

    @staticmethod
    def _continue(pipe, task: str, g: Given, sampled: dict) -> GeneratedClip:
        from videopoet.media import fit_audio
        from videopoet.pipeline import NEW_AUDIO_FRAMES

        given = pipe.video_tokenizer.encode_frames(g.video)  # latent frames 0..2
        clip = np.concatenate([given, given[1:]])  # only its last second (latent frames 3..4) is read
        context = pipe.video_tokenizer.decode_frames(given)
        if task == "long_video":
            seconds = math.ceil((g.frames - CONTEXT_FRAMES) / FPS)
            out = pipe.extend(clip, g.caption, num_seconds=seconds, with_audio=False, **sampled)
            return GeneratedClip(np.concatenate([context, out.frames])[:g.frames])
        # extend's sound context is the last second of the track's codes (frames 56..105);
        # continuation trained on the second from frame 6, so the given sound goes one second later.
        track = fit_audio(np.concatenate([np.zeros(SAMPLE_RATE, np.float32), g.audio]), CLIP_SAMPLES)
        out = pipe.extend(clip, g.caption, audio=track, **sampled)
        # The new second starts at audio frame 56 of the clip: the given sound is cut there.
        start = NEW_AUDIO_FRAMES.start * pipe.audio_tokenizer.hop
        audio = fit_audio(np.concatenate([g.audio[:start], out.audio]), CLIP_SAMPLES)
        return GeneratedClip(np.concatenate([context, out.frames]), audio)


BUILTIN = ("ground_truth", "tokenized_ground_truth", "first_frame", "random_tokens", "independent_ground_truth", "lm")
THROUGH_TOKENIZERS = {"random_tokens": RandomTokens, "tokenized_ground_truth": TokenizedGroundTruth}


def builtin_generators(names: Sequence[str], video_tokenizer=None, audio_tokenizer=None,
                       weights: str | os.PathLike = "weights", precision: str | None = None,
                       sampling: dict | None = None) -> dict[str, Generator]:
    """Built-in generators by name (see BUILTIN). `weights` is the folder lm loads and random_tokens
    and tokenized_ground_truth take their tokenizers from (unless they are given); `precision` and
    `sampling` are lm's."""
    table = {"ground_truth": ground_truth, "first_frame": first_frame,
             "independent_ground_truth": independent_ground_truth}
    out: dict[str, Generator] = {}
    for name in names:
        if name in THROUGH_TOKENIZERS:
            out[name] = THROUGH_TOKENIZERS[name](video_tokenizer, audio_tokenizer,
                                                 str(Path(weights) / "video_tokenizer"),
                                                 str(Path(weights) / "audio_tokenizer"))
        elif name == "lm":
            out[name] = LanguageModel(weights, precision, sampling=sampling)
        elif name in table:
            out[name] = table[name]
        else:
            raise VideoPoetError(f"unknown generator {name!r}; known: {', '.join(BUILTIN)}")
    return out


def _checked(task: str, name: str, item: BenchItem, clip: GeneratedClip) -> GeneratedClip:
    h, w = item.given.size
    if task in VIDEO_OUT or task == "t2i":
        v = None if clip.video is None else np.asarray(clip.video)
        long = task == "long_video"
        ok = (v is not None and v.dtype == np.uint8 and v.ndim == 4 and v.shape[1:] == (h, w, 3)
              and (v.shape[0] >= FRAMES if long else v.shape[0] == item.given.frames))
        if not ok:
            frames = f"at least {FRAMES}" if long else str(item.given.frames)
            got = "None" if v is None else f"{v.dtype} {v.shape}"
            raise VideoPoetError(f"generator {name!r} on {task} item {item.seed}: video must be uint8 "
                                 f"({frames}, {h}, {w}, 3), got {got}")
        clip = GeneratedClip(v, clip.audio)
    if task in AUDIO_OUT:
        a = None if clip.audio is None else np.asarray(clip.audio, np.float32)
        if a is None or a.shape != (CLIP_SAMPLES,):
            got = "None" if a is None else str(a.shape)
            raise VideoPoetError(f"generator {name!r} on {task} item {item.seed}: audio must be "
                                 f"({CLIP_SAMPLES},) float32, got {got}")
        clip = GeneratedClip(clip.video, a)
    return clip


# ---------------------------------------------------------------------------------------------
# Scoring.

def _scored_video(task: str, video: np.ndarray) -> np.ndarray:
    return video[-FRAMES:] if task == "long_video" else video


def _clip_scores(task: str, item: BenchItem, clip: GeneratedClip) -> dict[str, float]:
    """The per-clip metrics that need no network."""
    out: dict[str, float] = {}
    truth = item.truth
    if task in VIDEO_OUT:
        video = _scored_video(task, clip.video)
        flow = optical_flow(video)
        out["camera_accuracy"] = camera_accuracy([video], [truth.labels["camera"]])
        out["motion"] = motion_amount(video, flow)
        out["static_rate"] = float(is_static(video, flow=flow))
        out["temporal_consistency"] = temporal_consistency(video, flow)
    if task == "stylize":
        out["flow_correlation"] = flow_correlation(truth.video, clip.video)
    if task == "i2v":
        out["camera_accuracy_real_photo"] = out["camera_accuracy"] if item.source is not None else float("nan")
        out["psnr_given"] = psnr(item.given.image, clip.video[0])
        out["ssim_given"] = ssim(item.given.image, clip.video[0])
    elif task in ("continuation", "long_video"):
        context = clip.video[:CONTEXT_FRAMES]
        out["psnr_given"] = psnr(item.given.video, context)
        out["ssim_given"] = ssim(item.given.video, context)
    elif task in ("inpaint", "outpaint"):
        hole = item.given.mask
        out["psnr_given"] = psnr(truth.video, clip.video, mask=~hole)
        # ssim has no mask: paste the truth into the hole so only the given region can differ.
        out["ssim_given"] = ssim(truth.video, np.where(hole[None, ..., None], truth.video, clip.video))
    if task == "v2a":
        out["onset_offset_ms"] = median_onset_offset_ms(clip.audio, truth.labels["events"])
    return out


def _score_item(job: tuple[str, BenchItem, list[GeneratedClip]]) -> list[dict[str, float]]:
    task, item, clips = job
    return [_clip_scores(task, item, clip) for clip in clips]


def _pooled_psnr(values: list[float]) -> float:
    """PSNR of the mean squared error over items: one exact item does not make the set inf."""
    mse = np.mean([255.0 ** 2 / 10 ** (p / 10) for p in values])
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


# Metrics that are nan on the items they say nothing about (onsets: items without visual events;
# the real-photo camera: world scenes), left out of the aggregate rather than spoiling it.
UNDEFINED_ON_SOME_ITEMS = frozenset({"onset_offset_ms", "camera_accuracy_real_photo"})


def _aggregate(per_clip: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for key in per_clip[0]:
        values = [c[key] for c in per_clip]
        if key in UNDEFINED_ON_SOME_ITEMS:
            values = [v for v in values if not np.isnan(v)]
            if not values:
                out[key] = float("nan")
                continue
        if key == "psnr_given":
            out[key] = _pooled_psnr(values)
        elif key == "onset_offset_ms":
            out[key] = float(np.median(values))
        else:
            out[key] = float(np.mean(values))
    return out


def _judge_view(task: str, clip: GeneratedClip, judge: WorldJudge) -> tuple[np.ndarray | None, np.ndarray | None]:
    """What the judge sees of an output: the task's output modalities only, frames as it samples them."""
    cfg = judge.config
    video = None
    if task == "t2i":
        video = prepare_clip(first_frame_repeated(clip.video, cfg.frames), judge.clip_width, cfg.frames)
    elif task in VIDEO_OUT:
        video = prepare_clip(_scored_video(task, clip.video), judge.clip_width, cfg.frames)
    return video, clip.audio if task in AUDIO_OUT else None


@torch.no_grad()
def _judge_clips(judge: WorldJudge, views: list[tuple], batch_size: int = 32) -> tuple[np.ndarray, list[dict]]:
    """Features and label predictions from one pass of the judge (predict and features would run
    it twice), batching clips of equal shape."""
    groups: dict[tuple, list[int]] = {}
    for i, (video, _) in enumerate(views):
        groups.setdefault(None if video is None else video.shape, []).append(i)
    feats: list[np.ndarray | None] = [None] * len(views)
    labels: list[dict | None] = [None] * len(views)
    for idx in groups.values():
        for s in range(0, len(idx), batch_size):
            chunk = idx[s:s + batch_size]
            videos = [views[i][0] for i in chunk]
            audios = [views[i][1] for i in chunk]
            v = None if videos[0] is None else torch.from_numpy(np.stack(videos))
            a = None if audios[0] is None else torch.from_numpy(np.stack(audios))
            f, probs = judge.features_and_probabilities(v, a)
            for i, feat, lab in zip(chunk, f.float().cpu().numpy(), judge.decode(probs)):
                feats[i], labels[i] = feat, lab
    return np.stack(feats), labels


def _judge_scores(task: str, items: list[BenchItem], predictions: list[dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    if task in VIDEO_OUT or task == "t2i":
        asked = [{k: it.truth.labels[k] for k in ASKED_KEYS if k in it.truth.labels} for it in items]
        s = score(predictions, asked)
        text = {f"text_{k}": s["subjects_recall" if k == "subjects" else k] for k in TEXT_KINDS
                if ("subjects_recall" if k == "subjects" else k) in s}
        out["text_mean"] = float(np.mean(list(text.values())))
        out.update(text)
    if task in AUDIO_OUT:
        s = score(predictions, [{"audio_classes": it.truth.labels["audio_classes"]} for it in items])
        out["audio_class_accuracy"] = s["audio_classes"]
        out["audio_class_f1"] = s.get("audio_classes_f1", float("nan"))
    return out


def _map(pool, fn, jobs: list) -> list:
    return pool.map(fn, jobs, chunksize=1) if pool is not None else [fn(j) for j in jobs]


def _generate(task: str, name: str, generator: Generator, items: list[BenchItem], pool) -> list[GeneratedClip]:
    if pool is not None and getattr(generator, "parallel", False):
        clips = pool.starmap(generator, [(task, item) for item in items], chunksize=1)
    else:
        clips = [generator(task, item) for item in items]
    return [_checked(task, name, item, clip) for item, clip in zip(items, clips)]


def _round(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(float(metrics[k]), 4) for k in METRICS if k in metrics}


def run_bench(task: str, n: int, generators: dict[str, Generator], judge: WorldJudge, workers: int | None = None,
              pool=None, first_seed: int = HELD_OUT_FIRST_SEED, examples: list | None = None) -> dict:
    """Score each generator on the task's first `n` items.

    Rendering and the per-clip metrics run in `pool`, else in a pool of `workers` made here
    (default every core; 1: all in this process). Generators run in this process, except those
    marked `parallel` (pure, picklable functions); the judge runs once per clip, batched.
    `examples`, when given, receives {"task", "item", "clips": {generator: GeneratedClip, or
    None if skipped}} for the first few items, for a contact sheet. Returns {"task", "n",
    "items": seeds, "feature_dim", "generators": {name: {metric: value} or {"skipped": reason}},
    "seconds"}.
    """
    _check_task(task, n, first_seed)
    start = time.perf_counter()
    judge.eval()
    with (contextlib.nullcontext(pool) if pool is not None else worker_pool(workers)) as p:
        items = build_items(task, n, first_seed, p)
        clips: dict[str, list[GeneratedClip]] = {}
        skipped: dict[str, str] = {}
        for name, generator in generators.items():
            try:
                clips[name] = _generate(task, name, generator, items, p)
            except GeneratorSkipped as e:
                skipped[name] = str(e)
        names = list(clips)
        per_item = _map(p, _score_item, [(task, item, [clips[k][i] for k in names]) for i, item in enumerate(items)])
    reference = [ground_truth(task, item) for item in items]
    judged_reference = _judge_clips(judge, [_judge_view(task, c, judge) for c in reference])
    ref_feats = judged_reference[0]
    results: dict[str, dict] = {}
    for j, name in enumerate(names):
        feats, predictions = judged_reference if generators[name] is ground_truth else \
            _judge_clips(judge, [_judge_view(task, c, judge) for c in clips[name]])
        metrics = _judge_scores(task, items, predictions)
        metrics.update(_aggregate([scores[j] for scores in per_item]))
        metrics["fwd"] = frechet_distance(ref_feats, feats)
        results[name] = _round(metrics)
    for name, reason in skipped.items():
        results[name] = {"skipped": reason}
    if examples is not None:
        for i, item in enumerate(items[:EXAMPLE_ITEMS]):
            examples.append({"task": task, "item": item,
                             "clips": {k: clips[k][i] if k in clips else None for k in generators}})
    return {"task": task, "n": n, "items": [it.seed for it in items], "feature_dim": int(ref_feats.shape[1]),
            "generators": {name: results[name] for name in generators},
            "seconds": round(time.perf_counter() - start, 2)}


# ---------------------------------------------------------------------------------------------
# Report: Markdown tables and a contact sheet.

def _cell(value) -> str:
    if isinstance(value, str):
        return value
    if np.isnan(value):
        return "–"
    if np.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.3g}"


def _ordered(generators: dict[str, dict]) -> list[str]:
    return sorted(generators, key=lambda name: name != "ground_truth")  # stable: the rest keep their order


def markdown_report(results: dict[str, dict]) -> str:
    """One table per task: rows = generators (ground truth first), columns = metrics."""
    lines = ["# Benchmark report", "",
             ("Ground truth is the upper bound; `tokenized_ground_truth` (the ground truth encoded and decoded by "
              "the tokenizers) is the upper bound of any model over their tokens, so its gap to ground truth is "
              "what the tokenizers alone lose; `first_frame` (a still) and `random_tokens` (uniform random tokens "
              "decoded) are trivial baselines; `independent_ground_truth` (the same scene from another seed) is "
              "the noise floor of FWD; `lm` is the language model. Items are held-out world scenes (seeds never "
              "trained on)."), ""]
    for task, result in results.items():
        gens = result["generators"]
        seeds = result["items"]
        lines += [f"## {task}", "",
                  (f"{result['n']} items (seeds {seeds[0]}..{seeds[-1]}), FWD in the judge's "
                   f"{result['feature_dim']}-d features, {result['seconds']} s."), ""]
        columns = [m for m in METRICS if any(m in g for g in gens.values())]
        lines += ["| generator | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for name in _ordered(gens):
            g = gens[name]
            cells = [f"skipped: {g['skipped']}"] + [""] * (len(columns) - 1) if "skipped" in g else \
                [_cell(g.get(m, float("nan"))) for m in columns]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        independent, still = gens.get("independent_ground_truth", {}), gens.get("first_frame", {})
        if "fwd" in independent and "fwd" in still and still["fwd"] > 0:
            ratio = independent["fwd"] / still["fwd"]
            lines += ["", (f"FWD(ground truth, independent ground truth) / FWD(ground truth, first frame) = "
                           f"{ratio:.3g} (the distance sees motion when this is small).")]
        lines.append("")
    lines += ["## Metrics", ""] + [f"- `{k}`: {v}" for k, v in METRICS.items()] + [""]
    return "\n".join(lines)


def _strip(video: np.ndarray, height: int, frames: int) -> np.ndarray:
    """`frames` frames spread over the clip, side by side, `height` px high."""
    import cv2

    picks = np.round(np.linspace(0, len(video) - 1, min(frames, len(video)))).astype(int)
    h, w = video.shape[1:3]
    width = max(1, round(w * height / h))
    return np.concatenate([cv2.resize(video[i], (width, height), interpolation=cv2.INTER_AREA) for i in picks], axis=1)


def _waveform(audio: np.ndarray, height: int, width: int) -> np.ndarray:
    """Min/max envelope of a track, one column per pixel, on white."""
    chunks = np.array_split(np.asarray(audio, np.float32), width)
    lo = np.array([c.min() for c in chunks])
    hi = np.array([c.max() for c in chunks])
    y = np.linspace(1, -1, height)[:, None]
    row = 2.0 / (height - 1)  # one row of slack: silence still draws its centre line
    ink = (y >= lo[None] - row) & (y <= hi[None] + row)
    return np.where(ink[..., None], np.array([40, 70, 160], np.uint8), np.uint8(255)).astype(np.uint8)


def _picture(video: np.ndarray | None, audio: np.ndarray | None, size: tuple[int, int], height: int,
             frames: int) -> np.ndarray | None:
    """A few frames of a video, else the waveform of a track (as wide as the frames would be)."""
    if video is not None:
        return _strip(video, height, frames)
    if audio is not None:
        return _waveform(audio, height, frames * max(1, round(size[1] * height / size[0])))
    return None


def _given_picture(item: BenchItem, height: int, frames: int) -> np.ndarray | None:
    g = item.given
    video = g.image[None] if g.image is not None else g.structure if g.structure is not None else g.video
    return _picture(video, g.audio, g.size, height, frames)


def contact_sheet(examples: list[dict], height: int = 64, frames: int = 4):
    """A labelled grid (a PIL image): per task a few items, each a row of the given input and one
    panel per generator (a few frames, or the waveform of an audio output)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    gap, text_h = 8, 14
    rows = []
    for ex in examples:
        task, item = ex["task"], ex["item"]
        panels = [("given", _given_picture(item, height, frames))]
        for name in _ordered(ex["clips"]):
            clip = ex["clips"][name]
            panels.append((name, None if clip is None else _picture(
                None if clip.video is None else _scored_video(task, clip.video), clip.audio, item.given.size,
                height, frames)))
        rows.append((f"{task} · seed {item.seed}: {item.given.caption}", panels))
    panel_w = max((p.shape[1] for _, panels in rows for _, p in panels if p is not None), default=height)
    width = max(len(panels) for _, panels in rows) * (panel_w + gap) + gap
    row_h = 2 * text_h + height + gap
    sheet = Image.new("RGB", (width, row_h * len(rows) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (title, panels) in enumerate(rows):
        y = gap + r * row_h
        draw.text((gap, y), title[:160], fill="black", font=font)
        for c, (name, picture) in enumerate(panels):
            x = gap + c * (panel_w + gap)
            draw.text((x, y + text_h), name, fill=(90, 90, 90), font=font)
            if picture is None:
                draw.rectangle([x, y + 2 * text_h, x + panel_w - 1, y + 2 * text_h + height - 1], outline=(180, 180, 180))
                draw.text((x + 4, y + 2 * text_h + 4), "caption only" if name == "given" else "skipped",
                          fill=(150, 150, 150), font=font)
            else:
                sheet.paste(Image.fromarray(picture), (x, y + 2 * text_h))
    return sheet


def write_report(results: dict[str, dict], examples: list[dict], out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """DIR/report.md and DIR/contact_sheet.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report, sheet = out / "report.md", out / "contact_sheet.png"
    report.write_text(markdown_report(results))
    contact_sheet(examples).save(sheet)
    return report, sheet
