"""Compositing layers and particles into frames, with exact depth and optical flow.

Drawing goes far to near. Each pixel remembers which thing last covered it more than half
(its owner); at the end its depth is the owner's distance and its flow is where that point of
the owner is one frame later: an affine map per layer, a velocity per particle.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from videopoet.world.camera import FRAMES, CameraPath, layer_affines, step_maps
from videopoet.world.layers import SKY_DEPTH, Layer, Particles, draw_order

# Owners are numbered 1.. in drawing order (0: nothing drawn), so "the last thing drawn over a
# pixel" is simply the largest number that covered it.
MAX_DRAWABLES = 254


def composite(drawables: list, cam: CameraPath, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw far to near. Returns video uint8 (T,H,W,3), depth (T,H,W) and flow (T,H,W,2)."""
    h, w = size
    # uint8 throughout: OpenCV composites small uint8 patches several times faster than numpy
    # does float ones, and one rounding per layer is invisible.
    canvas = np.zeros((FRAMES, h, w, 3), np.uint8)
    owner = np.zeros((FRAMES, h, w), np.uint8)
    particle_flow = np.zeros((FRAMES, h, w, 2), np.float32)
    ordered = sorted(drawables, key=lambda d: -draw_order(d))
    if len(ordered) > MAX_DRAWABLES:
        raise ValueError(f"a scene has at most {MAX_DRAWABLES} layers and particle groups")
    # Row 0 stands for "nothing drawn": no motion, as far as the sky.
    steps = np.zeros((FRAMES, len(ordered) + 1, 2, 3), np.float32)
    steps[:, :, 0, 0] = steps[:, :, 1, 1] = 1.0
    distances = np.full((FRAMES, len(ordered) + 1), SKY_DEPTH, np.float32)
    particle_ids = []
    for k, item in enumerate(ordered, start=1):
        distances[:, k] = np.maximum(item.depth - cam.forward[:FRAMES], 0.05)
        if isinstance(item, Layer):
            steps[:, k] = _draw_layer(item, k, cam, canvas, owner)
        else:
            _draw_particles(item, k, cam, canvas, owner, particle_flow)
            particle_ids.append(k)
    return canvas, *_depth_and_flow(owner, steps, distances, particle_flow, particle_ids)


def _depth_and_flow(owner, steps, distances, particle_flow, particle_ids):
    t_count, h, w = owner.shape
    n_owners = steps.shape[1]
    index = owner.astype(np.int32) + (np.arange(t_count, dtype=np.int32) * n_owners)[:, None, None]
    depth = distances.reshape(-1)[index]
    # Each pixel's owner's step map minus the identity, one coefficient plane at a time.
    table = (steps.reshape(-1, 6) - np.float32([1, 0, 0, 0, 1, 0])).T.copy()
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.empty((t_count, h, w, 2), np.float32)
    for i in range(2):
        plane = np.take(table[3 * i], index)
        plane *= xs
        plane += np.take(table[3 * i + 1], index) * ys
        plane += np.take(table[3 * i + 2], index)
        flow[..., i] = plane
    if particle_ids:
        is_particle = np.isin(owner, particle_ids)
        np.copyto(flow, particle_flow, where=is_particle[..., None])
    return depth, flow


_PREMULTIPLIED_CACHE: dict[int, tuple[np.ndarray, tuple[np.ndarray, bool]]] = {}


def _premultiplied(rgba: np.ndarray) -> tuple[np.ndarray, bool]:
    """uint8 RGBA with colour scaled by alpha, so interpolation never bleeds transparent colour,
    and whether it is opaque everywhere (then it simply replaces what is behind it).
    Read-only arrays belong to cached backgrounds and sprites: theirs is computed once."""
    if not rgba.flags.writeable:
        hit = _PREMULTIPLIED_CACHE.get(id(rgba))
        if hit is not None and hit[0] is rgba:
            return hit[1]
        if len(_PREMULTIPLIED_CACHE) > 4096:
            _PREMULTIPLIED_CACHE.clear()
        _PREMULTIPLIED_CACHE[id(rgba)] = (rgba, _premultiply(rgba))
        return _PREMULTIPLIED_CACHE[id(rgba)][1]
    return _premultiply(rgba)


def _premultiply(rgba: np.ndarray) -> tuple[np.ndarray, bool]:
    out = rgba.copy()
    alpha = rgba[..., 3:4].astype(np.uint16)
    out[..., :3] = (rgba[..., :3].astype(np.uint16) * alpha + 127) // 255
    return out, bool(rgba[..., 3].min() == 255)


def _draw_layer(layer: Layer, k: int, cam: CameraPath, canvas, owner) -> np.ndarray:
    """Composite one layer into every frame, touching only the screen box it covers.
    Returns its step maps (T, 2, 3), from which its pixels' flow follows."""
    _, h, w, _ = canvas.shape
    tint = layer.tint
    lh, lw = layer.rgba.shape[:2]
    affines = layer_affines(cam, layer.depth, (h, w), (lh, lw), layer.local)
    src, opaque = _premultiplied(layer.rgba)
    tinted = np.zeros(FRAMES, bool) if tint is None else np.any(tint[:FRAMES] != 1.0, axis=1)
    corners = np.array([[0, 0, 1], [lw, 0, 1], [0, lh, 1], [lw, lh, 1]], np.float64).T
    for t in range(FRAMES):
        if tint is not None and tint[t, 3] <= 0:
            continue
        pts = affines[t] @ corners
        x0, y0 = max(int(np.floor(pts[0].min())), 0), max(int(np.floor(pts[1].min())), 0)
        x1, y1 = min(int(np.ceil(pts[0].max())) + 1, w), min(int(np.ceil(pts[1].max())) + 1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        m = affines[t].copy()
        m[:, 2] -= (x0, y0)
        patch = cv2.warpAffine(src, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        colour, alpha = cv2.cvtColor(patch, cv2.COLOR_RGBA2RGB), cv2.extractChannel(patch, 3)
        if tinted[t]:
            colour = cv2.multiply(colour, tuple((tint[t, :3] * tint[t, 3]).tolist()) + (0,))
            # Not cv2.multiply(alpha, s): OpenCV reads a (4, 1) patch as a Scalar and raises.
            # convertScaleAbs rounds the same way, and alpha is never negative.
            alpha = cv2.convertScaleAbs(alpha, alpha=float(tint[t, 3]))
        region = canvas[t, y0:y1, x0:x1]
        if opaque and not tinted[t] and alpha.min() == 255:
            region[:] = colour
            owner[t, y0:y1, x0:x1] = k
            continue
        keep = cv2.cvtColor(cv2.bitwise_not(alpha), cv2.COLOR_GRAY2RGB)
        region[:] = cv2.add(cv2.multiply(np.ascontiguousarray(region), keep, scale=1.0 / 255.0), colour)
        covered = owner[t, y0:y1, x0:x1]
        np.maximum(covered, cv2.bitwise_and(cv2.compare(alpha, 127, cv2.CMP_GT), k), out=covered)
    return step_maps(affines)


@functools.lru_cache(maxsize=16)
def _stamp_offsets(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return np.stack(np.meshgrid(r, r), -1).reshape(-1, 2).astype(np.float32)


def _draw_particles(p: Particles, k: int, cam: CameraPath, canvas, owner, particle_flow) -> None:
    """Soft discs (small ones splatted in one vectorised pass, big ones drawn by OpenCV);
    each covered pixel moves with its particle."""
    _, h, w, _ = canvas.shape
    if not np.any(p.alpha[:FRAMES] > 0):
        return
    a_cam = layer_affines(cam, p.depth, (h, w), (0, 0))
    lin, off = a_cam[:, :, :2], a_cam[:, :, 2]
    screen = np.einsum("tij,tnj->tni", lin, p.xy) + off[:, None, :]
    if p.vel is not None:
        ahead = np.einsum("tij,tnj->tni", lin[1:], p.xy[:-1] + p.vel[:-1]) + off[1:, None, :]
    else:
        ahead = screen[1:]
    velocity = (ahead - screen[:-1])[:FRAMES].astype(np.float32)
    scale = np.sqrt(np.abs(np.linalg.det(lin)))[:FRAMES]
    age = np.arange(FRAMES)[:, None] / 8.0
    radius = p.radius[None, :] * scale[:, None] * (1.0 + p.grow * age)
    centres = [screen[:FRAMES]]
    alphas = [p.alpha[:FRAMES]]
    for j in range(1, p.trail + 1):
        centres.insert(0, screen[:FRAMES] - velocity * (j / (p.trail + 1)))
        alphas.insert(0, p.alpha[:FRAMES] * (1 - j / (p.trail + 2)))
    out = np.zeros((FRAMES, h, w, 4), np.float32)
    flows = np.zeros((FRAMES, h, w, 2), np.float32)
    draw = _splat if radius.max() <= 3.5 else _circles
    for centre, alpha in zip(centres, alphas):
        draw(out, flows, centre, alpha, radius, p.color.astype(np.float32), velocity)
    # Particles cover few pixels: composite just those.
    covered = np.nonzero(out[..., 3])
    a = out[covered][:, 3:4]
    canvas[covered] = np.clip(canvas[covered] * (1.0 - a) + out[covered][:, :3] + 0.5, 0, 255).astype(np.uint8)
    own = tuple(c[a[:, 0] > 0.5] for c in covered)
    owner[own] = k
    particle_flow[own] = flows[own]


def _splat(out, flows, centre, alpha, radius, color, velocity) -> None:
    _, h, w, _ = out.shape
    offsets = _stamp_offsets(int(np.ceil(radius.max())) + 1)
    pix = np.floor(centre).astype(np.float32)[:, :, None, :] + offsets[None, None]  # (T, N, K, 2)
    dist = np.linalg.norm(pix - centre[:, :, None, :].astype(np.float32), axis=-1)
    cover = np.clip(radius[:, :, None] + 0.5 - dist, 0, 1) * alpha[:, :, None]
    ok = (cover > 0.02) & (pix[..., 0] >= 0) & (pix[..., 0] < w) & (pix[..., 1] >= 0) & (pix[..., 1] < h)
    t_idx, n_idx, _ = np.nonzero(ok)
    x = pix[..., 0][ok].astype(np.int64)
    y = pix[..., 1][ok].astype(np.int64)
    c = cover[ok].astype(np.float32)
    # Faint coverage first, so a particle's solid core wins where discs overlap.
    order = np.argsort(c, kind="stable")
    t_idx, n_idx, x, y, c = t_idx[order], n_idx[order], x[order], y[order], c[order]
    out[t_idx, y, x, 3] = c
    out[t_idx, y, x, :3] = color[n_idx] * c[:, None]
    flows[t_idx, y, x] = velocity[t_idx, n_idx]


def _circles(out, flows, centre, alpha, radius, color, velocity) -> None:
    shift = 4  # OpenCV draws at sub-pixel positions given in fixed point with this many bits
    for t in range(out.shape[0]):
        visible = np.nonzero(alpha[t] > 0.02)[0]
        for n in visible:
            c = (int(round(centre[t, n, 0] * 16)), int(round(centre[t, n, 1] * 16)))
            r = int(round(radius[t, n] * 16))
            a = float(alpha[t, n])
            cv2.circle(out[t], c, r, (*(color[n] * a).tolist(), a), -1, cv2.LINE_AA, shift)
            cv2.circle(flows[t], c, r, velocity[t, n].tolist(), -1, cv2.LINE_8, shift)
