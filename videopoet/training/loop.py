"""What every training script here shares: the reproduce command and the accelerator, the
learning-rate schedule, checkpoints that resume a run, continuing from a saved model (and
training a tokenizer's decoder alone), the device name for model cards, the
error a run stops with when it has gone wrong, the skipping of world seeds that fail to render,
and the ring of rendered samples a trainer replays on its device."""

from __future__ import annotations

import math
import platform
import shlex
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
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
    its seed and error; once more than `max_fraction` of the seeds tried have failed (the first
    `grace` failures aside), the run stops with TrainingFailure: then the world is broken, not
    unlucky."""

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


class DeviceReplay:
    """Samples of one shape on the training device, in a ring of `capacity`: named fields, each
    (capacity, *shape) of its dtype. A batch takes the samples not trained on yet first (oldest
    first) and fills up with random ones; its indices are made on the device, so taking a batch
    never waits for the GPU and nothing is gathered on the host (stacking 128 clips of 128 px
    there took 86 ms a step)."""

    def __init__(self, fields: Mapping[str, tuple[tuple[int, ...], torch.dtype]], capacity: int,
                 device: torch.device):
        self.data = {name: torch.empty((capacity, *shape), dtype=dtype, device=device)
                     for name, (shape, dtype) in fields.items()}
        self.capacity, self.filled, self.head, self.unseen = capacity, 0, 0, 0
        self.device = torch.device(device)

    def add(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Append samples (one array per field, equal lengths); the oldest give way when full."""
        n = min(len(next(iter(arrays.values()))), self.capacity)
        first = min(n, self.capacity - self.head)  # the part that fits before the ring wraps
        for name, array in arrays.items():
            src = torch.from_numpy(np.ascontiguousarray(array[len(array) - n:]))
            self.data[name][self.head:self.head + first].copy_(src[:first])
            self.data[name][: n - first].copy_(src[first:])
        self.head = (self.head + n) % self.capacity
        self.filled = min(self.capacity, self.filled + n)
        self.unseen = min(self.capacity, self.unseen + n)

    def batch(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """`n` samples per field; `generator` lives on the device."""
        k = min(n, self.unseen)
        fresh = (self.head - self.unseen + torch.arange(k, device=self.device)) % self.capacity
        self.unseen -= k
        replay = torch.randint(self.filled, (n - k,), device=self.device, generator=generator)
        index = torch.cat([fresh, replay])
        return {name: tensor[index] for name, tensor in self.data.items()}


class RenderFeed:
    """Rendered samples in, device batches out. Keeps a worker pool busy (at most `inflight` tasks,
    and none more while `backlog` samples wait to be trained on: on a CPU the trainer needs the
    cores more than the renderers do) and files finished samples into one DeviceReplay per sample
    shape, `upload` samples at a time (each upload to a GPU waits for its queued work, so uploads
    are made few and large).

    next_job() -> (fn, arg) for the pool, or None once there is no more to do; fields_of(result) ->
    ({field: array of n samples}, [(seed, error), ...] of seeds that failed to render)."""

    def __init__(self, pool, device: torch.device, capacity: int, next_job: Callable, fields_of: Callable,
                 inflight: int, backlog: int, upload: int = 1):
        self.pool, self.device, self.capacity = pool, torch.device(device), capacity
        self.next_job, self.fields_of = next_job, fields_of
        self.max_inflight, self.backlog, self.upload = inflight, backlog, upload
        self.inflight: deque = deque()
        self.buffers: dict[tuple, DeviceReplay] = {}
        self.pending: dict[tuple, list[dict[str, np.ndarray]]] = {}
        self.samples = 0  # received from the workers
        self.wait_s = 0.0  # spent in `take` waiting for samples
        self.turn = 0
        self.jobs_done = False
        self.failures = RenderFailures()

    def _waiting(self) -> int:
        return (sum(b.unseen for b in self.buffers.values())
                + sum(len(next(iter(p.values()))) for parts in self.pending.values() for p in parts))

    def top_up(self) -> None:
        while not self.jobs_done and len(self.inflight) < self.max_inflight and self._waiting() < self.backlog:
            job = self.next_job()
            if job is None:
                self.jobs_done = True
                return
            fn, arg = job
            self.inflight.append(self.pool.apply_async(fn, (arg,)))

    def collect(self, timeout: float = 0.0) -> None:
        """Take finished tasks (waiting up to `timeout` s for the oldest), upload, refill the pool."""
        if self.inflight and timeout > 0:
            self.inflight[0].wait(timeout)
        for result in [r for r in self.inflight if r.ready()]:
            self.inflight.remove(result)
            fields, failed = self.fields_of(result.get())
            n = len(next(iter(fields.values())))
            self.failures.add(n, failed)
            if n:
                self.pending.setdefault(tuple(a.shape[1:] for a in fields.values()), []).append(fields)
                self.samples += n
        for key, parts in self.pending.items():
            buffer = self.buffers.get(key)
            waiting = sum(len(next(iter(p.values()))) for p in parts)
            # Upload at once while the buffer is nearly empty, and everything once no more comes.
            if parts and (waiting >= self.upload or buffer is None or buffer.filled < self.upload or self.finished()):
                if buffer is None:
                    spec = {name: (a.shape[1:], torch.from_numpy(a[:0]).dtype) for name, a in parts[0].items()}
                    buffer = self.buffers[key] = DeviceReplay(spec, self.capacity, self.device)
                buffer.add({name: np.concatenate([p[name] for p in parts]) for name in parts[0]})
                parts.clear()
        self.top_up()

    def finished(self) -> bool:
        """No more samples are coming (never true while rendering goes on until time is up)."""
        return self.jobs_done and not self.inflight

    def ready(self, need: int) -> list[tuple]:
        """Sample shapes with at least `need` samples at hand (any, once no more are coming)."""
        need = 1 if self.finished() else need
        return [k for k, b in sorted(self.buffers.items()) if b.filled >= need]

    def take(self, n: int, generator: torch.Generator, need: int | None = None) -> dict[str, torch.Tensor] | None:
        """A batch of `n` samples from the sample shapes with `need` (default `n`) at hand, one shape
        after another; None after waiting briefly for more (see `finished` for whether any will come)."""
        ready = self.ready(need or n)
        if not ready:
            start = time.time()
            self.collect(timeout=0.05)
            self.wait_s += time.time() - start
            return None
        self.turn += 1
        return self.buffers[ready[self.turn % len(ready)]].batch(n, generator)


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


def load_for_training(cls, folder: str | Path) -> torch.nn.Module:
    """A saved model (fp16 on disk) in fp32, to train further. Rebuilt from its config minus
    `_name_or_path`, which from_pretrained records and save_pretrained would write into the new
    model's config.json."""
    saved = cls.from_pretrained(folder)
    model = cls.from_config({k: v for k, v in saved.config.items() if k != "_name_or_path"})
    model.load_state_dict(saved.state_dict())
    return model.float()


def start_training(tokenizer: torch.nn.Module, decoder_only: bool) -> list[torch.nn.Parameter]:
    """Put a tokenizer in training mode; returns the parameters to optimise. With `decoder_only`,
    every part but the decoder (encoder, quantizer) is frozen and in eval mode (no gradients, no
    batch statistics, no codebook updates), so the tokenizer still makes exactly the tokens it made
    and every model trained on those tokens stays valid."""
    tokenizer.train()
    if not decoder_only:
        return list(tokenizer.parameters())
    for name, part in tokenizer.named_children():
        if name != "decoder":
            part.requires_grad_(False).eval()
    return list(tokenizer.decoder.parameters())


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
