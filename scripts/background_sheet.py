"""Contact sheet of the world's backgrounds: frame 0 of every background at both screen sizes.

    python scripts/background_sheet.py [--out background_sheet.png] [--variants 0 1] [--scale 2]

Each row is one background: its variants at 128x128, then its variants at 224x128 (portrait).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet.world.backgrounds import background_layers, composite_frame0
from videopoet.world.vocab import BACKGROUNDS

SIZES = ((128, 128), (224, 128))


def sheet(variants: list[int], scale: int = 1, gap: int = 4, label_w: int = 110) -> np.ndarray:
    rows = []
    for name in BACKGROUNDS:
        tiles = []
        for size in SIZES:
            for v in variants:
                img = composite_frame0(background_layers(name, size, v), size)
                pad = np.full((224, img.shape[1], 3), 255, np.uint8)
                pad[: img.shape[0]] = img
                tiles += [pad, np.full((224, gap, 3), 255, np.uint8)]
        label = np.full((224, label_w, 3), 255, np.uint8)
        cv2.putText(label, name, (4, 112), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        row = np.concatenate([label] + tiles, axis=1)
        rows += [row, np.full((gap, row.shape[1], 3), 255, np.uint8)]
    out = np.concatenate(rows, axis=0)
    if scale != 1:
        out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="background_sheet.png")
    p.add_argument("--variants", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--scale", type=int, default=1)
    args = p.parse_args()
    t = time.perf_counter()
    img = sheet(args.variants, args.scale)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} {img.shape[1]}x{img.shape[0]} in {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
