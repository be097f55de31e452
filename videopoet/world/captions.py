"""The caption grammar: a scene spec in words, with synonyms and paraphrases — and back.

`caption(spec, rng)` writes one of many phrasings; `parse_caption(text)` reads the concepts back
out of any caption the grammar can write. Tests hold the two to each other, so labels and
captions always agree.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from videopoet.world.atlas import load_atlas
from videopoet.world.scene import Spec
from videopoet.world.vocab import ACCESSORY_EMOJI, ACTIONS, BACKGROUNDS, CAMERAS, EFFECTS, NUMBER_WORDS, STYLE_PHRASES

IRREGULAR_PLURALS = {"mouse": "mice", "sheep": "sheep", "fish": "fish", "deer": "deer", "ox": "oxen",
                     "man": "men", "woman": "women", "child": "children", "goose": "geese", "elf": "elves",
                     "police officer": "police officers", "t-rex": "t-rexes", "bison": "bison",
                     "tropical fish": "tropical fish", "field mouse": "field mice", "cactus": "cacti"}

THEN_PHRASES = {
    "fireworks": ["then colorful fireworks explode in the background", "then fireworks burst in the sky"],
    "lightning": ["then lightning strikes", "then a lightning storm breaks"],
    "paint splash": ["then rainbow paint splashes everywhere", "then a burst of rainbow paint explodes"],
    "smoke": ["then smoke billows up", "then clouds of smoke rise"],
    "twinkling stars": ["then the stars start twinkling", "then twinkling stars appear"],
}
SCENERY_OPENERS = {"fpv drone shot": ["Flying", "FPV footage flying"], "zoom in": ["Flying"], None: ["A view", "Scenery"]}


def plural(name: str) -> str:
    if name in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[name]
    head, _, last = name.rpartition(" ")
    last_plural = IRREGULAR_PLURALS.get(last)
    if last_plural is None:
        if re.search(r"(s|sh|ch|x|z)$", last):
            last_plural = last + "es"
        elif re.search(r"[^aeiou]y$", last):
            last_plural = last[:-1] + "ies"
        else:
            last_plural = last + "s"
    return f"{head} {last_plural}".strip()


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def accessory_phrase(name: str) -> str:
    verb = ACCESSORY_EMOJI[name][1]
    # Things that come in pairs take no article: "wearing sunglasses", "holding a cane".
    return f"{verb} {name}" if name.endswith("es") else f"{verb} {_article(name)} {name}"


def subject_phrase(subjects: tuple[str, ...]) -> str:
    if len(set(subjects)) == 1 and len(subjects) > 1:
        return f"{NUMBER_WORDS[len(subjects)]} {plural(subjects[0])}"
    names = [f"{_article(s)} {s}" for s in subjects]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def caption(spec: Spec, rng: np.random.Generator) -> str:
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    parts = []
    if spec.subjects:
        text = subject_phrase(spec.subjects)
        for acc in spec.accessories:
            text += f" {accessory_phrase(acc)}"
        text += f" {pick(ACTIONS[spec.action]['phrases'])} {pick(BACKGROUNDS[spec.background]['phrases'])}"
    else:
        opener = pick(SCENERY_OPENERS.get(spec.camera, SCENERY_OPENERS[None]))
        text = f"{opener} {pick(BACKGROUNDS[spec.background]['phrases'])}"
    parts.append(text)
    for effect in spec.effects:
        parts.append(pick(EFFECTS[effect]["phrases"]))
    for effect, _ in spec.then:
        parts.append(pick(THEN_PHRASES[effect]))
    if spec.style != "none":
        parts.append(pick(STYLE_PHRASES[spec.style]))
    text = ", ".join(parts)
    if spec.camera != "static" or rng.random() < 0.5:
        move = pick(CAMERAS[spec.camera]["phrases"])
        text += ". " + move[0].upper() + move[1:]
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


@functools.cache
def _phrase_table() -> list[tuple[re.Pattern, str, str]]:
    """(pattern, kind, concept) for every phrase the grammar can write, longest first."""
    rows: list[tuple[str, str, str]] = []
    for name, d in BACKGROUNDS.items():
        rows += [(p, "background", name) for p in d["phrases"]]
    for name, d in ACTIONS.items():
        rows += [(p, "action", name) for p in d["phrases"]]
    for name, d in EFFECTS.items():
        rows += [(p, "effect", name) for p in d["phrases"]]
    for name, phrases in THEN_PHRASES.items():
        rows += [(p, "then", name) for p in phrases]
    for name, phrases in STYLE_PHRASES.items():
        rows += [(p, "style", name) for p in phrases if p]
    for name, d in CAMERAS.items():
        rows += [(p, "camera", name) for p in d["phrases"]]
    rows += [(accessory_phrase(name), "accessory", name) for name in ACCESSORY_EMOJI]
    for name in load_atlas().subjects():
        rows += [(f"{art} {name}", "subject", name) for art in ("a", "an")]
        rows += [(f"{num} {plural(name)}", f"subjects{n}", name) for n, num in NUMBER_WORDS.items() if n > 1]
    rows.sort(key=lambda r: -len(r[0]))
    return [(re.compile(r"(?<![\w'-])" + re.escape(p.lower()) + r"(?![\w'-])"), kind, name) for p, kind, name in rows]


def parse_caption(text: str) -> dict:
    """The concepts a grammar-written caption names, in the form of `labels` (see render)."""
    low = " " + text.lower() + " "
    found: dict = {"subjects": [], "action": None, "background": None, "effects": [], "then": [],
                   "style": "none", "camera": "static", "accessories": []}
    spans: list[tuple[int, int, str, str]] = []
    for pattern, kind, name in _phrase_table():
        for m in pattern.finditer(low):
            if any(m.start() < e and s < m.end() for s, e, _, _ in spans):
                continue
            spans.append((m.start(), m.end(), kind, name))
    for _, _, kind, name in sorted(spans):
        if kind == "subject":
            found["subjects"].append(name)
        elif kind.startswith("subjects"):
            found["subjects"] += [name] * int(kind[len("subjects"):])
        elif kind in ("effect", "then", "accessory"):
            found["effects" if kind == "effect" else "then" if kind == "then" else "accessories"].append(name)
        else:
            found[kind] = name
    if not found["subjects"]:
        found["action"] = None  # a scenery caption's "Flying through…" is the camera, not an action
    return found
