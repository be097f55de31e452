"""How far mature codecs get at the video tokenizer's bit budget: context for its PSNR bars.

    python scripts/codec_reference.py --n 32 --bits 14

A tokenizer with 2^bits codes spends `bits` per token: a 17-frame H x W clip is 5 x H/8 x W/8
tokens, an image H/8 x W/8. This script codes the held-out items that `videopoet.eval tokenizers`
scores (world clips, their middle frames as images, and the held-out real clips where this machine
has them) in no more bytes than that: clips with x264 (the lowest CRF whose raw H.264 stream fits,
x264's settings SEI left out), images with WebP (the highest quality that fits, container included)
and with x264 as one intra frame. It prints one JSON line: mean PSNR per codec, scored like the
tokenizer evaluation, and the share of the budget used. Items that no setting fits count as
`unfit` and are left out of the mean.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import ffmpeg
import imageio_ffmpeg
import numpy as np

# Run as `python scripts/NAME.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet.eval.metrics import psnr
from videopoet.eval.tokenizers import heldout_set
from videopoet.media import FPS
from videopoet.tokenizers.video import SPATIAL_FACTOR, TEMPORAL_FACTOR


def budget_bytes(frames: int, height: int, width: int, bits: int) -> int:
    latent_frames = 1 + (frames - 1) // TEMPORAL_FACTOR
    return latent_frames * (height // SPATIAL_FACTOR) * (width // SPATIAL_FACTOR) * bits // 8


def x264(frames: np.ndarray, crf: int) -> bytes:
    _, h, w, _ = frames.shape
    stream = (ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=FPS)
              .output("pipe:", vcodec="libx264", crf=crf, preset="veryslow", pix_fmt="yuv420p", f="h264",
                      **{"bsf:v": "filter_units=remove_types=6"})  # SEI: x264's options as text
              .global_args("-hide_banner", "-nostdin", "-loglevel", "error"))
    out, _ = stream.run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), input=np.ascontiguousarray(frames).tobytes(),
                        capture_stdout=True)
    return out


def x264_decode(data: bytes, shape: tuple) -> np.ndarray:
    t, h, w, _ = shape
    stream = (ffmpeg.input("pipe:", format="h264")
              .output("pipe:", format="rawvideo", pix_fmt="rgb24")
              .global_args("-hide_banner", "-nostdin", "-loglevel", "error"))
    out, _ = stream.run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), input=data, capture_stdout=True)
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)[:t]


def webp(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".webp", image[..., ::-1], [cv2.IMWRITE_WEBP_QUALITY, quality])
    if not ok:
        raise RuntimeError("this OpenCV cannot encode WebP")
    return data.tobytes()


def webp_decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def best_fit(encode, settings: list[int], budget: int) -> bytes | None:
    """The encoding of the best setting (settings ordered best first, sizes falling) within budget,
    found by bisection."""
    lo, hi, found = 0, len(settings) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        data = encode(settings[mid])
        if len(data) <= budget:
            found, hi = data, mid - 1
        else:
            lo = mid + 1
    return found


def score(items: list[np.ndarray], bits: int, encode, decode, settings: list[int]) -> dict:
    scores, sizes, unfit = [], [], 0
    for item in items:
        budget = budget_bytes(*item.shape[:3], bits)
        data = best_fit(lambda s: encode(item, s), settings, budget)
        if data is None:
            unfit += 1
            continue
        scores.append(psnr(item, decode(data, item.shape)))
        sizes.append(len(data) / budget)
    return {"psnr": round(float(np.mean(scores)), 2) if scores else None,
            "bytes_of_budget": round(float(np.mean(sizes)), 3) if sizes else None, "unfit": unfit}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=32, help="held-out world clips (as `videopoet.eval tokenizers --n`)")
    ap.add_argument("--bits", type=int, default=14, help="bits per token (log2 of the codebook size)")
    args = ap.parse_args()

    t0 = time.time()
    held_out = heldout_set(args.n)
    clips = held_out["world"]
    images = [clip[len(clip) // 2][None] for clip in clips]  # the tokenizer eval's images: middle frames
    crfs = list(range(0, 52))
    result = {
        "n": len(clips), "bits": args.bits,
        "budget_bytes": sorted({budget_bytes(*c.shape[:3], args.bits) for c in clips}),
        "video_x264": score(clips, args.bits, x264, x264_decode, crfs),
        "video_x264_real": score(held_out["real"], args.bits, x264, x264_decode, crfs),
        "image_webp": score(images, args.bits, lambda im, q: webp(im[0], q), lambda d, s: webp_decode(d)[None],
                            list(range(100, 0, -1))),
        "image_x264_intra": score(images, args.bits, x264, x264_decode, crfs),
    }
    result["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
