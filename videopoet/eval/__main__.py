"""python -m videopoet.eval COMMAND — the benchmark, the judge's own accuracy, the tokenizers.

    bench --task T|all --n N [--json] [--report DIR]   metrics per generator on held-out items
          [--generators ground_truth,tokenized_ground_truth,first_frame,random_tokens,independent_ground_truth,lm]
          [--judge weights/judge] [--seed S] [--workers W] [--weights weights] [--precision bf16|int8|fp32]
          [--sampling cfg_scale=5,temperature=1.1,top_k=256,top_p=none]   lm's sampling settings
    judge [--json] [--n N] [--weights weights/judge]   the judge's held-out accuracy per head
    tokenizers [--n N] [--device D] [--json] [--weights weights]   tokenizer reconstruction

Problems a person can fix (an unknown task, n < 1, missing weights) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from videopoet import PRECISIONS
from videopoet.errors import VideoPoetError


class _Parser(argparse.ArgumentParser):
    """argparse's errors in the form of ours: one line, exit code 2."""

    def error(self, message: str):
        raise VideoPoetError(message)


def _strict_json(value):
    """JSON has no inf or NaN: inf (an exact reconstruction, silence's onset offset) is written
    "inf", NaN (nothing to measure) null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    return value


def judge_folder(path: str, flag: str) -> Path:
    """The judge's folder, or a one-line error naming the missing one."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise VideoPoetError(f"{path} not found: train the judge with "
                             f"`python -m videopoet.training.train_judge --out {path}`, or pass {flag} DIR")
    return folder


def load_judge(path: str, flag: str):
    import torch

    from videopoet.eval.judge import WorldJudge

    return WorldJudge.from_pretrained(judge_folder(path, flag), torch_dtype=torch.float32).eval()


def parse_sampling(text: str | None) -> dict:
    """'cfg_scale=5,top_k=none' -> {"cfg_scale": 5.0, "top_k": None} (VideoPoetError naming a bad part)."""
    from videopoet.eval.bench import SAMPLING

    out: dict = {}
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or key not in SAMPLING:
            raise VideoPoetError(f"--sampling: {part!r} is not one of {', '.join(f'{k}=VALUE' for k in SAMPLING)}")
        try:
            out[key] = None if value.lower() == "none" and key in ("top_k", "top_p") else SAMPLING[key](value)
        except ValueError:
            raise VideoPoetError(f"--sampling: {key} takes a number, got {value!r}") from None
    return out


def cmd_bench(args) -> None:
    from videopoet.eval.bench import (
        TASKS,
        builtin_generators,
        item_seeds,
        run_bench,
        write_report,
    )
    from videopoet.world.dataset import worker_pool

    tasks = list(TASKS) if args.task == "all" else [args.task]
    for task in tasks:
        item_seeds(task, args.n, args.seed)  # bad input fails here, before anything slow starts
    judge_folder(args.judge, "--judge")
    generators = builtin_generators([g.strip() for g in args.generators.split(",") if g.strip()],
                                    weights=args.weights, precision=args.precision,
                                    sampling=parse_sampling(args.sampling))
    if not generators:
        raise VideoPoetError("--generators names no generator")
    examples: list[dict] | None = [] if args.report else None
    results = {}
    # One pool for every task, made before the judge loads: workers never need torch.
    with worker_pool(args.workers) as pool:
        judge = load_judge(args.judge, "--judge")
        for task in tasks:
            start = time.perf_counter()
            results[task] = run_bench(task, args.n, generators, judge, workers=args.workers, pool=pool,
                                      first_seed=args.seed, examples=examples)
            print(f"{task}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.report:
        report, sheet = write_report(results, examples, args.report)
        print(f"wrote {report} and {sheet}", file=sys.stderr)
    if args.json:
        print(json.dumps(_strict_json(results if args.task == "all" else results[args.task]), allow_nan=False))
    elif not args.report:
        from videopoet.eval.bench import markdown_report

        print(markdown_report(results))


def cmd_judge(args) -> None:
    from videopoet.eval.judge import evaluate_heldout
    from videopoet.world.dataset import worker_pool

    if args.n < 1:
        raise VideoPoetError(f"n must be at least 1, not {args.n}")
    judge_folder(args.weights, "--weights")
    with worker_pool(args.workers) as pool:
        result = evaluate_heldout(load_judge(args.weights, "--weights"), n=args.n, workers=1, pool=pool)
    if args.json:
        print(json.dumps(_strict_json(result), allow_nan=False))
        return
    for key, value in result.items():
        if not isinstance(value, dict):
            print(f"{key:22s} {value:.4g}" if isinstance(value, float) else f"{key:22s} {value}")


def cmd_tokenizers(args) -> None:
    from videopoet.eval import tokenizers

    tokenizers.main(args)


def main(argv=None) -> int:
    from videopoet.eval.judge import HELD_OUT_FIRST_SEED

    parser = _Parser(prog="python -m videopoet.eval", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("bench", help="metrics per generator on the held-out items of a task")
    p.add_argument("--task", required=True, help="a task name, or all")
    p.add_argument("--n", type=int, default=16, help="items per task")
    p.add_argument("--json", action="store_true", help="print one JSON object (for all: {task: result})")
    p.add_argument("--report", metavar="DIR", help="write DIR/report.md and DIR/contact_sheet.png")
    p.add_argument("--generators", default="ground_truth,first_frame,random_tokens,independent_ground_truth",
                   help="comma-separated, of: ground_truth, tokenized_ground_truth (the ground truth encoded and "
                        "decoded by the tokenizers), first_frame, random_tokens, independent_ground_truth, lm")
    p.add_argument("--judge", default="weights/judge", help="the judge's folder")
    p.add_argument("--seed", type=int, default=HELD_OUT_FIRST_SEED, help="first seed of the held-out range")
    p.add_argument("--workers", type=int, help="render and metric processes (default: every core)")
    p.add_argument("--weights", default="weights",
                   help="the weights folder lm loads (and random_tokens' and tokenized_ground_truth's tokenizers)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="how lm loads its int8 checkpoint (default: int8 on a CPU, bf16 on a GPU: the fastest of each)")
    p.add_argument("--sampling", metavar="KEY=VALUE,...",
                   help="lm's sampling in place of the pipeline's defaults: temperature, top_k, top_p, cfg_scale")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("judge", help="the judge's held-out accuracy per head")
    p.add_argument("--json", action="store_true")
    p.add_argument("--n", type=int, default=1024, help="held-out clips")
    p.add_argument("--weights", default="weights/judge")
    p.add_argument("--workers", type=int)
    p.set_defaults(func=cmd_judge)
    p = sub.add_parser("tokenizers", help="how well the shipped tokenizers reconstruct held-out clips")
    p.add_argument("--n", type=int, default=16, help="held-out clips")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true")
    p.add_argument("--weights", default="weights", help="the folder holding video_tokenizer/ and audio_tokenizer/")
    p.set_defaults(func=cmd_tokenizers)
    try:
        args = parser.parse_args(argv)
        args.func(args)
    except VideoPoetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
