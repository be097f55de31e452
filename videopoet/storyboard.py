"""Storyboards: a short story cut into scenes, each scene one clip, stitched into a movie.

VideoPoet's "Rookie the Raccoon" film was made by asking Bard for a short story with a prompt per
scene, generating a clip per prompt and joining the clips. Here the story comes from

- a built-in writer: templates over the world's vocabulary that keep one hero (named with the same
  words in every prompt, so every clip draws the same sprite) and vary the places, actions, effects
  and camera moves; or
- any OpenAI-compatible chat-completions endpoint, when VIDEOPOET_LLM_BASE_URL is set (with
  VIDEOPOET_LLM_MODEL and, if the server wants one, VIDEOPOET_LLM_API_KEY); on any failure the
  built-in writer takes over and a notice says why;
- or a story.txt the user wrote: one scene prompt per line, an optional "camera: Zoom out" at the
  end of a line, "#" comments and a "title: ..." line.

    story = write_story("a traveling raccoon", n_scenes=5, seed=0)
    print(story.text)
    movie = make_movie(pipe, story, "movie.mp4", seed=0)

    python -m videopoet storyboard story.txt -o movie.mp4
    python -m videopoet storyboard --premise "a traveling raccoon" --scenes 6 -o movie.mp4
"""

from __future__ import annotations

import argparse
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from videopoet import PRECISIONS
from videopoet.errors import VideoPoetError

MAX_SCENES = 8  # the writer's limit: ~17 s of movie, minutes of CPU time
MAX_FILE_SCENES = 48  # a hand-written storyboard may run longer (~100 s of movie)
MAX_LINE_CHARS = 500
DEFAULT_CROSSFADE_S = 0.25  # two frames at 8 fps: a soft cut that keeps most of every 2.125 s clip
LLM_TIMEOUT_S = 30.0
ENV_BASE_URL, ENV_API_KEY, ENV_MODEL, ENV_TIMEOUT = (
    "VIDEOPOET_LLM_BASE_URL", "VIDEOPOET_LLM_API_KEY", "VIDEOPOET_LLM_MODEL", "VIDEOPOET_LLM_TIMEOUT")
DEFAULT_LLM_MODEL = "gpt-4o-mini"

HERO_NAMES = ("Rookie", "Pip", "Juno", "Milo", "Luna", "Ziggy", "Nova", "Biscuit", "Pepper", "Comet")
# Places a journey goes through; the plain studio, the portrait wall and the card room are sets for
# single shots rather than stops on a journey.
JOURNEY_PLACES = ("times square", "starry night", "stormy sea", "nebula", "sea cliff", "sunny beach",
                  "frozen lake", "forge", "mars", "jungle city", "grassy meadow", "snowy mountain")
JOURNEY_CAMERAS = ("pan left", "pan right", "arc shot", "fpv drone shot", "orbit", "tilt up", "crane shot",
                   "dolly zoom")
OPENING_CAMERAS = ("zoom in", "crane shot", "static")
CONNECTORS = ("Next", "Soon after", "Later", "The road goes on, and", "Before long", "After a while")


@dataclass
class Scene:
    """One clip of a story: its prompt (in words the model knows), its camera move (a name from
    `videopoet.world.vocab.CAMERAS` or None for a still camera) and the story text it shows."""

    prompt: str
    camera: str | None = None
    narration: str = ""

    @property
    def line(self) -> str:
        """The scene as a storyboard file line."""
        return self.prompt + (f" | camera: {self.camera}" if self.camera else "")


@dataclass
class Story:
    title: str
    text: str
    scenes: list[Scene]
    hero: str | None = None  # the words that name the hero in every prompt ("a raccoon wearing sunglasses")
    source: str = "built-in"  # "built-in", "file" or "llm:<model>"
    notices: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# The built-in writer
# ---------------------------------------------------------------------------------------------------

class _NoCameraSuffix:
    """Draws the caption grammar's phrasings from `rng` but never appends a camera phrase: a
    scene's camera move travels separately, as the pipeline's `camera=` argument."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def integers(self, n: int) -> int:
        return int(self.rng.integers(n))

    def random(self) -> float:
        return 1.0


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _premise_reading(premise: str, interpreter):
    """The premise's spec via the prompt interpreter, or None when it names nothing or MiniLM is
    missing (the writer then casts a hero of its own)."""
    if interpreter is None:
        try:
            from videopoet.interpreter import PromptInterpreter

            interpreter = PromptInterpreter.load()
        except (ImportError, VideoPoetError):
            return None
    try:
        return interpreter.interpret(premise).spec
    except VideoPoetError:
        return None


def _builtin_story(premise: str, n: int, rng: np.random.Generator, interpreter=None) -> Story:
    from videopoet.interpreter import ACTION_HOME, subject_kinds
    from videopoet.world.captions import THEN_PHRASES, accessory_phrase, caption, subject_phrase
    from videopoet.world.scene import HOLDABLE, INDOOR, TIMED_EFFECTS, WEARABLE, WEATHER, Spec
    from videopoet.world.vocab import ACTIONS, BACKGROUNDS

    notices: list[str] = []
    kinds = subject_kinds()
    spec = _premise_reading(premise, interpreter) if premise.strip() else None
    if spec is not None and spec.subjects:
        hero = spec.subjects[0]
        accessories = tuple(spec.accessories)
        style = spec.style
        first_place = spec.background if spec.background in JOURNEY_PLACES else None
    else:
        if premise.strip():
            notices.append("the premise names no hero this world can show; the built-in writer cast one")
        pool = [s for s, k in kinds.items() if k in ("animal", "person")]
        hero = str(rng.choice(pool))
        accessories = ()
        if rng.random() < 0.3:
            accessories = (str(rng.choice(WEARABLE + HOLDABLE)),)
        style = "none"
        first_place = None
    kind = kinds[hero]
    hero_words = " ".join([subject_phrase((hero,))] + [accessory_phrase(a) for a in accessories])
    # Actions that keep the hero alone in the frame: a card game would bring a second player.
    actions = [a for a, d in ACTIONS.items() if kind in d["kinds"] and a not in ("play cards", "idle")]
    name = str(rng.choice(HERO_NAMES))

    places = [p for p in JOURNEY_PLACES if p != first_place]
    rng.shuffle(places)
    home = first_place or places.pop()
    roles = ["single"] if n == 1 else ["opening"] + ["journey"] * (n - 2) + ["ending"]
    if n >= 4:
        roles[-2] = "climax"

    scenes: list[Scene] = []
    last_camera = None
    used = {home}
    for role in roles:
        if role in ("opening", "single"):
            place, action = home, ("walk" if "walk" in actions else "idle")
            camera = str(rng.choice(OPENING_CAMERAS))
        elif role == "ending":
            place = home
            action = "dance" if "dance" in actions else "idle"
            camera = "zoom out"
        else:
            action = str(rng.choice(actions))
            place = ACTION_HOME.get(action)  # skating happens on the ice, sailing at sea
            if place not in JOURNEY_PLACES or place in used:
                fresh = [p for p in places if p not in used]
                place = fresh[-1] if fresh else str(rng.choice(JOURNEY_PLACES))
            used.add(place)
            camera = str(rng.choice([c for c in JOURNEY_CAMERAS if c != last_camera]))
        then: tuple = ()
        if role == "climax":
            timed = [e for e in TIMED_EFFECTS if not (place in INDOOR and e in WEATHER)]
            then = ((str(rng.choice(timed)), 1.0),)
            camera = "static"
        last_camera = camera
        scene_spec = Spec((hero,), action, place, style=style, accessories=accessories, then=then)
        prompt = caption(scene_spec, _NoCameraSuffix(rng))
        where = BACKGROUNDS[place]["phrases"][0]
        doing = ACTIONS[action]["phrases"][0]
        if role == "single":
            sentence = f"{name} the {hero} is {doing} {where}."
        elif role == "opening":
            sentence = f"{name} the {hero} sets out {where}, {doing}."
        elif role == "ending":
            sentence = f"At last {name} is back {where}, {doing}: home again."
        elif role == "climax":
            event = THEN_PHRASES[then[0][0]][0].removeprefix("then ")
            sentence = f"{name} is {doing} {where} when suddenly {event}!"
        else:
            sentence = f"{rng.choice(CONNECTORS)}, we find {name} {where}, {doing}."
        scenes.append(Scene(prompt=prompt, camera=None if camera == "static" else camera, narration=sentence))
    title = f"{name} the {hero.title()}" if n > 1 else f"{name} the {hero.title()}: a moment"
    return Story(title=title, text=" ".join(s.narration for s in scenes), scenes=scenes, hero=hero_words,
                 source="built-in", notices=notices)


# ---------------------------------------------------------------------------------------------------
# The chat-completions writer
# ---------------------------------------------------------------------------------------------------

def llm_config() -> dict | None:
    """The endpoint settings from the environment, or None when no endpoint is configured."""
    base = os.environ.get(ENV_BASE_URL, "").strip()
    if not base:
        return None
    try:
        timeout = float(os.environ.get(ENV_TIMEOUT, LLM_TIMEOUT_S))
    except ValueError:
        timeout = LLM_TIMEOUT_S
    return {"base_url": base.rstrip("/"), "api_key": os.environ.get(ENV_API_KEY, "").strip(),
            "model": os.environ.get(ENV_MODEL, "").strip() or DEFAULT_LLM_MODEL, "timeout": timeout}


def _world_brief() -> str:
    from videopoet.interpreter import subject_kinds
    from videopoet.world.vocab import ACTIONS, BACKGROUNDS, CAMERAS, EFFECTS, STYLE_PHRASES

    return "\n".join([
        "subjects: " + ", ".join(subject_kinds()),
        "actions: " + ", ".join(d["phrases"][0] for d in ACTIONS.values()),
        "places: " + ", ".join(d["phrases"][0] for d in BACKGROUNDS.values()),
        "effects: " + ", ".join(d["phrases"][0] for d in EFFECTS.values()),
        "styles: " + ", ".join(p[0] for p in STYLE_PHRASES.values() if p[0]),
        "camera moves: " + ", ".join(d["phrases"][0] for d in CAMERAS.values()),
    ])


def _llm_messages(premise: str, n: int) -> list[dict]:
    system = (
        "You write storyboards for a small video model. Each scene becomes one 2-second clip, and the "
        "model can only show this world:\n" + _world_brief() + "\n\n"
        "Rules: one hero for the whole story, chosen from the subjects, named with exactly the same "
        "words in every scene prompt (for example 'a raccoon'); each scene prompt is one short "
        "sentence with the hero, one action and one place from the lists, optionally one effect or "
        "style; the camera is one of the camera moves or null. Reply with JSON only, no prose: "
        '{"title": str, "hero": str, "story": str, "scenes": [{"prompt": str, "camera": str|null}]}')
    user = f"Write a story with exactly {n} scenes" + (f" about: {premise.strip()}" if premise.strip() else ".")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _json_object(text: str) -> dict:
    """The JSON object in a model's reply, with or without a ```json fence around it."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the reply holds no JSON object")
    return json.loads(text[start:end + 1])


def _camera_move(name) -> str | None:
    """A camera move's canonical name from its name or any of its phrases; None for none or static."""
    from videopoet.world.vocab import CAMERAS

    if name is None:
        return None
    key = " ".join(str(name).lower().replace("-", " ").split()).rstrip(".")
    if key in ("", "none", "null", "static", "no camera move"):
        return None
    for canonical, d in CAMERAS.items():
        if key == canonical or key in (" ".join(p.lower().replace("-", " ").split()) for p in d["phrases"]):
            return None if canonical == "static" else canonical
    raise VideoPoetError(f"unknown camera move {name!r}; known: {', '.join(CAMERAS)}")


def _llm_story(premise: str, n: int, config: dict) -> Story:
    body = {"model": config["model"], "messages": _llm_messages(premise, n), "temperature": 0.8}
    headers = {"Content-Type": "application/json"}
    if config["api_key"]:
        headers["Authorization"] = f"Bearer {config['api_key']}"
    request = urllib.request.Request(config["base_url"] + "/chat/completions", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=config["timeout"]) as response:
        reply = json.loads(response.read().decode("utf-8"))
    data = _json_object(reply["choices"][0]["message"]["content"])
    raw = data.get("scenes")
    if not isinstance(raw, list) or not raw:
        raise ValueError("the reply has no scenes")
    notices: list[str] = []
    scenes: list[Scene] = []
    for i, item in enumerate(raw, 1):
        prompt = item.get("prompt") if isinstance(item, dict) else item
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"scene {i} has no prompt")
        try:
            camera = _camera_move(item.get("camera")) if isinstance(item, dict) else None
        except VideoPoetError:
            notices.append(f"scene {i}: unknown camera move {item.get('camera')!r}, kept still")
            camera = None
        scenes.append(Scene(" ".join(prompt.split())[:MAX_LINE_CHARS], camera))
    if len(scenes) > n:
        notices.append(f"the story model wrote {len(scenes)} scenes; kept the first {n}")
        scenes = scenes[:n]
    elif len(scenes) < n:
        notices.append(f"the story model wrote {len(scenes)} scenes of the {n} asked for")
    hero = data.get("hero") if isinstance(data.get("hero"), str) and data["hero"].strip() else None
    if hero:
        missing = [i for i, s in enumerate(scenes, 1) if hero.lower() not in s.prompt.lower()]
        if missing:
            notices.append(f"scene{'s' * (len(missing) > 1)} {', '.join(map(str, missing))} "
                           f"do{'es' * (len(missing) == 1)} not name the hero as '{hero}'")
    title = str(data.get("title") or "Untitled").strip()
    text = str(data.get("story") or " ".join(s.prompt for s in scenes)).strip()
    return Story(title=title, text=text, scenes=scenes, hero=hero, source=f"llm:{config['model']}",
                 notices=notices)


def write_story(premise: str = "", n_scenes: int = 4, seed=None, *, use_llm: bool | None = None,
                interpreter=None) -> Story:
    """A story of `n_scenes` scenes (at most MAX_SCENES) about `premise`.

    Args:
        premise: what the story is about ("a traveling raccoon"); the hero, a place and a style
            named here are used by the built-in writer. May be empty.
        n_scenes: 1..MAX_SCENES; more is cut to MAX_SCENES with a notice.
        seed: an int or a `numpy.random.Generator` (the built-in writer is deterministic in it).
        use_llm: None (default) uses the chat-completions endpoint when VIDEOPOET_LLM_BASE_URL is
            set; False never does; True insists (a notice says so when none is configured).
        interpreter: a `PromptInterpreter` for reading the premise (default: the shared one).
    """
    if premise is None:
        premise = ""
    if not isinstance(premise, str):
        raise VideoPoetError(f"the premise must be text, not {type(premise).__name__}")
    try:
        n = int(n_scenes)
    except (TypeError, ValueError):
        raise VideoPoetError(f"the number of scenes must be a whole number, not {n_scenes!r}") from None
    if n < 1:
        raise VideoPoetError(f"a story needs at least one scene, not {n}")
    notices: list[str] = []
    if n > MAX_SCENES:
        notices.append(f"{n} scenes asked for; a story has at most {MAX_SCENES}, so it has {MAX_SCENES}")
        n = MAX_SCENES
    premise = premise[:MAX_LINE_CHARS]
    config = llm_config() if use_llm is not False else None
    if use_llm and config is None:
        notices.append(f"no story model configured ({ENV_BASE_URL} is not set); used the built-in writer")
    if config is not None:
        try:
            story = _llm_story(premise, n, config)
            story.notices = notices + story.notices
            return story
        except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            # OSError covers URLError, HTTPError, timeouts and refused connections.
            reason = getattr(e, "reason", None) or e
            notices.append(f"the story model at {config['base_url']} failed ({reason}); "
                           "used the built-in writer")
    story = _builtin_story(premise, n, _rng(seed), interpreter)
    story.notices = notices + story.notices
    return story


# ---------------------------------------------------------------------------------------------------
# Storyboard files
# ---------------------------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:\d+\s*[.):]|[-*•])\s+")
_CAMERA = re.compile(r"^(?P<prompt>.*?)[\s,;|(\[-]*\bcamera\s*:\s*(?P<camera>[^)\]]*?)\s*[)\]]?\s*$", re.I)
_TITLE = re.compile(r"^\s*title\s*:\s*(?P<title>.+?)\s*$", re.I)


def parse_storyboard(text: str, max_scenes: int = MAX_FILE_SCENES) -> Story:
    """A story from a storyboard file's text: one scene prompt per line, an optional camera move at
    the end ("... | camera: Zoom out", "..., camera: pan left", "... (camera: FPV drone shot)"),
    blank lines and "#" comments skipped, numbering or bullets ("1.", "-") dropped, and an optional
    "title: ..." line."""
    if not isinstance(text, str):
        raise VideoPoetError(f"a storyboard is text, not {type(text).__name__}")
    title = None
    scenes: list[Scene] = []
    notices: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _TITLE.match(line)
        if m and title is None and not scenes:
            title = m["title"]
            continue
        line = _BULLET.sub("", line)
        camera = None
        m = _CAMERA.match(line)
        if m:
            try:
                camera = _camera_move(m["camera"])
            except VideoPoetError as e:
                raise VideoPoetError(f"storyboard line {number}: {e}") from None
            line = m["prompt"].strip().rstrip(",;|-").strip()
        if not line:
            raise VideoPoetError(f"storyboard line {number} has a camera move but no scene prompt")
        if len(line) > MAX_LINE_CHARS:
            notices.append(f"line {number} is {len(line)} characters long; read the first {MAX_LINE_CHARS}")
            line = line[:MAX_LINE_CHARS]
        scenes.append(Scene(line, camera))
    if not scenes:
        raise VideoPoetError("the storyboard has no scenes: write one scene prompt per line, e.g. "
                             "'A raccoon dancing in Times Square | camera: Zoom out'")
    if len(scenes) > max_scenes:
        notices.append(f"the storyboard has {len(scenes)} scenes; rendering the first {max_scenes}")
        scenes = scenes[:max_scenes]
    return Story(title=title or "Storyboard", text="\n".join(s.prompt for s in scenes), scenes=scenes,
                 source="file", notices=notices)


def format_storyboard(story: Story) -> str:
    """The story as a storyboard file that `parse_storyboard` reads back to the same scenes."""
    lines = [f"title: {story.title}", ""]
    for scene in story.scenes:
        if scene.narration:
            lines.append(f"# {scene.narration}")
        lines.append(scene.line)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------

@dataclass
class Movie:
    path: Path
    story: Story
    clips: list  # one pipeline output per scene
    captions: list[str]  # what the model saw for each scene
    notices: list[str]


def _hero_scene(prompt: str, hero: str | None, interpreter) -> tuple[str, str | None]:
    """A scene that says what happens but not to whom ("Rookie dances on Mars") is about the hero:
    the hero's words go in front, so the clip shows the same subject as the others."""
    if not hero or interpreter is None:
        return prompt, None
    try:
        reading = interpreter.interpret(prompt)
    except VideoPoetError:
        return prompt, None
    # "Flying through a nebula" with nobody in it is the camera flying (the captions' own reading).
    if reading.spec is None or reading.spec.subjects or not any(p.kind == "action" and p.concept != "fly"
                                                                for p in reading.picks):
        return prompt, None
    cast = f"{hero[0].upper()}{hero[1:]} {prompt[0].lower()}{prompt[1:]}"
    return cast, f"no one named in it; the hero ({hero}) plays it"


# A chained scene is the seconds `extend` appends after the previous clip: two, about a clip's length.
CHAINED_SCENE_SECONDS = 2
# Scenes sampled in one batch. On the 2-core CPU a decoding step of 4 clips (8 rows with guidance)
# takes 22 ms against 12 ms for one clip: four scenes with sound take 74 s in one call, against
# 26-30 s each one after another.
SCENES_PER_CALL = 4


def make_movie(pipeline, story: Story, out_path, seed: int = 0, progress: Callable | None = None, *,
               crossfade_s: float = DEFAULT_CROSSFADE_S, portrait: bool = False, with_audio: bool = True,
               chain: bool = False, **sampling) -> Movie:
    """Render every scene of `story` with `pipeline` and stitch the clips into `out_path` (.mp4).

    Scene i is sampled with seed `seed + i`. With `chain` (and a pipeline that has `extend`), every
    scene after the first continues the previous clip's last second in token space, which carries
    the hero's look and position across the cut; without it each scene is its own text-to-video clip
    (SCENES_PER_CALL of them sampled in one batch) and the clips crossfade. `progress(fraction,
    desc=...)` is called as the work goes (a `gradio.Progress` fits); other keyword arguments
    (temperature, cfg_scale, ...) go to the pipeline.
    """
    from videopoet.media import stitch

    if not story.scenes:
        raise VideoPoetError("the story has no scenes to render")
    out = Path(out_path)
    if out.suffix.lower() != ".mp4":
        raise VideoPoetError(f"{out.name}: a movie is written as .mp4")
    interpreter = getattr(pipeline, "interpreter", None)
    hero = story.hero
    if hero is None and interpreter is not None:
        try:
            first = interpreter.interpret(story.scenes[0].prompt).spec
            if first is not None and first.subjects:
                from videopoet.world.captions import subject_phrase

                hero = subject_phrase(first.subjects[:1])
        except VideoPoetError:
            pass
    can_chain = chain and callable(getattr(pipeline, "extend", None))
    notices = list(story.notices)
    if chain and not can_chain:
        notices.append("this pipeline cannot continue a clip; every scene starts fresh")
    n = len(story.scenes)
    prompts = []
    for i, scene in enumerate(story.scenes):
        prompt, note = _hero_scene(scene.prompt, hero, interpreter) if i else (scene.prompt, None)
        if note:
            notices.append(f"scene {i + 1}: {note}")
        prompts.append(prompt)
    # A chain continues from the clip before, one scene at a time; fresh scenes go in batches.
    step = 1 if can_chain else SCENES_PER_CALL
    clips = []
    for start in range(0, n, step):
        count = min(step, n - start)
        desc = f"scene {start + 1}/{n}" if count == 1 else f"scenes {start + 1}-{start + count}/{n}"

        def tick(done: int, total: int, start=start, count=count, desc=desc) -> None:
            if progress is not None:
                progress((start + count * done / max(total, 1)) / n, desc=desc)

        if progress is not None:
            progress(start / n, desc=desc)
        if can_chain and clips:
            scene = story.scenes[start]
            clips.append(pipeline.extend(clips[-1], prompts[start], num_seconds=CHAINED_SCENE_SECONDS,
                                         camera=scene.camera, seed=seed + start, with_audio=with_audio,
                                         progress=tick, **sampling))
        else:
            clips += pipeline.text_to_video(prompts[start:start + count],
                                            camera=[s.camera for s in story.scenes[start:start + count]],
                                            seed=seed + start, portrait=portrait, with_audio=with_audio,
                                            progress=tick, **sampling)
    captions = [getattr(clip, "prompt", None) or prompt for clip, prompt in zip(clips, prompts)]
    notices += [f"scene {i + 1}: {m}" for i, clip in enumerate(clips) for m in getattr(clip, "notices", [])]
    if progress is not None:
        progress(1.0, desc="stitching")
    stitch(clips, out, crossfade_s=crossfade_s)
    return Movie(path=out, story=story, clips=clips, captions=captions, notices=notices)


# ---------------------------------------------------------------------------------------------------
# Command line: python -m videopoet storyboard
# ---------------------------------------------------------------------------------------------------

def add_storyboard_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("storyboard", help="render a storyboard (or a written story) into one movie",
                            description="One clip per scene, stitched into one mp4. Give a storyboard file "
                                        "(one scene prompt per line, optional '| camera: Zoom out') or "
                                        "--premise to have a story written.")
    p.add_argument("file", nargs="?", help="storyboard text file")
    p.add_argument("-o", "--out", default="movie.mp4", help="output .mp4 (default movie.mp4)")
    p.add_argument("--premise", help="write a story about this instead of reading a file")
    p.add_argument("--scenes", type=int, default=4, help=f"scenes to write with --premise (1..{MAX_SCENES})")
    p.add_argument("--write", metavar="STORY_TXT", help="also save the storyboard to this file")
    p.add_argument("--dry-run", action="store_true", help="print the storyboard and stop (no model needed)")
    p.add_argument("--seed", type=int, default=0, help="scene i uses seed + i (default 0)")
    p.add_argument("--crossfade", type=float, default=DEFAULT_CROSSFADE_S, help="seconds two clips overlap")
    p.add_argument("--chain", action="store_true", help="continue each clip from the last second of the one before")
    p.add_argument("--portrait", action="store_true", help="224x128 portrait clips instead of 128x128")
    p.add_argument("--no-audio", action="store_true", help="silent movie")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="how the language model's int8 checkpoint is loaded (default: int8 on a CPU, bf16 on a GPU)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--weights", default="weights", help="folder with model_index.json (default: weights)")
    p.set_defaults(run=run_storyboard)


def run_storyboard(args: argparse.Namespace) -> int:
    import sys

    if bool(args.file) == bool(args.premise):
        raise VideoPoetError("give a storyboard file or --premise \"...\" (one of the two)")
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise VideoPoetError(f"{path}: no such storyboard file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise VideoPoetError(f"{path}: cannot read it as text ({e})") from None
        story = parse_storyboard(text)
    else:
        story = write_story(args.premise, args.scenes, seed=args.seed)
    print(f"{story.title} ({len(story.scenes)} scenes, {story.source})", file=sys.stderr)
    for i, scene in enumerate(story.scenes, 1):
        print(f"  {i}. {scene.line}", file=sys.stderr)
    for notice in story.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.write:
        Path(args.write).write_text(format_storyboard(story), encoding="utf-8")
    if args.dry_run:
        print(format_storyboard(story), end="")
        return 0
    if not Path(args.out).suffix.lower() == ".mp4":
        raise VideoPoetError(f"{args.out}: a movie is written as .mp4")
    from tqdm import tqdm

    from videopoet.pipeline import VideoPoetPipeline

    pipe = VideoPoetPipeline.from_pretrained(args.weights, precision=args.precision, device=args.device)
    bar = tqdm(total=1000, desc="storyboard", dynamic_ncols=True, leave=False)

    def progress(fraction: float, desc: str = "") -> None:
        bar.set_description(desc)
        bar.update(int(fraction * 1000) - bar.n)

    try:
        movie = make_movie(pipe, story, args.out, seed=args.seed, progress=progress, crossfade_s=args.crossfade,
                           portrait=args.portrait, with_audio=not args.no_audio, chain=args.chain)
    finally:
        bar.close()
    for i, caption in enumerate(movie.captions, 1):
        print(f"scene {i}: {caption}", file=sys.stderr)
    for notice in movie.notices[len(story.notices):]:
        print(f"note: {notice}", file=sys.stderr)
    print(f"wrote {movie.path} ({len(movie.clips)} scenes; seed {args.seed})")
    return 0
