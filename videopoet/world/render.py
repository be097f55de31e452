"""The renderer: a scene spec (or a seed) in, a clip with sound, depth, flow, caption and labels out.

Everything drawn is a layer or a particle group at a depth; the camera turns each into one affine
map per frame. Compositing far to near gives the frames; the nearest opaque thing at a pixel
gives its depth and its exact optical flow (where that point of that thing is one frame later).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from videopoet.world.actions import card_flips, move
from videopoet.world.atlas import load_atlas
from videopoet.world.audio import CLIP_SAMPLES, SoundEvent, synthesize
from videopoet.world.backgrounds import GROUND_TOP, VARIANTS, background_layers
from videopoet.world.camera import SUBJECT_DEPTH, camera_path
from videopoet.world.compositor import composite
from videopoet.world.captions import caption
from videopoet.world.effects import build_effect
from videopoet.world.layers import ON_GROUND_ORDER, Layer, Particles, similarity
from videopoet.world.scene import Spec, random_spec
from videopoet.world.styles import apply_style
from videopoet.world.vocab import ACCESSORY_EMOJI, BACKGROUNDS

SIZES = ((128, 128), (224, 128))


@dataclass
class Sample:
    """One clip of the world. Flow[t] is where each pixel of frame t is at frame t+1 (pixels,
    x then y); depth is distance from the camera (subjects stand at 0.5, the sky at 3)."""

    video: np.ndarray  # (17, H, W, 3) uint8, 8 fps
    audio: np.ndarray  # (34000,) float32, 16 kHz mono
    depth: np.ndarray  # (17, H, W) float32
    flow: np.ndarray  # (17, H, W, 2) float32
    caption: str
    labels: dict
    seed: int


def render(seed: int, size: tuple[int, int] = (128, 128), spec: Spec | None = None) -> Sample:
    """Render one clip, deterministically from `seed` (and `spec`, when given, for what it shows)."""
    size = tuple(int(v) for v in size)
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES} (H, W), not {size}")
    rng = np.random.default_rng(seed)
    spec = random_spec(rng) if spec is None else spec.validate()
    h, w = size
    cam = camera_path(spec.camera, rng, size)
    bpm = spec.bpm or float(rng.uniform(100, 140))
    drawables: list[Layer | Particles] = list(background_layers(spec.background, size, int(rng.integers(VARIANTS))))
    subject_layers, events = _subjects(spec, rng, size, bpm)
    drawables += subject_layers
    beds = [BACKGROUNDS[spec.background]["bed"]]
    if spec.action == "dance":
        beds.append("music")
    effect_parts = [build_effect(e, rng, size, 0.0) for e in spec.effects]
    effect_parts += [build_effect(e, rng, size, start) for e, start in spec.then]
    for part in effect_parts:
        drawables += part.layers + part.particles
        events += part.events
        beds += part.beds
    beds = list(dict.fromkeys(b for b in beds if b != "silence")) or ["silence"]
    video, depth, flow = composite(drawables, cam, size)
    if spec.style != "none":
        video = apply_style(video, spec.style, seed)
    events.sort(key=lambda e: e.t)
    audio = synthesize(events, beds, seed, CLIP_SAMPLES, music_bpm=bpm if "music" in beds else None)
    text = caption(spec, rng)
    labels = {
        "source": "world",
        "subjects": list(spec.subjects),
        "action": spec.action,
        "background": spec.background,
        "effects": list(spec.effects),
        "then": [{"effect": e, "start": s} for e, s in spec.then],
        "style": spec.style,
        "camera": spec.camera,
        "accessories": list(spec.accessories),
        "events": [{"kind": e.kind, "t": round(e.t, 4)} for e in events],
        "beds": beds,
        "audio_classes": sorted({e.kind for e in events} | set(beds)),
        "bpm": round(bpm, 2) if "music" in beds else None,
        "size": [h, w],
        "spec": spec.to_dict(),
    }
    return Sample(video=video, audio=audio, depth=depth, flow=flow, caption=text, labels=labels, seed=seed)


def _sprite(name: str, px: int) -> np.ndarray:
    return _resized_sprite(load_atlas().index(name), px)


@functools.lru_cache(maxsize=2048)
def _resized_sprite(index: int, px: int) -> np.ndarray:
    sprite = load_atlas().sprites[index]
    out = cv2.resize(sprite, (px, px), interpolation=cv2.INTER_AREA)
    out.flags.writeable = False
    return out


def _subjects(spec: Spec, rng: np.random.Generator, size, bpm: float) -> tuple[list[Layer], list[SoundEvent]]:
    h, w = size
    n = len(spec.subjects)
    if n == 0:
        return [], []
    atlas = load_atlas()
    layers: list[Layer] = []
    events: list[SoundEvent] = []
    fraction = {1: 0.42, 2: 0.32, 3: 0.26}[n]
    ground = GROUND_TOP[spec.background] * h
    feet = ground + (h - ground) * rng.uniform(0.35, 0.6)
    slots = {1: [0.0], 2: [-0.24, 0.24], 3: [-0.3, 0.0, 0.3]}[n]
    travelling = spec.action in ("walk", "gallop", "fly", "sail")
    direction = 1.0 if rng.random() < 0.5 else -1.0
    for i, name in enumerate(spec.subjects):
        kind = atlas.kinds[atlas.index(name)]
        big = kind == "vehicle" or name in ("horse", "elephant", "ship")
        px = int(round(w * fraction * (1.15 if big else 1.0) * rng.uniform(0.92, 1.08)))
        x0 = slots[i] * w + rng.uniform(-0.03, 0.03) * w
        if spec.action == "play cards":
            facing = 1.0 if x0 < 0 else -1.0  # players face each other
        else:
            facing = direction
        if travelling:
            x0 -= facing * w * 0.22
        y0 = feet - px / 2 - h / 2
        if spec.action == "fly":
            y0 = -h * rng.uniform(0.12, 0.22)
        pitch = 0.75 if big else 1.25 if px < w * 0.3 else 1.0
        motion = move(spec.action, rng, x0, y0, px, w, facing, bpm, pitch)
        # Noto draws animals and vehicles facing left: mirror those that move right.
        if kind in ("animal", "vehicle") and facing > 0:
            motion.scale_x = -motion.scale_x
        local = motion.affine(px)
        tint = np.stack([motion.brightness] * 3 + [motion.opacity], axis=-1)
        depth = SUBJECT_DEPTH - 0.01 * i
        order = ON_GROUND_ORDER - 0.01 * i
        layers.append(Layer(_sprite(name, px), depth, local=local, tint=tint, name=name, order=order))
        events += motion.events
        for j, acc in enumerate(spec.accessories):
            layers.append(_accessory(acc, j, px, local, tint, depth, order - 0.001))
    if spec.action == "play cards":
        layers += _cards(rng, size, feet, events)
    return layers, events


def _accessory(acc: str, j: int, px: int, subject_local: np.ndarray, tint: np.ndarray, depth: float,
               order: float) -> Layer:
    """Worn things sit on the face, held things at the side; both move with their subject."""
    _, verb = ACCESSORY_EMOJI[acc]
    apx = max(8, int(px * (0.42 if verb == "wearing" else 0.5)))
    if verb == "wearing":
        dx, dy = 0.0, -0.12 * px
    else:
        dx, dy = (0.38 if j % 2 == 0 else -0.38) * px, 0.12 * px
    # Offset from the sprite's centre, in the sprite's own pixels, so it turns and bobs with it.
    place = similarity(apx / 2, apx / 2, 1.0, 1.0, 0.0, px / 2 - apx / 2 + dx, px / 2 - apx / 2 + dy)
    local = subject_local @ np.vstack([place, [0, 0, 1]])[None]
    return Layer(_sprite(f"accessory:{acc}", apx), depth, local=local, tint=tint, name=acc, order=order)


def _cards(rng, size, feet, events) -> list[Layer]:
    h, w = size
    px = int(w * 0.13)
    layers = []
    for k, (landed, scale_x) in enumerate(card_flips(rng, 3)):
        x = (k - 1) * w * 0.14
        y = feet - h / 2 - px * 0.2
        local = similarity(px / 2, px / 2, scale_x, 1.0, 0.0, x, y)
        local[:, 0, 0] = np.where(np.abs(local[:, 0, 0]) < 0.05, 0.05, local[:, 0, 0])
        layers.append(Layer(_sprite("prop:card", px), SUBJECT_DEPTH - 0.05, local=local, name="card",
                            order=ON_GROUND_ORDER - 0.05))
        events.append(SoundEvent("card_flip", landed, gain=0.6))
    return layers
