"""Autoregressive sampling from a VideoPoetTransformer with its static KV cache.

    tokens = sample(model, PrefixBatch(tokens, positions, modality, prefix_len), n_new=1280,
                    output_positions=pos, output_modality=mod, allowed_range=(lo, hi),
                    temperature=1.0, top_k=256, cfg_scale=3.0, uncond_prefix=negative_prompt,
                    generator=torch.Generator().manual_seed(0), num_candidates=4)

Classifier-free guidance runs the unconditional (negative-prompt) prefix as a second half of one
batch, so each step is one model call. Restricted sampling keeps only the logits in [lo, hi) — the
vocabulary slice of the modality being generated — before guidance, temperature, top-k and top-p.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from videopoet.model.transformer import VideoPoetTransformer

TokenRange = tuple[int, int]


@dataclass
class PrefixBatch:
    """Prompts for sampling: tokens (B, L), positions (B, L, 3), modality (B, L), prefix_len (B,),
    valid (B, L) bool or None (all valid). prefix_len may be shorter than L when the prompt already
    holds the first output tokens (e.g. `<bov_o>`)."""

    tokens: torch.Tensor
    positions: torch.Tensor
    modality: torch.Tensor
    prefix_len: torch.Tensor
    valid: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def valid_mask(self) -> torch.Tensor:
        return torch.ones_like(self.tokens, dtype=torch.bool) if self.valid is None else self.valid

    def padded_to(self, length: int) -> PrefixBatch:
        """Right-padded to `length` with invalid (masked) slots."""
        extra = length - self.tokens.shape[1]
        return PrefixBatch(F.pad(self.tokens, (0, extra)), F.pad(self.positions, (0, 0, 0, extra)),
                           F.pad(self.modality, (0, extra)), self.prefix_len,
                           F.pad(self.valid_mask(), (0, extra), value=False))

    def rows(self, index: torch.Tensor) -> PrefixBatch:
        return PrefixBatch(self.tokens[index], self.positions[index], self.modality[index],
                           self.prefix_len[index], self.valid_mask()[index])

    @staticmethod
    def concat(first: PrefixBatch, second: PrefixBatch) -> PrefixBatch:
        length = max(first.tokens.shape[1], second.tokens.shape[1])
        a, b = first.padded_to(length), second.padded_to(length)
        return PrefixBatch(*(torch.cat([x, y]) for x, y in
                             zip((a.tokens, a.positions, a.modality, a.prefix_len, a.valid),
                                 (b.tokens, b.positions, b.modality, b.prefix_len, b.valid))))


def _filter_and_draw(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
                     generators: list[torch.Generator | None]) -> torch.Tensor:
    """One token per row; the rows split into len(generators) equal groups, each drawn with its own."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    # Draw among the kept candidates only: a multinomial over the whole 16k-code range cost more
    # per token on the CPU than the top-k that already names the candidates.
    ids = None
    if top_k is not None and top_k < logits.shape[-1]:
        logits, ids = logits.topk(top_k, dim=-1)
    if top_p is not None and top_p < 1.0:
        if ids is None:
            logits, ids = logits.sort(dim=-1, descending=True)
        probs = logits.softmax(dim=-1)
        # Drop a token when the tokens ranked above it already cover top_p (the top one always stays).
        logits = logits.masked_fill(probs.cumsum(dim=-1) - probs > top_p, float("-inf"))
    probs = logits.softmax(dim=-1)
    # Draw where the generator lives, so a CPU generator gives the same tokens on any model device.
    drawn = torch.cat([torch.multinomial(group.to(g.device if g is not None else group.device), 1, generator=g)
                       .to(logits.device) for group, g in zip(probs.chunk(len(generators)), generators)])
    return (drawn if ids is None else ids.gather(-1, drawn)).squeeze(-1)


def _per_row(layout: torch.Tensor, rows: int, trailing: int) -> torch.Tensor:
    """(n_new, ...) or (B, n_new, ...) layout -> (rows, n_new, ...), one row per sampled sequence."""
    if layout.dim() == 1 + trailing:
        layout = layout.unsqueeze(0)
    return layout.expand(rows, *layout.shape[1:]) if layout.shape[0] == 1 else layout


class CUDAGraphDecodeStep:
    """`model.decode_step` replayed from a CUDA graph, gpt-fast's way of decoding a small model.

    A decode step of this 20M-parameter model is a few hundred small kernels, and launching them
    one by one from Python takes far longer than the GPU spends running them. The first call runs
    the step eagerly (on a side stream, as capture requires, which also warms up the kernels) and
    then captures it; every later call copies its inputs into the graph's own tensors and replays.
    The step attends over the whole static cache (`whole_cache`), so every call has the same
    shapes, and it computes the full vocabulary's logits, so one graph serves every code range.
    """

    def __init__(self, model: VideoPoetTransformer):
        self.model = model
        self.graph: torch.cuda.CUDAGraph | None = None

    @staticmethod
    def usable(model: VideoPoetTransformer) -> bool:
        """A graph needs the whole model on one CUDA device in floating point: bitsandbytes' int8
        matmul decides its outlier columns on the host, and an accelerate split moves tensors
        between devices from hooks."""
        params = list(model.parameters())
        device = params[0].device
        return (device.type == "cuda" and all(p.device == device and p.is_floating_point() for p in params)
                and not any(hasattr(m, "_hf_hook") for m in model.modules()))

    def __call__(self, token: torch.Tensor, position: torch.Tensor, modality: torch.Tensor,
                 cache_position: torch.Tensor, vocab_range: TokenRange) -> torch.Tensor:
        lo, hi = vocab_range
        if self.graph is not None:
            for static, value in zip(self.inputs, (token, position, modality, cache_position)):
                static.copy_(value)
            self.graph.replay()
            return self.logits[:, lo:hi]
        self.inputs = [t.clone() for t in (token, position, modality, cache_position)]
        # Streams and capture belong to the current device, which need not be the model's (cuda:1).
        with torch.cuda.device(token.device):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                # Writes this step's keys and values; the capture below records the same writes
                # without running them, and the first replay repeats them with the next step's inputs.
                logits = self.model.decode_step(*self.inputs, whole_cache=True).clone()
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.logits = self.model.decode_step(*self.inputs, whole_cache=True)
        return logits[:, lo:hi]


# Every attention kernel but cuDNN's. A decode step's key length grows by one per token, and cuDNN
# builds an execution plan for each new shape: on an H200 that made a bf16 step (batch 2) take
# 65 ms instead of 5.1 ms. CPUs have no cuDNN kernel, so their choice is unchanged.
_DECODE_ATTENTION = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


@torch.inference_mode()
@sdpa_kernel(_DECODE_ATTENTION)
def sample(
    model: VideoPoetTransformer,
    prefix: PrefixBatch,
    n_new: int,
    output_positions: torch.Tensor,
    output_modality: torch.Tensor,
    allowed_range: TokenRange | Callable[[int], TokenRange] | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    cfg_scale: float = 1.0,
    uncond_prefix: PrefixBatch | None = None,
    generator: torch.Generator | list[torch.Generator] | None = None,
    num_candidates: int = 1,
    progress: Callable[[int, int], None] | None = None,
    cuda_graph: bool = True,
) -> torch.Tensor:
    """Generate `n_new` tokens after each prompt; returns int64 (B * num_candidates, n_new), the
    candidates of prompt b in rows b*K .. b*K+K-1.

    Args:
        model: the transformer (its dtype and device are used for the cache).
        prefix: the conditional prompts (B rows, right-padded if lengths differ).
        n_new: tokens to generate.
        output_positions: (n_new, 3) or (B, n_new, 3) coordinates of the generated tokens.
        output_modality: (n_new,) or (B, n_new) modality of the generated tokens.
        allowed_range: [lo, hi) token ids allowed, fixed or as a function of the step index
            (e.g. audio RVQ level by level); everything else is excluded before any other step.
        temperature: 0 means greedy.
        top_k / top_p: keep the k most likely tokens / the smallest set covering probability p.
        cfg_scale: classifier-free guidance, logits = cond + (scale - 1) * (cond - uncond); needs
            `uncond_prefix` when not 1.
        uncond_prefix: the unconditional / negative prompt, 1 or B rows.
        generator: torch.Generator for reproducible draws, or one per prompt: prompt b's rows then
            draw from generator b alone, so they do not depend on the other prompts of the batch.
        num_candidates: K continuations per prompt, sampled in one batch.
        progress: called as progress(step, n_new) after each generated token.
        cuda_graph: replay the decode step from a CUDA graph where the model allows it
            (`CUDAGraphDecodeStep.usable`); False decodes eagerly everywhere.
    """
    if cfg_scale != 1.0 and uncond_prefix is None:
        raise ValueError("cfg_scale != 1 needs an uncond_prefix")
    device = model.device
    batch = len(prefix)
    generators = list(generator) if isinstance(generator, (list, tuple)) else [generator]
    if len(generators) not in (1, batch):
        raise ValueError(f"{len(generators)} generators for {batch} prompts; give one, or one per prompt")
    rows = batch * num_candidates
    candidate_rows = torch.arange(batch).repeat_interleave(num_candidates)
    prompts = prefix.rows(candidate_rows)
    guided = uncond_prefix is not None
    if guided:
        uncond = uncond_prefix.rows(torch.zeros(batch, dtype=torch.long)) if len(uncond_prefix) == 1 else uncond_prefix
        prompts = PrefixBatch.concat(prompts, uncond.rows(candidate_rows))
    halves = 2 if guided else 1

    positions = _per_row(output_positions, batch, 1)[candidate_rows].repeat(halves, 1, 1).to(device)
    modality = _per_row(output_modality, batch, 0)[candidate_rows].repeat(halves, 1).to(device)
    if positions.shape[1] != n_new or modality.shape[1] != n_new:
        raise ValueError(f"output_positions / output_modality must describe {n_new} tokens")

    prompt_len = prompts.tokens.shape[1]
    model.setup_cache(rows * halves, prompt_len + n_new, device)
    logits = model.prefill(prompts.tokens.to(device), prompts.positions.to(device), prompts.modality.to(device),
                           prompts.prefix_len.to(device), prompts.valid_mask().to(device))
    vocab = logits.shape[-1]

    def checked_range(step: int) -> tuple[int, int]:
        lo, hi = allowed_range(step) if callable(allowed_range) else (allowed_range or (0, vocab))
        if not 0 <= lo < hi <= vocab:
            raise ValueError(f"allowed_range ({lo}, {hi}) at step {step} is not inside [0, {vocab})")
        return lo, hi

    lo, hi = checked_range(0)
    logits = logits[:, lo:hi]
    out = torch.empty(rows, n_new, dtype=torch.long, device=device)
    cache_positions = torch.arange(prompt_len, prompt_len + n_new, device=device)
    decode_step = CUDAGraphDecodeStep(model) if cuda_graph and CUDAGraphDecodeStep.usable(model) else model.decode_step
    for step in range(n_new):
        allowed = logits.float()
        if guided:
            cond, unconditional = allowed.chunk(2)
            allowed = cond + (cfg_scale - 1.0) * (cond - unconditional)
        out[:, step] = _filter_and_draw(allowed, temperature, top_k, top_p, generators) + lo
        if progress is not None:
            progress(step + 1, n_new)
        if step + 1 < n_new:
            token = out[:, step : step + 1].repeat(halves, 1)
            lo, hi = checked_range(step + 1)
            logits = decode_step(token, positions[:, step : step + 1], modality[:, step : step + 1],
                                 cache_positions[step : step + 1], vocab_range=(lo, hi))
    return out
