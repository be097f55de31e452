"""Train the world judge on clips rendered while it trains.

    python -m videopoet.training.train_judge --out /tmp/judge1 --clips 400000 --minutes 15 --appearance --still-p 0.05 --device cuda
    python -m videopoet.training.train_judge --out /tmp/judge2 --init /tmp/judge1 --seed 1 --lr 7e-4 --clips 400000 --minutes 9.5 --still-p 0.05
    python -m videopoet.training.train_judge --out /tmp/judge --init /tmp/judge2 --seed 2 --lr 7e-4 --clips 400000 --minutes 24 --still-p 0.05
    python -m videopoet.training.train_judge --out /tmp/judge --clips 64 --minutes 1 --device cpu --tiny --heldout 32

Data: a pool of worker processes (every core but one) renders random world clips (seeds drawn below
10**9; held-out seeds start at 10**9 and are never trained on), square and portrait in alternate
chunks, and ships each clip already cut to what the judge looks at (9 frames, 64 px wide, or 128
with --appearance). A GPU trains faster than 16 cores render, so clips are kept in a ring on the
training device (--capacity per frame size; no batch is gathered on the host) and replayed: a batch
takes fresh clips first and fills up with random earlier ones (once --pool clips are at hand), each
time with a new augmentation: a small shift, colour jitter, sometimes blur (so tokenizer blur does
not fool the judge), audio gain and shift, and a dropped modality 10% of the time. No horizontal
flips: they would swap pan left/right and arcs. --still-p freezes some clips (see `freeze`).
--init continues a saved judge (with a new --seed, on new clips).

Training: AdamW, cosine learning rate over the run (by wall time or by clips, whichever is nearer
its end), bf16 autocast on CUDA (fp32 on CPU), tqdm progress, a JSON-lines log. It stops at
--minutes of training or once it has seen --clips × --reuse samples, scores 1024 held-out
clips with the saved (fp16) checkpoint, and writes save_pretrained files, eval.json and a README.md
model card into --out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import deque
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from videopoet.eval.judge import (
    HELD_OUT_FIRST_SEED,
    MULTI_LABEL,
    NO_ACTION,
    SINGLE_LABEL,
    VOCAB_KEYS,
    WorldJudge,
    evaluate_heldout,
    prepare_clip,
    render_for_judge,
)
from videopoet.training.loop import (
    RenderFeed,
    TrainingFailure,
    command_line,
    cosine_lr,
    device_name,
    load_for_training,
    render_each,
)

TINY = {"video_channels": (8, 16, 16, 16, 16), "audio_channels": (8, 8, 16, 16, 16), "hidden": 64, "feature_dim": 32}
# --appearance: subjects read from 128-px frames too; the audio CNN slims so all fits in 3 MiB.
APPEARANCE = {"appearance_channels": (32, 48, 96, 128, 160, 192), "audio_channels": (16, 24, 40, 56, 80)}
TINY_APPEARANCE = {"appearance_channels": (8, 16, 16)}


# ----------------------------------------------------------------------------------------------
# data: worker side


def _render_chunk(args: tuple) -> tuple[np.ndarray, np.ndarray, list[dict], list[tuple[int, str]]]:
    """(seeds, size, width, frames) -> stacked prepared videos, float16 audio, label dicts, and the
    (seed, error) of seeds that failed to render (left out)."""
    seeds, size, width, frames = args
    clips, failed = render_each(lambda s: render_for_judge((s, size, width, frames)), seeds)
    if not clips:
        return np.zeros((0,), np.uint8), np.zeros((0,), np.float16), [], failed
    return np.stack([c[0] for c in clips]), np.stack([c[1] for c in clips]), [_slim(c[2]) for c in clips], failed


def _load_shard(args: tuple) -> tuple[np.ndarray, np.ndarray, list[dict], list[tuple[int, str]]]:
    """(shard path, width, frames) -> the shard's clips, prepared like `_render_chunk`'s (clips
    with held-out seeds are dropped; nothing is rendered, so nothing fails)."""
    path, width, frames = args
    with np.load(path) as data:  # each data[key] reads the whole array: read each once
        seeds, videos, audios, all_labels = data["seeds"], data["video"], data["audio"], data["labels"]
    keep = [i for i, s in enumerate(seeds) if int(s) < HELD_OUT_FIRST_SEED]
    video = np.stack([prepare_clip(videos[i], width, frames) for i in keep])
    audio = audios[keep].astype(np.float16)
    labels = [_slim(json.loads(str(all_labels[i]))) for i in keep]
    return video, audio, labels, []


def _slim(labels: dict) -> dict:
    return {k: labels.get(k) for k in ("subjects", "action", "background", "style", "camera", "effects", "then",
                                         "audio_classes")}


# ----------------------------------------------------------------------------------------------
# data: trainer side


def make_feed(pool, model: WorldJudge, clips: int, chunk: int, seed: int, capacity: int, inflight: int,
              backlog: int, upload: int, data: str | None = None) -> tuple[RenderFeed, int]:
    """A RenderFeed of prepared clips, their float16 audio and their training targets (fields
    "video", "audio", "target_<head>"): `clips` rendered from random training seeds (square and
    portrait in alternate chunks), or read from pool shards (`data`). Returns it and the number of
    clips it will deliver."""
    from videopoet.world.render import SIZES

    width, frames = model.clip_width, model.config.frames
    if data:
        shards = sorted(Path(data).glob("shard-*.npz"))
        if not shards:
            raise SystemExit(f"no shard-*.npz files in {data}")
        index = Path(data) / "index.json"
        shard_size = json.loads(index.read_text())["shard_size"] if index.exists() else 256
        shards = shards[: math.ceil(clips / shard_size)]
        jobs = deque((_load_shard, (str(p), width, frames)) for p in shards)
        clips = min(clips, len(shards) * shard_size)

        def next_job():
            return jobs.popleft() if jobs else None
    else:
        seed_rng = np.random.default_rng(seed)
        submitted = 0

        def next_job():
            nonlocal submitted
            n = min(chunk, clips - submitted)
            if n <= 0:
                return None
            size = SIZES[(submitted // chunk) % 2]
            submitted += n
            return _render_chunk, ([int(s) for s in seed_rng.integers(0, HELD_OUT_FIRST_SEED, n)], size, width, frames)

    def fields_of(result):
        video, audio, labels, failed = result
        targets = {f"target_{head}": t.numpy() for head, t in model.targets(labels).items()} if labels else {}
        return {"video": video, "audio": audio, **targets}, failed

    return RenderFeed(pool, model.device, capacity, next_job, fields_of, inflight, backlog, upload), clips


# ----------------------------------------------------------------------------------------------
# training


def augment(video: torch.Tensor, audio: torch.Tensor, generator: torch.Generator | None = None,
            shift: int = 4, blur_p: float = 0.25, drop_p: float = 0.1):
    """Label-preserving augmentation on the device. video uint8 (B, T, H, W, 3) -> float [0, 1];
    audio (B, N). Returns (video, audio, drop_video, drop_audio). Same shift for every frame of a
    clip (camera motion is a label); no flips (pan left/right, arcs)."""
    b, t, h, w, c = video.shape
    dev = video.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator, device="cpu").to(dev)

    x = video.float() / 255.0
    if shift:
        xp = F.pad(x.permute(0, 1, 4, 2, 3).reshape(b, t * c, h, w), (shift,) * 4, mode="replicate")
        dy = (rand(b) * (2 * shift + 1)).long().clamp(max=2 * shift)
        dx = (rand(b) * (2 * shift + 1)).long().clamp(max=2 * shift)
        rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None].expand(b, t * c, h, w + 2 * shift)
        xp = torch.gather(xp, 2, rows)
        cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :].expand(b, t * c, h, w)
        x = torch.gather(xp, 3, cols).reshape(b, t, c, h, w).permute(0, 1, 3, 4, 2)
    gain = 1.0 + (rand(b) - 0.5) * 0.2
    bias = (rand(b) - 0.5) * 0.1
    x = x * gain[:, None, None, None, None] + bias[:, None, None, None, None]
    if blur_p:
        blur = rand(b) < blur_p
        if blur.any():
            sigma = 0.4 + 0.6 * float(rand(1))
            k = torch.exp(-0.5 * (torch.arange(5, device=dev, dtype=torch.float32) - 2) ** 2 / sigma**2)
            k = (k / k.sum()).to(x.dtype)
            sel = x[blur].permute(0, 1, 4, 2, 3)
            n = sel.shape[0]
            flat = sel.reshape(-1, 1, h, w)
            flat = F.conv2d(F.pad(flat, (2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5))
            flat = F.conv2d(F.pad(flat, (0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1))
            x[blur] = flat.reshape(n, t, c, h, w).permute(0, 1, 3, 4, 2)
    x = x.clamp(0.0, 1.0)
    a = audio.float() * torch.exp(rand(b) - 0.5)[:, None]
    roll = int((float(rand(1)) - 0.5) * 800)
    a = torch.roll(a, roll, dims=1)
    drop_video = rand(b) < drop_p
    drop_audio = (rand(b) < drop_p) & ~drop_video
    return x, a, drop_video, drop_audio


def freeze(video: torch.Tensor, targets: dict[str, torch.Tensor], model: WorldJudge, p: float,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Show the judge what a still looks like: a fraction `p` of the clips become their first frame
    repeated, labelled camera "static" and action "none"; subjects, background, style, effects and
    sound keep their labels (a still still shows them). Ground truth never stands still, so without
    this the judge has never seen a frozen clip and reads one as a moving scene it resembles."""
    still = torch.rand(len(video), generator=generator) < p
    if not still.any():  # decided on the host: asking the device would wait for it every step
        return video, targets
    still = still.to(video.device)
    video = torch.where(still[:, None, None, None, None], video[:, :1].expand_as(video), video)
    targets = dict(targets)
    for head, name in (("camera", "static"), ("action", NO_ACTION)):
        index = model.vocab[VOCAB_KEYS[head]].index(name)
        targets[head] = torch.where(still, torch.full_like(targets[head], index), targets[head])
    return video, targets


def train_step(model: WorldJudge, opt: torch.optim.Optimizer, video, audio, targets, device: torch.device,
               aug: bool = True, generator: torch.Generator | None = None,
               still_p: float = 0.0) -> tuple[torch.Tensor, dict, dict]:
    """One optimizer step on one batch (`still_p`: see `freeze`). Returns (loss, per-head losses,
    per-head batch accuracy) as 0-d tensors, so the host only waits for the device when it logs them."""
    model.train()
    video, audio = video.to(device, non_blocking=True), audio.to(device, non_blocking=True).float()
    targets = {k: v.to(device, non_blocking=True) for k, v in targets.items()}
    if still_p:
        video, targets = freeze(video, targets, model, still_p, generator)
    drop_v = drop_a = None
    if aug:
        video, audio, drop_v, drop_a = augment(video, audio, generator)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits = model(video, audio, drop_video=drop_v, drop_audio=drop_a)
    loss, parts = model.loss(logits, targets, as_tensors=True)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        acc = {h: (logits[h].argmax(-1) == targets[h]).float().mean() for h in SINGLE_LABEL}
        for h in MULTI_LABEL:
            acc[h] = ((logits[h] > 0) == (targets[h] > 0.5)).all(-1).float().mean()
    return loss.detach(), parts, acc


def make_optimizer(model: WorldJudge, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    kwargs = {"fused": True} if next(model.parameters()).is_cuda else {}
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99), **kwargs)


# ----------------------------------------------------------------------------------------------
# model card


def write_card(out: Path, command: str, result: dict, model: WorldJudge) -> None:
    weights = out / "diffusion_pytorch_model.safetensors"
    acc = result["heldout"]
    rows = [("subjects (exact multiset)", acc.get("subjects")),
            ("subjects: mean per-name recall", acc.get("subjects_recall")),
            ("count", acc.get("count")), ("action", acc.get("action")), ("background", acc.get("background")),
            ("style", acc.get("style")), ("camera", acc.get("camera")), ("effects (exact set)", acc.get("effects")),
            ("effects: mean per-class F1", acc.get("effects_f1")),
            ("audio classes (exact set)", acc.get("audio_classes")),
            ("audio classes: mean per-class F1", acc.get("audio_classes_f1"))]
    table = "\n".join(f"| {name} | {v * 100:.1f}% |" for name, v in rows if v is not None)
    recall = acc.get("subjects_recall_per_name", {})
    worst = ", ".join(f"{k} {v * 100:.0f}%" for k, v in sorted(recall.items(), key=lambda kv: kv[1])[:8])
    cfg = model.config
    text = f"""# World judge

A small video+audio classifier (`videopoet.eval.judge.WorldJudge`, diffusers `ModelMixin`) trained on
ground-truth clips of the procedural world. It reads back what a prompt can ask for — subjects and
their count, action, background, style, camera move, effects, audio event classes — and its
{cfg.feature_dim}-d penultimate features define the Fréchet World Distance.

```python
from videopoet.eval.judge import WorldJudge
judge = WorldJudge.from_pretrained("{out.as_posix()}")
labels = judge.predict(videos, audios)   # videos (B, T, H, W, 3) uint8, audios (B, 34000) float
```

## Reproduce

```
{command}
```

| | |
|---|---|
| device | {result['device']} |
| CPU cores (renderers) | {result['cpus']} ({result['workers']} worker processes) |
| torch | {result['torch']} |
| wall time, whole run | {result['wall_s'] / 60:.1f} min |
| training time | {result['train_s'] / 60:.1f} min ({result['steps']} steps of {result['batch']}) |
| clips rendered for training | {result['clips_rendered']} ({result['samples_seen']} samples seen: each clip \
{result['samples_seen'] / max(1, result['clips_rendered']):.1f}× on average) |
| time waiting for data | {result['wait_s']:.0f} s |
| parameters | {result['params']:,} |
| weights file | {result['file_bytes'] / 2**20:.2f} MiB (fp16 safetensors) |

## Held-out accuracy

{acc['n']} clips, seeds {HELD_OUT_FIRST_SEED}..{HELD_OUT_FIRST_SEED + acc['n'] - 1} (square and portrait alternating;
training seeds are all below {HELD_OUT_FIRST_SEED}), scored with the saved fp16 checkpoint.

| head | accuracy |
|---|---|
{table}

Single-label heads: top-1. Subjects: the predicted multiset (top subjects at the predicted count)
equals the true one. Effects include "then" effects. Least recalled subjects: {worst or "n/a"}.
Full numbers: `eval.json`; training log: `train_log.jsonl`.

## Inputs and architecture

Video: any T ≥ 5 frames (9 sampled evenly), any size (resized to {cfg.video_width} px wide), uint8 or float in [0, 1].
(2+1)-D residual CNN, channels {list(cfg.video_channels)}, GroupNorm + SiLU, mean+max pooled.
Audio: 16 kHz, log-mel ({cfg.n_mels} mels, hop {cfg.hop_length}) computed in torch, 2-D residual CNN, channels
{list(cfg.audio_channels)}. Fusion MLP {cfg.hidden} -> {cfg.feature_dim}, one linear head per label kind.
Either modality may be missing (learned stand-in; trained with 10% modality dropout).
"""
    if cfg.appearance_channels:
        text += f"""Appearance: the first, middle and last frames at {cfg.appearance_width} px wide, depthwise-separable
2-D CNN, channels {list(cfg.appearance_channels)}, mean+max pooled over space and frames; the subject and
count heads read it beside the features (which it stays out of, so FWD weighs motion).
"""
    out.joinpath("README.md").write_text(text)
    assert weights.exists()


# ----------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (save_pretrained + README.md + logs)")
    ap.add_argument("--clips", type=int, default=60000, help="most distinct clips to render for training")
    ap.add_argument("--minutes", type=float, default=6.0, help="training wall-time budget (held-out eval comes after)")
    ap.add_argument("--device", default=None, help="cuda / cpu (default: cuda when available)")
    ap.add_argument("--data", default=None, help="train on pre-rendered shards (world dataset format) instead")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--reuse", type=int, default=8, help="stop after --clips x --reuse samples")
    ap.add_argument("--capacity", type=int, default=None,
                    help="clips kept per frame size on the device (default 16384 on a GPU, 2048 on the CPU)")
    ap.add_argument("--workers", type=int, default=None, help="render processes (default: all cores but one)")
    ap.add_argument("--chunk", type=int, default=16, help="clips per render task")
    ap.add_argument("--pool", type=int, default=2048, help="clips at hand before training draws from them")
    ap.add_argument("--heldout", type=int, default=1024, help="held-out clips to score at the end")
    ap.add_argument("--tiny", action="store_true", help="a tiny model (tests, smoke runs)")
    ap.add_argument("--video-width", type=int, default=None,
                    help="width the judge sees frames at (default 64; 128 keeps small subjects legible)")
    ap.add_argument("--appearance", action="store_true",
                    help="add the 128-px appearance stream the subject and count heads read (see WorldJudge)")
    ap.add_argument("--still-p", type=float, default=0.0,
                    help="fraction of clips frozen to their first frame, labelled static (see freeze)")
    ap.add_argument("--init", default=None,
                    help="continue training a saved judge (a save_pretrained folder; its own architecture, so "
                         "--tiny/--appearance/--video-width cannot be given). Use a new --seed so it sees new clips")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args(argv)
    if args.init and (args.tiny or args.appearance or args.video_width is not None):
        ap.error("--init continues a saved judge with its own architecture: drop --tiny/--appearance/--video-width")
    if args.init and not (Path(args.init) / "config.json").is_file():
        ap.error(f"--init {args.init}: no saved judge there (config.json missing)")
    t_start = time.time()
    command = command_line("videopoet.training.train_judge", argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    # No cuDNN autotuning: the blur augmentation convolves a random number of clips per batch, a new
    # shape nearly every step, and re-tuning for each made a step 2.7x slower (174 ms against 64 ms,
    # H200, measured).
    torch.backends.cudnn.benchmark = False
    workers = args.workers or max(1, (os.cpu_count() or 2) - 1)

    # Build every cache once before forking, and fork before CUDA starts.
    from videopoet.world.dataset import _init_worker, warm_caches
    from videopoet.world.render import SIZES

    print(f"warming world caches, then {workers} render workers ...", flush=True)
    if not args.data:
        for size in SIZES:
            warm_caches(size)
    pool = get_context("fork").Pool(workers, initializer=_init_worker)
    try:
        return _train(args, command, out, device, workers, pool, t_start)
    finally:
        pool.terminate()
        pool.join()


def build_model(args) -> WorldJudge:
    if args.init:
        return load_for_training(WorldJudge, args.init)
    config = dict(TINY if args.tiny else {})
    if args.appearance:
        config.update(TINY_APPEARANCE if args.tiny else APPEARANCE)
    if args.video_width is not None:
        config["video_width"] = args.video_width
    return WorldJudge(**config)


def _train(args, command, out, device, workers, pool, t_start) -> dict:
    model = build_model(args).to(device)
    params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(model, args.lr, args.weight_decay)
    capacity = min(args.capacity or (16384 if device.type == "cuda" else 2048), args.clips)
    min_pool = max(1, min(args.pool, args.clips) // 2)  # per frame size, before its first batch
    # Rendering pauses while `backlog` clips wait unseen; it must cover both sizes' first batches.
    backlog = max(capacity // 4, 2 * (max(args.batch, min_pool) + args.chunk))
    feed, planned = make_feed(pool, model, args.clips, args.chunk, args.seed, capacity, inflight=2 * workers,
                              backlog=backlog, upload=8 * args.batch if device.type == "cuda" else 1, data=args.data)
    feed.top_up()
    gen = torch.Generator().manual_seed(args.seed)
    index_gen = torch.Generator(device=device).manual_seed(args.seed)
    budget = args.minutes * 60.0
    log = open(out / "train_log.jsonl", "w")  # noqa: SIM115 (closed after the final line)
    print(f"training {params:,} parameters on {device} for up to {args.minutes} min / {planned} clips", flush=True)
    t0 = time.time()
    step, seen = 0, 0
    bar = tqdm(unit="step", dynamic_ncols=True, mininterval=1.0)
    try:
        while True:
            elapsed = time.time() - t0
            progress = max(elapsed / budget, seen / max(1, planned * args.reuse))
            if progress >= 1.0:
                break
            feed.collect()
            taken = feed.take(args.batch, index_gen, need=max(args.batch, min_pool))
            if taken is None:
                if feed.finished() and not feed.buffers:
                    raise SystemExit("no clips to train on: every shard was held out or empty")
                continue
            video, audio = taken.pop("video"), taken.pop("audio")
            targets = {name.removeprefix("target_"): t for name, t in taken.items()}
            lr = cosine_lr(progress, args.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            loss, parts, acc = train_step(model, opt, video, audio, targets, device=device, generator=gen,
                                          still_p=args.still_p)
            step += 1
            seen += len(video)
            bar.update(1)
            if step % args.log_every == 0 or step == 1:
                loss = float(loss)
                parts = {k: float(v) for k, v in parts.items()}
                acc = {k: float(v) for k, v in acc.items()}
                record = {"step": step, "time_s": round(time.time() - t0, 1), "lr": round(lr, 6),
                          "loss": round(loss, 4), "clips_rendered": feed.samples, "samples_seen": seen,
                          "wait_s": round(feed.wait_s, 1), "frame": list(video.shape[2:4]),
                          "losses": {k: round(v, 4) for k, v in parts.items()},
                          "batch_acc": {k: round(v, 3) for k, v in acc.items()}}
                log.write(json.dumps(record) + "\n")
                log.flush()
                bar.set_postfix(loss=f"{loss:.3f}", clips=feed.samples, wait=f"{feed.wait_s:.0f}s")
    except BaseException:  # an error or Ctrl-C keeps what was trained (fp16, as shipped), then stops
        if step:
            model.half().save_pretrained(out)
            print(f"\nstopped at step {step}; the model trained so far is saved in {out}", file=sys.stderr,
                  flush=True)
        raise
    bar.close()
    if step == 0:
        raise TrainingFailure(f"no training step in {args.minutes} min: the workers rendered no clips in time")
    train_s = time.time() - t0
    print(f"trained {step} steps in {train_s:.0f} s on {feed.samples} clips ({seen} samples); "
          f"{feed.wait_s:.0f} s waiting for data", flush=True)

    # Save fp16, then score exactly what was saved.
    model.eval()
    model.half().save_pretrained(out)
    model.float()
    judge = WorldJudge.from_pretrained(out).to(device)
    t_eval = time.time()
    heldout = evaluate_heldout(judge, n=args.heldout, pool=pool, batch_size=128)
    eval_s = time.time() - t_eval
    weights = out / "diffusion_pytorch_model.safetensors"
    result = {
        "command": command, "device": device_name(device), "cpus": os.cpu_count(), "workers": workers,
        "torch": torch.__version__, "wall_s": round(time.time() - t_start, 1), "train_s": round(train_s, 1),
        "eval_s": round(eval_s, 1), "steps": step, "batch": args.batch, "clips_rendered": feed.samples,
        "samples_seen": seen, "reuse": args.reuse, "wait_s": round(feed.wait_s, 1), "params": params,
        "render_failures": [{"seed": seed, "error": error} for seed, error in feed.failures.failed],
        "file_bytes": weights.stat().st_size, "heldout": heldout,
    }
    log.write(json.dumps({"final": {k: v for k, v in result.items() if k != "heldout"},
                          "heldout": {k: v for k, v in heldout.items() if k != "subjects_recall_per_name"}}) + "\n")
    log.close()
    (out / "eval.json").write_text(json.dumps(result, indent=1))
    write_card(out, command, result, judge)
    summary = {k: round(v, 4) if isinstance(v, float) else v for k, v in heldout.items()
               if k != "subjects_recall_per_name"}
    print(json.dumps({"heldout": summary, "wall_s": result["wall_s"], "params": params,
                      "file_mib": round(result["file_bytes"] / 2**20, 3)}), flush=True)
    return result


if __name__ == "__main__":
    main()
