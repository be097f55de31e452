"""The sprite atlas: every emoji the world draws, rendered once from Noto Color Emoji and cached.

`python -m videopoet.world build-atlas` builds it; `load_atlas()` builds it on first use when the
font is there. The cache lives in a git-ignored folder (`.cache/` at the repo root, or
$VIDEOPOET_CACHE) because it is derived data: the font and the `emoji` package are its sources.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videopoet.errors import VideoPoetError
from videopoet.world.vocab import ACCESSORY_EMOJI, PROP_EMOJI, SUBJECT_EMOJI, SUBJECT_NAME_OVERRIDES

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
# Noto Color Emoji is a bitmap font with a single 109 px strike; other sizes fail to load.
FONT_SIZE = 109
SPRITE_SIZE = 96
ATLAS_VERSION = 2


def cache_dir() -> Path:
    root = os.environ.get("VIDEOPOET_CACHE")
    return Path(root) if root else Path(__file__).resolve().parents[2] / ".cache"


def atlas_path() -> Path:
    return cache_dir() / f"emoji_atlas_v{ATLAS_VERSION}_{SPRITE_SIZE}.npz"


@dataclass(frozen=True)
class Atlas:
    sprites: np.ndarray  # (N, S, S, 4) uint8 RGBA, trimmed to the glyph and centred
    chars: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]  # "animal" | "person" | "vehicle" | "object" | "accessory" | "prop"
    by_name: dict[str, int]

    def index(self, name: str) -> int:
        return self.by_name[name]

    def subjects(self, kind: str | None = None) -> list[str]:
        keep = ("animal", "person", "vehicle", "object") if kind is None else (kind,)
        return [n for n, k in zip(self.names, self.kinds) if k in keep]


def emoji_name(char: str) -> str:
    if char in SUBJECT_NAME_OVERRIDES:
        return SUBJECT_NAME_OVERRIDES[char]
    import emoji

    data = emoji.EMOJI_DATA.get(char) or emoji.EMOJI_DATA.get(char + "\ufe0f")
    if data is None:
        raise VideoPoetError(f"{char!r} is not an emoji the `emoji` package knows")
    return data["en"].strip(":").replace("_", " ").lower()


def render_glyph(char: str, font) -> np.ndarray:
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (FONT_SIZE * 3, FONT_SIZE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((FONT_SIZE // 2, FONT_SIZE // 4), char, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        raise VideoPoetError(f"the emoji font has no glyph for {char!r}")
    glyph = canvas.crop(box)
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    # Resize premultiplied so transparent pixels' colours do not bleed into the edges.
    rgba = np.asarray(square, dtype=np.float32) / 255.0
    rgba[..., :3] *= rgba[..., 3:]
    import cv2

    small = cv2.resize(rgba, (SPRITE_SIZE, SPRITE_SIZE), interpolation=cv2.INTER_AREA)
    alpha = small[..., 3:]
    small[..., :3] = np.where(alpha > 1e-4, small[..., :3] / np.maximum(alpha, 1e-4), 0.0)
    return np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8)


def build_atlas(path: Path | None = None) -> Path:
    """Render every subject, accessory and prop emoji into one cached .npz file."""
    from PIL import ImageFont

    if not FONT_PATH.exists():
        raise VideoPoetError(
            f"the emoji font {FONT_PATH} is missing: install Debian's fonts-noto-color-emoji "
            "(apt-get install fonts-noto-color-emoji), then run `python -m videopoet.world build-atlas`"
        )
    font = ImageFont.truetype(str(FONT_PATH), FONT_SIZE)
    entries: list[tuple[str, str, str]] = []
    for kind, chars in SUBJECT_EMOJI.items():
        entries += [(c, emoji_name(c), kind) for c in chars]
    entries += [(c, name, "accessory") for name, (c, _) in ACCESSORY_EMOJI.items()]
    entries += [(c, name, "prop") for name, c in PROP_EMOJI.items()]
    names = [n if k in ("animal", "person", "vehicle", "object") else f"{k}:{n}" for _, n, k in entries]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise VideoPoetError(f"two emoji share the names {sorted(duplicates)}: give one an override in vocab.py")
    sprites = np.stack([render_glyph(c, font) for c, _, _ in entries])
    path = path or atlas_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, sprites=sprites, chars=np.array([c for c, _, _ in entries]),
                        names=np.array(names), kinds=np.array([k for _, _, k in entries]))
    tmp.replace(path)
    return path


@functools.cache
def load_atlas() -> Atlas:
    path = atlas_path()
    if not path.exists():
        build_atlas(path)
    with np.load(path) as data:
        names = tuple(data["names"].tolist())
        return Atlas(sprites=data["sprites"], chars=tuple(data["chars"].tolist()), names=names,
                     kinds=tuple(data["kinds"].tolist()), by_name={n: i for i, n in enumerate(names)})
