"""Effects: fireworks, lightning, rain, snow, fog, smoke, paint splash, twinkling stars.

Each effect adds layers or particles to a scene and the sounds it makes. An effect can start
late (`start` seconds in): "…, then fireworks explode" is an effect whose start is ~1 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from videopoet.world.audio import SoundEvent
from videopoet.world.camera import FPS
from videopoet.world.layers import ON_GROUND_ORDER, STEPS, Layer, Particles, layer_size, noise, to_rgba, translation
from videopoet.world.actions import TIME

RAINBOW = np.array([[255, 40, 40], [255, 150, 0], [255, 235, 0], [40, 210, 60], [30, 120, 255],
                    [140, 60, 230], [255, 60, 200]], np.float64)


@dataclass
class EffectParts:
    layers: list[Layer] = field(default_factory=list)
    particles: list[Particles] = field(default_factory=list)
    events: list[SoundEvent] = field(default_factory=list)
    beds: list[str] = field(default_factory=list)


def _burst_times(rng: np.random.Generator, start: float, count: int, gap: float) -> list[float]:
    last = TIME[-2] - 0.15
    times = []
    t = start + rng.uniform(0.0, 0.15)
    while t < last and len(times) < count:
        times.append(float(t))
        t += rng.uniform(gap, gap * 1.6)
    return times


def _radial_burst(rng, n, centre, at, speed, drag, gravity, colors, radius, life) -> Particles:
    """Particles flung out from `centre` at time `at`, slowing by `drag` per step, falling."""
    angle = rng.uniform(0, 2 * np.pi, n)
    v0 = rng.uniform(0.4, 1.0, n)[:, None] * speed * np.stack([np.cos(angle), np.sin(angle)], -1)
    k = np.clip(TIME * FPS - at * FPS, 0, None)[:, None, None]  # steps since the burst
    travelled = v0[None] * (1 - drag ** k) / (1 - drag)
    fall = 0.5 * gravity * k ** 2 * np.array([0.0, 1.0])
    xy = np.asarray(centre)[None, None, :] + travelled + fall
    age = (TIME - at)[:, None]
    alpha = np.where(age >= 0, np.clip(1 - age / life, 0, 1), 0.0) * np.ones((1, n))
    return Particles(xy=xy, radius=np.full(n, radius) * rng.uniform(0.7, 1.3, n), color=colors,
                     alpha=alpha, depth=0.0)


def fireworks(rng, size, start) -> EffectParts:
    h, w = size
    parts = EffectParts()
    for at in _burst_times(rng, start, 3, 0.45):
        centre = (rng.uniform(-0.3, 0.3) * w, rng.uniform(-0.42, -0.18) * h)
        base = RAINBOW[rng.integers(len(RAINBOW))]
        colors = np.clip(base[None] * rng.uniform(0.8, 1.1, (60, 1)) + 40, 0, 255)
        p = _radial_burst(rng, 60, centre, at, speed=w * 0.035, drag=0.82, gravity=0.25,
                          colors=colors, radius=1.4, life=0.9)
        p.depth, p.name = 1.1, "fireworks"
        parts.particles.append(p)
        parts.events.append(SoundEvent("boom", at, gain=rng.uniform(0.7, 1.0)))
    return parts


def lightning(rng, size, start) -> EffectParts:
    h, w = size
    lh, lw = layer_size(size)
    parts = EffectParts(beds=["rain"])
    for at in _burst_times(rng, start, 2, 0.7):
        step = int(round(at * FPS))
        bolt = np.zeros((lh, lw), np.float32)
        x = lw / 2 + rng.uniform(-0.3, 0.3) * w
        y = (lh - h) / 2
        points = [(x, y)]
        while y < (lh - h) / 2 + h * rng.uniform(0.45, 0.65):
            x += rng.uniform(-0.08, 0.08) * w
            y += rng.uniform(0.05, 0.1) * h
            points.append((x, y))
        cv2.polylines(bolt, [np.int32(points)], False, 1.0, thickness=2, lineType=cv2.LINE_AA)
        glow = cv2.GaussianBlur(bolt, (0, 0), 2.5) * 2.0
        alpha = np.clip(bolt + glow, 0, 1)
        rgb = np.empty((lh, lw, 3), np.float32)
        rgb[:] = (235, 240, 255)
        tint = np.ones((STEPS, 4))
        tint[:, 3] = 0.0
        tint[step:step + 2, 3] = (1.0, 0.6)[: len(tint[step:step + 2])]
        parts.layers.append(Layer(to_rgba(rgb, alpha), depth=1.0, tint=tint, name="lightning bolt"))
        flash = np.ones((STEPS, 4))
        flash[:, 3] = 0.0
        flash[step:step + 2, 3] = (0.45, 0.2)[: len(flash[step:step + 2])]
        white = np.full((lh, lw, 3), (225, 232, 255), np.float32)
        parts.layers.append(Layer(to_rgba(white, 1.0), depth=0.02, tint=flash, name="lightning flash"))
        # Near strikes: the thunder's crack follows the flash within a frame.
        parts.events.append(SoundEvent("thunder", at + 0.05, gain=rng.uniform(0.8, 1.0)))
    return parts


def _falling(rng, n, size, velocity, sway, radius, color, alpha, depth, trail, name) -> Particles:
    h, w = size
    span = np.array([w * 1.3, h * 1.3])
    p0 = rng.uniform(-0.5, 0.5, (n, 2)) * span
    steps = np.arange(STEPS)[:, None, None]
    vel = np.asarray(velocity)[None] * rng.uniform(0.8, 1.2, (n, 1))
    raw = p0[None] + vel[None] * steps
    raw[..., 0] += sway * np.sin(steps[..., 0] * 0.5 + rng.uniform(0, 6, n))
    # Wrap drops around the screen so the rain never runs out; each wrap is a new drop, so its
    # flow is still the drop's own velocity (Particles.vel), not the jump.
    xy = (raw + span / 2) % span - span / 2
    vel_steps = np.diff(raw, axis=0, append=raw[-1:] + (raw[-1:] - raw[-2:-1]))
    return Particles(xy=xy, radius=np.full(n, radius) * rng.uniform(0.8, 1.2, n),
                     color=np.tile(np.float64(color), (n, 1)), alpha=np.full((STEPS, n), alpha),
                     depth=depth, trail=trail, name=name, vel=vel_steps)


def rain(rng, size, start) -> EffectParts:
    h, w = size
    p = _falling(rng, 70, size, velocity=(-0.015 * w, 0.1 * h), sway=0.0, radius=0.7,
                 color=(200, 210, 230), alpha=0.6, depth=0.3, trail=3, name="rain")
    _hide_before(p, start)
    return EffectParts(particles=[p], beds=["rain"])


def snow(rng, size, start) -> EffectParts:
    h, w = size
    p = _falling(rng, 60, size, velocity=(0.0, 0.012 * h), sway=0.012 * w, radius=1.3,
                 color=(250, 250, 255), alpha=0.9, depth=0.3, trail=0, name="snow")
    _hide_before(p, start)
    return EffectParts(particles=[p], beds=["wind"])


def _hide_before(p: Particles, start: float) -> None:
    p.alpha = p.alpha * (TIME >= start)[:, None]


def fog(rng, size, start) -> EffectParts:
    h, w = size
    lh, lw = layer_size(size)
    layers = []
    for depth, strength, drift in ((0.8, 0.5, 0.35), (0.42, 0.42, -0.6)):
        # Wider than the layer so drifting never shows its end.
        width = int(lw * 1.5)
        density = noise((lh, width), 40, rng, octaves=4)
        rows = np.linspace(0, 1, lh, dtype=np.float32)[:, None]
        band = np.clip(1.2 - np.abs(rows - rng.uniform(0.5, 0.75)) * 3.0, 0, 1)
        alpha = np.clip((density - 0.25) * 1.6, 0, 1) * band * strength
        rgb = np.full((lh, width, 3), 235, np.float32) - 20 * density[..., None]
        fade = np.ones((STEPS, 4))
        fade[:, 3] = np.clip((TIME - start) / 0.4 + 1.0 * (start <= 0), 0, 1)
        dx = drift * (TIME * FPS) - (width - lw) / 2
        local = translation(dx, np.zeros(STEPS))
        layers.append(Layer(to_rgba(rgb, alpha), depth=depth, local=local, tint=fade, name="fog"))
    return EffectParts(layers=layers, beds=["wind"])


def smoke(rng, size, start) -> EffectParts:
    h, w = size
    n = 28
    born = start + rng.uniform(0, 1.6, n)
    x0 = rng.uniform(-0.35, 0.35, n) * w
    y0 = np.full(n, 0.15 * h)
    age = np.clip(TIME[:, None] - born[None], 0, None)
    xy = np.stack([x0[None] + 6 * np.sin(age * 2 + x0[None]), y0[None] - age * 0.28 * h], -1)
    alpha = np.where(TIME[:, None] >= born[None], np.clip(0.75 - age * 0.3, 0, 1), 0.0)
    gray = rng.uniform(70, 130, (n, 1))
    p = Particles(xy=xy, radius=rng.uniform(0.05, 0.09, n) * w, color=np.tile(gray, (1, 3)), alpha=alpha,
                  depth=0.75, name="smoke")
    p.grow = 0.6  # puffs swell as they rise
    first = float(born.min())
    return EffectParts(particles=[p], events=[SoundEvent("crackle", first, gain=0.6)], beds=["fire"])


def paint_splash(rng, size, start) -> EffectParts:
    h, w = size
    parts = EffectParts()
    at = max(start, rng.uniform(0.15, 0.45))
    n = 70
    colors = RAINBOW[rng.integers(len(RAINBOW), size=n)] * rng.uniform(0.85, 1.0, (n, 1))
    p = _radial_burst(rng, n, (0.0, -0.05 * h), at, speed=w * 0.09, drag=0.7, gravity=0.0,
                      colors=colors, radius=0.035 * w, life=99.0)
    p.depth, p.name, p.order = 0.55, "paint splash", ON_GROUND_ORDER + 0.01  # bursts over the floor, behind the subject
    parts.particles.append(p)
    parts.events.append(SoundEvent("splash", at, gain=1.0))
    return parts


def twinkling_stars(rng, size, start) -> EffectParts:
    h, w = size
    n = 45
    xy = np.broadcast_to(rng.uniform(-0.75, 0.75, (1, n, 2)) * np.array([w, h]), (STEPS, n, 2)).copy()
    rate = rng.uniform(2.0, 6.0, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    alpha = 0.55 + 0.45 * np.sin(TIME[:, None] * rate[None] + phase[None])
    parts = EffectParts(beds=["space"])
    # A few stars flare brightly; each flare chimes.
    for at in _burst_times(rng, max(start, 0.2), 2, 0.6):
        i = rng.integers(n)
        alpha[:, i] = np.clip(np.exp(-((TIME - at - 0.1) / 0.18) ** 2) * 1.0, 0, 1) * (TIME >= at)
        parts.events.append(SoundEvent("chime", at, gain=0.6, pitch=rng.uniform(0.9, 1.3)))
    alpha = alpha * (TIME >= start)[:, None]
    color = np.tile([255.0, 250.0, 215.0], (n, 1))
    radius = rng.uniform(0.7, 1.5, n)
    parts.particles.append(Particles(xy=xy, radius=radius, color=color, alpha=alpha, depth=2.0,
                                     name="twinkling stars"))
    return parts


EFFECT_BUILDERS = {
    "fireworks": fireworks,
    "lightning": lightning,
    "rain": rain,
    "snow": snow,
    "fog": fog,
    "smoke": smoke,
    "paint splash": paint_splash,
    "twinkling stars": twinkling_stars,
}


def build_effect(name: str, rng: np.random.Generator, size: tuple[int, int], start: float = 0.0) -> EffectParts:
    if name not in EFFECT_BUILDERS:
        raise ValueError(f"unknown effect {name!r}; known: {sorted(EFFECT_BUILDERS)}")
    return EFFECT_BUILDERS[name](rng, size, start)
