"""Train the video tokenizer from scratch on pre-rendered world + real clips.

    python -m videopoet.world write --out /tmp/pool/square --n 12000 --real-fraction 0.2 --no-structure
    python -m videopoet.world write --out /tmp/pool/portrait --n 6000 --real-fraction 0.2 --no-structure --portrait --first-seed 500000000
    python -m videopoet.training.train_video_tokenizer --out /tmp/stage1 \
        --data /tmp/pool/square /tmp/pool/portrait --minutes 10 --device cuda
    python -m videopoet.training.train_video_tokenizer --out weights/video_tokenizer --init /tmp/stage1 \
        --decoder-only --data /tmp/pool/square /tmp/pool/portrait --minutes 4.5 --lr 1e-3 --device cuda

Each step trains on a batch of 17-frame clips and, in the same step, on four times as many single
frames, so that an image (a 1-frame video) reconstructs as well as a clip does. Clips are replayed
from the pool with random horizontal flips; held-out seeds and held-out real files never enter it.

Loss: L1 + 0.2 (1 - SSIM) + the LFQ entropy and commitment terms. SSIM stands in for a perceptual
loss: LPIPS needs a downloaded VGG/AlexNet, which we do not have; SSIM compares local means,
contrasts and structure, which is what makes sprite edges and textures look right, and it is what
we report. The run stops with an error on the known failure modes of open MAGVIT-v2
re-implementations: a non-finite loss (mixed precision), solid-colour reconstructions, and a
collapsed codebook.

`--decoder-only` continues a saved tokenizer (`--init`) with its encoder and quantizer frozen: the
tokens stay exactly what they were, so a language model trained on them stays valid, while the
decoder trains on (no encoder backward pass, so more steps per minute).

bf16 autocast through accelerate on CUDA; AdamW, warm-up then cosine by wall time; tqdm progress;
JSON-lines log; `--resume` continues from OUT/checkpoint.pt (deleted after a finished run unless
--keep-checkpoint). At the end the fp16 weights are saved
with save_pretrained, scored on held-out data by `videopoet.eval.tokenizers`, and described in a
README.md model card.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from videopoet.tokenizers.video import VideoTokenizer
from videopoet.training.data import load_shards
from videopoet.training.loop import (
    TrainingFailure,
    command_line,
    cosine_lr,
    device_name,
    load_checkpoint,
    load_for_training,
    make_accelerator,
    save_checkpoint,
    start_training,
)

TINY = {"channels": (8, 16, 16), "codebook_bits": 12}
IMAGES_PER_CLIP = 4


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of (N, C, H, W) images in [-1, 1] (Gaussian window 11, sigma 1.5)."""
    coords = torch.arange(11, device=a.device, dtype=a.dtype) - 5
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    g = g / g.sum()
    c = a.shape[1]
    window = (g[:, None] * g[None, :]).expand(c, 1, 11, 11).contiguous()

    def blur(x):
        return F.conv2d(x, window, padding=5, groups=c)

    a, b = (a + 1) / 2, (b + 1) / 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean()


def as_frames(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) -> (B*T, 3, H, W)."""
    b, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(b * t, c, h, w)


class ClipPool:
    """Clips grouped by frame size, sampled as uint8 batches and turned into floats on the device."""

    def __init__(self, folders: list[str], seed: int):
        self.groups: list[np.ndarray] = []
        for folder in folders:
            video = load_shards(folder, fields=("video",))["video"]
            self.groups.append(video)
            print(f"{folder}: {len(video)} clips of {video.shape[1:]}", flush=True)
        sizes = np.array([len(g) for g in self.groups], np.float64)
        self.weights = sizes / sizes.sum()
        self.rng = np.random.default_rng(seed)

    def clips(self, batch: int, device: torch.device) -> torch.Tensor:
        group = self.groups[self.rng.choice(len(self.groups), p=self.weights)]
        pick = np.sort(self.rng.choice(len(group), size=batch, replace=False))
        return self._to_tensor(group[pick], device)

    def images(self, count: int, device: torch.device) -> torch.Tensor:
        group = self.groups[self.rng.choice(len(self.groups), p=self.weights)]
        pick = self.rng.integers(len(group), size=count)
        frame = self.rng.integers(group.shape[1], size=count)
        return self._to_tensor(group[pick, frame][:, None], device)

    def _to_tensor(self, frames: np.ndarray, device: torch.device) -> torch.Tensor:
        x = torch.from_numpy(frames).to(device, non_blocking=True)
        flip = torch.from_numpy(self.rng.random(len(frames)) < 0.5).to(device)
        x = torch.where(flip[:, None, None, None, None], x.flip(3), x)
        return x.permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)


class Watchdog:
    """Stops the run loudly on the failure modes open MAGVIT-v2 re-implementations are known for.

    `observe` runs every step and never waits for the GPU; the checks, which do, run at log steps
    and before every checkpoint, so a broken model is never saved."""

    def __init__(self, codebook_size: int, warmup_steps: int, window: int = 50, min_usage: float = 0.02):
        self.codebook_size = codebook_size
        self.warmup_steps = warmup_steps
        self.window = window
        self.min_usage = min_usage
        self.recent: list[torch.Tensor] = []
        self.nonfinite: torch.Tensor | None = None

    def observe(self, loss: torch.Tensor, tokens: torch.Tensor) -> None:
        bad = ~torch.isfinite(loss)
        self.nonfinite = bad if self.nonfinite is None else self.nonfinite | bad
        self.recent = (self.recent + [tokens.flatten()])[-self.window:]

    def check_finite(self, step: int) -> None:
        if self.nonfinite is not None and bool(self.nonfinite):
            raise TrainingFailure(f"by step {step}: the loss went non-finite (mixed precision overflow?); "
                                  "see train_log.jsonl")

    def check(self, step: int, target: torch.Tensor, recon: torch.Tensor) -> float:
        """All checks on the latest batch; returns the share of codes used in the recent window."""
        self.check_finite(step)
        usage = torch.unique(torch.cat(self.recent)).numel() / self.codebook_size
        if step < self.warmup_steps:
            return usage
        spread_in = target.float().flatten(2).std(dim=2).mean()
        spread_out = recon.float().flatten(2).std(dim=2).mean()
        if spread_out < 0.1 * spread_in:
            raise TrainingFailure(f"step {step}: reconstructions are flat (pixel spread {spread_out:.4f} vs "
                                  f"{spread_in:.4f} in the input): solid-colour collapse")
        if usage < self.min_usage:
            raise TrainingFailure(f"step {step}: only {usage:.2%} of {self.codebook_size} codes used in the last "
                                  f"{len(self.recent)} batches: the codebook collapsed")
        return usage


def reconstruction_loss(model, video: torch.Tensor):
    recon, tokens, aux = model(video)
    recon = recon.float()
    l1 = (recon - video).abs().mean()
    structure = 1.0 - ssim(as_frames(recon), as_frames(video))
    return l1 + 0.2 * structure + aux, recon, tokens, {"l1": l1.detach(), "ssim": 1.0 - structure.detach(),
                                                       "aux": aux.detach()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", nargs="+", required=True, help="pool folders written by `python -m videopoet.world write`")
    ap.add_argument("--minutes", type=float, default=12.0, help="training wall time (evaluation comes after)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps (smoke runs)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--batch", type=int, default=16, help="17-frame clips per step (plus 4x as many images)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--codebook-bits", type=int, default=None)
    ap.add_argument("--entropy-loss-weight", type=float, default=None,
                    help="LFQ entropy weight (model default 0.1; at 0.1 its gradient on the latent measured 19x "
                         "the L1 loss's on the shipped weights)")
    ap.add_argument("--heldout", type=int, default=256, help="held-out clips (and images) scored at the end")
    ap.add_argument("--tiny", action="store_true", help="a tiny model (tests, smoke runs)")
    ap.add_argument("--init", default=None, help="start from a saved tokenizer (a save_pretrained folder)")
    ap.add_argument("--decoder-only", action="store_true",
                    help="train the decoder of the --init tokenizer alone; its tokens stay exactly the same")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--checkpoint-minutes", type=float, default=2.0)
    ap.add_argument("--keep-checkpoint", action="store_true", help="keep OUT/checkpoint.pt after a finished run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args(argv)
    if args.init and (args.tiny or args.codebook_bits or args.entropy_loss_weight is not None):
        ap.error("--init continues a saved tokenizer with its own config: drop --tiny/--codebook-bits/"
                 "--entropy-loss-weight")
    if args.init and not (Path(args.init) / "config.json").is_file():
        ap.error(f"--init {args.init}: no saved tokenizer there (config.json missing)")
    if args.decoder_only and not args.init:
        ap.error("--decoder-only trains the decoder of a saved tokenizer: give it with --init")
    command = command_line("videopoet.training.train_video_tokenizer", argv)
    t_start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    accelerator = make_accelerator(args.device)
    device = accelerator.device
    torch.manual_seed(args.seed)
    torch.backends.cudnn.benchmark = True

    config = dict(TINY) if args.tiny else {}
    if args.codebook_bits:
        config["codebook_bits"] = args.codebook_bits
    if args.entropy_loss_weight is not None:
        config["entropy_loss_weight"] = args.entropy_loss_weight
    model = load_for_training(VideoTokenizer, args.init) if args.init else VideoTokenizer(**config)
    params = sum(p.numel() for p in model.parameters())
    trained = start_training(model, args.decoder_only)
    opt = torch.optim.AdamW(trained, lr=args.lr, betas=(0.9, 0.99), weight_decay=0.01)
    model, opt = accelerator.prepare(model, opt)
    step, trained_s = 0, 0.0
    if args.resume:
        step, trained_s = load_checkpoint(out / "checkpoint.pt", accelerator.unwrap_model(model), opt)
        print(f"resumed at step {step} after {trained_s:.0f} s of training", flush=True)

    pool = ClipPool(args.data, args.seed + step)
    raw = accelerator.unwrap_model(model)
    watchdog = Watchdog(raw.codebook_size, warmup_steps=min(500, (args.steps or 10**9) // 2))
    budget = args.minutes * 60.0
    log = open(out / "train_log.jsonl", "a" if args.resume else "w")  # noqa: SIM115 (closed below)
    what = f"the decoder ({sum(p.numel() for p in trained):,} of {params:,} parameters)" if args.decoder_only \
        else f"{params:,} parameters"
    print(f"training {what} on {device_name(device)} for {args.minutes} min", flush=True)
    bar = tqdm(unit="step", dynamic_ncols=True, mininterval=2.0, initial=step)
    t0, last_ckpt = time.time() - trained_s, time.time()
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget or (args.steps and step >= args.steps):
            break
        lr = cosine_lr(elapsed / budget, args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        clips = pool.clips(args.batch, device)
        images = pool.images(IMAGES_PER_CLIP * args.batch, device)
        with accelerator.autocast():
            loss_v, recon_v, tokens_v, parts_v = reconstruction_loss(model, clips)
            loss_i, _, _, parts_i = reconstruction_loss(model, images)
            loss = loss_v + 0.5 * loss_i
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        watchdog.observe(loss.detach(), tokens_v)
        bar.update(1)
        if step % args.log_every == 0 or step == 1:
            usage = watchdog.check(step, clips, recon_v.detach())
            mse = float(((recon_v.detach().clamp(-1, 1) - clips) ** 2).mean()) / 4.0
            record = {"step": step, "time_s": round(time.time() - t0, 1), "lr": round(lr, 7),
                      "loss": round(float(loss.detach()), 5), "psnr_clip": round(-10 * math.log10(max(mse, 1e-10)), 2),
                      "grad_norm": round(float(grad_norm), 3), "code_usage_window": round(usage, 4),
                      **{f"clip_{k}": round(float(v), 5) for k, v in parts_v.items()},
                      **{f"image_{k}": round(float(v), 5) for k, v in parts_i.items()}}
            log.write(json.dumps(record) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}", psnr=record["psnr_clip"], codes=f"{usage:.2f}")
        if time.time() - last_ckpt > args.checkpoint_minutes * 60:
            watchdog.check(step, clips, recon_v.detach())
            save_checkpoint(out / "checkpoint.pt", raw, opt, step, time.time() - t0)
            last_ckpt = time.time()
    bar.close()
    train_s = time.time() - t0
    watchdog.check_finite(step)
    save_checkpoint(out / "checkpoint.pt", raw, opt, step, train_s)
    print(f"trained {step} steps in {train_s:.0f} s", flush=True)

    from videopoet.eval.tokenizers import evaluate_video_tokenizer, write_video_card

    raw.eval()
    raw.to(torch.float16).save_pretrained(out)
    saved = VideoTokenizer.from_pretrained(out).to(device)
    figures = evaluate_video_tokenizer(saved, n=args.heldout, device=device)
    result = {"command": command, "device": device_name(device), "torch": torch.__version__,
              "wall_s": round(time.time() - t_start, 1), "train_s": round(train_s, 1), "steps": step,
              "batch": args.batch, "params": params, "init": args.init, "decoder_only": args.decoder_only,
              "config": {k: v for k, v in saved.config.items() if not k.startswith("_")},
              **figures}
    log.write(json.dumps({"final": result}) + "\n")
    log.close()
    (out / "eval.json").write_text(json.dumps(result, indent=1))
    write_video_card(out, result)
    if not args.keep_checkpoint:
        (out / "checkpoint.pt").unlink()
    print(json.dumps({k: v for k, v in result.items() if k != "config"}), flush=True)
    return result


if __name__ == "__main__":
    main()
