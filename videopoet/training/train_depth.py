"""Train the monocular depth estimator (videopoet.model.depth.DepthEstimator) on world depth.

    python -m videopoet.training.train_depth --out weights/depth_estimator --minutes 3 --device cuda
    python -m videopoet.training.train_depth --out /tmp/depth --data POOL [POOL ...] --minutes 3 --device cuda
    python -m videopoet.training.train_depth --out /tmp/depth --minutes 2 --device cpu --heldout 16

Data: by default a pool of worker processes (half the cores) renders random world clips
(seeds below 10**9; held-out seeds start at 10**9 and are never trained on), square and portrait
in alternate chunks, and ships --frames-per-clip random frames of each with their inverse depth.
`--data` reads pool folders written by `python -m videopoet.world write` instead (they must
include depth: written without --no-structure); clips with held-out seeds are dropped, and so are
frames whose depth is unknown (real video crops) or flat (real photos: one plane, nothing to learn).
A GPU trains faster than the cores beside it render, so frames go into a replay buffer on the
device: each batch takes the frames not yet trained on first and fills up with random replays,
each time with a fresh augmentation (horizontal flip, a random crop of 70..100% zoomed back to
size, colour gain/bias, sometimes blur; none of these changes relative depth).

Training: accelerate (bf16 autocast on CUDA, fp32 on CPU), AdamW, warm-up then cosine decay by
wall time (or by --steps), the scale-and-shift-invariant loss of MiDaS (`ssi_loss`: why there),
tqdm progress, a JSON-lines log with steps/s. It stops at --minutes of wall time (waiting for the
first frames included), saves fp16 weights with save_pretrained, reloads them from disk, scores
them and two trivial baselines on --heldout held-out clips (`evaluate_heldout`), and writes
eval.json and a README.md model card next to the weights.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections import deque
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from videopoet.errors import VideoPoetError
from videopoet.eval.judge import HELD_OUT_FIRST_SEED
from videopoet.model.depth import DepthEstimator, evaluate_heldout, ssi_loss
from videopoet.training.loop import (
    RenderFeed,
    TrainingFailure,
    command_line,
    cosine_lr,
    device_name,
    make_accelerator,
    render_each,
)

TINY = {"channels": (8, 16, 16, 24, 32)}
MIN_DISPARITY_SPREAD = 1e-3  # a frame whose inverse depth varies less than this is one plane


# ----------------------------------------------------------------------------------------------
# data: worker side


def _frames(video: np.ndarray, depth: np.ndarray, k: int, rng: np.random.Generator):
    """Up to `k` random distinct frames of one clip with their inverse depth (float16), leaving out
    frames whose depth is unknown or flat."""
    picked = rng.choice(len(video), size=min(k, len(video)), replace=False)
    images, disparities = [], []
    for t in sorted(picked):
        d = depth[t].astype(np.float32)
        if not np.isfinite(d).all() or d.min() <= 0:
            continue
        disparity = 1.0 / d
        if disparity.max() - disparity.min() < MIN_DISPARITY_SPREAD:
            continue
        images.append(video[t])
        disparities.append(disparity.astype(np.float16))
    return images, disparities


def _stack(images: list, disparities: list, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    if not images:
        return np.zeros((0, *size, 3), np.uint8), np.zeros((0, *size), np.float16)
    return np.stack(images), np.stack(disparities)


def _render_chunk(args: tuple[list[int], tuple[int, int], int]
                  ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(seeds, size, frames per clip) -> frames uint8 (N, H, W, 3), inverse depth float16 (N, H, W),
    and the (seed, error) of seeds that failed to render (left out)."""
    from videopoet.world.render import render

    seeds, size, k = args

    def frames_of(seed: int):
        sample = render(seed, size)
        return _frames(sample.video, sample.depth, k, np.random.default_rng([seed, 7]))

    picked, failed = render_each(frames_of, seeds)
    images = [image for i, _ in picked for image in i]
    disparities = [disparity for _, d in picked for disparity in d]
    return (*_stack(images, disparities, size), failed)


def _load_shard(args: tuple[str, int]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(shard path, frames per clip) -> like `_render_chunk`, from a pool shard (held-out seeds
    dropped; nothing is rendered, so nothing fails)."""
    path, k = args
    with np.load(path) as data:  # each data[key] reads the whole array: read each once
        if "depth" not in data.files:
            # An exception (not SystemExit, which would kill the worker and hang the pool) reaches
            # the trainer through the task's result.
            raise VideoPoetError(f"{path} has no depth: write the pool without --no-structure")
        seeds, videos, depths = data["seeds"], data["video"], data["depth"]
    rng = np.random.default_rng([int(seeds[0]) if len(seeds) else 0, 7])
    images, disparities = [], []
    for i in np.nonzero(seeds < HELD_OUT_FIRST_SEED)[0]:
        im, d = _frames(videos[i], depths[i], k, rng)
        images += im
        disparities += d
    return (*_stack(images, disparities, videos.shape[2:4]), [])


# ----------------------------------------------------------------------------------------------
# data: trainer side


def make_feed(pool, device: torch.device, capacity: int, chunk: int, frames_per_clip: int, seed: int,
              inflight: int, backlog: int, upload: int = 1, data: list[str] | None = None) -> RenderFeed:
    """A RenderFeed of single frames and their inverse depth: rendered from random training seeds
    (both frame sizes in turn, until time is up), or read from pool shards (`data`)."""
    from videopoet.world.render import SIZES

    if data:
        shards = [p for folder in data for p in sorted(Path(folder).glob("shard-*.npz"))]
        if not shards:
            raise SystemExit(f"no shard-*.npz files in {', '.join(data)}")
        jobs = deque((_load_shard, (str(p), frames_per_clip)) for p in shards)

        def next_job():
            return jobs.popleft() if jobs else None
    else:
        seed_rng = np.random.default_rng(seed)
        turn = itertools.count()

        def next_job():
            size = SIZES[next(turn) % len(SIZES)]
            return _render_chunk, ([int(s) for s in seed_rng.integers(0, HELD_OUT_FIRST_SEED, chunk)], size,
                                   frames_per_clip)

    def fields_of(result):
        images, disparity, failed = result
        return {"images": images, "disparity": disparity}, failed

    return RenderFeed(pool, device, capacity, next_job, fields_of, inflight, backlog, upload)


# ----------------------------------------------------------------------------------------------
# training


def augment(images: torch.Tensor, disparity: torch.Tensor, generator: torch.Generator,
            blur_p: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (B, H, W, 3) and inverse depth (B, H, W) -> float (B, 3, H, W) in [0, 1] and (B, H, W).

    Per frame: a horizontal flip half the time, a random crop of 70..100% of each side zoomed back
    to size (a nearer camera; relative depth is unchanged), colour gain and bias, and with
    probability `blur_p` a Gaussian blur of random strength (decoded and uploaded video is softer
    than the renderer's). `generator` lives on the frames' device: no step waits for the GPU."""
    b, h, w, _ = images.shape
    dev = images.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator, device=dev)

    x = images.permute(0, 3, 1, 2).float() / 255.0
    d = disparity.float()[:, None]
    zoom = 0.7 + 0.3 * rand(b)
    flip = torch.where(rand(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0] = zoom * flip
    theta[:, 1, 1] = zoom
    theta[:, :, 2] = (rand(b, 2) * 2 - 1) * (1 - zoom)[:, None]
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # Nearest for depth: a blend of two layers' depths at an edge is a depth that is nowhere.
    d = F.grid_sample(d, grid, mode="nearest", padding_mode="border", align_corners=False)[:, 0]
    gain = 1.0 + (rand(b, 3) - 0.5) * 0.3
    bias = (rand(b, 1) - 0.5) * 0.16
    x = x * gain[:, :, None, None] + bias[:, :, None, None]
    # Every frame is blurred (sigma 1.2) and the chosen ones mixed towards it by a random amount:
    # one batched convolution instead of a data-dependent selection that would wait for the GPU.
    k = torch.exp(-0.5 * (torch.arange(5, device=dev, dtype=torch.float32) - 2) ** 2 / 1.2**2)
    k = (k / k.sum()).view(1, 1, 1, 5).expand(3, 1, 1, 5)
    blurred = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), k, groups=3)
    blurred = F.conv2d(F.pad(blurred, (0, 0, 2, 2), mode="replicate"), k.transpose(2, 3), groups=3)
    amount = (rand(b) < blur_p).float() * rand(b)
    x = x + amount[:, None, None, None] * (blurred - x)
    return x.clamp(0.0, 1.0), d


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    kwargs = {"fused": True} if next(model.parameters()).is_cuda else {}
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99), **kwargs)


# ----------------------------------------------------------------------------------------------
# model card


def write_card(out: Path, result: dict, model: DepthEstimator) -> None:
    ev = result["heldout"]

    def row(name: str, key: str) -> str:
        r = ev[key]
        corr = f"{r['structure_correlation']:.3f}" if "structure_correlation" in r else "n/a (no variation)"
        return f"| {name} | {r['abs_rel']:.3f} | {r['delta1'] * 100:.1f}% | {corr} |"

    text = f"""# Depth estimator

A small monocular depth estimator (`videopoet.model.depth.DepthEstimator`, diffusers `ModelMixin`)
trained from scratch on the procedural world's exact depth. It gives relative inverse depth (larger
is nearer, up to an unknown scale and shift) of one RGB frame, for the depth channel of the
structure video that stylization conditions on (`videopoet.structure.structure_from_video`).

```python
from videopoet.model.depth import DepthEstimator
model = DepthEstimator.from_pretrained("{out.as_posix()}")
disparity = model.predict(frames)   # (T, H, W, 3) uint8 -> (T, H, W) float32
```

## Reproduce

```
{result['command']}
```

| | |
|---|---|
| device | {result["device"]}; {result["cpus"]} CPU cores, {result["workers"]} render workers |
| torch | {result['torch']} |
| wall time, whole run | {result['wall_s'] / 60:.1f} min |
| training time | {result['train_s'] / 60:.1f} min: {result['steps']} steps of {result['batch']} frames, \
{result['steps_per_s']:.1f} steps/s ({result['wait_s']:.0f} s of it waiting for data, {result['data_s']:.0f} s taking it in) |
| training data | {result['frames_rendered']:,} frames ({result['data']}), {result['samples_seen']:,} frame-samples seen |
| parameters | {result['params']:,} |
| weights file | {result['file_bytes'] / 2**20:.2f} MiB (fp16 safetensors) |

## Held-out accuracy

{ev['clips']} world clips, seeds {ev['first_seed']}..{ev['first_seed'] + ev['clips'] - 1} (never trained on; square and
portrait alternating), frames {', '.join(map(str, ev['frames']))} of each, scored with the saved fp16 checkpoint
reloaded from disk. Each prediction is aligned to the true inverse depth by least-squares scale and
shift, turned into depth (capped at 10; the sky is at 3) and compared (the MiDaS protocol).
Structure correlation: per clip, the Pearson correlation of the structure video's depth channel made
from the estimate (all 17 frames, as `structure_from_video` makes it) with the one made from the
renderer's depth.

| predictor | abs rel (lower is better) | δ < 1.25 | structure correlation |
|---|---|---|---|
{row("this model", "model")}
{row("constant depth", "constant")}
{row("vertical gradient (nearer lower down)", "vertical")}

Full numbers: `eval.json`; training log: `train_log.jsonl`.

## Architecture and training

U-Net at half resolution (2x2 pixels folded into channels, output upsampled bilinearly), residual
blocks with GroupNorm and SiLU, channels {list(model.config.channels)}, a row-coordinate input channel
and the bottleneck's global mean added back. Loss: the scale-and-shift-invariant loss of MiDaS on
inverse depth (median / mean-absolute-deviation normalised L1 plus gradient matching over 4 scales,
weight {result['grad_weight']}). AdamW (lr {result['lr']}), warm-up then cosine decay; bf16 autocast on CUDA.
Augmentation: horizontal flip, random 70..100% crop zoomed back to size, colour gain/bias, blur.
Known limits: the world's depth is flat layers facing the camera (no slanted ground, no
perspective floors), so on real footage expect a layered, front-to-back reading rather than
metric shape.
"""
    out.joinpath("README.md").write_text(text)


# ----------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (save_pretrained + README.md + logs)")
    ap.add_argument("--minutes", type=float, default=3.0, help="training wall-time budget (held-out eval comes after)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: time only)")
    ap.add_argument("--device", default=None, help="cuda / cpu (default: cuda when available)")
    ap.add_argument("--data", nargs="+", default=None,
                    help="pool folders from `python -m videopoet.world write` (with depth) instead of rendering")
    ap.add_argument("--batch", type=int, default=None, help="frames per step (default: 128 on CUDA, 16 on CPU)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--grad-weight", type=float, default=0.5, help="weight of the gradient-matching term")
    ap.add_argument("--frames-per-clip", type=int, default=17,
                    help="frames of each clip trained on (17: all; a GPU outruns the renderers, so every frame counts)")
    ap.add_argument("--buffer", type=int, default=None,
                    help="frames kept on the device per frame size (default: 32768 on CUDA, 2048 on CPU)")
    ap.add_argument("--workers", type=int, default=None, help="render processes (default: half the cores)")
    ap.add_argument("--chunk", type=int, default=4, help="clips per render task")
    ap.add_argument("--heldout", type=int, default=256, help="held-out clips to score at the end")
    ap.add_argument("--tiny", action="store_true", help="a tiny model (tests, smoke runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    t_start = time.time()
    command = command_line("videopoet.training.train_depth", argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Half the cores: on the 16-core H200 machine 8 renderers delivered more frames in a minute than
    # 15 did (98k against 80k; 15 left the trainer's own process short of CPU) and the trainer
    # managed a few more steps.
    workers = args.workers or max(1, (os.cpu_count() or 2) // 2)

    from videopoet.world.dataset import _init_worker, warm_caches
    from videopoet.world.render import SIZES

    # Build every cache once before forking (workers share them), and fork before CUDA starts.
    print(f"warming world caches, then {workers} render workers ...", flush=True)
    for size in SIZES:
        warm_caches(size)
    pool = get_context("fork").Pool(workers, initializer=_init_worker)
    try:
        return _train(args, command, out, workers, pool, t_start)
    finally:
        pool.terminate()
        pool.join()


def _train(args, command: str, out: Path, workers: int, pool, t_start: float) -> dict:
    accelerator = make_accelerator(args.device)
    want_cuda = accelerator.device.type == "cuda"
    device = accelerator.device
    torch.manual_seed(args.seed)
    torch.backends.cudnn.benchmark = True
    batch_size = args.batch or (128 if want_cuda else 16)

    model = DepthEstimator(**(TINY if args.tiny else {})).to(device)
    params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(model, args.lr, args.weight_decay)
    model, opt = accelerator.prepare(model, opt)
    raw = accelerator.unwrap_model(model)
    if want_cuda:
        model = model.to(memory_format=torch.channels_last)
    capacity = args.buffer or (32768 if want_cuda else 2048)
    feed = make_feed(pool, device, capacity, args.chunk, args.frames_per_clip, args.seed, inflight=2 * workers,
                     backlog=max(8 * batch_size, capacity // 4), upload=8 * batch_size if want_cuda else 1,
                     data=args.data)
    feed.top_up()
    generator = torch.Generator(device=device).manual_seed(args.seed)
    budget = args.minutes * 60.0
    log = open(out / "train_log.jsonl", "w")  # noqa: SIM115 (closed after the final line)
    print(f"training {params:,} parameters on {device_name(device)}, batch {batch_size}, for up to "
          f"{args.minutes} min" + (f" / {args.steps} steps" if args.steps else ""), flush=True)
    bar = tqdm(total=args.steps, unit="step", dynamic_ncols=True, mininterval=1.0)
    t0 = time.time()
    step, data_s, seen = 0, 0.0, 0
    window_t, window_step, first_step_t = t0, 0, None
    nonfinite = torch.zeros((), dtype=torch.bool, device=device)
    while True:
        progress = max((time.time() - t0) / budget, step / args.steps if args.steps else 0.0)
        if progress >= 1.0:
            break
        tc = time.time()
        feed.collect()
        data_s += time.time() - tc
        taken = feed.take(batch_size, generator)
        if taken is None:
            if feed.finished() and not feed.buffers:
                raise SystemExit("the pool folders held no usable frames (all held out, or no depth known)")
            continue
        images, disparity = taken["images"], taken["disparity"]
        x, target = augment(images, disparity, generator)
        if want_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        lr = cosine_lr(progress, args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        with accelerator.autocast():
            pred = model(x)
        loss = ssi_loss(pred, target, grad_weight=args.grad_weight)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        nonfinite |= ~torch.isfinite(loss.detach())
        step += 1
        seen += batch_size
        first_step_t = first_step_t or time.time()  # steps/s is reported from here: no waiting for the first frames
        bar.update(1)
        if step % args.log_every == 0 or step == 1:
            if bool(nonfinite):
                raise TrainingFailure(f"the loss became NaN/inf by step {step}; see train_log.jsonl. Try a lower --lr.")
            now = time.time()
            rate = (step - window_step) / max(now - window_t, 1e-9)
            window_t, window_step = now, step
            record = {"step": step, "time_s": round(now - t0, 1), "lr": round(lr, 6), "loss": round(loss.item(), 4),
                      "steps_per_s": round(rate, 2), "frames_per_s": round(rate * batch_size, 1),
                      "frames_rendered": feed.samples, "samples_seen": seen, "wait_s": round(feed.wait_s, 1),
                      "data_s": round(data_s, 1), "frame": list(images.shape[1:3])}
            log.write(json.dumps(record) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{record['loss']:.3f}", frames=feed.samples, wait=f"{feed.wait_s:.0f}s")
    bar.close()
    if bool(nonfinite):
        raise TrainingFailure(f"the loss became NaN/inf by step {step}; see train_log.jsonl. Try a lower --lr.")
    if step == 0:
        raise TrainingFailure(f"no training step in {args.minutes} min: the workers rendered no frames in time")
    train_s = time.time() - t0
    steps_per_s = (step - 1) / max(time.time() - first_step_t, 1e-9) if step > 1 else 0.0
    print(f"trained {step} steps in {train_s:.0f} s ({steps_per_s:.2f} steps/s after the first batch, "
          f"{steps_per_s * batch_size:.0f} frames/s) on {feed.samples:,} frames; {feed.wait_s:.0f} s waiting for data, "
          f"{data_s:.0f} s taking it in", flush=True)

    # Save fp16, then score exactly what was saved.
    raw.eval().half().save_pretrained(out)
    estimator = DepthEstimator.from_pretrained(out).to(device).eval()
    t_eval = time.time()
    heldout = evaluate_heldout(estimator, n=args.heldout, pool=pool)
    weights = out / "diffusion_pytorch_model.safetensors"
    result = {
        "command": command, "device": device_name(device), "cpus": os.cpu_count(), "workers": workers,
        "torch": torch.__version__, "wall_s": round(time.time() - t_start, 1), "train_s": round(train_s, 1),
        "eval_s": round(time.time() - t_eval, 1), "steps": step, "steps_per_s": round(steps_per_s, 2),
        "batch": batch_size, "lr": args.lr, "grad_weight": args.grad_weight,
        "data": "pool folders " + ", ".join(args.data) if args.data else "rendered while training",
        "frames_rendered": feed.samples, "samples_seen": seen, "wait_s": round(feed.wait_s, 1),
        "data_s": round(data_s, 1), "params": params,
        "file_bytes": weights.stat().st_size, "heldout": heldout,
    }
    log.write(json.dumps({"final": result}) + "\n")
    log.close()
    (out / "eval.json").write_text(json.dumps(result, indent=1))
    write_card(out, result, estimator)
    print(json.dumps({"heldout": heldout, "wall_s": result["wall_s"], "steps_per_s": result["steps_per_s"],
                      "params": params, "file_mib": round(result["file_bytes"] / 2**20, 3)}), flush=True)
    return result


if __name__ == "__main__":
    main()
