"""The VideoPoet playground: a Gradio app, one tab per feature.

    python app.py [--share] [--host HOST] [--port PORT]

Today it has the World explorer (compose a scene of the procedural world, watch and hear it, see
its depth, optical flow, caption and labels) and an About tab. Model tabs arrive with the models:
each is a `*_tab()` function below that opens its own `with gr.Tab(...)` inside `build_app()`.

Named API endpoints (for `gradio_client`):
    /render_scene   a scene from explicit controls  -> clip, depth, flow, caption, labels, camera
    /random_scene   a random scene from a seed       -> the same outputs

Importing this module builds `demo` (cheap: no rendering) but never launches it.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import logging
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import cv2
import gradio as gr
import numpy as np

from videopoet.errors import VideoPoetError
from videopoet.media import write_video
from videopoet.world import SEED_SCENES, Spec, estimate_camera, render
from videopoet.world.atlas import load_atlas
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
TEMP_MAX_AGE_S = 15 * 60  # our own mp4s; gradio's copies are swept by `delete_cache`
DELETE_CACHE = (600, 3600)  # every 10 min, drop gradio's cached files older than 1 h
DEPTH_RANGE = (0.08, 3.0)  # world depths: nearest effects ~0.1, subjects 0.5, sky 3

CSS = """
.vp-header h1 {margin-bottom: 0.1em;}
.vp-header p {margin-top: 0; opacity: 0.8;}
.vp-clip video {background: #111;}
.vp-legend p {font-size: 0.85em; opacity: 0.75; margin: 0;}
.vp-dice {align-self: end;}
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
    for p in folder.glob("*.mp4"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def depth_to_rgb(depth: np.ndarray, depth_range: tuple[float, float] = DEPTH_RANGE) -> np.ndarray:
    """(T, H, W) depth -> (T, H, W, 3) uint8; near is bright (inferno), on a fixed log scale so colours
    mean the same distance in every clip. Unknown depth (NaN) is black."""
    near, far = depth_range
    d = np.nan_to_num(depth.astype(np.float32), nan=far * 10, posinf=far * 10)
    x = (np.log(far) - np.log(np.clip(d, near, far))) / (np.log(far) - np.log(near))
    gray = np.round(x * 255).astype(np.uint8)
    t, h, w = gray.shape
    rgb = cv2.applyColorMap(gray.reshape(t * h, w), cv2.COLORMAP_INFERNO)[..., ::-1].reshape(t, h, w, 3)
    rgb[~np.isfinite(depth)] = 0
    return np.ascontiguousarray(rgb)


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


def _seed(seed) -> int:
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise VideoPoetError(f"the seed must be a whole number, not {seed!r}") from None
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
    folder = temp_dir()
    _prune_temp(folder)
    stem = f"world_{seed}_{uuid.uuid4().hex[:8]}"
    clip = write_video(folder / f"{stem}.mp4", sample.video, audio=sample.audio)
    depth = write_video(folder / f"{stem}_depth.mp4", depth_to_rgb(sample.depth))
    flow_rgb, flow_scale = flow_to_rgb(sample.flow)
    flow = write_video(folder / f"{stem}_flow.mp4", flow_rgb)
    labels = dict(sample.labels, seed=seed, flow_full_brightness_px=round(flow_scale, 2))
    return str(clip), str(depth), str(flow), sample.caption, labels, sample.labels["camera"], estimate, probs


def _user_errors(fn):
    """Show a VideoPoetError's own words in the UI (and to API clients), never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except gr.Error:
            raise
        except VideoPoetError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # a bug: keep the traceback in the server log, tell the user what broke
            log.exception("render failed")
            raise gr.Error(f"rendering failed ({type(e).__name__}: {e})", print_exception=False) from None

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


# ----------------------------------------------------------------------------- tabs


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

## The plan
This project re-implements VideoPoet — one decoder-only language model that generates video and audio as
discrete tokens, for every task (text-to-video, image-to-video, stylization, video-to-audio and more) —
trained from scratch on this world. The tokenizers and the language model arrive in later releases, each
as a new tab here; today you can explore the data they learn from.
"""


def about_tab() -> None:
    with gr.Tab("About", id="about"):
        gr.Markdown(about_markdown())


# ----------------------------------------------------------------------------- app


def build_app() -> gr.Blocks:
    """The whole playground. New features add a `*_tab()` call inside the Tabs."""
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\nAn open re-implementation of VideoPoet: video and audio as tokens, "
                    "served on a laptop CPU.", elem_classes="vp-header")
        with gr.Tabs():
            world_tab(demo)
            about_tab()
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo


def launch(app: gr.Blocks, **kwargs):
    """Launch with the app's look (Gradio 6 takes theme and css at launch)."""
    kwargs.setdefault("theme", gr.themes.Soft())
    kwargs.setdefault("css", CSS)
    return app.launch(**kwargs)


demo = build_app()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="The VideoPoet playground (Gradio).")
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to listen on (0.0.0.0 for every one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    launch(demo, share=args.share, server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
