"""Command line: `python -m videopoet generate "A raccoon dancing in Times Square" -o out.mp4`.

Every task of the pipeline is one `--task` of `generate`; bad input ends with one line on stderr
("error: ...", exit status 2), never a traceback. Subcommands live in SUBCOMMANDS (name -> a
function that adds its parser), so a new one is one entry there.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from videopoet import PRECISIONS
from videopoet.errors import VideoPoetError

TASKS = ("t2v", "t2i", "i2v", "stylize", "inpaint", "outpaint", "v2a", "a2v", "t2a", "extend")
NEEDS = {"i2v": "image", "stylize": "video", "inpaint": "video", "outpaint": "video", "v2a": "video",
         "extend": "video", "a2v": "audio"}
NEEDS_PROMPT = ("t2v", "t2i", "t2a", "stylize")
DEFAULT_OUT = {"t2i": "out.png", "t2a": "out.wav"}
VIDEO_OUT = ("t2v", "i2v", "stylize", "inpaint", "outpaint", "a2v", "extend")


def _add_generate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("generate", help="run one task and write the result",
                            description="Generate video, an image or sound with the VideoPoet language model.")
    p.add_argument("prompt", nargs="?", help="what to generate (optional for i2v, inpaint, outpaint, a2v, extend; "
                                             "not used by v2a)")
    p.add_argument("-o", "--out", help="output file: .mp4 (video, with sound), .png/.jpg (t2i), .wav (t2a); "
                                       "default out.mp4, out.png for t2i, out.wav for t2a")
    p.add_argument("--task", choices=TASKS, default="t2v", help="t2v text-to-video (default), t2i text-to-image, "
                   "i2v image-to-video, stylize, inpaint, outpaint, v2a video-to-audio, a2v audio-to-video, "
                   "t2a text-to-audio, extend a video")
    p.add_argument("--image", help="input image (i2v)")
    p.add_argument("--video", help="input video (stylize, inpaint, outpaint, v2a, extend)")
    p.add_argument("--audio", help="input sound (a2v)")
    p.add_argument("--mask", help="inpaint/outpaint region to generate: box, border, half, left, right, top, "
                                  "bottom, or a mask image (white = generate); default box / border")
    p.add_argument("--seconds", type=float, help="make the video this long by extending it second by second "
                                                 "(extend: default one second more)")
    p.add_argument("--seed", type=int, help="random seed (printed when not given)")
    p.add_argument("--portrait", action="store_true", help="224x128 portrait clips instead of 128x128")
    p.add_argument("--camera", help="camera move appended to the prompt, e.g. 'Zoom out', 'Pan left', "
                                    "'FPV drone shot'")
    p.add_argument("--no-audio", action="store_true", help="skip generating sound for video tasks")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=256)
    p.add_argument("--top-p", type=float)
    p.add_argument("--cfg-scale", type=float, default=3.0, help="classifier-free guidance (1 = off)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="the language model's int8 checkpoint kept 8-bit, dequantized to bf16, or fp32 "
                        "(default: int8 on a CPU, bf16 on a GPU: the fastest of each)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--weights", default="weights", help="folder with model_index.json (default: weights)")
    p.add_argument("--no-interpreter", action="store_true", help="send the prompt to the model as typed")
    p.set_defaults(run=run_generate)


# name -> adds the subcommand's parser (with set_defaults(run=...)) to the subparsers
def _add_storyboard(commands: argparse._SubParsersAction) -> None:
    from videopoet.storyboard import add_storyboard_command

    add_storyboard_command(commands)


SUBCOMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {"generate": _add_generate,
                                                                         "storyboard": _add_storyboard}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m videopoet",
                                     description="VideoPoet: video and audio from one language model.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS.values():
        add(commands)
    return parser


def _check_args(args: argparse.Namespace) -> Path:
    """Everything that can be checked before the (slow) model load."""
    need = NEEDS.get(args.task)
    if need and not getattr(args, need):
        raise VideoPoetError(f"--task {args.task} needs --{need} FILE")
    for name in ("image", "video", "audio"):
        if getattr(args, name) and name != need and not (args.task == "extend" and name == "audio"):
            raise VideoPoetError(f"--{name} is not used by --task {args.task}")
    if args.task in NEEDS_PROMPT and not (args.prompt or "").strip():
        raise VideoPoetError(f"--task {args.task} needs a prompt, e.g. "
                             f"python -m videopoet generate \"A raccoon dancing in Times Square\"")
    if args.task == "v2a" and args.prompt:
        raise VideoPoetError("--task v2a takes no prompt (the video decides the sound)")
    if args.mask and args.task not in ("inpaint", "outpaint"):
        raise VideoPoetError(f"--mask is for inpaint and outpaint, not {args.task}")
    if args.seconds is not None:
        if args.task not in VIDEO_OUT:
            raise VideoPoetError(f"--seconds is for video tasks ({', '.join(VIDEO_OUT)}), not {args.task}")
        if not 0 < args.seconds <= 300:
            raise VideoPoetError(f"--seconds must be in (0, 300], got {args.seconds}")
    out = Path(args.out or DEFAULT_OUT.get(args.task, "out.mp4"))
    from videopoet.media import OUTPUT_EXTENSIONS

    ext = out.suffix.lower()
    if ext not in OUTPUT_EXTENSIONS:
        raise VideoPoetError(f"{out.name}: write one of {', '.join(OUTPUT_EXTENSIONS)}")
    if args.task == "t2a" and ext != ".wav":
        raise VideoPoetError(f"{out.name}: t2a makes sound only; write a .wav file")
    if args.task != "t2a" and ext == ".wav" and args.no_audio:
        raise VideoPoetError(f"{out.name}: --no-audio leaves no sound to write")
    return out


def _progress_bar(desc: str):
    """A tqdm bar driven by the pipeline's (done, total) token callback."""
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="tok", dynamic_ncols=True, leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    return bar, update


def _mask(args: argparse.Namespace):
    if not args.mask:
        return "box" if args.task == "inpaint" else "border"
    if Path(args.mask).suffix:
        from videopoet import media

        return media.read_image(args.mask, size=None)
    return args.mask


def run_generate(args: argparse.Namespace) -> int:
    out_path = _check_args(args)
    from videopoet.pipeline import FPS, SAMPLE_RATE, VideoPoetPipeline

    pipe = VideoPoetPipeline.from_pretrained(args.weights, precision=args.precision, device=args.device,
                                             use_interpreter=not args.no_interpreter)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    portrait = True if args.portrait else None
    common = dict(seed=seed, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    guided = dict(common, cfg_scale=args.cfg_scale)
    with_audio = not args.no_audio
    prompt = args.prompt
    source = None  # the given video, kept at the start of an extended result

    bar, progress = _progress_bar(args.task)
    try:
        if args.task == "t2v":
            result = pipe.text_to_video(prompt, portrait=bool(args.portrait), camera=args.camera,
                                        with_audio=with_audio, progress=progress, **guided)
        elif args.task == "t2i":
            result = pipe.text_to_image(prompt, portrait=bool(args.portrait), progress=progress, **guided)
        elif args.task == "i2v":
            result = pipe.image_to_video(args.image, prompt, portrait=portrait, camera=args.camera,
                                         with_audio=with_audio, progress=progress, **guided)
        elif args.task == "stylize":
            result = pipe.stylize(prompt, args.video, portrait=portrait, with_audio=with_audio,
                                  progress=progress, **guided)
        elif args.task in ("inpaint", "outpaint"):
            method = pipe.inpaint if args.task == "inpaint" else pipe.outpaint
            result = method(args.video, _mask(args), prompt, portrait=portrait, with_audio=with_audio,
                            progress=progress, **guided)
        elif args.task == "v2a":
            result = pipe.video_to_audio(args.video, portrait=portrait, progress=progress, **common)
        elif args.task == "a2v":
            result = pipe.audio_to_video(args.audio, prompt, portrait=bool(args.portrait), camera=args.camera,
                                         progress=progress, **guided)
        elif args.task == "t2a":
            result = pipe.text_to_audio(prompt, progress=progress, **guided)
        else:  # extend
            source = pipe.read_video(args.video, portrait)
            if args.seconds is not None and args.seconds <= source.duration:
                raise VideoPoetError(f"--seconds {args.seconds:g} is not longer than the video "
                                     f"({source.duration:.2f} s)")
            seconds = args.seconds if args.seconds is not None else source.duration + 1
            result = pipe.extend(source, prompt, num_seconds=_more_seconds(seconds, source.duration),
                                 audio=args.audio, portrait=portrait, camera=args.camera, with_audio=with_audio,
                                 progress=progress, **guided)
    finally:
        bar.close()
    _report(result)

    frames, audio = result.frames, result.audio
    if source is not None:
        frames = np.concatenate([source.frames, frames])
        if audio is not None:
            given = source.audio if source.audio is not None else np.zeros(0, np.float32)
            from videopoet.media import fit_audio

            audio = np.concatenate([fit_audio(given, round(len(source.frames) * SAMPLE_RATE / FPS)), audio])
    elif args.seconds is not None and args.seconds > result.duration + 1e-9:
        bar, progress = _progress_bar("extend")
        try:
            more = pipe.extend(result, prompt, num_seconds=_more_seconds(args.seconds, result.duration),
                               camera=args.camera,
                               with_audio=with_audio and audio is not None, progress=progress, **guided)
        finally:
            bar.close()
        _report(more, prompt_shown=True)
        frames = np.concatenate([frames, more.frames])
        audio = None if audio is None or more.audio is None else np.concatenate([audio, more.audio])
    if args.seconds is not None and len(frames) > round(args.seconds * FPS):
        # Video grows a second at a time; the last one is cut to the length asked for.
        frames = frames[:round(args.seconds * FPS)]
        audio = None if audio is None else audio[:round(len(frames) * SAMPLE_RATE / FPS)]

    from videopoet.media import write_output

    write_output(out_path, frames, audio, fps=result.fps, sample_rate=result.sample_rate)
    what = []
    if frames is not None:
        what.append(f"{len(frames)} frame{'s' * (len(frames) != 1)} {frames.shape[2]}x{frames.shape[1]}")
    if audio is not None and out_path.suffix.lower() in (".mp4", ".wav"):
        what.append(f"{len(audio) / result.sample_rate:.3f} s of sound")
    print(f"wrote {out_path} ({', '.join(what)}; seed {seed})")
    return 0


def _more_seconds(target: float, have: float) -> int:
    """Whole one-second extension steps that bring `have` seconds to at least `target`."""
    return max(1, math.ceil(target - have - 1e-9))


def _report(result, prompt_shown: bool = False) -> None:
    if not prompt_shown:
        if result.interpreted_as:
            print(result.interpreted_as, file=sys.stderr)
        if result.prompt:
            print(f"caption: {result.prompt}", file=sys.stderr)
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except VideoPoetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
