"""Seconds for a storyboard movie, split into its stages: loading the pipeline, writing the story,
generating the scenes (LM + decode, with sound unless --no-audio; make_movie samples up to four
scenes per call, and call_s times each call) and stitching with ffmpeg.

    python scripts/bench_storyboard.py --device cpu
    python scripts/bench_storyboard.py --device cuda --precision bf16 --no-interpreter

The defaults are the storyboard command of the README (`python -m videopoet storyboard --premise
"a fox who finds a lost balloon" --scenes 4`). A machine without an ffmpeg binary (GPU images often
lack one) still reports every stage before the stitch; stitch_s is then null with the reason.
--no-interpreter runs where the MiniLM package is not installed: scene prompts go to the model as
written. Without MiniLM the writer cannot read the premise and casts its own hero, so to time the
same movie there, write the storyboard where MiniLM is installed and pass the file:

    python -m videopoet storyboard --premise "a fox who finds a lost balloon" --dry-run > story.txt
    python scripts/bench_storyboard.py --device cuda --no-interpreter --storyboard story.txt

Prints one JSON object.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()  # before torch and the package are imported: the CLI pays for that too

import torch

# Run as `python scripts/NAME.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet import PRECISIONS, default_precision
from videopoet.pipeline import VideoPoetPipeline
from videopoet.storyboard import make_movie, parse_storyboard, write_story


def synchronized_clock(device: str):
    def now() -> float:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter()

    return now


def main():
    ap = argparse.ArgumentParser()
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--premise", default="a fox who finds a lost balloon", help="write a story about this")
    source.add_argument("--storyboard", help="a storyboard file instead (one scene prompt per line)")
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precision", choices=PRECISIONS, help="default: int8 on a CPU, bf16 on a GPU")
    ap.add_argument("--no-audio", action="store_true", help="silent movie")
    ap.add_argument("--no-interpreter", action="store_true", help="send scene prompts to the model as written")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.precision = args.precision or default_precision(args.device)
    if args.storyboard and not Path(args.storyboard).is_file():
        ap.error(f"{args.storyboard}: no such storyboard file")
    now = synchronized_clock(args.device)

    start = now()
    pipe = VideoPoetPipeline.from_pretrained(args.weights, precision=args.precision, device=args.device,
                                             use_interpreter=not args.no_interpreter)
    loaded = now()
    if args.storyboard:
        story = parse_storyboard(Path(args.storyboard).read_text(encoding="utf-8"))
    else:
        story = write_story(args.premise, args.scenes, seed=args.seed)
    written = now()
    # make_movie reports each scene's start and then "stitching": those calls are the stage boundaries.
    marks = []

    def progress(fraction: float, desc: str = "") -> None:
        if not marks or marks[-1][0] != desc:
            marks.append((desc, now()))

    stitch_s, stitch_error, movie_seconds = None, None, None
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch, "movie.mp4")
        try:
            make_movie(pipe, story, out, seed=args.seed, progress=progress, with_audio=not args.no_audio)
            finished = now()
            stitch_s = round(finished - dict(marks)["stitching"], 2)
            from videopoet.media import probe

            movie_seconds = probe(out)["duration"]
        except Exception as e:  # noqa: BLE001 (no ffmpeg: ImportError, RuntimeError or OSError, by how it is missing)
            if "stitching" not in dict(marks):
                raise
            finished = now()
            stitch_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    times = [t for _, t in marks]
    # One entry per generating call: "scenes 1-4/4" when make_movie batches them.
    call_s = {desc: round(b - a, 2) for (desc, a), b in zip(marks, times[1:])}
    generate_s = round(times[-1] - times[0], 2)
    print(json.dumps({
        "device": args.device, "precision": args.precision, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "scenes": len(story.scenes), "audio": not args.no_audio, "interpreter": not args.no_interpreter,
        "import_s": round(start - STARTED, 2), "load_s": round(loaded - start, 2), "story_s": round(written - loaded, 2),
        "generate_s": generate_s, "call_s": call_s, "stitch_s": stitch_s, "stitch_error": stitch_error,
        "total_s": round(finished - STARTED, 2),
        "movie_seconds": movie_seconds, "prompts": [s.prompt for s in story.scenes]}, indent=1))


if __name__ == "__main__":
    main()
