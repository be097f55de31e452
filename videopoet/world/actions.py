"""How subjects move, and the sounds their motion causes.

Each action is a function of time giving a subject's own placement (an affine map per step) and
the instants where its motion makes a sound (a foot touches down, a dance hits the beat). Sound
events are read off the same curves that move the sprite, so what is heard is what is seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from videopoet.world.audio import SoundEvent
from videopoet.world.camera import FPS
from videopoet.world.layers import STEPS, similarity

TIME = np.arange(STEPS, dtype=np.float64) / FPS  # seconds of each step


@dataclass
class Motion:
    """A subject's own motion: where it is (relative to the screen centre), how it is turned and
    scaled, how bright, and what it sounds like."""

    x: np.ndarray
    y: np.ndarray
    scale_x: np.ndarray
    scale_y: np.ndarray
    angle: np.ndarray
    brightness: np.ndarray
    opacity: np.ndarray
    events: list[SoundEvent] = field(default_factory=list)

    def affine(self, sprite_px: int) -> np.ndarray:
        """(STEPS, 2, 3) map from sprite pixels to pixels relative to the sprite's rest spot."""
        c = sprite_px / 2.0
        return similarity(c, c, self.scale_x, self.scale_y, self.angle, self.x, self.y)


def _still(x0: float, y0: float) -> Motion:
    ones = np.ones(STEPS)
    return Motion(x=np.full(STEPS, x0), y=np.full(STEPS, y0), scale_x=ones.copy(), scale_y=ones.copy(),
                  angle=np.zeros(STEPS), brightness=ones.copy(), opacity=ones.copy())


def _contacts(period: float, phase: float, end: float = TIME[-2] + 0.06) -> np.ndarray:
    """Instants phase, phase+period, ... up to the last frame: when a cyclic motion touches down."""
    return np.arange(phase, end, period)


def _bounce(t: np.ndarray, period: float, phase: float) -> np.ndarray:
    """0 at each touch-down, 1 at the top of each arc."""
    return np.abs(np.sin(np.pi * (t - phase) / period))


def move(action: str, rng: np.random.Generator, x0: float, y0: float, size_px: float, width: int,
         facing: float, bpm: float, kind_pitch: float) -> Motion:
    """The motion of one subject doing `action`, starting at (x0, y0) px from the screen centre.

    `facing` is +1 when moving right; `bpm` keeps every dancer of a scene on the same beat;
    `kind_pitch` scales the sounds (a big animal's steps are lower).
    """
    t = TIME
    m = _still(x0, y0)
    ev = m.events
    if action == "idle":
        m.scale_y = 1.0 + 0.025 * np.sin(2 * np.pi * t / rng.uniform(1.2, 1.8))
    elif action in ("walk", "gallop"):
        gallop = action == "gallop"
        period = rng.uniform(0.3, 0.4) if gallop else rng.uniform(0.45, 0.6)
        speed = width * (rng.uniform(0.035, 0.045) if gallop else rng.uniform(0.015, 0.022))  # px per step
        phase = rng.uniform(0.05, period * 0.7)
        m.x = x0 + facing * speed * (t * FPS)
        lift = size_px * (0.16 if gallop else 0.06)
        m.y = y0 - lift * _bounce(t, period, phase)
        m.angle = facing * (0.12 if gallop else 0.04) * np.sin(2 * np.pi * (t - phase) / period)
        kind = "hoof" if gallop else "footstep"
        for c in _contacts(period, phase):
            ev.append(SoundEvent(kind, float(c), gain=0.8, pitch=kind_pitch))
    elif action == "dance":
        beat = 60.0 / bpm
        phase = rng.uniform(0.1, 0.1 + beat * 0.5)
        m.y = y0 - size_px * 0.12 * _bounce(t, beat, phase)
        sway = np.sin(np.pi * (t - phase) / beat)
        m.angle = 0.22 * sway
        m.x = x0 + size_px * 0.12 * sway
        m.scale_y = 1.0 + 0.06 * (1 - _bounce(t, beat, phase))
        for c in _contacts(beat, phase):
            ev.append(SoundEvent("beat", float(c), gain=0.9))
    elif action == "jump":
        period = rng.uniform(0.55, 0.75)
        phase = rng.uniform(0.1, 0.4)
        hop = _bounce(t, period, phase)
        m.y = y0 - size_px * 0.55 * hop
        m.scale_y = 1.0 - 0.14 * np.clip(1 - hop * 4, 0, 1)  # squash on landing
        m.scale_x = 1.0 + 0.10 * np.clip(1 - hop * 4, 0, 1)
        for c in _contacts(period, phase):
            ev.append(SoundEvent("impact", float(c), gain=0.85, pitch=kind_pitch))
    elif action == "fly":
        speed = width * rng.uniform(0.03, 0.045)
        m.x = x0 + facing * speed * (t * FPS - 8)
        swoop_at = rng.uniform(0.4, 1.1)
        m.y = y0 - size_px * 0.25 * np.sin(2 * np.pi * t / 1.6) + size_px * 0.5 * np.exp(-((t - swoop_at - 0.2) / 0.25) ** 2)
        m.angle = facing * 0.1 * np.cos(2 * np.pi * t / 1.6)
        ev.append(SoundEvent("whoosh", float(swoop_at), gain=0.7))
    elif action == "skate":
        period = rng.uniform(0.7, 0.9)
        phase = rng.uniform(0.0, 0.3)
        m.x = x0 + facing * width * 0.22 * np.sin(2 * np.pi * (t - phase) / (2 * period))
        m.y = y0 - size_px * 0.06 * np.cos(2 * np.pi * (t - phase) / (2 * period))
        m.angle = 0.2 * np.cos(2 * np.pi * (t - phase) / (2 * period))
        for c in _contacts(period, phase + period / 2):
            ev.append(SoundEvent("swish", float(c), gain=0.7))
    elif action == "spin":
        period = rng.uniform(0.7, 1.0)
        phase = rng.uniform(0.05, 0.3)
        m.angle = 2 * np.pi * np.clip(t - phase, 0, None) / period * facing
        for c in _contacts(period, phase):
            ev.append(SoundEvent("swish", float(c), gain=0.7, pitch=1.2))
    elif action == "roar":
        start = rng.uniform(0.3, 0.8)
        env = np.clip((t - start) / 0.15, 0, 1) * np.clip(1 - (t - start - 0.9) / 0.3, 0, 1)
        m.scale_x = m.scale_y = 1.0 + 0.28 * env
        m.x = x0 + env * size_px * 0.03 * np.sin(t * 60)
        m.y = y0 - env * size_px * 0.08
        ev.append(SoundEvent("roar", float(start), gain=0.9, pitch=kind_pitch))
    elif action == "turn":
        start = rng.uniform(0.3, 0.9)
        progress = np.clip((t - start) / 0.5, 0, 1)
        m.scale_x = np.cos(np.pi * progress) * facing * -1  # ends mirrored: now facing the camera side
        m.scale_x = np.where(np.abs(m.scale_x) < 0.08, 0.08 * np.sign(m.scale_x + 1e-9), m.scale_x)
    elif action == "yawn":
        start = rng.uniform(0.2, 0.6)
        env = np.sin(np.pi * np.clip((t - start) / 1.2, 0, 1)) ** 2
        m.scale_y = 1.0 + 0.28 * env
        m.scale_x = 1.0 - 0.08 * env
        m.angle = -0.12 * env
    elif action == "power up":
        start = rng.uniform(0.3, 0.7)
        env = np.clip((t - start) / 0.8, 0, 1)
        m.brightness = 1.0 + 0.9 * env
        m.x = x0 + env * size_px * 0.025 * np.sin(t * 70)
        m.scale_x = m.scale_y = 1.0 + 0.08 * env
        ev.append(SoundEvent("power_up", float(start), gain=0.85))
    elif action == "emerge":
        start = rng.uniform(0.15, 0.5)
        grow = np.clip((t - start) / 0.7, 0, 1)
        grow = 1 - (1 - grow) ** 3
        m.scale_x = m.scale_y = np.maximum(grow, 0.02)
        m.opacity = np.clip((t - start) / 0.3, 0, 1)
        ev.append(SoundEvent("chime", float(start), gain=0.8))
    elif action == "sail":
        period = rng.uniform(0.9, 1.3)
        phase = rng.uniform(0.0, 0.5)
        m.x = x0 + facing * width * 0.012 * (t * FPS)
        m.y = y0 + size_px * 0.12 * np.sin(2 * np.pi * (t - phase) / period)
        m.angle = 0.14 * np.sin(2 * np.pi * (t - phase) / period + 1.2)
        # The bow slams into the trough once per wave: the splash.
        for c in _contacts(period, phase + period * 0.25):
            ev.append(SoundEvent("splash", float(c), gain=0.7))
    elif action == "play cards":
        m.y = y0 - size_px * 0.03 * np.abs(np.sin(2 * np.pi * t / 1.3))
        m.angle = 0.05 * np.sin(2 * np.pi * t / 1.7)
    else:
        raise ValueError(f"unknown action {action!r}")
    return m


def card_flips(rng: np.random.Generator, n_cards: int) -> list[tuple[float, np.ndarray]]:
    """For the card game: each card's flip instant and its horizontal scale over time (a flip is
    a card's width going through zero); the papery tick sounds when the card lands face up."""
    flips = []
    times = np.sort(rng.uniform(0.2, 1.8, size=n_cards))
    times[1:] = np.maximum(times[1:], times[:-1] + 0.3)
    for start in times:
        progress = np.clip((TIME - start) / 0.25, 0, 1)
        flips.append((float(start + 0.25), np.cos(np.pi * progress)))
    return flips
