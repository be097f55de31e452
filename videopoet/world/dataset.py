"""Rendering many clips on every core: sharded datasets and the throughput benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from videopoet.world.audio import warm_up
from videopoet.world.backgrounds import VARIANTS, background_layers
from videopoet.world.render import SIZES, Sample, render
from videopoet.world.styles import SEED_VARIANTS, STYLES, apply_style
from videopoet.world.vocab import BACKGROUNDS


def warm_caches(size: tuple[int, int]) -> None:
    """Build every cached background, style canvas and sound bank once, in the parent, so forked
    workers share them instead of each paying for them in the middle of their work."""
    import cv2

    cv2.setNumThreads(1)
    warm_up()
    for name in BACKGROUNDS:
        for variant in range(VARIANTS):
            background_layers(name, tuple(size), variant)
    blank = np.zeros((1, *size, 3), np.uint8)
    for style in STYLES:
        for seed in range(SEED_VARIANTS):
            apply_style(blank, style, seed)
    render(0, tuple(size))


def _init_worker() -> None:
    import cv2

    # One process per core already; OpenCV's own threads would only fight over the same cores.
    cv2.setNumThreads(1)


@contextlib.contextmanager
def worker_pool(workers: int | None = None):
    """A fork pool of render/metric workers (None for workers == 1: everything in this process)."""
    workers = workers or os.cpu_count() or 1
    if workers <= 1:
        yield None
        return
    import cv2

    # OpenCV's thread pool does not survive fork: once this process has used it, a child hangs
    # in _init_worker's own setNumThreads (seen after in-process metrics and a judge pass). One
    # thread costs nothing here: Farneback ran no faster on two threads of this 2-core machine.
    cv2.setNumThreads(1)
    with get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        yield pool


def _render_sample(args: tuple[int, tuple[int, int], float]) -> Sample:
    seed, size, real_fraction = args
    if real_fraction and np.random.default_rng([seed, 1]).random() < real_fraction:
        from videopoet.world.real import render_real

        return render_real(seed, size)
    return render(seed, size)


def _write_shard(args: tuple[Path, int, list[int], tuple[int, int], float, bool]) -> dict:
    out_dir, index, seeds, size, real_fraction, structure = args
    samples = [_render_sample((s, size, real_fraction)) for s in seeds]
    path = out_dir / f"shard-{index:05d}.npz"
    tmp = path.with_suffix(".tmp.npz")
    arrays = {
        "video": np.stack([s.video for s in samples]),
        "audio": np.stack([s.audio for s in samples]).astype(np.float16),
        "seeds": np.array(seeds, np.int64),
        "captions": np.array([s.caption for s in samples]),
        "labels": np.array([json.dumps(s.labels) for s in samples]),
    }
    if structure:
        arrays["depth"] = np.stack([s.depth for s in samples]).astype(np.float16)
        arrays["flow"] = np.stack([s.flow for s in samples]).astype(np.float16)
    np.savez(tmp, **arrays)
    tmp.replace(path)  # a shard is either whole or absent, so an interrupted run resumes cleanly
    return {"file": path.name, "clips": len(samples), "first_seed": seeds[0]}


def write_dataset(out_dir: str | os.PathLike, n: int, size: tuple[int, int] = (128, 128), shard_size: int = 256,
                  first_seed: int = 0, real_fraction: float = 0.0, workers: int | None = None,
                  structure: bool = True) -> Path:
    """Render `n` clips into .npz shards (video uint8; audio, depth and flow float16) plus index.json.

    Seeds are first_seed .. first_seed+n-1, so shards are reproducible and finished shards are
    skipped when a run is resumed. `structure=False` leaves out depth and flow, which are three
    times the size of the video and only the stylization task needs.
    """
    if tuple(size) not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(first_seed, first_seed + n))
    jobs = [(out, i, seeds[j:j + shard_size], tuple(size), real_fraction, structure)
            for i, j in enumerate(range(0, n, shard_size))]
    todo = [job for job in jobs if not (out / f"shard-{job[1]:05d}.npz").exists()]
    workers = workers or os.cpu_count() or 1
    warm_caches(tuple(size))
    with get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        for _ in tqdm(pool.imap_unordered(_write_shard, todo), total=len(todo), desc="shards", unit="shard"):
            pass
    index = {"clips": n, "size": list(size), "shard_size": shard_size, "first_seed": first_seed,
             "real_fraction": real_fraction, "structure": structure, "shards": [f"shard-{i:05d}.npz" for i in range(len(jobs))]}
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return out


def _bench_one(args: tuple[int, tuple[int, int]]) -> int:
    sample = render(*args)
    return int(sample.video[0, 0, 0, 0])


def bench(n: int = 64, size: tuple[int, int] = (128, 128), workers: int | None = None) -> dict:
    """Clips per second over all cores, audio, depth and flow included, after warm-up."""
    workers = workers or os.cpu_count() or 1
    warm_caches(tuple(size))
    with get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        pool.map(_bench_one, [(10**6 + i, tuple(size)) for i in range(workers)])  # every worker warm
        start = time.perf_counter()
        pool.map(_bench_one, [(i, tuple(size)) for i in range(n)], chunksize=max(1, n // (workers * 4)))
        elapsed = time.perf_counter() - start
    return {"clips_per_s": round(n / elapsed, 2), "workers": workers, "size": list(size), "n": n,
            "seconds": round(elapsed, 3)}
