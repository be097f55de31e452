"""What every training script here shares: the reproduce command and the accelerator, the
learning-rate schedule, checkpoints that resume a run, the device name for model cards, the
error a run stops with when it has gone wrong, and the skipping of world seeds that fail to render."""

from __future__ import annotations

import math
import platform
import shlex
import sys
from pathlib import Path

import torch
from accelerate import Accelerator


class TrainingFailure(RuntimeError):
    """A run that has diverged or collapsed; raised instead of quietly saving a broken model."""


def render_each(render_one, seeds) -> tuple[list, list[tuple[int, str]]]:
    """render_one(seed) for each seed, in a data worker. A seed whose render raises is left out and
    returned as (seed, "Error: message") instead, so one bad scene costs one clip, not the chunk and
    the run with it (a 13-minute judge run was lost to one OpenCV error at its 180,000th clip)."""
    done, failed = [], []
    for seed in seeds:
        try:
            done.append(render_one(int(seed)))
        except Exception as err:  # noqa: BLE001 (reported and counted by RenderFailures)
            failed.append((int(seed), f"{type(err).__name__}: {err}"))
    return done, failed


class RenderFailures:
    """The trainer's tally of seeds its workers could not render. Each is reported on stderr with
    its seed and error; once more than
    `max_fraction` of the seeds tried have failed (the first `grace` failures aside), the run stops
    with TrainingFailure: then the world is broken, not unlucky."""

    def __init__(self, max_fraction: float = 0.01, grace: int = 3):
        self.max_fraction, self.grace = max_fraction, grace
        self.tried = 0
        self.failed: list[tuple[int, str]] = []

    def add(self, rendered: int, failed: list[tuple[int, str]]) -> None:
        self.tried += rendered + len(failed)
        for seed, error in failed:
            print(f"world seed {seed} failed to render and was skipped: {error}", file=sys.stderr, flush=True)
        self.failed += failed
        if len(self.failed) > max(self.grace, self.max_fraction * self.tried):
            seed, error = self.failed[0]
            raise TrainingFailure(f"{len(self.failed)} of {self.tried} world seeds failed to render "
                                  f"(the first: seed {seed}, {error})")


def command_line(module: str, argv: list[str] | None) -> str:
    """The command that reproduces this run, as a model card quotes it."""
    given = argv if argv is not None else sys.argv[1:]
    return f"python -m {module} " + " ".join(shlex.quote(a) for a in given)


def make_accelerator(device: str | None) -> Accelerator:
    """bf16 autocast on CUDA (the default when a GPU is present), full precision on the CPU."""
    use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    return Accelerator(mixed_precision="bf16" if use_cuda else "no", cpu=not use_cuda)


def cosine_lr(progress: float, base: float, warmup: float = 0.03, floor: float = 0.02) -> float:
    """Linear warm-up over the first `warmup` of the run, then cosine decay to `floor` x base."""
    if progress < warmup:
        return base * max(progress, 1e-3) / warmup
    p = min(1.0, (progress - warmup) / (1 - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def save_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
                    trained_s: float) -> None:
    tmp = Path(path).with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "trained_s": trained_s},
               tmp)
    tmp.replace(path)  # a crash mid-write leaves the previous checkpoint intact


def load_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, float]:
    """Restore model and optimizer; returns (step, seconds trained so far)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    return int(state["step"]), float(state["trained_s"])


def device_name(device: torch.device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()})"
