"""Render a contact sheet of every world style, to check by eye that each looks like its name.

    python scripts/style_sheet.py [--out out/style_sheet.png] [--seed 0] [--scale 2]

Rows: `videopoet.world.styles.STYLES`, each labelled with its time per 17-frame clip. Columns: a
drawn test scene at 128×128 and at 224×128 (H×W, the world's portrait size), then scikit-image's
astronaut and cat photos when scikit-image is installed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from videopoet.world.styles import STYLES, apply_style


def draw_scene(H: int, W: int, t: int = 0) -> np.ndarray:
    """A colourful RGB test frame: gradient sky, sun, hill, a house, a walking figure, a red ball."""
    img = np.zeros((H, W, 3), np.uint8)
    y = np.linspace(0, 1, H, dtype=np.float32)[:, None]
    sky = (1 - y) * np.array([40, 90, 200], np.float32) + y * np.array([250, 170, 120], np.float32)
    img[:] = sky[:, None, :].astype(np.uint8)
    s = min(H, W) / 128

    def pt(fx: float, fy: float) -> tuple[int, int]:  # fractions of the frame → pixels
        return int(fx * W), int(fy * H)

    aa = cv2.LINE_AA
    cv2.circle(img, pt(0.78, 0.22), int(14 * s), (255, 220, 40), -1, aa)
    hill = np.array([pt(0, 0.7), pt(0.33, 0.61), pt(0.66, 0.69), pt(1, 0.63), pt(1, 1), pt(0, 1)])
    cv2.fillPoly(img, [hill], (60, 150, 60), aa)
    cv2.rectangle(img, pt(0.12, 0.55), pt(0.34, 0.75), (200, 60, 50), -1)
    cv2.fillPoly(img, [np.array([pt(0.09, 0.55), pt(0.23, 0.44), pt(0.37, 0.55)])], (110, 60, 40), aa)
    cv2.rectangle(img, pt(0.2, 0.64), pt(0.26, 0.75), (60, 40, 30), -1)
    fx, fy = pt(0.5, 0.56)
    fx += 2 * t
    blue, skin, dark = (30, 60, 180), (240, 190, 150), (40, 40, 40)
    th = max(2, int(3 * s))
    cv2.circle(img, (fx, fy - int(18 * s)), int(7 * s), skin, -1, aa)
    cv2.line(img, (fx, fy - int(11 * s)), (fx, fy + int(10 * s)), blue, max(2, int(4 * s)), aa)
    cv2.line(img, (fx, fy - int(5 * s)), (fx - int(10 * s), fy + int(3 * s)), blue, th, aa)
    cv2.line(img, (fx, fy - int(5 * s)), (fx + int(10 * s), fy - int(10 * s)), blue, th, aa)
    cv2.line(img, (fx, fy + int(10 * s)), (fx - int(7 * s), fy + int(24 * s)), dark, th, aa)
    cv2.line(img, (fx, fy + int(10 * s)), (fx + int(8 * s), fy + int(24 * s)), dark, th, aa)
    bx, by = pt(0.8, 0.85)
    cv2.circle(img, (bx - t, by), int(8 * s), (230, 30, 40), -1, aa)
    return img


def photos(H: int, W: int) -> list[np.ndarray]:
    try:
        from skimage import data
    except ImportError:
        return []
    cat = data.chelsea()[:, 50:350]
    return [cv2.resize(im, (W, H), interpolation=cv2.INTER_AREA) for im in (data.astronaut(), cat)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/style_sheet.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=2)
    args = ap.parse_args()

    inputs = [draw_scene(128, 128), draw_scene(224, 128)] + photos(128, 128)
    row_h = max(f.shape[0] for f in inputs) * args.scale
    font = cv2.FONT_HERSHEY_SIMPLEX
    rows = []
    for style in STYLES:
        label = np.full((row_h, 150, 3), 255, np.uint8)
        cells, times = [label], []
        for frame in inputs:
            clip = np.repeat(frame[None], 17, 0)
            apply_style(clip, style, args.seed)  # warm the canvas cache
            t0 = time.perf_counter()
            styled = apply_style(clip, style, args.seed)[0]
            times.append((time.perf_counter() - t0) * 1e3 * 128 * 128 / (frame.shape[0] * frame.shape[1]))
            big = cv2.resize(styled, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_NEAREST)
            cell = np.full((row_h, big.shape[1] + 4, 3), 255, np.uint8)
            cell[: big.shape[0], : big.shape[1]] = big
            cells.append(cell)
        cv2.putText(label, style, (4, 30), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        msg = f"{np.median(times):.1f} ms/clip"
        cv2.putText(label, msg, (4, 55), font, 0.45, (80, 80, 80), 1, cv2.LINE_AA)
        cv2.putText(label, "(17x128x128)", (4, 75), font, 0.4, (80, 80, 80), 1, cv2.LINE_AA)
        row = np.concatenate(cells, 1)
        rows += [row, np.full((4, row.shape[1], 3), 255, np.uint8)]
    sheet = np.concatenate(rows, 0)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({sheet.shape[1]}×{sheet.shape[0]})")


if __name__ == "__main__":
    main()
