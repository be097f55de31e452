"""Pre-rendered training data: the .npz shards written by `python -m videopoet.world write`.

A GPU trains faster than the world renders on the cores beside it, so tokenizer training renders
a pool once and replays it with augmentation; see `videopoet.world.dataset.write_dataset`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from videopoet.eval.judge import HELD_OUT_FIRST_SEED


def iter_shards(folder: str | os.PathLike, fields: tuple[str, ...] = ("video", "audio"),
                skip=()) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """(shard file name, {field: array}) for every shard in `folder` in index order, except those
    named in `skip`, with every clip whose seed is in the held-out range dropped, so held-out data
    cannot leak into training by a wrong folder."""
    folder = Path(folder)
    index = json.loads((folder / "index.json").read_text())
    for name in index["shards"]:
        if name in skip:
            continue
        with np.load(folder / name) as shard:
            keep = shard["seeds"] < HELD_OUT_FIRST_SEED
            yield name, {f: shard[f][keep] for f in fields}


def load_shards(folder: str | os.PathLike, fields: tuple[str, ...] = ("video", "audio")) -> dict[str, np.ndarray]:
    """Concatenate `fields` over every shard in `folder` (in index order), held-out seeds dropped."""
    parts: dict[str, list[np.ndarray]] = {f: [] for f in fields}
    for _, shard in iter_shards(folder, fields):
        for f in fields:
            parts[f].append(shard[f])
    return {f: np.concatenate(v) for f, v in parts.items()}
