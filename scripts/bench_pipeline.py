"""Seconds per text-to-video clip through the whole pipeline (LM sampling with guidance + decode).

    python scripts/bench_pipeline.py --device cpu --precisions int8 bf16
    python scripts/bench_pipeline.py --device cuda --precisions bf16 int8 --audio

Loads the shipped weights (or --weights) once per precision, runs one untimed warm-up clip, then
times --clips clips of 17 frames at 128x128 (224x128 with --portrait) with the default sampling settings (CFG 3, top-k 256).
Each clip is split into the LM's share and the video tokenizer's decode. Prints one JSON object.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

# Run as `python scripts/NAME.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet.pipeline import VideoPoetPipeline

PROMPTS = ("A fox walking in a forest.", "A red car driving on a road, snow falling.",
           "A cat jumping on a beach at sunset.")


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    value = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precisions", nargs="+", default=["int8", "bf16"], choices=["int8", "bf16", "fp32"])
    ap.add_argument("--clips", type=int, default=2)
    ap.add_argument("--audio", action="store_true", help="also generate the sound (a second LM pass)")
    ap.add_argument("--portrait", action="store_true", help="224x128 clips (7x4 more tokens than 128x128)")
    args = ap.parse_args()

    results = []
    for precision in args.precisions:
        pipe, load_s = timed(lambda: VideoPoetPipeline.from_pretrained(  # noqa: B023
            args.weights, precision=precision, device=args.device, use_interpreter=False))
        options = {"with_audio": args.audio, "portrait": args.portrait}
        pipe.text_to_video(PROMPTS[0], seed=0, **options)  # warm-up: allocator, kernels
        totals, decodes = [], []
        for i in range(args.clips):
            out, total = timed(lambda: pipe.text_to_video(PROMPTS[i % len(PROMPTS)], seed=i, **options))  # noqa: B023
            _, decode = timed(lambda: pipe.video_tokenizer.decode_frames(out.tokens["video"][None]))  # noqa: B023
            totals.append(total)
            decodes.append(decode)
        results.append({"precision": precision, "load_s": round(load_s, 2),
                        "seconds_per_clip": round(sum(totals) / len(totals), 2),
                        "decode_s": round(sum(decodes) / len(decodes), 2)})
    print(json.dumps({"device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "load_average": [round(x, 2) for x in os.getloadavg()], "audio": args.audio, "portrait": args.portrait,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
