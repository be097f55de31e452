"""The whole VideoPoet system as one diffusers `DiffusionPipeline`: one language model, every task.

    pipe = VideoPoetPipeline.from_pretrained("weights")                  # the LM kept 8-bit
    out = pipe.text_to_video("A raccoon dancing in Times Square", seed=0)
    out.frames, out.audio                                                # (17, 128, 128, 3) uint8, (34000,) float32
    out.save("raccoon.mp4")                                              # H.264 + AAC
    longer = pipe.extend(out, num_seconds=3, seed=1)                     # three more seconds, in token space

Every task is a prefix (its layout in `videopoet.tasks`) that the LM continues token by token with
`videopoet.model.sample`; the tokenizers turn the sampled tokens into frames and sound. Tokens the
task must keep — the image of image-to-video, the unmasked cells of inpainting and outpainting — are
pinned during sampling (their allowed id range is that one id), so they come back exactly.

Sound for a video task comes from a second pass of the same LM (video-to-audio on the generated
tokens), as in VideoPoet; long videos and continuations predict video and sound together
(audio-video continuation) once there is sound to continue.

A long video grows one second at a time, as `videopoet.training.train_lm` teaches continuation: the
context is the last second of the clip so far (latent frames 3..4, pixel frames 9..16), and the LM
writes a whole clip that restates that second in its frames 1..8 and continues it in frames 9..16;
those 8 frames (and the matching second of sound) are what each step appends.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

# diffusers loads a component only from a module already imported, never by the name alone.
import videopoet.model  # noqa: F401
import videopoet.model.depth  # noqa: F401
import videopoet.tokenizers  # noqa: F401
from videopoet import PRECISIONS, default_precision, media, tasks
from videopoet.errors import VideoPoetError
from videopoet.model.sampling import PrefixBatch, sample
from videopoet.tasks import (
    AUDIO_FRAMES,
    CAMERA_SUFFIXES,
    CONTEXT_AUDIO_FRAMES,
    CONTEXT_LATENT_FRAMES,
    MAX_TEXT_TOKENS,
    NEGATIVE_PROMPT,
    PORTRAIT_VIDEO,
    SQUARE_VIDEO,
    Layout,
    Vocabulary,
    collate,
    parse_output,
)

FPS = media.FPS
SAMPLE_RATE = media.SAMPLE_RATE
CLIP_FRAMES = media.CLIP_FRAMES
CLIP_SAMPLES = media.CLIP_SAMPLES
MASK_PRESETS = ("box", "border", "half", "left", "right", "top", "bottom")
MAX_PROMPT_CHARS = 2000  # far past the 64-token limit; bounds the tokenizer's and interpreter's work
MAX_CANDIDATES = 16
MAX_EXTEND_SECONDS = 240  # one sampling pass each
# What one continuation step adds: pixel frames 9..16 of the generated clip (latent frames 3..4), and
# audio frames 56..105. The audio is cut on its 320-sample frames, not at 18,000 samples: the
# tokenizer codes 33,920 of a clip's 34,000 samples, so a cut at the clip's end would put 5 ms of
# silence between every two seconds; on the frame grid the sound is 5 ms early instead, unheard.
NEW_FRAMES = slice(CLIP_FRAMES - 4 * CONTEXT_LATENT_FRAMES, CLIP_FRAMES)
# A continuation reads only the last second, so a clip of at least that much can be continued.
CONTEXT_FRAMES = 4 * CONTEXT_LATENT_FRAMES
NEW_AUDIO_FRAMES = slice(AUDIO_FRAMES - CONTEXT_AUDIO_FRAMES, AUDIO_FRAMES)
COMPONENTS = ("transformer", "video_tokenizer", "audio_tokenizer", "caption_tokenizer")
OPTIONAL = ("depth_estimator", "interpreter")
TASK_METHODS = {"t2v": "text_to_video", "t2i": "text_to_image", "i2v": "image_to_video", "extend": "extend",
                "candidates": "candidates", "stylize": "stylize", "inpaint": "inpaint", "outpaint": "outpaint",
                "v2a": "video_to_audio", "a2v": "audio_to_video", "t2a": "text_to_audio"}


def _camera_names() -> dict[str, str]:
    """Lower-cased camera name or phrase -> the suffix appended to the prompt (the article's six,
    then every move the world renders, named as its captions name it)."""
    from videopoet.world.vocab import CAMERAS

    names = {s.lower(): s for s in CAMERA_SUFFIXES}
    for name, entry in CAMERAS.items():
        suffix = entry["phrases"][0]
        for key in (name, *entry["phrases"]):
            names.setdefault(key.lower(), suffix)
    return names


CAMERA_MOVES = tuple(dict.fromkeys(_camera_names().values()))


@dataclasses.dataclass
class VideoPoetOutput(BaseOutput):
    """What every task returns.

    Attributes:
        frames: (T, H, W, 3) uint8 at `fps`, or None for sound-only tasks.
        audio: (S,) float32 in [-1, 1] at `sample_rate`, or None when no sound was made or given.
        fps, sample_rate: 8 and 16000.
        prompt: the caption the language model saw (after interpretation, camera suffix and
            truncation), or None for tasks without text.
        interpreted_as: the prompt interpreter's reading ("interpreted as: ..."), when one ran.
        notices: things the user should know (prompt truncated, words dropped, input trimmed).
        tokens: the last clip's tokens, for chaining: {"video": (t, h, w) int64 video codes,
            "audio": (4, 106) int64 RVQ codes}, each present when that modality exists.
        clips: the tokens of every clip of `frames`/`audio` in order (one entry unless extended).
        seed: the seed the sampling started from (reproduces the output with the same arguments).
        task: the task that made it.
    """

    frames: np.ndarray | None = None
    audio: np.ndarray | None = None
    fps: int = FPS
    sample_rate: int = SAMPLE_RATE
    prompt: str | None = None
    interpreted_as: str | None = None
    notices: list = dataclasses.field(default_factory=list)
    tokens: dict = dataclasses.field(default_factory=dict)
    clips: list = dataclasses.field(default_factory=list)
    seed: int | None = None
    task: str | None = None

    @property
    def duration(self) -> float:
        if self.frames is not None:
            return len(self.frames) / self.fps
        return 0.0 if self.audio is None else len(self.audio) / self.sample_rate

    def save(self, path: str | os.PathLike) -> str | os.PathLike:
        """Write to `path` by its extension: .mp4 (H.264, with AAC sound when there is audio),
        .png/.jpg/.webp (the first frame) or .wav (the sound). Returns `path`."""
        return media.write_output(path, self.frames, self.audio, fps=self.fps, sample_rate=self.sample_rate)


@dataclasses.dataclass
class _Prompt:
    ids: np.ndarray | None  # caption-tokenizer ids, at most MAX_TEXT_TOKENS; None: no text
    caption: str | None
    interpreted_as: str | None = None
    notices: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Sampling:
    temperature: float
    top_k: int | None
    top_p: float | None
    cfg_scale: float
    negative_ids: np.ndarray | None
    generator: torch.Generator | list[torch.Generator]  # a list: one per prompt of a batch
    seed: int
    progress: Callable[[int, int], None] | None
    total: int = 0  # tokens over every pass of the call, for progress
    done: int = 0


class VideoPoetPipeline(DiffusionPipeline):
    r"""VideoPoet: one decoder-only prefix LM that writes video and audio tokens, for every task.

    Components:
        transformer ([`VideoPoetTransformer`]): the language model.
        video_tokenizer ([`VideoTokenizer`]): frames <-> (t, h, w) LFQ codes.
        audio_tokenizer ([`AudioTokenizer`]): 16 kHz sound <-> (4, 106) RVQ codes.
        caption_tokenizer (`transformers.PreTrainedTokenizerFast`): prompt -> caption token ids.
        depth_estimator (optional, [`DepthEstimator`]): depth for the structure video that stylizing
            an uploaded clip needs; without one `videopoet.structure` uses the shipped estimator.
        interpreter (optional, a `videopoet.interpreter.PromptInterpreter`): maps free text onto what
            the model knows before it is tokenized; without one the prompt is used as typed.

    Shared sampling arguments of every task method:
        seed (`int` or `torch.Generator`, *optional*): the same seed and arguments give the same
            tokens; None draws a fresh seed (reported in `output.seed`).
        temperature (`float`, defaults to 1.0): 0 is greedy.
        top_k (`int`, *optional*, defaults to 256) / top_p (`float`, *optional*): keep the k most
            likely tokens / the smallest set covering probability p.
        cfg_scale (`float`, defaults to 3.0): classifier-free guidance against `negative_prompt`;
            used by tasks given a prompt (1 turns it off).
        negative_prompt (`str`, *optional*, defaults to `tasks.NEGATIVE_PROMPT`): what guidance steers
            away from; None or "" contrasts with no text at all.
        progress (`Callable[[int, int], None]`, *optional*): called as progress(done, total) after
            every generated token, over all the passes a call makes.
    """

    _optional_components: ClassVar[list[str]] = list(OPTIONAL)

    def __init__(self, transformer, video_tokenizer, audio_tokenizer, caption_tokenizer, depth_estimator=None,
                 interpreter=None):
        super().__init__()
        self.register_modules(transformer=transformer, video_tokenizer=video_tokenizer,
                              audio_tokenizer=audio_tokenizer, caption_tokenizer=caption_tokenizer,
                              depth_estimator=depth_estimator, interpreter=interpreter)
        self.vocab = Vocabulary(n_text=len(caption_tokenizer),
                                video_codebook_bits=int(video_tokenizer.config.codebook_bits),
                                audio_levels=int(audio_tokenizer.config.num_quantizers),
                                audio_codes=int(audio_tokenizer.config.codebook_size))
        if transformer.config.vocab_size != self.vocab.size:
            raise VideoPoetError(
                f"the language model's vocabulary ({transformer.config.vocab_size} ids) does not match its "
                f"tokenizers ({self.vocab.size} = {len(tasks.SPECIAL_TOKENS)} special + {self.vocab.n_text} text + "
                f"2^{self.vocab.video_codebook_bits} video + {self.vocab.audio_levels}x{self.vocab.audio_codes} audio): "
                "the weights were trained with other tokenizers")
        self._camera = _camera_names()

    # ---------------------------------------------------------------------------------------------
    # Loading

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike = "weights", *,
                        precision: str | None = None, device: str | torch.device | None = None,
                        device_map=None, max_memory=None, torch_dtype: torch.dtype | None = None,
                        use_interpreter: bool = True, **kwargs) -> VideoPoetPipeline:
        """Load every component from a local folder with `model_index.json` (nothing is downloaded).

        Args:
            precision: how the LM's int8 checkpoint is loaded: "int8" (kept 8-bit: PyTorch's
                weight-only int8 matmul on a CPU, bitsandbytes on a GPU), "bf16" (dequantized) or
                "fp32"; default the fastest on `device` (`videopoet.default_precision`): int8 on a
                CPU, bf16 on a GPU.
            device: where everything runs ("cpu", "cuda", "cuda:1"); default CUDA when available.
            device_map / max_memory: accelerate placement of the LM over several devices
                (e.g. "auto"); the tokenizers then run on the LM's first device.
            torch_dtype: dtype of the tokenizers and the depth estimator (default float32).
            use_interpreter: build the MiniLM prompt interpreter when none is passed as
                `interpreter=` (skipped with a warning when its package is missing).
            **kwargs: passed to `DiffusionPipeline.from_pretrained` (e.g. a component to use as is).
        """
        from videopoet.model.quantization import load_transformer

        folder = Path(pretrained_model_name_or_path)
        if precision is not None and precision not in PRECISIONS:
            raise VideoPoetError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if not (folder / "model_index.json").is_file():
            raise VideoPoetError(f"{folder}: no model_index.json here; point --weights at the folder that holds it")
        for name in COMPONENTS:
            if name not in kwargs and not (folder / name).is_dir():
                raise VideoPoetError(f"{folder / name}: missing; this weights folder has no {name.replace('_', ' ')} yet")
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise VideoPoetError(f"device {device} asked for, but this machine has no CUDA GPU; use --device cpu")
        precision = precision or default_precision(device)
        if "transformer" not in kwargs:
            kwargs["transformer"] = load_transformer(folder / "transformer", precision=precision, device=device,
                                                     device_map=device_map, max_memory=max_memory)
        if "interpreter" not in kwargs:
            kwargs["interpreter"] = _default_interpreter() if use_interpreter else None
        if "depth_estimator" not in kwargs and not (folder / "depth_estimator").is_dir():
            kwargs["depth_estimator"] = None
        pipe = super().from_pretrained(folder, dtype=torch_dtype or torch.float32, **kwargs)
        lm_device = pipe.transformer.device
        for model in (pipe.video_tokenizer, pipe.audio_tokenizer, pipe.depth_estimator):
            if model is not None:
                model.to(lm_device).eval()
        pipe.transformer.eval()
        return pipe

    # ---------------------------------------------------------------------------------------------
    # Input helpers (public: the app and the CLI prepare uploads with the same rules)

    @staticmethod
    def clip_size(portrait: bool) -> tuple[int, int]:
        """(H, W) of a clip: 224 x 128 portrait, else 128 x 128."""
        return media.SIZES["portrait" if portrait else "square"]

    @staticmethod
    def _orientation(shape: tuple[int, int], portrait: bool | None) -> bool:
        if portrait is not None:
            return bool(portrait)
        h, w = shape
        return h > w * 1.3  # nearer 224 x 128 (1.75) than square

    def prepare_image(self, image, portrait: bool | None = None) -> np.ndarray:
        """An image (path, PIL image or array) centre-cropped and resized to the clip size:
        (H, W, 3) uint8. `portrait` None picks the orientation nearer the image's."""
        arr = media.read_image(image, size=None)
        return media.read_image(arr, size=self.clip_size(self._orientation(arr.shape[:2], portrait)))

    def read_video(self, path, portrait: bool | None = None, max_frames: int | None = None) -> media.Video:
        """A video file at 8 fps and the clip size (`portrait` None: the orientation nearer the
        file's), with its sound when it has any."""
        header = media.probe(path)
        if not header["width"]:
            raise VideoPoetError(f"{Path(path).name}: has no video track")
        size = self.clip_size(self._orientation((header["height"], header["width"]), portrait))
        return media.read_video(path, size=size, max_frames=max_frames)

    def prepare_video(self, video, portrait: bool | None = None, frames: int = CLIP_FRAMES,
                      keep: str = "first", audio=None, min_frames: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """A video (path, `media.Video`, or (T, H, W, 3) uint8 frames) as exactly `frames` frames
        at the clip size: (frames, audio or None, notices). Longer videos keep their `keep`
        ("first" or "last") frames with a notice. Shorter ones are an error unless they have
        `min_frames`: then their first frame is held before them, so they end the clip.

        `audio` (path or 16 kHz samples): the video's sound, from its first frame, in place of a
        file's own track; the sound returned is the stretch under the frames returned."""
        notices: list[str] = []
        track = None
        if isinstance(video, (str, os.PathLike)):
            video = self.read_video(video, portrait, max_frames=None if keep == "last" else frames)
        if isinstance(video, media.Video):
            if video.notice:
                notices.append(video.notice)
            if video.audio is not None:
                track = media.fit_audio(video.audio, round(len(video.frames) * SAMPLE_RATE / video.fps))
            video = video.frames
        if isinstance(video, (list, tuple)):
            video = np.stack([np.asarray(f) for f in video]) if video else np.zeros((0,), np.uint8)
        arr = np.asarray(video)
        if arr.ndim != 4 or arr.shape[-1] not in (3, 4) or arr.size == 0:
            raise VideoPoetError(f"video must be frames (T, H, W, 3), got shape {arr.shape}")
        n = len(arr)
        need = min_frames or frames
        if n < need:
            raise VideoPoetError(f"video has {n} frame{'s' * (n != 1)}; this task needs "
                                 f"{'at least ' * (need < frames)}{need} ({need / FPS:.3f} s at {FPS} fps)")
        first = n - frames if keep == "last" or n < frames else 0
        if n > frames:
            notices.append(f"video has {n} frames; using the {keep} {frames} ({frames / FPS:.3f} s)")
        elif n < frames:
            notices.append(f"video has {n} frames; its first frame is held {frames - n} frames longer "
                           f"to make {frames}")
        if audio is not None:
            track, more = _given_track(audio, n)
            notices += more
        arr = arr[max(first, 0):first + frames]
        if first < 0:
            arr = np.concatenate([np.repeat(arr[:1], -first, axis=0), arr])
        size = self.clip_size(self._orientation(arr.shape[1:3], portrait))
        if arr.shape[1:3] != size or arr.dtype != np.uint8 or arr.shape[-1] != 3:
            arr = np.stack([media.read_image(f, size=size) for f in arr])
        if track is not None:
            track = _sound_between(track, first * SAMPLE_RATE // FPS, (first + frames) * SAMPLE_RATE // FPS)
        return np.ascontiguousarray(arr), track, notices

    @staticmethod
    def prepare_audio(audio) -> tuple[np.ndarray, list[str]]:
        """Sound (path, or mono float/int16 samples at 16 kHz) as exactly one clip, 34,000
        samples: longer sound keeps its first 2.125 s, shorter is padded with silence."""
        arr = _read_sound(audio, CLIP_SAMPLES / SAMPLE_RATE + 60)
        notices = []
        given, clip = len(arr) / SAMPLE_RATE, CLIP_SAMPLES / SAMPLE_RATE
        if len(arr) > CLIP_SAMPLES:
            notices.append(f"audio is {given:.2f} s; using the first {clip:.3f} s")
        elif len(arr) < CLIP_SAMPLES:
            notices.append(f"audio is {given:.2f} s; padded with silence to {clip:.3f} s")
        return media.fit_audio(arr, CLIP_SAMPLES), notices

    def video_mask(self, mask, shape: tuple[int, int, int]) -> np.ndarray:
        """A mask on the (t, h, w) token grid, True where the model generates.

        `mask` is a preset name — "box" (a centred box half of each side), "border" (a ring a
        quarter of the shorter side wide around a kept centre), "half" (the right half), "left",
        "right", "top", "bottom" — or an array: on the token grid ((h, w) or (t, h, w)) or on
        pixels ((H, W) or (T, H, W) at the clip size, True/nonzero = generate); a token is
        regenerated when any pixel it covers is masked. A single mask image of another size is
        centre-cropped and resized as the frames are."""
        t, h, w = shape
        if isinstance(mask, str):
            grid = np.zeros((h, w), dtype=bool)
            if mask == "box":
                grid[h // 4:h - h // 4, w // 4:w - w // 4] = True
            elif mask == "border":
                band = max(1, min(h, w) // 4)
                grid[:] = True
                grid[band:h - band, band:w - band] = False
            elif mask in ("half", "right"):
                grid[:, w // 2:] = True
            elif mask == "left":
                grid[:, :w // 2] = True
            elif mask == "top":
                grid[:h // 2] = True
            elif mask == "bottom":
                grid[h // 2:] = True
            else:
                raise VideoPoetError(f"unknown mask {mask!r}; presets: {', '.join(MASK_PRESETS)}, or an array")
            return np.broadcast_to(grid, shape).copy()
        arr = np.asarray(mask)
        if arr.ndim == 3 and arr.shape[-1] in (1, 3, 4) and arr.shape != shape:
            arr = arr.max(axis=-1)  # an (H, W, channels) mask image
        if arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.number) or arr.size == 0:
            raise VideoPoetError(f"a mask must be a preset name or a numeric/boolean array, got {arr.dtype}")
        arr = arr > (127 if arr.dtype == np.uint8 and arr.max(initial=0) > 1 else 0)
        if arr.ndim == 2 and arr.shape not in ((h, w), (h * 8, w * 8)):
            arr = media.read_image(arr.astype(np.uint8) * 255, size=(h * 8, w * 8))[..., 0] > 127
        if arr.shape in ((h, w), shape):
            grid = arr
        elif arr.ndim in (2, 3) and arr.shape[-2:] == (h * 8, w * 8):
            cells = arr.reshape(*arr.shape[:-2], h, 8, w, 8).any(axis=(-3, -1))
            if cells.ndim == 3:
                if len(cells) != CLIP_FRAMES or t != SQUARE_VIDEO[0]:
                    raise VideoPoetError(f"a per-frame mask needs {CLIP_FRAMES} frames, got {len(cells)}")
                # Latent frame 0 is frame 0; latent i covers frames 4i-3 .. 4i.
                cells = np.stack([cells[0]] + [cells[4 * i - 3:4 * i + 1].any(axis=0) for i in range(1, t)])
            grid = cells
        else:
            raise VideoPoetError(f"mask of shape {arr.shape} fits neither the token grid {(t, h, w)} nor the "
                                 f"{h * 8}x{w * 8} frames")
        grid = np.broadcast_to(grid, shape).copy()
        if not grid.any():
            raise VideoPoetError("the mask is empty: mark the region to generate")
        if grid.all():
            raise VideoPoetError("the mask covers everything: nothing is left to keep (use text_to_video)")
        return grid

    # ---------------------------------------------------------------------------------------------
    # Tasks

    def text_to_video(self, prompt: str | list[str], *, portrait: bool = False,
                      camera: str | list[str | None] | None = None, with_audio: bool = True, seed=None,
                      temperature: float = 1.0, top_k: int | None = 256, top_p: float | None = None,
                      cfg_scale: float = 3.0, negative_prompt: str | None = NEGATIVE_PROMPT,
                      progress=None) -> VideoPoetOutput | list[VideoPoetOutput]:
        """A 17-frame clip (2.125 s) from text; from a list of prompts, a list of clips made in one batch.

        Args:
            prompt: what to show; long prompts are cut to the 64-token caption limit (a notice says so).
                A list is sampled as one batch, prompt i from its own generator seeded `seed + i`,
                as its own call with that seed would be (the same clip, unless float rounding,
                which differs between batch sizes, tips a draw); the batch costs less than the
                calls one after another, since each decoding step reads the weights once for all.
            portrait: 224 x 128 (H x W) instead of 128 x 128.
            camera: a camera move appended to the prompt, e.g. "Zoom out", "Pan left" (see CAMERA_MOVES);
                with a list of prompts, one move for all or a list with one per prompt (None: none).
            with_audio: also generate the sound (a video-to-audio pass over the generated tokens).
        """
        batched = isinstance(prompt, (list, tuple))
        prompts = list(prompt) if batched else [prompt]
        if not prompts:
            raise VideoPoetError("no prompts given: the list is empty")
        cameras = list(camera) if isinstance(camera, (list, tuple)) else [camera] * len(prompts)
        if len(cameras) != len(prompts):
            raise VideoPoetError(f"{len(cameras)} camera moves for {len(prompts)} prompts; give one, or one per prompt")
        texts = [self._prompt(p, c) for p, c in zip(prompts, cameras)]
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress,
                             n_prompts=len(prompts) if batched else None)
        layout = lambda ids: tasks.text_to_video(self.vocab, ids, portrait=portrait)  # noqa: E731
        outputs = self._video_tasks("t2v", layout, texts, run, with_audio)
        return outputs if batched else outputs[0]

    def text_to_image(self, prompt: str, *, portrait: bool = False, seed=None, temperature: float = 1.0,
                      top_k: int | None = 256, top_p: float | None = None, cfg_scale: float = 3.0,
                      negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """One frame from text (the first latent frame of a clip): frames (1, H, W, 3)."""
        text = self._prompt(prompt, None)
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        layout = lambda ids: tasks.text_to_image(self.vocab, ids, portrait=portrait)  # noqa: E731
        return self._video_task("t2i", layout, text, run, with_audio=False)

    def image_to_video(self, image, prompt: str | None = None, *, portrait: bool | None = None,
                       camera: str | None = None, with_audio: bool = True, seed=None, temperature: float = 1.0,
                       top_k: int | None = 256, top_p: float | None = None, cfg_scale: float = 3.0,
                       negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """Animate an image (path, PIL image or array; centre-cropped and resized to the clip
        size), or a text-to-image output (its tokens, exactly). The clip starts exactly at the
        image's tokens. `prompt` (optional) says what happens; `portrait` None follows the image."""
        if isinstance(image, VideoPoetOutput):
            if "video" not in image.tokens:
                raise VideoPoetError("that output has no image to animate")
            image_tokens = np.asarray(image.tokens["video"][:1], dtype=np.int64)
        else:
            frame = self.prepare_image(image, portrait)
            image_tokens = self.video_tokenizer.encode_frames(frame[None])
        text = self._prompt(prompt, camera, required=False)
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        layout = lambda ids: tasks.image_to_video(self.vocab, image_tokens, text=ids)  # noqa: E731
        return self._video_task("i2v", layout, text, run, with_audio, keep=self._first_frames_kept(image_tokens))

    def stylize(self, prompt: str, video=None, *, structure=None, portrait: bool | None = None,
                with_audio: bool = True, seed=None, temperature: float = 1.0, top_k: int | None = 256,
                top_p: float | None = None, cfg_scale: float = 3.0,
                negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """Restyle a clip: keep its motion and shape (optical flow + depth), take the look from
        `prompt`. Give the clip as `video` (17 frames; path or array), or its structure video
        directly as `structure` ((17, H, W, 3) uint8, as `videopoet.structure` makes it)."""
        text = self._prompt(prompt, None)
        notices: list[str] = []
        if (video is None) == (structure is None):
            raise VideoPoetError("stylize needs a video or its structure video (exactly one of them)")
        if structure is None:
            from videopoet.structure import structure_from_video

            frames, _, notices = self.prepare_video(video, portrait)
            structure = structure_from_video(frames, self.depth_estimator)
        structure, _, more = self.prepare_video(structure, portrait)
        structure_tokens = self.video_tokenizer.encode_frames(structure)
        text.notices += notices + more
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        layout = lambda ids: tasks.stylization(self.vocab, ids, structure_tokens)  # noqa: E731
        return self._video_task("stylize", layout, text, run, with_audio)

    def inpaint(self, video, mask="box", prompt: str | None = None, *, portrait: bool | None = None,
                with_audio: bool = True, seed=None, temperature: float = 1.0, top_k: int | None = 256,
                top_p: float | None = None, cfg_scale: float = 3.0,
                negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """Fill the masked region of a clip; every unmasked token is kept exactly, and a clip given
        as pixels keeps its own pixels outside the masked cells.

        `video`: 17 frames (path, array or a previous output); `mask`: a preset or an array (see
        `video_mask`); `prompt` (optional): what should appear there."""
        return self._masked_task("inpaint", video, mask, prompt, portrait, with_audio,
                                 self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress))

    def outpaint(self, video, mask="border", prompt: str | None = None, *, portrait: bool | None = None,
                 with_audio: bool = True, seed=None, temperature: float = 1.0, top_k: int | None = 256,
                 top_p: float | None = None, cfg_scale: float = 3.0,
                 negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """Extend a clip beyond its frame: generate the masked outside (default "border"; "half",
        "left", "right", "top", "bottom" or an array), keeping every unmasked token exactly and,
        for a clip given as pixels, its own pixels outside the masked cells."""
        return self._masked_task("outpaint", video, mask, prompt, portrait, with_audio,
                                 self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress))

    def video_to_audio(self, video, *, portrait: bool | None = None, seed=None, temperature: float = 1.0,
                       top_k: int | None = 256, top_p: float | None = None, progress=None) -> VideoPoetOutput:
        """Sound for a silent clip (17 frames: path, array or a previous output). The output holds
        the clip's frames and the new sound."""
        video_tokens, frames, _, notices = self._clip_tokens(video, portrait)
        run = self._sampling(seed, temperature, top_k, top_p, 1.0, None, progress)
        run.total = self._audio_pass_length()
        audio_codes = self._audio_for([video_tokens], run)[0]
        if frames is None:
            frames = self.video_tokenizer.decode_frames(video_tokens)
        return self._finish("v2a", _Prompt(None, None, notices=notices), run, frames=frames,
                            clips=[{"video": video_tokens, "audio": audio_codes}])

    def audio_to_video(self, audio, prompt: str | None = None, *, portrait: bool = False,
                       camera: str | None = None, seed=None, temperature: float = 1.0, top_k: int | None = 256,
                       top_p: float | None = None, cfg_scale: float = 3.0,
                       negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """A clip that fits a sound (path or 16 kHz samples; one clip, 2.125 s, is used). The
        output holds the new frames and the given sound."""
        samples, notices = self.prepare_audio(audio)
        audio_codes = self.audio_tokenizer.encode_audio(samples)
        text = self._prompt(prompt, camera, required=False)
        text.notices += notices
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        layout = lambda ids: tasks.audio_to_video(self.vocab, audio_codes, text=ids, portrait=portrait)  # noqa: E731
        out = self._video_task("a2v", layout, text, run, with_audio=False)
        out.clips[-1]["audio"] = audio_codes
        out.tokens = dict(out.clips[-1])
        out.audio = samples
        return out

    def text_to_audio(self, prompt: str, *, seed=None, temperature: float = 1.0, top_k: int | None = 256,
                      top_p: float | None = None, cfg_scale: float = 3.0,
                      negative_prompt: str | None = NEGATIVE_PROMPT, progress=None) -> VideoPoetOutput:
        """2.125 s of sound from text; `frames` is None."""
        text = self._prompt(prompt, None)
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        layout = lambda ids: tasks.text_to_audio(self.vocab, ids)  # noqa: E731
        cond = layout(text.ids)
        run.total = cond.output_length
        audio_codes = self._generate([cond], self._uncond(layout, text, run), run)[0]["audio"]
        return self._finish("t2a", text, run, clips=[{"audio": audio_codes}])

    def extend(self, video, prompt: str | None = None, *, num_seconds: int = 1, audio=None,
               portrait: bool | None = None, camera: str | None = None, with_audio: bool = True, seed=None,
               temperature: float = 1.0, top_k: int | None = 256, top_p: float | None = None,
               cfg_scale: float = 3.0, negative_prompt: str | None = NEGATIVE_PROMPT,
               progress=None) -> VideoPoetOutput:
        """Long video: `num_seconds` more seconds, one sampling pass each, chained in token space
        (decoded pixels are never re-encoded). Each pass is conditioned on the last second (two
        latent frames) of the clip so far and appends the second it continues with.

        `video`: the clip to continue — a previous output (its last clip's tokens are used as they
        are), frames (path or array; the last 17 are used, and a clip of 8 to 16 frames, as much
        as the second continued, is led in by its first frame held) or (t, h, w) video tokens.
        `audio` (optional): its sound, from its first frame; the stretch under the frames used is
        the context (a previous output and a video file bring their own). With
        `with_audio`, video and sound are predicted together (audio-video continuation), starting
        from the given sound or, when there is none, from a video-to-audio pass over the clip.
        The output holds the new seconds only: 8 frames and, with sound, 16,000 samples each;
        `clips` holds every pass's whole generated clip, `tokens` the last one (to extend again).
        """
        if not 1 <= int(num_seconds) <= MAX_EXTEND_SECONDS:
            raise VideoPoetError(f"num_seconds must be 1..{MAX_EXTEND_SECONDS}, not {num_seconds}")
        video_tokens, _, audio_codes, notices = self._clip_tokens(video, portrait, keep="last", audio=audio)
        text = self._prompt(prompt, camera, required=False)
        text.notices += notices
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        steps = self._continue(video_tokens, audio_codes if with_audio else None, text, run, int(num_seconds),
                               1, with_audio)
        return self._new_seconds("extend", text, run, [step[0] for step in steps])

    def candidates(self, prompt: str | None = None, video=None, *, num_candidates: int = 4, audio=None,
                   portrait: bool | None = None, camera: str | None = None, with_audio: bool = True, seed=None,
                   temperature: float = 1.0, top_k: int | None = 256, top_p: float | None = None,
                   cfg_scale: float = 3.0, negative_prompt: str | None = NEGATIVE_PROMPT,
                   progress=None) -> list[VideoPoetOutput]:
        """`num_candidates` alternatives sampled in one batch: one-second continuations of `video`
        (as one step of `extend`: 8 new frames each) or, without a video, text-to-video clips of
        `prompt`. Returns one output per candidate."""
        if not 1 <= int(num_candidates) <= MAX_CANDIDATES:
            raise VideoPoetError(f"num_candidates must be 1..{MAX_CANDIDATES}, not {num_candidates}")
        k = int(num_candidates)
        run = self._sampling(seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress)
        if video is None:
            text = self._prompt(prompt, camera)
            layout = lambda ids: tasks.text_to_video(self.vocab, ids, portrait=bool(portrait))  # noqa: E731
            cond = layout(text.ids)
            run.total = cond.output_length + (self._audio_pass_length() if with_audio else 0)
            videos = [o["video"] for o in self._generate([cond], self._uncond(layout, text, run), run, num_candidates=k)]
            audios = self._audio_for(videos, run) if with_audio else [None] * k
            clips = [{"video": v} | ({"audio": a} if a is not None else {}) for v, a in zip(videos, audios)]
        else:
            video_tokens, _, audio_codes, notices = self._clip_tokens(video, portrait, keep="last", audio=audio)
            text = self._prompt(prompt, camera, required=False)
            text.notices += notices
            clips = self._continue(video_tokens, audio_codes if with_audio else None, text, run, 1, k, with_audio)[0]
            return [self._new_seconds("candidates", dataclasses.replace(text, notices=list(text.notices)), run, [c])
                    for c in clips]
        return [self._finish("candidates", dataclasses.replace(text, notices=list(text.notices)), run, clips=[c])
                for c in clips]

    def __call__(self, prompt: str | None = None, *, task: str = "t2v", **kwargs):
        """Run a task by its short name (t2v, t2i, i2v, extend, candidates, stylize, inpaint,
        outpaint, v2a, a2v, t2a); keyword arguments go to that task's method."""
        if task not in TASK_METHODS:
            raise VideoPoetError(f"unknown task {task!r}; known: {', '.join(TASK_METHODS)}")
        method = getattr(self, TASK_METHODS[task])
        if task == "v2a":
            if prompt:
                raise VideoPoetError("video-to-audio takes no prompt (the video decides the sound)")
            return method(**kwargs)
        return method(prompt=prompt, **kwargs)

    # ---------------------------------------------------------------------------------------------
    # Prompt and sampling set-up

    def _prompt(self, prompt: str | None, camera: str | None, required: bool = True) -> _Prompt:
        """Interpret, add the camera suffix and tokenize, truncating to the caption limit."""
        if prompt is not None and not isinstance(prompt, str):
            raise VideoPoetError(f"prompt must be text, got {type(prompt).__name__}")
        text = " ".join((prompt or "").split())
        if not text and camera is None:
            if required:
                raise VideoPoetError("the prompt is empty: describe what to generate, e.g. "
                                     "\"A raccoon dancing in Times Square\"")
            return _Prompt(None, None)
        notices: list[str] = []
        if len(text) > MAX_PROMPT_CHARS:
            text = text[:MAX_PROMPT_CHARS]
        interpreted_as = None
        suffix = None
        if camera is not None:
            suffix = self._camera.get(" ".join(str(camera).split()).lower())
            if suffix is None:
                raise VideoPoetError(f"unknown camera move {camera!r}; known: {', '.join(CAMERA_MOVES)}")
        if self.interpreter is not None and text:
            # The interpreter writes the camera move into the caption in the training grammar.
            reading = self.interpreter.interpret(text, camera=suffix)
            text, suffix = " ".join(reading.caption.split()), None
            interpreted_as = reading.interpreted_as
            notices += list(reading.notices)
        base = text.rstrip(" .") if suffix else text
        caption = f"{base}. {suffix}." if base and suffix else f"{suffix}." if suffix else text
        ids = self._encode(caption)
        if len(ids) > MAX_TEXT_TOKENS:
            tail = self._encode(f" {suffix}.") if suffix else []
            ids = self._encode(f"{base}." if suffix else base)[:MAX_TEXT_TOKENS - len(tail)] + tail
            shown = self.caption_tokenizer.decode(ids)
            notices.append(f"the prompt is longer than the model reads ({MAX_TEXT_TOKENS} tokens); "
                           f"using: \"{shown}\"")
            caption = shown
        if not ids:
            raise VideoPoetError("the prompt has no readable text")
        return _Prompt(np.asarray(ids, dtype=np.int64), caption, interpreted_as, notices)

    def _encode(self, text: str) -> list[int]:
        return list(self.caption_tokenizer.encode(text, add_special_tokens=False))

    def _sampling(self, seed, temperature, top_k, top_p, cfg_scale, negative_prompt, progress,
                  n_prompts: int | None = None) -> _Sampling:
        """Checked sampling settings. With `n_prompts` (a batch of prompts) prompt i gets its own
        generator seeded seed + i; a torch.Generator given as the seed is shared by all of them."""
        if isinstance(seed, torch.Generator):
            generator, seed_value = seed, int(seed.initial_seed())
        else:
            if seed is None:
                seed = random.SystemRandom().randrange(2**31)
            try:
                seed_value = int(seed)
            except (TypeError, ValueError):
                raise VideoPoetError(f"seed must be an integer, got {seed!r}") from None
            seeds = n_prompts or 1
            if not 0 <= seed_value <= 2**63 - seeds:
                raise VideoPoetError(f"seed must be in [0, 2^63), got {seed_value}" if seeds == 1 else
                                     f"the {seeds} seeds from {seed_value} must all be in [0, 2^63)")
            generators = [torch.Generator("cpu").manual_seed(seed_value + i) for i in range(seeds)]
            generator = generators if n_prompts is not None else generators[0]
        if not (isinstance(temperature, (int, float)) and 0 <= temperature <= 10):
            raise VideoPoetError(f"temperature must be in [0, 10], got {temperature!r}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise VideoPoetError(f"top_k must be a positive integer or None, got {top_k!r}")
        if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
            raise VideoPoetError(f"top_p must be in (0, 1] or None, got {top_p!r}")
        if not (isinstance(cfg_scale, (int, float)) and 0 <= cfg_scale <= 30):
            raise VideoPoetError(f"cfg_scale must be in [0, 30], got {cfg_scale!r}")
        negative_ids = None
        if negative_prompt:
            negative_ids = np.asarray(self._encode(" ".join(negative_prompt.split()))[:MAX_TEXT_TOKENS], np.int64)
        return _Sampling(float(temperature), top_k, top_p, float(cfg_scale), negative_ids, generator, seed_value,
                         progress)

    def _uncond(self, layout: Callable, text: _Prompt, run: _Sampling) -> Layout | None:
        """The guidance contrast: the same task with the negative prompt (or no text) in place of
        the prompt. None when guidance is off or the task has no prompt to contrast."""
        if run.cfg_scale == 1.0 or text.ids is None:
            return None
        return layout(run.negative_ids if run.negative_ids is not None and len(run.negative_ids) else None)

    # ---------------------------------------------------------------------------------------------
    # Generation

    @torch.inference_mode()
    def _generate(self, layouts: list[Layout], uncond: Layout | list[Layout] | None, run: _Sampling,
                  keep: dict[int, int] | None = None, num_candidates: int = 1,
                  generator: torch.Generator | list[torch.Generator] | None = None) -> list[dict[str, np.ndarray]]:
        """Sample the outputs of `layouts` (one prompt per row, all with the same output spec) in
        one batch; `keep` pins output step -> id; `generator` replaces run's. Returns parse_output's
        dict per sampled row (prompt b's candidates at rows b*K .. b*K+K-1)."""
        spec = layouts[0].output_spec
        n_new = layouts[0].output_length
        prompt_len = max(len(layout.sequence) for layout in layouts)
        if uncond is not None:
            uncond = uncond if isinstance(uncond, list) else [uncond]
            prompt_len = max(prompt_len, *(len(u.sequence) for u in uncond))
        limit = self.transformer.config.max_len
        if prompt_len + n_new > limit:
            raise VideoPoetError(f"this task needs {prompt_len + n_new} tokens; the model reads at most {limit}")
        bounds = [tuple(b) for b in layouts[0].output_bounds().tolist()]
        for step, token in (keep or {}).items():
            bounds[step] = (token, token + 1)
        offset = run.done
        cfg = run.cfg_scale if uncond is not None else 1.0
        report = None if run.progress is None else (lambda done, _n: run.progress(offset + done, run.total))
        ids = sample(
            self.transformer, self._prefix(layouts), n_new,
            output_positions=layouts[0].output_positions(), output_modality=layouts[0].output_modality().long(),
            allowed_range=bounds.__getitem__, temperature=run.temperature, top_k=run.top_k, top_p=run.top_p,
            cfg_scale=cfg, uncond_prefix=self._prefix(uncond) if uncond is not None else None,
            generator=run.generator if generator is None else generator, num_candidates=num_candidates,
            progress=report)
        run.done = offset + n_new
        return [parse_output(self.vocab, row.cpu().numpy(), spec) for row in ids]

    def _prefix(self, layouts: list[Layout]) -> PrefixBatch:
        batch = collate([layout.sequence for layout in layouts], pad_id=self.vocab.pad_id)
        return PrefixBatch(batch["tokens"], batch["positions"], batch["modality"].long(), batch["prefix_len"],
                           batch["valid"])

    def _audio_pass_length(self) -> int:
        return tasks.video_to_audio(self.vocab, np.zeros((1, 1, 1), np.int64)).output_length

    def _audio_for(self, videos: list[np.ndarray], run: _Sampling) -> list[np.ndarray]:
        """Sound for each video-token grid: one batched video-to-audio pass (no text, so no guidance)."""
        layouts = [tasks.video_to_audio(self.vocab, v) for v in videos]
        groups: dict[tuple, list[int]] = {}
        for i, v in enumerate(videos):  # one batch per grid shape (square and portrait differ in length)
            groups.setdefault(v.shape, []).append(i)
        out: list[np.ndarray | None] = [None] * len(videos)
        for members in groups.values():
            own = [run.generator[i] for i in members] if isinstance(run.generator, list) else None
            for i, parsed in zip(members, self._generate([layouts[i] for i in members], None, run, generator=own)):
                out[i] = parsed["audio"]
        return out

    def _video_task(self, task: str, layout: Callable, text: _Prompt, run: _Sampling, with_audio: bool,
                    keep: dict[int, int] | None = None) -> VideoPoetOutput:
        return self._video_tasks(task, layout, [text], run, with_audio, keep)[0]

    def _video_tasks(self, task: str, layout: Callable, texts: list[_Prompt], run: _Sampling, with_audio: bool,
                     keep: dict[int, int] | None = None) -> list[VideoPoetOutput]:
        """One clip per text in one batch (the same negative prompt guides them all); output i
        reports seed run.seed + i, the seed of its generator when run has one per text."""
        conds = [layout(text.ids) for text in texts]
        run.total = conds[0].output_length + (self._audio_pass_length() if with_audio else 0)
        rows = self._generate(conds, self._uncond(layout, texts[0], run), run, keep=keep)
        clips = [{"video": row["video"]} for row in rows]
        if with_audio:
            for clip, audio in zip(clips, self._audio_for([clip["video"] for clip in clips], run)):
                clip["audio"] = audio
        own_seeds = isinstance(run.generator, list)
        return [self._finish(task, text, dataclasses.replace(run, seed=run.seed + i if own_seeds else run.seed),
                             clips=[clip]) for i, (text, clip) in enumerate(zip(texts, clips))]

    def _masked_task(self, task: str, video, mask, prompt, portrait, with_audio, run: _Sampling) -> VideoPoetOutput:
        video_tokens, frames, _, notices = self._clip_tokens(video, portrait)
        grid = self.video_mask(mask, video_tokens.shape)
        text = self._prompt(prompt, None, required=False)
        text.notices += notices
        start = self.vocab.video_range.start
        keep = {int(i): int(video_tokens.flat[i]) + start for i in np.flatnonzero(~grid)}
        make = tasks.inpainting if task == "inpaint" else tasks.outpainting
        layout = lambda ids: make(self.vocab, video_tokens, grid, text=ids)  # noqa: E731
        out = self._video_task(task, layout, text, run, with_audio, keep=keep)
        if frames is not None:
            # The kept tokens come back exactly, but the decoder mixes each cell with its neighbours,
            # so decoded kept cells drift from the input (13 dB PSNR on the shipped weights): what
            # the user did not mask stays their own pixels.
            kept = ~_pixel_mask(grid)
            out.frames[kept] = frames[kept]
        return out

    def _first_frames_kept(self, image_tokens: np.ndarray) -> dict[int, int]:
        """Pins for the first latent frame of a video output (the video segment comes first)."""
        start = self.vocab.video_range.start
        return {i: int(code) + start for i, code in enumerate(image_tokens.ravel())}

    def _continue(self, video_tokens: np.ndarray, audio_codes: np.ndarray | None, text: _Prompt, run: _Sampling,
                  num_steps: int, k: int, with_audio: bool) -> list[list[dict]]:
        """`num_steps` steps of continuation, each from the last second of the clip before; a step
        samples k rows (k > 1 only for a single step). Returns per step the k clips' tokens."""
        need_source_audio = with_audio and audio_codes is None
        shape_only = np.zeros((self.vocab.audio_levels, AUDIO_FRAMES), np.int64) if with_audio else None
        per_step = self._continuation_layout(video_tokens, shape_only, None).output_length
        run.total = num_steps * per_step + (self._audio_pass_length() if need_source_audio else 0)
        if need_source_audio:
            audio_codes = self._audio_for([video_tokens], run)[0]
        steps = []
        for _ in range(num_steps):
            context_audio = audio_codes if with_audio else None
            layout = lambda ids, v=video_tokens, a=context_audio: self._continuation_layout(v, a, ids)  # noqa: E731
            rows = self._generate([layout(text.ids)], self._uncond(layout, text, run), run, num_candidates=k)
            steps.append([{key: row[key] for key in ("video", "audio") if key in row} for row in rows])
            video_tokens = rows[0]["video"]
            audio_codes = rows[0].get("audio")
        return steps

    def _continuation_layout(self, video_tokens: np.ndarray, audio_codes: np.ndarray | None, ids) -> Layout:
        context = video_tokens[-CONTEXT_LATENT_FRAMES:]
        if audio_codes is None:
            return tasks.continuation(self.vocab, context, text=ids)
        return tasks.audio_video_continuation(self.vocab, context, audio_codes[:, -CONTEXT_AUDIO_FRAMES:], text=ids)

    def _clip_tokens(self, video, portrait: bool | None, keep: str = "first", audio=None):
        """Any clip input -> (video tokens (5, h, w), frames or None, audio codes or None, notices).
        Accepts a previous VideoPoetOutput (its last clip's tokens), (t, h, w) integer tokens, a
        path, a media.Video or frames. `audio` is the whole video's sound, from its first frame;
        the codes are of the stretch under the clip. Continuing (`keep` "last") takes frames as
        short as the second it reads."""
        notices: list[str] = []
        frames = None
        audio_codes = None
        clip_audio = None
        if isinstance(video, VideoPoetOutput):
            if "video" not in video.tokens:
                raise VideoPoetError("that output has no video to continue from")
            tokens = np.asarray(video.tokens["video"], dtype=np.int64)
            audio_codes = video.tokens.get("audio")
            if video.frames is not None and len(video.clips) == 1 and video.frames.shape[0] == CLIP_FRAMES:
                frames = video.frames
        elif isinstance(video, (np.ndarray, torch.Tensor)) and video.ndim == 3 and not _is_float_or_byte(video):
            tokens = np.asarray(video.cpu() if isinstance(video, torch.Tensor) else video, dtype=np.int64)
        elif video is None:
            raise VideoPoetError("this task needs a video")
        else:
            frames, clip_audio, notices = self.prepare_video(video, portrait, keep=keep, audio=audio,
                                                             min_frames=CONTEXT_FRAMES if keep == "last" else None)
            tokens = self.video_tokenizer.encode_frames(frames)
        expected = {SQUARE_VIDEO, PORTRAIT_VIDEO}
        if tokens.shape not in expected:
            raise VideoPoetError(f"video tokens must be one clip, {SQUARE_VIDEO} or {PORTRAIT_VIDEO}; got {tokens.shape}")
        if tokens.min() < 0 or tokens.max() >= 2 ** self.vocab.video_codebook_bits:
            raise VideoPoetError(f"video tokens must lie in [0, 2^{self.vocab.video_codebook_bits})")
        if audio is not None and clip_audio is None:
            # Tokens end where the video ends: an output's tokens are of its last clip.
            n = len(video.frames) if isinstance(video, VideoPoetOutput) and video.frames is not None else CLIP_FRAMES
            track, more = _given_track(audio, n)
            notices += more
            end = n * SAMPLE_RATE // FPS
            clip_audio = _sound_between(track, end - CLIP_SAMPLES, end)
        if clip_audio is not None:
            audio_codes = self.audio_tokenizer.encode_audio(clip_audio)
        return tokens, frames, None if audio_codes is None else np.asarray(audio_codes, np.int64), notices

    def _new_seconds(self, task: str, text: _Prompt, run: _Sampling, clips: list[dict]) -> VideoPoetOutput:
        """The output of continuation steps: of each generated clip, the second it adds."""
        frames = np.concatenate([self.video_tokenizer.decode_frames(c["video"])[NEW_FRAMES] for c in clips])
        audio = None
        if all("audio" in c for c in clips):
            hop = self.audio_tokenizer.hop
            cut = slice(NEW_AUDIO_FRAMES.start * hop, NEW_AUDIO_FRAMES.stop * hop)
            audio = np.concatenate([self.audio_tokenizer.decode_audio(c["audio"])[cut] for c in clips])
        return self._finish(task, text, run, clips, frames=frames, audio=audio)

    def _finish(self, task: str, text: _Prompt, run: _Sampling, clips: list[dict],
                frames: np.ndarray | None = None, audio: np.ndarray | None = None) -> VideoPoetOutput:
        """Decode every clip's tokens (unless frames / audio are given) and assemble the output."""
        if frames is None and any("video" in c for c in clips):
            frames = np.concatenate([self.video_tokenizer.decode_frames(c["video"]) for c in clips])
        if audio is None and clips and all("audio" in c for c in clips):
            audio = np.concatenate([self.audio_tokenizer.decode_audio(c["audio"]) for c in clips])
        if audio is not None:
            audio = audio.astype(np.float32)
        return VideoPoetOutput(frames=frames, audio=audio, prompt=text.caption, interpreted_as=text.interpreted_as,
                               notices=list(text.notices), tokens=dict(clips[-1]) if clips else {},
                               clips=[dict(c) for c in clips], seed=run.seed, task=task)


def _read_sound(audio, max_seconds: float) -> np.ndarray:
    """Sound (path, or mono float/int16 samples at 16 kHz) as mono float32; of a file, at most
    `max_seconds` are read."""
    if isinstance(audio, (str, os.PathLike)):
        audio = media.read_audio(audio, max_seconds=max_seconds)
    arr = np.asarray(audio)
    if arr.size == 0:
        raise VideoPoetError("audio is empty")
    return media.fit_audio(arr, arr.shape[0] if arr.ndim == 1 else max(arr.shape))


def _given_track(audio, frames: int) -> tuple[np.ndarray, list[str]]:
    """A sound given for a video of `frames` frames, taken to start with it: (samples, notices)."""
    end = frames * SAMPLE_RATE // FPS
    # A second more than the video is read only to tell that the track runs past it.
    track = _read_sound(audio, end / SAMPLE_RATE + 1)
    notices = []
    video_s, given_s = end / SAMPLE_RATE, len(track) / SAMPLE_RATE
    # A codec's track is often a few ms off its video's duration: not worth a word under a frame.
    if len(track) < end - SAMPLE_RATE // FPS:
        notices.append(f"audio is {given_s:.2f} s, shorter than the video ({video_s:.3f} s); taken to start "
                       f"with the video, followed by {video_s - given_s:.2f} s of silence")
    elif len(track) > end + SAMPLE_RATE // FPS:
        notices.append(f"audio runs past the video's end ({video_s:.3f} s); the rest is not used")
    return track, notices


def _sound_between(track: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Samples start..stop of `track`, silence where it has none (before 0 or past its end)."""
    out = np.zeros(stop - start, np.float32)
    lo, hi = max(start, 0), min(stop, len(track))
    if hi > lo:
        out[lo - start:hi - start] = track[lo:hi]
    return out


def _pixel_mask(grid: np.ndarray) -> np.ndarray:
    """(t, h, w) token-grid mask -> (frames, 8h, 8w): latent frame 0 is frame 0, latent i covers
    frames 4i-3 .. 4i, and a token covers an 8 x 8 pixel cell."""
    per_frame = np.repeat(grid, [1] + [4] * (len(grid) - 1), axis=0)
    return per_frame.repeat(8, axis=1).repeat(8, axis=2)


def _is_float_or_byte(array) -> bool:
    dtype = array.dtype
    if isinstance(array, torch.Tensor):
        return dtype.is_floating_point or dtype == torch.uint8
    return np.issubdtype(dtype, np.floating) or dtype == np.uint8


def _default_interpreter() -> Any:
    """The MiniLM prompt interpreter, or None (with a warning) when it cannot be built here."""
    import warnings

    try:
        from videopoet.interpreter import PromptInterpreter

        return PromptInterpreter.load()
    except (ImportError, VideoPoetError) as e:
        warnings.warn(f"no prompt interpreter ({e}); prompts go to the model as typed", stacklevel=3)
        return None
