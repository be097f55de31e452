"""How well the shipped tokenizers reconstruct held-out data.

    python -m videopoet.eval tokenizers --n 16 --json                 # CPU, a small held-out set
    python -m videopoet.eval tokenizers --n 256 --device cuda --json  # the full set

Held-out data: world clips with seeds from HELD_OUT_FIRST_SEED (square and portrait alternating),
and the real photos (as Ken Burns clips) and video crops whose files are held out by name
(videopoet/world/DATA_CARD.md). Images are single frames encoded alone: the middle frame of each
world clip and the first frame of each real clip.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from videopoet.errors import VideoPoetError
from videopoet.eval.judge import HELD_OUT_FIRST_SEED
from videopoet.eval.metrics import log_mel_l1, onset_f1, psnr, ssim
from videopoet.world.dataset import worker_pool
from videopoet.world.render import SIZES

SEED_OFFSET = 200_000  # tokenizer items sit apart from the judge's and the benchmark's held-out seeds


def _render_world(seed_size: tuple[int, tuple[int, int]]):
    from videopoet.world.render import render

    sample = render(*seed_size)
    return sample.video, sample.audio


def _render_real(args: tuple[int, int, tuple[int, int]]):
    from videopoet.world.real import ken_burns, split, video_crop

    index, seed, size = args
    photos, videos = split("photo", held_out=True), split("video", held_out=True)
    if (index % 3 == 2 and videos) or not photos:
        return video_crop(videos[index // 3 % len(videos)], seed, size).video
    return ken_burns(photos[index % len(photos)], seed, size).video


def heldout_set(n: int, workers: int | None = None) -> dict:
    """n world clips (+ audio) and n // 2 real clips, all held out, deterministic."""
    first = HELD_OUT_FIRST_SEED + SEED_OFFSET
    world_jobs = [(first + i, SIZES[i % 2]) for i in range(n)]
    from videopoet.world.real import split

    has_real = bool(split("photo", held_out=True) or split("video", held_out=True))
    # A training machine given only the exported training split has no held-out real files.
    real_jobs = [(i, first + i, SIZES[i % 2]) for i in range(max(1, n // 2))] if has_real else []
    with worker_pool(min(workers or os.cpu_count() or 1, len(world_jobs))) as pool:
        run = pool.map if pool is not None else lambda fn, jobs: [fn(j) for j in jobs]
        world = run(_render_world, world_jobs)
        real = run(_render_real, real_jobs)
    return {"world": [w[0] for w in world], "audio": [w[1] for w in world], "real": real}


def _round_trip(model, clips: list[np.ndarray], batch: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Encode and decode clips (batched by shape); returns reconstructions and tokens in input order."""
    recon: list = [None] * len(clips)
    tokens: list = [None] * len(clips)
    by_shape: dict[tuple, list[int]] = {}
    for i, clip in enumerate(clips):
        by_shape.setdefault(clip.shape, []).append(i)
    for indices in by_shape.values():
        for j in range(0, len(indices), batch):
            part = indices[j:j + batch]
            t = model.encode_frames(np.stack([clips[i] for i in part]))
            r = model.decode_frames(t)
            for k, i in enumerate(part):
                recon[i], tokens[i] = r[k], t[k]
    return recon, tokens


def cpu_seconds_per_clip(model, repeats: int = 3) -> float:
    """Median wall time of encode + decode of one 17x128x128 clip on the CPU (fp32, every thread)."""
    cpu = model if model.device.type == "cpu" and model.dtype == torch.float32 else _cpu_copy(model)
    clip = np.random.default_rng(0).integers(0, 256, (17, 128, 128, 3), dtype=np.uint8)
    cpu.decode_frames(cpu.encode_frames(clip))  # warm-up: first calls pick kernels
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        cpu.decode_frames(cpu.encode_frames(clip))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _cpu_copy(model):
    copy = type(model).from_config(model.config)
    copy.load_state_dict({k: v.float().cpu() for k, v in model.state_dict().items()})
    return copy.eval()


def gpu_clips_per_s(model, batch: int = 16, repeats: int = 5) -> float:
    """Encode + decode throughput of 17x128x128 clips on the model's (CUDA) device."""
    clips = np.random.default_rng(0).integers(0, 256, (batch, 17, 128, 128, 3), dtype=np.uint8)
    model.decode_frames(model.encode_frames(clips))
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(repeats):
        model.decode_frames(model.encode_frames(clips))
    torch.cuda.synchronize()
    return batch * repeats / (time.perf_counter() - t)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def evaluate_video_tokenizer(model, n: int = 16, device: str | torch.device = "cpu", data: dict | None = None,
                             batch: int = 16) -> dict:
    """Held-out reconstruction figures of a VideoTokenizer (see the module docstring)."""
    data = data or heldout_set(n)
    model = model.to(device).eval()
    world_rec, world_tok = _round_trip(model, data["world"], batch)
    real_rec, real_tok = _round_trip(model, data["real"], batch)
    world_images = [c[len(c) // 2][None] for c in data["world"]]
    real_images = [c[:1] for c in data["real"]]
    world_img_rec, _ = _round_trip(model, world_images, 4 * batch)
    real_img_rec, _ = _round_trip(model, real_images, 4 * batch)
    used = np.unique(np.concatenate([t.ravel() for t in world_tok + real_tok]))
    image_world = [psnr(a, b) for a, b in zip(world_images, world_img_rec)]
    image_real = [psnr(a, b) for a, b in zip(real_images, real_img_rec)]
    figures = {
        "video_psnr_world": _mean([psnr(a, b) for a, b in zip(data["world"], world_rec)]),
        "video_ssim_world": _mean([ssim(a, b) for a, b in zip(data["world"], world_rec)]),
        "video_psnr_real": _mean([psnr(a, b) for a, b in zip(data["real"], real_rec)]),
        "image_psnr": _mean(image_world + image_real),
        "image_psnr_world": _mean(image_world),
        "image_psnr_real": _mean(image_real),
        "code_usage": len(used) / model.codebook_size,
        "tokens_scored": int(sum(t.size for t in world_tok + real_tok)),
        "cpu_seconds_per_clip": cpu_seconds_per_clip(model),
        "n_world": len(data["world"]), "n_real": len(data["real"]),
    }
    if torch.device(device).type == "cuda":
        figures["gpu_clips_per_s"] = gpu_clips_per_s(model)
    return figures


def _score_audio_clip(pair: tuple[np.ndarray, np.ndarray]) -> tuple[float, float, float]:
    reference, reconstruction = pair
    reference = reference.astype(np.float32)
    return (log_mel_l1(reference, reconstruction), log_mel_l1(reference, np.zeros_like(reference)),
            onset_f1(reference, reconstruction))


def score_audio(reference: np.ndarray, reconstruction: np.ndarray, pool=None) -> dict:
    """Log-mel L1 (and the same for silence, as a baseline) and onset F1, averaged over clips;
    `pool` (a multiprocessing pool) spreads the onset detection over processes."""
    pairs = list(zip(reference, reconstruction))
    scores = np.array(pool.map(_score_audio_clip, pairs, chunksize=4) if pool is not None
                      else [_score_audio_clip(p) for p in pairs])
    return {"audio_mel_l1": float(scores[:, 0].mean()), "silence_mel_l1": float(scores[:, 1].mean()),
            "audio_onset_f1": float(scores[:, 2].mean())}


def evaluate_audio_tokenizer(model, n: int = 16, device: str | torch.device = "cpu", data: dict | None = None,
                             batch: int = 32) -> dict:
    """Held-out figures of an AudioTokenizer: log-mel L1 (and a silence baseline) and onset F1."""
    data = data or heldout_set(n)
    model = model.to(device).eval()
    audio = np.stack(data["audio"]).astype(np.float32)
    recon = np.concatenate([model.decode_audio(model.encode_audio(audio[i:i + batch]))
                            for i in range(0, len(audio), batch)])
    return {**score_audio(audio, recon), "n_audio": len(audio)}


def evaluate(weights: str | os.PathLike = "weights", n: int = 16, device: str = "cpu") -> dict:
    """Both shipped tokenizers on one held-out set: the figures `python -m videopoet.eval tokenizers` prints."""
    from videopoet.tokenizers.audio import AudioTokenizer
    from videopoet.tokenizers.video import VideoTokenizer

    if n < 1:
        raise VideoPoetError(f"--n must be at least 1, got {n}")
    folders = {name: Path(weights) / name for name in ("video_tokenizer", "audio_tokenizer")}
    for name, folder in folders.items():
        if not (folder / "config.json").exists():
            raise VideoPoetError(f"no {name} weights in {folder}: train them (see weights/README.md)")
    data = heldout_set(n)
    video = VideoTokenizer.from_pretrained(folders["video_tokenizer"])
    audio = AudioTokenizer.from_pretrained(folders["audio_tokenizer"])
    return {**evaluate_video_tokenizer(video, n, device, data), **evaluate_audio_tokenizer(audio, n, device, data),
            "device": str(device)}


def write_video_card(out: Path, result: dict) -> None:
    """README.md model card of a trained video tokenizer, from its training result."""
    weights = sorted(Path(out).glob("*.safetensors"))
    size_mib = sum(w.stat().st_size for w in weights) / 2**20
    config = result["config"]
    shown = {k: ("n/a" if v is None else f"{v:.3f}" if "ssim" in k else f"{v:.2f}")
             for k, v in result.items() if k.startswith(("video_", "image_"))}
    stage = (f" This run trained the decoder of `{result['init']}` alone, its encoder and quantizer frozen, "
             "so it makes exactly that tokenizer's tokens." if result.get("decoder_only") else "")
    text = f"""# Video tokenizer (MAGVIT-v2-style, causal 3D CNN + LFQ)

17 frames x H x W (128x128 or 224x128) -> 5 x H/8 x W/8 tokens in [0, 2^{config['codebook_bits']}); an image is
a 1-frame video and encodes to the first latent frame. {result['params']:,} parameters, fp16 safetensors
({size_mib:.2f} MiB). Architecture and losses: `videopoet/tokenizers/video.py`,
`videopoet/training/train_video_tokenizer.py`.

## Reproduce from scratch

```
bash scripts/train_tokenizers.sh /tmp/run /tmp/pool video
```

which renders the pool (8000 square + 4000 portrait world clips, 1600 + 1000 real clips) and runs

```
{result['command']}
```

Trained on {result['device']} (torch {result['torch']}): {result['steps']} steps of {result['batch']} clips
(+ {4 * result['batch']} single frames) in {result['train_s'] / 60:.1f} min of wall time; {result['wall_s'] / 60:.1f} min in all
including loading the pool and the held-out evaluation.{stage}

## Held-out figures (`videopoet.eval.tokenizers`, {result['n_world']} world clips, {result['n_real']} real clips)

| figure | value | target |
|---|---|---|
| video PSNR, world clips | {shown['video_psnr_world']} dB | >= 28 |
| video SSIM, world clips | {shown['video_ssim_world']} | >= 0.85 |
| video PSNR, real clips | {shown['video_psnr_real']} dB | >= 24 |
| image PSNR (world {shown['image_psnr_world']}, real {shown['image_psnr_real']}) | {shown['image_psnr']} dB | >= 28 |
| code usage ({result['tokens_scored']:,} tokens) | {result['code_usage']:.1%} | >= 30% |
| encode + decode, one 17x128x128 clip, CPU of the training machine | {result['cpu_seconds_per_clip']:.2f} s | |
"""
    if "gpu_clips_per_s" in result:
        text += f"| encode + decode throughput on the GPU (batch 16, fp32) | {result['gpu_clips_per_s']:.1f} clips/s | |\n"
    Path(out, "README.md").write_text(text)


def main(args) -> int:
    """`python -m videopoet.eval tokenizers` (args: n, device, json, weights)."""
    figures = evaluate(getattr(args, "weights", "weights"), args.n, getattr(args, "device", "cpu"))
    if getattr(args, "json", False):
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24s} {value:.4f}" if isinstance(value, float) else f"{key:24s} {value}")
    return 0
