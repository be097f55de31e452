"""Train the audio tokenizer (videopoet.tokenizers.AudioTokenizer) on the world's sound.

    python -m videopoet.training.train_audio_tokenizer --out weights/audio_tokenizer --data POOL [POOL ...] \\
        --minutes 10 --device cuda
    python -m videopoet.training.train_audio_tokenizer --out /tmp/at --render 64 --steps 20 --tiny --heldout 8

Data: the audio of pre-rendered world shards (`--data`, read with videopoet.training.data.load_shards,
which drops held-out seeds), or `--render N` fresh clips (seeds below 10**9) for CPU smoke runs. All
clips sit on the training device as float16 (34,000 samples, 68 KB each); a batch is random clips,
each with a random gain (-18..+6 dB, capped below clipping) and a random polarity.

Training: accelerate (bf16 autocast on CUDA, fp32 on CPU), AdamW, learning rate warmed up then
cosine-decayed over the run (by wall time or by --steps, whichever is nearer its end). Loss: a
multi-resolution STFT loss (spectral convergence + log-magnitude L1 at FFT sizes 2048 .. 64), a
waveform L1 and the RVQ commitment loss. No adversarial loss: discriminators cost as much compute as
the codec again and need far more steps than a 10-minute budget holds before they help.

`--init DIR --decoder-only` continues a saved codec with its encoder and quantizer frozen (eval mode:
no batch statistics or codebook updates): its codes stay exactly what they were, so a language model
trained on them stays valid, while the decoder trains on.

It stops loudly (TrainingFailure) when the loss turns NaN/inf, or when after --usage-after steps any
RVQ level used fewer than 10% of its codes over the last --usage-window batches (a collapsed
codebook). `--resume` continues from OUT/checkpoint.pt (written every --checkpoint-minutes), which is
deleted after a finished run unless --keep-checkpoint. At the end the model is saved in fp16
(save_pretrained), reloaded from disk, and scored on held-out clips (seeds from 10**9, never
trained on); eval.json and a README.md model card go next to the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from videopoet.eval.judge import HELD_OUT_FIRST_SEED
from videopoet.eval.tokenizers import score_audio
from videopoet.tokenizers.audio import AudioTokenizer
from videopoet.training.loop import (
    TrainingFailure,
    command_line,
    cosine_lr,
    device_name,
    load_for_training,
    make_accelerator,
    start_training,
)

TINY = {"channels": (4, 8, 8, 16, 16), "latent_dim": 8}
FFT_SIZES = (2048, 1024, 512, 256, 128, 64)
MIN_CODE_USAGE = 0.10
CHECKPOINT = "checkpoint.pt"


# ----------------------------------------------------------------------------------------------
# data


def _render_audio(args: tuple[int, tuple[int, int]]) -> np.ndarray:
    from videopoet.world.render import render

    seed, size = args
    return render(seed, size).audio.astype(np.float16)


def _sizes(n: int) -> list[tuple[int, int]]:
    """Square and portrait alternating: what the world shows (and so what it sounds like) depends on
    the frame."""
    from videopoet.world.render import SIZES

    return [SIZES[i % 2] for i in range(n)]


def render_clips(pool, seeds: list[int]) -> np.ndarray:
    """(N, 34000) float16 world audio for `seeds`, rendered on the pool."""
    jobs = list(zip(seeds, _sizes(len(seeds))))
    clips = list(tqdm(pool.imap(_render_audio, jobs, chunksize=8), total=len(jobs), desc="rendering", unit="clip"))
    return np.stack(clips)


def load_clips(folders: list[str]) -> np.ndarray:
    from videopoet.training.data import load_shards

    parts = [load_shards(folder, fields=("audio",))["audio"] for folder in folders]
    return np.concatenate(parts).astype(np.float16, copy=False)


def random_batch(clips: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """`size` random clips, float32, each at a random gain (-18..+6 dB, never past 0.99 peak) and
    polarity: loudness and sign are not what the codes should spend bits on."""
    index = torch.randint(len(clips), (size,), generator=generator)
    audio = clips[index.to(clips.device)].float()
    rand = torch.rand(size, 2, generator=generator).to(audio.device)
    gain = 10.0 ** ((rand[:, 0] * 24.0 - 18.0) / 20.0)
    peak = audio.abs().amax(dim=1).clamp_min(1e-4)
    gain = torch.minimum(gain, 0.99 / peak)
    sign = torch.where(rand[:, 1] < 0.5, -1.0, 1.0)
    return audio * (gain * sign)[:, None]


# ----------------------------------------------------------------------------------------------
# losses and checks


def _magnitude(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True).abs().clamp_min(1e-5)


def stft_loss(reference: torch.Tensor, estimate: torch.Tensor, fft_sizes=FFT_SIZES) -> torch.Tensor:
    """Multi-resolution STFT loss (Yamamoto et al. 2020): per FFT size, spectral convergence plus L1
    of log magnitudes (Hann window, hop = size / 4), averaged over sizes. Computed in fp32: bf16
    magnitudes of quiet beds would round to nothing."""
    with torch.autocast(reference.device.type, enabled=False):
        reference, estimate = reference.float(), estimate.float()
        total = reference.new_zeros(())
        for n_fft in fft_sizes:
            ref, est = _magnitude(reference, n_fft), _magnitude(estimate, n_fft)
            convergence = torch.linalg.vector_norm(ref - est) / torch.linalg.vector_norm(ref).clamp_min(1e-5)
            total = total + convergence + (ref.log() - est.log()).abs().mean()
        return total / len(fft_sizes)


class CodeUsage:
    """Counts, per RVQ level, which codes the batches since the last `take` chose (kept on the
    device, so counting costs no host sync)."""

    def __init__(self, levels: int, codebook_size: int, device: torch.device):
        self.counts = torch.zeros(levels, codebook_size, dtype=torch.long, device=device)

    def add(self, codes: torch.Tensor) -> None:
        """codes (B, levels, frames)."""
        levels, size = self.counts.shape
        flat = codes.transpose(0, 1).reshape(levels, -1)
        offsets = torch.arange(levels, device=codes.device)[:, None] * size
        self.counts += torch.bincount((flat + offsets).reshape(-1), minlength=levels * size).view(levels, size)

    def take(self) -> list[float]:
        """Fraction of each level's codes used since the last call; starts counting afresh."""
        used = (self.counts > 0).float().mean(dim=1).tolist()
        self.counts.zero_()
        return used


def check_code_usage(used: list[float], step: int, batches: int) -> None:
    """Raise if any RVQ level used fewer than 10% of its codes over the last `batches` batches."""
    collapsed = [i for i, u in enumerate(used) if u < MIN_CODE_USAGE]
    if collapsed:
        raise TrainingFailure(
            f"codebook collapse at step {step}: RVQ level(s) {collapsed} used "
            f"{', '.join(f'{used[i]:.1%}' for i in collapsed)} of their codes over the last {batches} batches "
            f"(< {MIN_CODE_USAGE:.0%}). Try a lower --lr or a lower dead-code threshold.")


def check_finite(nonfinite: torch.Tensor, step: int) -> None:
    """Raise if any loss since the start was NaN/inf (`nonfinite` is a flag kept on the device)."""
    if bool(nonfinite):
        raise TrainingFailure(f"the loss became NaN/inf by step {step}; see train_log.jsonl. Try a lower --lr.")


def make_optimizer(params: list[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.8, 0.99))


# ----------------------------------------------------------------------------------------------
# held-out evaluation


def evaluate(model: AudioTokenizer, clips: np.ndarray, pool, batch_size: int = 64) -> dict:
    """Round-trip `clips` (N, 34000) through the codes and score the reconstructions."""
    codes, recon = [], []
    with torch.no_grad():
        for i in range(0, len(clips), batch_size):
            audio = torch.from_numpy(clips[i:i + batch_size].astype(np.float32)).to(model.device)
            c = model.encode(audio)
            codes.append(c.cpu().numpy())
            recon.append(model.decode(c).float().cpu().numpy())
    codes, recon = np.concatenate(codes), np.concatenate(recon)
    levels, size = model.config.num_quantizers, model.config.codebook_size
    used, perplexity = [], []
    for level in range(levels):
        counts = np.bincount(codes[:, level].ravel(), minlength=size)
        p = counts[counts > 0] / counts.sum()
        used.append(int((counts > 0).sum()))
        perplexity.append(round(float(np.exp(-(p * np.log(p)).sum())), 1))
    return {
        "n": len(clips),
        "first_seed": HELD_OUT_FIRST_SEED,
        **score_audio(clips, recon, pool),
        "codes_used_per_level": used,
        "code_perplexity_per_level": perplexity,
    }


# ----------------------------------------------------------------------------------------------
# model card


def write_card(out: Path, result: dict, model: AudioTokenizer) -> None:
    cfg = model.config
    ev = result["heldout"]
    used = ", ".join(f"{u}/{cfg.codebook_size}" for u in ev["codes_used_per_level"])
    perplexity = ", ".join(str(p) for p in ev["code_perplexity_per_level"])
    levels, frames, hop = cfg.num_quantizers, result["frames"], result["hop"]
    coded = frames * hop
    stage = (f"\nThis run trained the decoder of `{result['init']}` alone, its encoder and quantizer frozen, so it "
             "makes exactly that codec's codes.\n" if result.get("decoder_only") else "")
    text = f"""# Audio tokenizer

A SoundStream-style codec (`videopoet.tokenizers.AudioTokenizer`, diffusers `ModelMixin`) trained on
the sound of the procedural world: 16 kHz mono, 2.125 s ({cfg.clip_samples:,} samples) -> {levels} x {frames}
codes (residual VQ, {levels} levels of {cfg.codebook_size} codes, one frame per {hop} samples,
{cfg.sample_rate / hop:.0f} frames/s). The first {coded:,} samples are coded; decoded clips end in
{cfg.clip_samples - coded} zero samples.

```python
from videopoet.tokenizers import AudioTokenizer
tok = AudioTokenizer.from_pretrained("{out.as_posix()}")
codes = tok.encode_audio(audio)     # (34000,) float -> ({levels}, {frames}) int64, row 0 = first level
audio = tok.decode_audio(codes)     # -> (34000,) float32
```

## Reproduce

```
{result['command']}
```
{stage}
| | |
|---|---|
| device | {result['device']} |
| torch | {result['torch']} |
| wall time, whole run | {result['wall_s'] / 60:.1f} min |
| training time | {result['train_s'] / 60:.1f} min ({result['steps']} steps of {result['batch']} clips) |
| training clips | {result['train_clips']} ({result['data']}) |
| parameters | {result['params']:,} (+ {result['buffers']:,} buffer values: codebooks, latent statistics) |
| weights file | {result['file_bytes'] / 2**20:.2f} MiB (fp16 safetensors) |

## Held-out reconstruction

{ev['n']} clips, world seeds {HELD_OUT_FIRST_SEED}..{HELD_OUT_FIRST_SEED + ev['n'] - 1} (never trained on; \
square and portrait scenes alternating), encoded and decoded by the saved fp16 checkpoint reloaded from disk.

| metric | tokenizer | silence |
|---|---|---|
| audio_mel_l1 (log-mel L1, lower is better) | {ev['audio_mel_l1']:.3f} | {ev['silence_mel_l1']:.3f} |
| audio_onset_f1 (onsets within 50 ms) | {ev['audio_onset_f1']:.3f} | |

Codes used per level on these clips: {used} (perplexity {perplexity}).
Metrics: `videopoet.eval.metrics.log_mel_l1` and `onset_f1`. Full numbers: `eval.json`; training
log: `train_log.jsonl`.

## Architecture and training

Encoder: stem conv, then per stage residual units (kernel 7, dilations {list(cfg.dilations)}, ELU) and a strided
conv, strides {list(cfg.strides)}, channels {list(cfg.channels)}, to a {cfg.latent_dim}-d batch-normalised latent.
Quantizer: `vector_quantize_pytorch.ResidualVQ`, k-means init, EMA codebooks (decay {cfg.codebook_decay}), dead codes
(EMA usage < {cfg.dead_code_threshold} per batch) replaced by batch latents. Decoder: the mirror image with
transposed convs, tanh output. Non-causal: a clip is coded as a whole.

Loss: multi-resolution STFT (spectral convergence + log-magnitude L1, FFT sizes {list(FFT_SIZES)}),
waveform L1 x {result['wave_weight']}, RVQ commitment. No adversarial loss: discriminators would about
double the compute per step, and GAN codecs train for hundreds of thousands of steps before their
discriminators pay off, far more than this budget holds; without one, expect noisy textures (rain,
wind) to come back less crisp than they went in. Augmentation: random gain
(-18..+6 dB) and polarity. AdamW (lr {result['lr']}, betas 0.8/0.99), warmup then cosine decay.
"""
    out.joinpath("README.md").write_text(text)


# ----------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (save_pretrained + README.md + logs)")
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", help="pre-rendered world shard folders (python -m videopoet.world write)")
    source.add_argument("--render", type=int, help="render this many fresh world clips to train on instead")
    ap.add_argument("--minutes", type=float, default=10.0, help="training wall-time budget (eval comes after)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: time only)")
    ap.add_argument("--device", default=None, help="cuda / cpu (default: cuda when available)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--wave-weight", type=float, default=1.0, help="weight of the waveform L1 loss")
    ap.add_argument("--heldout", type=int, default=512, help="held-out clips to score at the end")
    ap.add_argument("--tiny", action="store_true", help="a tiny model (tests, smoke runs)")
    ap.add_argument("--init", default=None, help="start from a saved codec (a save_pretrained folder)")
    ap.add_argument("--decoder-only", action="store_true",
                    help="train the decoder of the --init codec alone; its codes stay exactly the same")
    ap.add_argument("--usage-window", type=int, default=100, help="batches over which code usage is checked")
    ap.add_argument("--usage-after", type=int, default=500, help="steps before the collapse check starts")
    ap.add_argument("--checkpoint-minutes", type=float, default=2.0)
    ap.add_argument("--resume", action="store_true", help=f"continue from OUT/{CHECKPOINT}")
    ap.add_argument("--keep-checkpoint", action="store_true", help=f"keep OUT/{CHECKPOINT} after a finished run")
    ap.add_argument("--workers", type=int, default=None, help="render / scoring processes (default: all cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args(argv)
    if args.init and args.tiny:
        ap.error("--init continues a saved codec with its own config: drop --tiny")
    if args.init and not (Path(args.init) / "config.json").is_file():
        ap.error(f"--init {args.init}: no saved codec there (config.json missing)")
    if args.decoder_only and not args.init:
        ap.error("--decoder-only trains the decoder of a saved codec: give it with --init")
    t_start = time.time()
    command = command_line("videopoet.training.train_audio_tokenizer", argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workers = args.workers or os.cpu_count() or 1

    from videopoet.world.dataset import _init_worker

    # Fork the render/scoring workers before CUDA starts (a forked CUDA context is unusable).
    pool = get_context("fork").Pool(workers, initializer=_init_worker)
    try:
        return _run(args, command, out, pool, t_start)
    finally:
        pool.terminate()
        pool.join()


def _run(args, command: str, out: Path, pool, t_start: float) -> dict:
    accelerator = make_accelerator(args.device)
    device = accelerator.device
    torch.manual_seed(args.seed)
    torch.backends.cudnn.benchmark = True

    if args.data:
        clips_np, data = load_clips(args.data), "world shards: " + ", ".join(args.data)
    else:
        seeds = np.random.default_rng(args.seed).integers(0, HELD_OUT_FIRST_SEED, args.render)
        clips_np, data = render_clips(pool, [int(s) for s in seeds]), "freshly rendered world clips"
    if not len(clips_np):
        raise SystemExit("no training clips")
    clips = torch.from_numpy(clips_np).to(device)

    checkpoint_path = out / CHECKPOINT
    if args.resume and not checkpoint_path.exists():
        raise SystemExit(f"--resume: no {checkpoint_path}")
    state = torch.load(checkpoint_path, map_location="cpu", weights_only=False) if args.resume else None
    if state:
        model = AudioTokenizer.from_config(state["config"])
    else:
        model = load_for_training(AudioTokenizer, args.init) if args.init else AudioTokenizer(**(TINY if args.tiny else {}))
    trained = start_training(model, args.decoder_only)
    opt = make_optimizer(trained, args.lr, args.weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    step, train_s = 0, 0.0
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        step, train_s = state["step"], state["train_s"]
    model, opt = accelerator.prepare(model, opt)
    raw = accelerator.unwrap_model(model)
    params = sum(p.numel() for p in raw.parameters())
    buffers = sum(b.numel() for b in raw.buffers())

    def save_checkpoint():
        partial = checkpoint_path.with_suffix(".tmp")
        torch.save({"config": dict(raw.config), "model": raw.state_dict(), "optimizer": opt.state_dict(),
                    "generator": generator.get_state(), "step": step, "train_s": train_s}, partial)
        partial.replace(checkpoint_path)  # a crash mid-write leaves the previous checkpoint whole

    budget = args.minutes * 60.0
    usage = CodeUsage(raw.config.num_quantizers, raw.config.codebook_size, device)
    nonfinite = torch.zeros((), dtype=torch.bool, device=device)
    log = open(out / "train_log.jsonl", "a" if state else "w")  # noqa: SIM115 (closed after the final line)
    what = (f"the decoder ({sum(p.numel() for p in trained):,} of {params:,} parameters)" if args.decoder_only
            else f"{params:,} parameters")
    print(f"training {what} on {device_name(device)} with {len(clips):,} clips for up to "
          f"{args.minutes} min" + (f" / {args.steps} steps" if args.steps else "")
          + (f", resuming at step {step}" if state else ""), flush=True)
    bar = tqdm(initial=step, total=args.steps, unit="step", dynamic_ncols=True, mininterval=1.0)
    t_resumed, t_saved, window = time.time(), time.time(), 0
    while True:
        elapsed = train_s + time.time() - t_resumed
        progress = max(elapsed / budget, step / args.steps if args.steps else 0.0)
        if progress >= 1.0:
            break
        lr = cosine_lr(progress, args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        audio = random_batch(clips, args.batch, generator)
        recon, codes, commit = model(audio)
        coded = raw.coded_samples
        spectral = stft_loss(audio[:, :coded], recon[:, :coded])
        wave = (audio[:, :coded] - recon[:, :coded].float()).abs().mean()
        loss = spectral + args.wave_weight * wave + commit
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        nonfinite |= ~torch.isfinite(loss.detach())
        usage.add(codes)
        step += 1
        window += 1
        bar.update(1)
        used = None
        if window >= args.usage_window:
            used = usage.take()
            if step >= args.usage_after:
                check_code_usage(used, step, window)
            window = 0
        if step % args.log_every == 0 or step == 1 or used is not None:
            check_finite(nonfinite, step)
            record = {"step": step, "time_s": round(train_s + time.time() - t_resumed, 1), "lr": round(lr, 7),
                      "loss": round(loss.item(), 4), "stft": round(spectral.item(), 4),
                      "wave_l1": round(wave.item(), 5), "commit": round(commit.item(), 5)}
            if used is not None:
                record["codes_used"] = [round(u, 3) for u in used]
            log.write(json.dumps(record) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{record['loss']:.3f}", stft=f"{record['stft']:.3f}")
        if time.time() - t_saved > args.checkpoint_minutes * 60:
            check_finite(nonfinite, step)  # never overwrite a good checkpoint with NaN weights
            train_s, t_resumed = train_s + time.time() - t_resumed, time.time()
            save_checkpoint()
            t_saved = time.time()
    bar.close()
    check_finite(nonfinite, step)
    train_s += time.time() - t_resumed
    save_checkpoint()
    print(f"trained {step} steps in {train_s:.0f} s", flush=True)

    # Save fp16, then score exactly what was saved.
    raw.eval().half().save_pretrained(out)
    tokenizer = AudioTokenizer.from_pretrained(out).to(device)
    held_seeds = list(range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + args.heldout))
    t_eval = time.time()
    heldout = evaluate(tokenizer, render_clips(pool, held_seeds), pool)
    weights = out / "diffusion_pytorch_model.safetensors"
    result = {
        "command": command, "device": device_name(device), "torch": torch.__version__,
        "wall_s": round(time.time() - t_start, 1), "train_s": round(train_s, 1),
        "eval_s": round(time.time() - t_eval, 1), "steps": step, "batch": args.batch, "lr": args.lr,
        "wave_weight": args.wave_weight, "init": args.init, "decoder_only": args.decoder_only,
        "train_clips": len(clips_np), "data": data, "params": params, "buffers": buffers,
        "file_bytes": weights.stat().st_size, "hop": tokenizer.hop, "frames": tokenizer.frames, "heldout": heldout,
    }
    log.write(json.dumps({"final": result}) + "\n")
    log.close()
    (out / "eval.json").write_text(json.dumps(result, indent=1))
    write_card(out, result, tokenizer)
    if not args.keep_checkpoint:
        checkpoint_path.unlink()
    print(json.dumps({"heldout": heldout, "wall_s": result["wall_s"], "params": params,
                      "file_mib": round(result["file_bytes"] / 2**20, 3)}), flush=True)
    return result


if __name__ == "__main__":
    main()
