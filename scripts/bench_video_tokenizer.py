"""Where a video-tokenizer training step spends its time: encoder, quantizer loss, decoder.

    python scripts/bench_video_tokenizer.py --device cuda --batch 16
    python scripts/bench_video_tokenizer.py --device cpu --batch 2 --steps 2

Prints one JSON line: seconds per step for each part (forward + backward) and steps/s of the whole
step as the training script runs it (bf16 autocast on CUDA).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

# Run as `python scripts/NAME.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet.tokenizers.video import VideoTokenizer


def timed(fn, device, steps):
    fn()  # warm-up: kernel selection
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    model = VideoTokenizer().to(device).train()
    clips = torch.rand(args.batch, 3, 17, 128, 128, device=device) * 2 - 1
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def encoder():
        with autocast:
            model.encoder(clips).float().square().mean().backward()

    latent = model.encoder(clips).detach().float()

    def quantizer_loss():
        leaf = latent.clone().requires_grad_()
        flat = leaf.movedim(1, -1).reshape(-1, leaf.shape[1])
        flat = flat[torch.randperm(len(flat), device=device)[: model.config.loss_tokens]]
        model.quantizer(flat[None])[2].backward()

    codes = torch.where(latent > 0, 1.0, -1.0)

    def decoder():
        with autocast:
            model.decoder(codes).float().square().mean().backward()

    def whole_step():
        with autocast:
            recon, _, aux = model(clips)
            ((recon.float() - clips).abs().mean() + aux).backward()

    result = {"device": str(device), "batch": args.batch,
              "encoder_s": timed(encoder, device, args.steps), "quantizer_loss_s": timed(quantizer_loss, device, args.steps),
              "decoder_s": timed(decoder, device, args.steps), "step_s": timed(whole_step, device, args.steps)}
    result["steps_per_s"] = 1.0 / result["step_s"]
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
