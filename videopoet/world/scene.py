"""Scene specs: what a clip shows. Random ones for training, named ones for the seed articles."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from videopoet.errors import VideoPoetError
from videopoet.world.atlas import load_atlas
from videopoet.world.styles import STYLES
from videopoet.world.vocab import ACCESSORY_EMOJI, ACTIONS, BACKGROUNDS, CAMERAS, EFFECTS

INDOOR = {"card table", "white studio", "forge", "portrait wall"}
WEATHER = {"rain", "snow", "lightning"}
# Effects that read naturally as a later event ("…, then fireworks explode").
TIMED_EFFECTS = ("fireworks", "lightning", "paint splash", "smoke", "twinkling stars")
WEARABLE = ("sunglasses", "top hat", "crown")
HOLDABLE = ("cane", "beach ball", "balloon", "guitar", "umbrella")


@dataclass(frozen=True)
class Spec:
    """An explicit scene. Subjects are atlas names; an empty tuple is pure scenery."""

    subjects: tuple[str, ...]
    action: str | None
    background: str
    effects: tuple[str, ...] = ()
    style: str = "none"
    camera: str = "static"
    accessories: tuple[str, ...] = ()
    then: tuple[tuple[str, float], ...] = ()  # effects that start later: (effect, seconds)
    bpm: float | None = None

    def validate(self) -> "Spec":
        atlas = load_atlas()
        known = set(atlas.subjects())
        for s in self.subjects:
            if s not in known:
                raise VideoPoetError(f"unknown subject {s!r}; see `python -m videopoet.world stats` for the list")
        if self.subjects and self.action not in ACTIONS:
            raise VideoPoetError(f"unknown action {self.action!r}; known: {sorted(ACTIONS)}")
        if not self.subjects and self.action is not None:
            raise VideoPoetError("a scene without subjects has no action (use action=None)")
        if self.background not in BACKGROUNDS:
            raise VideoPoetError(f"unknown background {self.background!r}; known: {sorted(BACKGROUNDS)}")
        for e in list(self.effects) + [e for e, _ in self.then]:
            if e not in EFFECTS:
                raise VideoPoetError(f"unknown effect {e!r}; known: {sorted(EFFECTS)}")
        if self.style not in STYLES:
            raise VideoPoetError(f"unknown style {self.style!r}; known: {list(STYLES)}")
        if self.camera not in CAMERAS:
            raise VideoPoetError(f"unknown camera move {self.camera!r}; known: {sorted(CAMERAS)}")
        for a in self.accessories:
            if a not in ACCESSORY_EMOJI:
                raise VideoPoetError(f"unknown accessory {a!r}; known: {sorted(ACCESSORY_EMOJI)}")
        if self.accessories and not self.subjects:
            raise VideoPoetError("accessories need a subject to wear or hold them")
        for e, start in self.then:
            if e not in TIMED_EFFECTS:
                raise VideoPoetError(f"{e!r} cannot come later in a scene; effects that can: {list(TIMED_EFFECTS)}")
            if not 0.0 < start < 2.0:
                raise VideoPoetError(f"'then' effect {e!r} must start between 0 and 2 s, not {start}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def random_spec(rng: np.random.Generator) -> Spec:
    """A random scene, balanced over backgrounds, actions, cameras and styles."""
    atlas = load_atlas()
    background = str(rng.choice(list(BACKGROUNDS)))
    camera = str(rng.choice(list(CAMERAS)))
    style = "none" if rng.random() < 0.4 else str(rng.choice(STYLES[1:]))
    roll = rng.random()
    count = 0 if roll < 0.06 else 1 if roll < 0.74 else 2 if roll < 0.95 else 3
    subjects: tuple[str, ...] = ()
    action = None
    accessories: tuple[str, ...] = ()
    if count:
        action = str(rng.choice(list(ACTIONS)))
        kinds = ACTIONS[action]["kinds"]
        if action == "play cards":
            count = max(count, 2)
        pool = [n for k in kinds for n in atlas.subjects(k)]
        first = str(rng.choice(pool))
        if count > 1 and rng.random() < 0.6:
            subjects = (first,) * count  # "two pandas"
        else:
            subjects = (first,) + tuple(str(s) for s in rng.choice(pool, size=count - 1))
            if len(set(subjects)) < len(subjects):
                subjects = (first,) * count
        if count == 1 and atlas.kinds[atlas.index(first)] in ("animal", "person") and rng.random() < 0.15:
            accessories = (str(rng.choice(WEARABLE + HOLDABLE)),)
    allowed = [e for e in EFFECTS if not (background in INDOOR and e in WEATHER)]
    n_effects = 0 if rng.random() < 0.55 else 1 if rng.random() < 0.8 else 2
    effects = tuple(str(e) for e in rng.choice(allowed, size=n_effects, replace=False))
    then: tuple[tuple[str, float], ...] = ()
    timed = [e for e in TIMED_EFFECTS if e in allowed and e not in effects]
    if rng.random() < 0.15 and timed:
        then = ((str(rng.choice(timed)), round(float(rng.uniform(0.6, 1.2)), 3)),)
    return Spec(subjects=subjects, action=action, background=background, effects=effects, style=style,
                camera=camera, accessories=accessories, then=then)


# The scenes of the seed articles (BRIEF §3), each row by name. Rows that the article shows in
# several versions (the woman; the six camera moves) have one spec per version.
SEED_SCENES: dict[str, list[Spec]] = {
    "raccoon dancing in times square": [Spec(("raccoon",), "dance", "times square", camera="static")],
    "horse galloping through starry night": [Spec(("horse",), "gallop", "starry night", style="van gogh")],
    "two pandas playing cards": [Spec(("panda", "panda"), "play cards", "card table")],
    "rainbow paint with an apple emerging": [Spec(("apple",), "emerge", "white studio", effects=("paint splash",))],
    "ship in a thunderstorm, oil on canvas": [Spec(("ship",), "sail", "stormy sea", effects=("lightning", "rain"),
                                                   style="oil painting")],
    "flying through a nebula with twinkling stars": [Spec((), None, "nebula", effects=("twinkling stars",),
                                                          camera="fpv drone shot")],
    "wanderer on a cliff above sea fog": [Spec(("wanderer",), "idle", "sea cliff", effects=("fog",),
                                               accessories=("cane",))],
    "wombat with sunglasses and a beach ball": [Spec(("wombat",), "idle", "sunny beach",
                                                     accessories=("sunglasses", "beach ball"))],
    "teddy bears ice skating on a frozen lake": [Spec(("teddy bear", "teddy bear"), "skate", "frozen lake")],
    "metal lion roaring in a forge": [Spec(("lion",), "roar", "forge", style="metallic")],
    "astronaut dancing on mars, then fireworks": [Spec(("astronaut",), "dance", "mars", then=(("fireworks", 1.0),))],
    "fpv flight through an elven jungle city": [Spec((), None, "jungle city", camera="fpv drone shot")],
    "steampunk robot powering up with smoke": [Spec(("robot",), "power up", "grassy meadow", effects=("smoke",))],
    "woman turning / yawning": [Spec(("woman",), "turn", "portrait wall"), Spec(("woman",), "yawn", "portrait wall")],
    "sunrise over a snowy mountain, six camera moves": [
        Spec((), None, "snowy mountain", camera=c)
        for c in ("zoom out", "dolly zoom", "pan left", "arc shot", "crane shot", "fpv drone shot")
    ],
}

