"""Train the VideoPoet language model on pre-tokenized clips, every task at once.

    python -m videopoet.training.pretokenize --data /tmp/pool/square /tmp/pool/portrait --out /tmp/tokens \
        --weights weights --device cuda
    python -m videopoet.training.train_lm --tokens /tmp/tokens --out weights/transformer --device cuda

Alternating gradient descent (VideoPoet §3.3): every step draws one task, then one group of clips
whose sequences for that task have exactly the same length (same orientation, same real/world
source token, same caption length), so a batch has no padding at all. A step holds about
`--batch-tokens` tokens whatever the task: a text-to-image step has many short sequences, a
stylization step a few long ones. The task weights below are therefore shares of compute.

Task weights, and why:
    t2v 0.25              the headline task; its output, a whole clip, is what most video tasks produce
    i2v 0.13, t2i 0.13    image-conditioned and first-frame generation: the app's image-to-video and
                          every generation's first latent frame. T2I is weighted x2 at the start of
                          the run falling linearly to x0.5 at the end (images early, video later);
                          its sequences are short (one latent frame), so its steps see many captions
    stylize 0.07          structure-conditioned video: a prefix as long as the output to learn to use
    continuation 0.06     see below
    v2a 0.06, t2a 0.06    audio is a 4-level token stream the video tasks never produce; these two
    a2v 0.05              and audio-video continuation are all that teach it
    av_continuation 0.05
    inpaint 0.05          conditioned on most of their own output, so they learn fast from little
    outpaint 0.05
    uncond 0.04           a pure video prior; text-dropped T2V adds more of the same
Tasks whose data is missing (stylize without structure, audio tasks without sound) are left out
with a warning and listed in eval.json.

Text: T2V, T2I, stylization and T2A always carry the caption except for caption dropout (10%): the
text is removed and the task token kept, so classifier-free guidance can run the same layout
with `text=None` (or the negative prompt) as its unconditional branch. The tasks whose text is
optional (I2V, continuation, inpainting, outpainting, A2V, audio-video continuation) carry it half
the time. Camera control needs nothing extra: world captions end in the camera move.

Continuation: the world renders 17-frame clips and cannot render the same scene later in time, so
continuation trains on frame prediction inside one clip. The context is latent frames 1..2 (pixel
frames 1..8, one second; with the causal tokenizer these are exactly the tokens of that second
encoded on its own, 4-frame latents like the last second of any clip) and the target is the whole
clip. At inference the last second of a clip (latent frames 3..4) is the context; the generated
clip restates that second in its frames 1..8 and continues it in frames 9..16, which is the new
second a long video appends. Audio-video continuation does the same with the matching second of
audio codes (frames 6..55, 0.125..1.125 s) as the audio context and the clip's whole sound as the
audio target.

Batches are built without Python loops over tokens: every clip is one row of unified ids on the
device (caption | video | structure | audio), and every (task, orientation, source, caption length)
has a template, made once by running the task's real layout function from `videopoet.tasks` on
probe inputs whose values are their own indices. A batch is then one gather from the rows plus
the template's constant tokens (and the inpainting/outpainting masks, one per sequence).

Video codes are embedded as their own row plus a learned function of their bits
(`CodeBitEmbedding`, folded into the plain table before saving). With it and the model's role
embedding, the same 17-minute recipe reached a held-out loss of 3.71 nats per token, where the
atomic table without roles had reached 6.21 in 15 minutes; training attention without a mask tensor
then took it to 3.58 (weights/transformer/README.md).

Measured on one H200 (torch 2.11): the default 20M-parameter model trains at about 652k tokens/s
with 65,536 tokens per step (the shipped run: 10,436 steps in 17 min on 17,639 clips of the shipped
tokenizers; `scripts/bench_train_lm.py` times each task), and `pretokenize` encodes about 110
clips/s with structure.

bf16 autocast through accelerate on CUDA; AdamW, warm-up then cosine by wall time; gradient
clipping; tqdm with tokens/s; JSON-lines log with the loss of every task; `--resume` continues
from OUT/checkpoint.pt. A non-finite loss stops the run with TrainingFailure before anything is
saved. At the end: the int8 checkpoint (`videopoet.model.save_8bit`, the shipped format), the
held-out loss per task of that checkpoint (clips held back by seed, or `--heldout-tokens`),
eval.json and a README.md model card.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize
from tqdm import tqdm

from videopoet import tasks
from videopoet.errors import VideoPoetError
from videopoet.model.quantization import load_transformer, save_8bit
from videopoet.model.transformer import VideoPoetTransformer
from videopoet.tasks import AUDIO_FRAMES, AUDIO_LEVELS, MASK_KINDS, MASK_TASK, MAX_TEXT_TOKENS, Vocabulary, make_mask
from videopoet.training.loop import (
    TrainingFailure,
    command_line,
    cosine_lr,
    device_name,
    load_checkpoint,
    make_accelerator,
    save_checkpoint,
)
from videopoet.world.camera import FRAMES

TASK_WEIGHTS = {"t2v": 0.25, "i2v": 0.13, "t2i": 0.13, "stylize": 0.07, "continuation": 0.06, "v2a": 0.06,
                "t2a": 0.06, "a2v": 0.05, "av_continuation": 0.05, "inpaint": 0.05, "outpaint": 0.05, "uncond": 0.04}
TEXT_REQUIRED = ("t2v", "t2i", "stylize", "t2a")
TEXT_OPTIONAL = ("i2v", "continuation", "inpaint", "outpaint", "a2v", "av_continuation")
AUDIO_TASKS = ("v2a", "a2v", "t2a", "av_continuation")
IMAGE_WEIGHT_START, IMAGE_WEIGHT_END = 2.0, 0.5
OPTIONAL_TEXT_RATE = 0.5
TINY = {"d_model": 64, "n_layers": 2, "n_heads": 4, "mlp_hidden": 128, "embed_dim": 32}

# Continuation context inside one clip (see the module docstring): one second from pixel frame 1.
CONTEXT_LATENTS = slice(1, 1 + tasks.CONTEXT_LATENT_FRAMES)
# Pixel frame 1 starts 1/17 of the way into the clip, at audio frame 106 / 17 = 6 (0.125 s).
CONTEXT_AUDIO_START = round(AUDIO_FRAMES / FRAMES)
CONTEXT_AUDIO = slice(CONTEXT_AUDIO_START, CONTEXT_AUDIO_START + tasks.CONTEXT_AUDIO_FRAMES)

assert set(TASK_WEIGHTS) == set(tasks.TASKS) and abs(sum(TASK_WEIGHTS.values()) - 1) < 1e-9


@dataclasses.dataclass
class Clip:
    """One clip's tokens as the layout functions take them (codes, not unified ids)."""

    video: np.ndarray  # (5, h, w)
    audio: np.ndarray  # (4, 106)
    structure: np.ndarray  # (5, h, w)
    text: np.ndarray | None  # caption ids, or None when the text is left out
    real: bool
    mask: np.ndarray | None = None  # (5, h, w) bool, inpainting/outpainting only


# What each task trains on: one call of its layout function in videopoet.tasks.
LAYOUTS: dict[str, Callable[[Vocabulary, Clip], tasks.Layout]] = {
    "uncond": lambda v, c: tasks.unconditional(v, c.video, real=c.real),
    "t2v": lambda v, c: tasks.text_to_video(v, c.text, c.video, real=c.real),
    "t2i": lambda v, c: tasks.text_to_image(v, c.text, c.video[:1], real=c.real),
    "i2v": lambda v, c: tasks.image_to_video(v, c.video[:1], c.video, text=c.text, real=c.real),
    "continuation": lambda v, c: tasks.continuation(v, c.video[CONTEXT_LATENTS], c.video, text=c.text, real=c.real),
    "inpaint": lambda v, c: tasks.inpainting(v, c.video, c.mask, c.video, text=c.text, real=c.real),
    "outpaint": lambda v, c: tasks.outpainting(v, c.video, c.mask, c.video, text=c.text, real=c.real),
    "stylize": lambda v, c: tasks.stylization(v, c.text, c.structure, c.video, real=c.real),
    "v2a": lambda v, c: tasks.video_to_audio(v, c.video, c.audio, real=c.real),
    "a2v": lambda v, c: tasks.audio_to_video(v, c.audio, c.video, text=c.text, real=c.real),
    "t2a": lambda v, c: tasks.text_to_audio(v, c.text, c.audio, real=c.real),
    "av_continuation": lambda v, c: tasks.audio_video_continuation(
        v, c.video[CONTEXT_LATENTS], c.audio[:, CONTEXT_AUDIO], c.video, c.audio, text=c.text, real=c.real),
}


def task_weights(progress: float, available: list[str]) -> dict[str, float]:
    """Step probabilities at `progress` (0..1 of the run): images weighted up early, video later."""
    w = {t: TASK_WEIGHTS[t] for t in available}
    if "t2i" in w:
        w["t2i"] *= IMAGE_WEIGHT_START + (IMAGE_WEIGHT_END - IMAGE_WEIGHT_START) * min(max(progress, 0.0), 1.0)
    total = sum(w.values())
    return {t: v / total for t, v in w.items()}


# ---------------------------------------------------------------------------------------------------
# Tokens on the device
# ---------------------------------------------------------------------------------------------------

class TokenPool:
    """Every clip of one latent shape. Each clip is one row of unified ids on the device,

        [caption (64, <pad> after its end) | video (V) | structure (V, <pad> if none) | audio (4 x 106)]

    so that any task's sequence is a gather from a row; codes and metadata stay on the host."""

    def __init__(self, shards: list[dict[str, np.ndarray]], vocab: Vocabulary, device: torch.device):
        self.host = {k: np.concatenate([s[k] for s in shards]) for k in shards[0]}
        cat = self.host
        self.latent = tuple(int(n) for n in cat["video"].shape[1:])
        self.cells = int(np.prod(self.latent))
        self.size = len(cat["seeds"])
        self.seeds = cat["seeds"]
        self.caption_len = cat["caption_len"].astype(np.int64)
        self.real = cat["real"].astype(bool)
        self.has_audio = cat["has_audio"].astype(bool)
        self.has_structure = cat["has_structure"].astype(bool)
        self.audio_base = MAX_TEXT_TOKENS + 2 * self.cells
        self._check_ranges(vocab)

        n, pad = self.size, vocab.pad_id
        caption = torch.from_numpy(cat["caption_ids"].astype(np.int64))
        video = torch.from_numpy(cat["video"].reshape(n, -1).astype(np.int64))
        structure = torch.from_numpy(cat["structure"].reshape(n, -1).astype(np.int64))
        audio = torch.from_numpy(cat["audio"].astype(np.int64))
        level_start = torch.tensor([vocab.audio_range(lv).start for lv in range(AUDIO_LEVELS)])
        rows = torch.cat([
            torch.where(caption >= 0, caption + vocab.text_range.start, pad),
            video + vocab.video_range.start,
            torch.where(torch.from_numpy(self.has_structure)[:, None], structure + vocab.video_range.start, pad),
            (audio + level_start[None, :, None]).reshape(n, -1),
        ], dim=1)
        self.rows = rows.to(torch.int32).to(device)  # int32 halves the device memory of int64

    def _check_ranges(self, vocab: Vocabulary) -> None:
        cat = self.host
        limits = {"video": 2 ** vocab.video_codebook_bits, "structure": 2 ** vocab.video_codebook_bits,
                  "audio": vocab.audio_codes, "caption_ids": vocab.n_text}
        for key, high in limits.items():
            values = cat[key][cat[key] >= 0] if key == "caption_ids" else cat[key]
            if values.size and (values.min() < 0 or values.max() >= high):
                raise VideoPoetError(f"token shards: {key} outside [0, {high}): tokens and vocabulary disagree")

    def clip(self, i: int, text: bool, mask: np.ndarray | None = None) -> Clip:
        """Clip i as the layout functions take it."""
        cat = self.host
        caption = cat["caption_ids"][i, :self.caption_len[i]].astype(np.int64)
        return Clip(video=cat["video"][i].astype(np.int64), audio=cat["audio"][i].astype(np.int64),
                    structure=cat["structure"][i].astype(np.int64), text=caption if text else None,
                    real=bool(self.real[i]), mask=mask)


def load_token_dirs(dirs: list[str | Path]) -> tuple[list[dict], list[dict[str, np.ndarray]]]:
    """(every dir's index, every non-empty shard's arrays); the dirs must be complete and made by
    the same tokenizers."""
    indexes = []
    shards = []
    for d in dirs:
        d = Path(d)
        index = json.loads((d / "index.json").read_text())
        if not index.get("complete"):
            raise VideoPoetError(f"{d} is not completely tokenized; run videopoet.training.pretokenize to the end")
        if indexes and index["fingerprint"] != indexes[0]["fingerprint"]:
            raise VideoPoetError(f"{d} was tokenized by other tokenizers than {dirs[0]}")
        indexes.append(index)
        for entry in index["shards"]:
            with np.load(d / entry["file"]) as shard:
                if len(shard["seeds"]):
                    shards.append({k: shard[k] for k in shard.files if k not in ("captions", "labels")})
    if not shards:
        raise VideoPoetError(f"no clips in {[str(d) for d in dirs]}")
    return indexes, shards


def make_pools(shards: list[dict[str, np.ndarray]], vocab: Vocabulary, device: torch.device) -> list[TokenPool]:
    by_shape: dict[tuple, list] = {}
    for shard in shards:
        by_shape.setdefault(shard["video"].shape[1:], []).append(shard)
    return [TokenPool(group, vocab, device) for _, group in sorted(by_shape.items())]


def heldout_by_seed(seeds: np.ndarray, fraction: float) -> np.ndarray:
    """A fixed pseudo-random `fraction` of seeds (Knuth's multiplicative hash), the same every run."""
    hashed = (seeds.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return hashed < np.uint64(int(fraction * 2**32))


# ---------------------------------------------------------------------------------------------------
# Templates and batches
# ---------------------------------------------------------------------------------------------------

PROBE_BITS = 16  # probe values index video and structure cells together: 2 x 2240 < 2**16


@dataclasses.dataclass(frozen=True, eq=False)
class Template:
    """One task's sequence for one (orientation, source, caption length): `source[j]` is the pool-row
    column token j comes from, or -1 for the constant `const[j]`; positions, modality and prefix
    depend on shapes only. `mask_slots` are the masked input's sequence positions, `mask_cells` the
    video cells they show."""

    task: str
    source: torch.Tensor
    const: torch.Tensor
    positions: torch.Tensor
    modality: torch.Tensor
    prefix_len: int
    mask_slots: torch.Tensor
    mask_cells: torch.Tensor

    def __len__(self) -> int:
        return int(self.source.shape[0])


def make_template(vocab: Vocabulary, task: str, pool: TokenPool, real: bool, text_len: int,
                  device: torch.device) -> Template:
    """Run the task's layout function on probe codes whose values are their own row columns, then
    read each token back as a column (or a constant special token)."""
    probe = Vocabulary(n_text=max(vocab.n_text, MAX_TEXT_TOKENS), video_codebook_bits=PROBE_BITS)
    cells = np.arange(pool.cells).reshape(pool.latent)
    masked = task in ("inpaint", "outpaint")
    clip = Clip(video=cells, audio=np.tile(np.arange(AUDIO_FRAMES), (AUDIO_LEVELS, 1)), structure=pool.cells + cells,
                text=np.arange(text_len) if text_len else None, real=real,
                mask=np.zeros(pool.latent, bool) if masked else None)
    seq = LAYOUTS[task](probe, clip).sequence
    ids = seq.tokens.numpy()
    source = np.full(len(ids), -1, np.int64)
    for r, base in [(probe.text_range, 0), (probe.video_range, MAX_TEXT_TOKENS)] + \
            [(probe.audio_range(lv), pool.audio_base + lv * AUDIO_FRAMES) for lv in range(AUDIO_LEVELS)]:
        inside = (ids >= r.start) & (ids < r.stop)
        source[inside] = base + ids[inside] - r.start
    constant = source < 0
    if ids[constant].max(initial=0) >= len(tasks.SPECIAL_TOKENS):
        raise VideoPoetError(f"{task}: a constant token outside the special tokens")
    slots = np.flatnonzero((np.arange(len(ids)) < seq.prefix_len) & (source >= MAX_TEXT_TOKENS)
                           & (source < MAX_TEXT_TOKENS + pool.cells)) if masked else np.zeros(0, np.int64)

    def put(x):
        return torch.as_tensor(x).to(device)

    return Template(task=task, source=put(source), const=put(np.where(constant, ids, 0)),
                    positions=put(seq.positions), modality=put(seq.modality.long()), prefix_len=seq.prefix_len,
                    mask_slots=put(slots), mask_cells=put(source[slots] - MAX_TEXT_TOKENS))


def gather(pool: TokenPool, template: Template, index: np.ndarray, masks: np.ndarray | None, mask_id: int) -> dict:
    """The batch of `template` for pool clips `index`: model inputs, all (B, L[, 3]), no padding."""
    device = pool.rows.device
    rows = pool.rows[torch.from_numpy(index).to(device)]
    tokens = torch.where(template.source >= 0, rows[:, template.source.clamp(min=0)].long(), template.const)
    if len(template.mask_slots):
        hide = torch.from_numpy(masks.reshape(len(index), -1)).to(device)[:, template.mask_cells]
        tokens[:, template.mask_slots] = torch.where(hide, mask_id, tokens[:, template.mask_slots])
    b = len(index)
    return {"tokens": tokens, "positions": template.positions.expand(b, -1, -1),
            "modality": template.modality.expand(b, -1),
            "prefix_len": torch.full((b,), template.prefix_len, dtype=torch.int64, device=device)}


class TaskSampler:
    """Draws one task's equal-length batch at a time from the clips `members[p]` of each pool."""

    def __init__(self, pools: list[TokenPool], members: list[np.ndarray], vocab: Vocabulary, batch_tokens: int,
                 caption_dropout: float, rng: np.random.Generator):
        self.pools, self.members, self.vocab = pools, members, vocab
        self.batch_tokens, self.caption_dropout, self.rng = batch_tokens, caption_dropout, rng
        self._templates: dict[tuple, Template] = {}
        self._groups: dict[tuple, list] = {}

    def eligible(self, task: str, p: int) -> np.ndarray:
        pool, m = self.pools[p], self.members[p]
        if task in AUDIO_TASKS:
            m = m[pool.has_audio[m]]
        if task == "stylize":
            m = m[pool.has_structure[m]]
        return m

    def groups(self, task: str, with_text: bool) -> list[tuple[int, bool, int, np.ndarray]]:
        """(pool, real, caption length or 0, clip indices): the clips whose sequences share a length."""
        key = (task, with_text)
        if key not in self._groups:
            found = []
            for p, pool in enumerate(self.pools):
                m = self.eligible(task, p)
                lengths = pool.caption_len[m] if with_text else np.zeros(len(m), np.int64)
                for real, text_len in sorted(set(zip(pool.real[m].tolist(), lengths.tolist()))):
                    found.append((p, real, text_len, m[(pool.real[m] == real) & (lengths == text_len)]))
            self._groups[key] = found
        return self._groups[key]

    def available(self) -> list[str]:
        return [t for t in tasks.TASKS if self.groups(t, self.text_mode(t, default=True))]

    def text_mode(self, task: str, default: bool | None = None) -> bool:
        """Whether this sequence carries its caption: dropout for required text, half the time for optional text."""
        if task in TEXT_REQUIRED:
            return True if default is not None else bool(self.rng.random() >= self.caption_dropout)
        if task in TEXT_OPTIONAL:
            return default if default is not None else bool(self.rng.random() < OPTIONAL_TEXT_RATE)
        return False

    def template(self, task: str, p: int, real: bool, text_len: int) -> Template:
        key = (task, p, real, text_len)
        if key not in self._templates:
            self._templates[key] = make_template(self.vocab, task, self.pools[p], real, text_len,
                                                 self.pools[p].rows.device)
        return self._templates[key]

    def masks(self, task: str, p: int, n: int) -> np.ndarray | None:
        if task not in ("inpaint", "outpaint"):
            return None
        kinds = [k for k in MASK_KINDS if MASK_TASK[k] == task]
        return np.stack([make_mask(kinds[int(self.rng.integers(len(kinds)))], self.pools[p].latent, self.rng)
                         for _ in range(n)])

    def build(self, task: str, p: int, real: bool, text_len: int, index: np.ndarray) -> tuple[dict, Template]:
        template = self.template(task, p, real, text_len)
        batch = gather(self.pools[p], template, index, self.masks(task, p, len(index)), self.vocab.id("<mask>"))
        return batch, template

    def draw(self, task: str) -> tuple[dict, Template]:
        """A random batch of `task`: a group picked in proportion to its clips, about `batch_tokens` tokens."""
        groups = self.groups(task, self.text_mode(task))
        sizes = np.array([len(g[3]) for g in groups], np.float64)
        p, real, text_len, members = groups[int(self.rng.choice(len(groups), p=sizes / sizes.sum()))]
        length = len(self.template(task, p, real, text_len))
        count = int(np.clip(self.batch_tokens // length, 1, len(members)))
        return self.build(task, p, real, text_len, np.sort(self.rng.choice(members, count, replace=False)))


def check_fits(model: VideoPoetTransformer, sampler: TaskSampler, task_list: list[str]) -> int:
    """Every task's longest sequence (a 64-token caption, the source token) fits max_len and the
    position tables; returns the longest length."""
    longest = 0
    for task in task_list:
        for p in range(len(sampler.pools)):
            text_len = MAX_TEXT_TOKENS if task in TEXT_REQUIRED + TEXT_OPTIONAL else 0
            t = sampler.template(task, p, True, text_len)
            longest = max(longest, len(t))
            if len(t) > model.config.max_len:
                raise VideoPoetError(f"{task} at latent {sampler.pools[p].latent}: {len(t)} tokens > max_len "
                                     f"{model.config.max_len}")
            model._check_inputs(t.const[None], t.positions[None], t.modality[None])
    return longest


# ---------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model: VideoPoetTransformer, sampler: TaskSampler, task_list: list[str], per_task: int,
             batch_tokens: int, autocast: Callable) -> dict[str, dict]:
    """Mean loss over output tokens of up to `per_task` held-out sequences per task, with the caption
    wherever the task takes one (the conditional loss; masks and clips fixed by the sampler's seed).
    `autocast` makes a fresh autocast context per use."""
    model.eval()
    results = {}
    for task in task_list:
        with_text = task in TEXT_REQUIRED + TEXT_OPTIONAL
        groups = sampler.groups(task, with_text)
        if not groups:
            continue
        owner = np.concatenate([np.full(len(g[3]), i) for i, g in enumerate(groups)])
        clip = np.concatenate([g[3] for g in groups])
        chosen = np.sort(sampler.rng.permutation(len(clip))[:per_task])
        total, count, sequences = 0.0, 0, 0
        for gi in np.unique(owner[chosen]):
            p, real, text_len, _ = groups[gi]
            index = clip[chosen[owner[chosen] == gi]]
            length = len(sampler.template(task, p, real, text_len))
            step = max(1, batch_tokens // length)
            for i in range(0, len(index), step):
                batch, template = sampler.build(task, p, real, text_len, index[i:i + step])
                with autocast():
                    loss = model(batch["tokens"], batch["positions"], batch["modality"], batch["prefix_len"], return_loss=True)
                n = len(batch["tokens"]) * (len(template) - template.prefix_len)
                total += float(loss) * n
                count += n
                sequences += len(batch["tokens"])
        results[task] = {"loss": round(total / count, 4), "sequences": sequences, "tokens": count}
    return results


# ---------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------

class CodeBitEmbedding(nn.Module):
    """Training-time parametrization of the token table: each video code's row is its own row plus a
    learned linear function of the code's bits. A lookup-free-quantization code is the signs of
    its latent's channels, so codes that share bits stand for similar patches; as atomic symbols
    the model learns that of each of the 2^K codes separately, and a run without this term sat
    near the uniform 9.7 nats for its first 800 steps (2 min). Tied to the output head, the bit term
    also lets a prediction raise every code with a likely bit at once (MAGVIT-v2 factorizes its
    2^18 codes for the same reason). `bake` folds the sum into the plain table, so the shipped
    checkpoint and every loader are unchanged."""

    def __init__(self, vocab: Vocabulary, embed_dim: int):
        super().__init__()
        bits = vocab.video_codebook_bits
        codes = torch.arange(2 ** bits)
        self.register_buffer("signs", ((codes[:, None] >> torch.arange(bits)) & 1).float() * 2 - 1,
                             persistent=False)
        self.start = vocab.video_range.start
        # Scaled so the bit term starts as large as a row of the table (std 0.02), not sqrt(K) times it.
        self.projection = nn.Parameter(torch.randn(bits, embed_dim) * 0.02 / bits ** 0.5)

    def forward(self, table: torch.Tensor) -> torch.Tensor:
        stop = self.start + len(self.signs)
        shared = (self.signs @ self.projection).to(table.dtype)
        return torch.cat([table[:self.start], table[self.start:stop] + shared, table[stop:]])

    @staticmethod
    def attach(model: VideoPoetTransformer, vocab: Vocabulary) -> None:
        embedding = model.token_embedding
        parametrize.register_parametrization(embedding, "weight", CodeBitEmbedding(vocab, embedding.embedding_dim))

    @staticmethod
    def bake(model: VideoPoetTransformer) -> None:
        parametrize.remove_parametrizations(model.token_embedding, "weight", leave_parametrized=True)


def make_optimizer(model: torch.nn.Module, lr: float, fused: bool) -> torch.optim.AdamW:
    """AdamW, weight decay on matrices only (nanoGPT): norms' gains are not shrunk towards zero."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), fused=fused)


def train_step(model, opt, accelerator, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on one batch; returns (loss, gradient norm), both still on the device."""
    model.train()
    # The tied table is read twice (embedding lookup and output head); with a CodeBitEmbedding
    # attached, `cached` builds it once per step instead of once per read.
    with parametrize.cached(), accelerator.autocast():
        loss = model(batch["tokens"], batch["positions"], batch["modality"], batch["prefix_len"], return_loss=True)
    opt.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.detach(), grad_norm


def write_card(out: Path, result: dict) -> None:
    """README.md model card of a trained language model, from its training result."""
    weights = sorted(Path(out).glob("*.safetensors"))
    size_mib = sum(w.stat().st_size for w in weights) / 2**20
    rows = "\n".join(f"| {t} | {r['loss']:.3f} | {r['sequences']} | {r['tokens']:,} |"
                     for t, r in result["heldout"].items())
    skipped = ", ".join(result["tasks_skipped"]) or "none"
    mean = "n/a" if result["heldout_mean_loss"] is None else f"{result['heldout_mean_loss']:.3f}"
    cfg = result["config"]
    text = f"""# VideoPoet language model (decoder-only prefix LM)

One transformer over text, video and audio tokens for every task of `videopoet/tasks.py`.
{result['params']:,} parameters ({cfg['n_layers']} layers, d_model {cfg['d_model']}, {cfg['n_heads']} heads,
vocabulary {cfg['vocab_size']:,} = specials + {result['vocab']['n_text']} caption tokens + 2^{result['vocab']['video_codebook_bits']}
video codes + 4 x 1024 audio codes), int8 safetensors ({size_mib:.1f} MiB, shards of at most 15 MB).
Architecture: `videopoet/model/transformer.py`; task mixture and batching:
`videopoet/training/train_lm.py`.

## Reproduce

```
{chr(10).join(result['pretokenize_commands'])}
{result['command']}
```

Trained on {result['device']} (torch {result['torch']}): {result['steps']:,} steps, {result['tokens_seen']:,} tokens
({result['tokens_per_s']:,.0f} tokens/s) in {result['train_s'] / 60:.1f} min; {result['wall_s'] / 60:.1f} min in all
including loading and the held-out evaluation. Training clips: {result['data']['train_clips']:,}; held out:
{result['data']['heldout_clips']:,} ({result['data']['heldout_from']}). Tasks left out for lack of data: {skipped}.

## Held-out loss per task (cross-entropy over output tokens, nats; with the caption where the task takes one)

| task | loss | sequences | tokens |
|---|---|---|---|
{rows}
| mean over tasks | {mean} | | |
"""
    Path(out, "README.md").write_text(text)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", nargs="+", required=True, help="token directories written by videopoet.training.pretokenize")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=17, help="training wall time (evaluation comes after)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps (smoke runs)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--batch-tokens", type=int, default=65536, help="tokens per step (whole sequences)")
    ap.add_argument("--lr", type=float, default=4e-4,
                    help="peak learning rate (1e-3 went non-finite at step 1200 of an H200 run)")
    ap.add_argument("--caption-dropout", type=float, default=0.1)
    ap.add_argument("--heldout", type=int, default=24, help="held-out sequences per task scored at the end")
    ap.add_argument("--heldout-fraction", type=float, default=0.02, help="clips held back by seed")
    ap.add_argument("--heldout-tokens", nargs="*", default=None, help="held-out token directories instead")
    ap.add_argument("--tiny", action="store_true", help="a tiny model (tests, smoke runs)")
    ap.add_argument("--tasks", nargs="+", choices=tasks.TASKS, default=list(tasks.TASKS),
                    help="train (and score) only these tasks of the mixture (smoke runs, ablations)")
    ap.add_argument("--atomic-codes", action="store_true",
                    help="learn each video code's embedding alone, without the bit term (ablation)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--checkpoint-minutes", type=float, default=3.0)
    ap.add_argument("--keep-checkpoint", action="store_true", help="keep OUT/checkpoint.pt after a finished run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    command = command_line("videopoet.training.train_lm", argv)
    t_start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    accelerator = make_accelerator(args.device)
    use_cuda = accelerator.device.type == "cuda"
    device = accelerator.device
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True

    indexes, shards = load_token_dirs(args.tokens)
    vocab = Vocabulary(n_text=indexes[0]["n_text"], video_codebook_bits=indexes[0]["video_codebook_bits"])
    pools = make_pools(shards, vocab, device)
    if args.heldout_tokens:
        held_indexes, held_shards = load_token_dirs(args.heldout_tokens)
        if held_indexes[0]["fingerprint"] != indexes[0]["fingerprint"]:
            raise VideoPoetError("--heldout-tokens were tokenized by other tokenizers than --tokens")
        held_pools = make_pools(held_shards, vocab, device)
        train_members = [np.arange(p.size) for p in pools]
        held_members = [np.arange(p.size) for p in held_pools]
        heldout_from = "--heldout-tokens " + " ".join(args.heldout_tokens)
    else:
        held_pools = pools
        split = [heldout_by_seed(p.seeds, args.heldout_fraction) for p in pools]
        train_members = [np.flatnonzero(~s) for s in split]
        held_members = [np.flatnonzero(s) for s in split]
        heldout_from = f"{args.heldout_fraction:.1%} of clips held back by seed"
    print(", ".join(f"{p.size} clips of latent {p.latent}" for p in pools) + f"; {heldout_from}", flush=True)

    config = {**(TINY if args.tiny else {}), "vocab_size": vocab.size}
    model = VideoPoetTransformer(**config)
    params = sum(p.numel() for p in model.parameters())  # as shipped: without the training-time bit term
    if not args.atomic_codes:
        CodeBitEmbedding.attach(model, vocab)
    opt = make_optimizer(model, args.lr, fused=use_cuda)
    model, opt = accelerator.prepare(model, opt)
    raw = accelerator.unwrap_model(model)
    step, trained_s, tokens_seen = 0, 0.0, 0
    progress_file = out / "checkpoint.json"
    if args.resume:
        step, trained_s = load_checkpoint(out / "checkpoint.pt", raw, opt)
        saved = json.loads(progress_file.read_text()) if progress_file.exists() else {}
        tokens_seen = saved.get("tokens_seen", 0) if saved.get("step") == step else 0
        print(f"resumed at step {step} after {trained_s:.0f} s of training", flush=True)

    rng = np.random.default_rng([args.seed, step])
    sampler = TaskSampler(pools, train_members, vocab, args.batch_tokens, args.caption_dropout, rng)
    trained_tasks = [t for t in sampler.available() if t in args.tasks]
    skipped = [t for t in args.tasks if t not in trained_tasks]
    if not trained_tasks:
        raise VideoPoetError(f"no training data for any of {args.tasks}")
    if skipped:
        warnings.warn(f"no training data for {skipped} (stylization needs pools written with structure, audio "
                      f"tasks clips with sound); they are left out of the mixture", stacklevel=1)
    longest = check_fits(raw, sampler, trained_tasks)

    budget = args.minutes * 60.0
    log = open(out / "train_log.jsonl", "a" if args.resume else "w")  # noqa: SIM115 (closed below)
    print(f"training {params:,} parameters on {device_name(device)} for {args.minutes} min; vocabulary "
          f"{vocab.size:,}; longest sequence {longest}; {args.batch_tokens:,} tokens per step", flush=True)
    bar = tqdm(unit="step", dynamic_ncols=True, mininterval=2.0, initial=step)
    window: dict[str, list] = {}
    nonfinite = torch.zeros((), dtype=torch.bool, device=device)
    window_tokens, window_t0 = 0, time.time()
    t0, last_ckpt = time.time() - trained_s, time.time()

    def check_finite() -> None:
        if bool(nonfinite):
            raise TrainingFailure(f"by step {step}: the loss went non-finite (mixed precision overflow or "
                                  f"divergence); see {out / 'train_log.jsonl'}")

    def checkpoint() -> None:
        check_finite()
        save_checkpoint(out / "checkpoint.pt", raw, opt, step, time.time() - t0)
        progress_file.write_text(json.dumps({"step": step, "tokens_seen": tokens_seen}))

    while True:
        elapsed = time.time() - t0
        progress = elapsed / budget
        if args.steps:
            progress = max(progress, step / args.steps)
        if elapsed >= budget or (args.steps and step >= args.steps):
            break
        lr = cosine_lr(min(progress, 1.0), args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        weights = task_weights(progress, trained_tasks)
        task = str(rng.choice(list(weights), p=list(weights.values())))
        batch, template = sampler.draw(task)
        loss, grad_norm = train_step(model, opt, accelerator, batch)
        nonfinite |= ~torch.isfinite(loss)
        step += 1
        n_tokens = batch["tokens"].numel()
        tokens_seen += n_tokens
        window_tokens += n_tokens
        window.setdefault(task, []).append(loss)
        bar.update(1)
        if step % args.log_every == 0 or step == 1:
            check_finite()
            now = time.time()
            per_task = {t: round(float(torch.stack(v).mean()), 4) for t, v in window.items()}
            all_losses = torch.cat([torch.stack(v) for v in window.values()])
            tokens_per_s = window_tokens / max(now - window_t0, 1e-9)
            record = {"step": step, "time_s": round(now - t0, 1), "lr": round(lr, 7),
                      "loss": round(float(all_losses.mean()), 4), "grad_norm": round(float(grad_norm), 3),
                      "tokens_seen": tokens_seen, "tokens_per_s": round(tokens_per_s),
                      "t2i_share": round(weights.get("t2i", 0.0), 4), "loss_by_task": per_task,
                      "steps_by_task": {t: len(v) for t, v in window.items()}}
            log.write(json.dumps(record) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{tokens_per_s:,.0f}")
            window, window_tokens, window_t0 = {}, 0, now
        if time.time() - last_ckpt > args.checkpoint_minutes * 60:
            checkpoint()
            last_ckpt = time.time()
    bar.close()
    train_s = time.time() - t0
    checkpoint()
    print(f"trained {step} steps, {tokens_seen:,} tokens in {train_s:.0f} s ({tokens_seen / max(train_s, 1e-9):,.0f} "
          f"tokens/s)", flush=True)

    raw.eval()
    if not args.atomic_codes:
        CodeBitEmbedding.bake(raw)
    # The shipped format is int8 (24 MiB budget); the held-out losses are those of that checkpoint.
    save_8bit(raw, out)
    saved_model = load_transformer(out, precision="fp32", device=device)
    held_sampler = TaskSampler(held_pools, held_members, vocab, args.batch_tokens, 0.0, np.random.default_rng(1234))
    heldout = evaluate(saved_model, held_sampler, trained_tasks, args.heldout, args.batch_tokens, accelerator.autocast)
    result = {"command": command,
              "pretokenize_commands": [i.get("command") or "(not recorded)" for i in indexes],
              "device": device_name(device), "torch": torch.__version__,
              "wall_s": round(time.time() - t_start, 1), "train_s": round(train_s, 1), "steps": step,
              "tokens_seen": tokens_seen, "tokens_per_s": round(tokens_seen / max(train_s, 1e-9)),
              "batch_tokens": args.batch_tokens, "lr": args.lr, "caption_dropout": args.caption_dropout,
              "code_embedding": "atomic" if args.atomic_codes else "own row + bits",
              "params": params, "config": {k: v for k, v in saved_model.config.items() if not k.startswith("_")},
              "vocab": {"n_text": vocab.n_text, "video_codebook_bits": vocab.video_codebook_bits, "size": vocab.size},
              "data": {"tokens": args.tokens, "pools": [{"latent": list(p.latent), "clips": p.size} for p in pools],
                       "train_clips": int(sum(len(m) for m in train_members)),
                       "heldout_clips": int(sum(len(m) for m in held_members)), "heldout_from": heldout_from},
              "task_weights": TASK_WEIGHTS, "tasks_trained": trained_tasks, "tasks_skipped": skipped,
              "longest_sequence": longest, "heldout": heldout,
              "heldout_mean_loss": round(float(np.mean([r["loss"] for r in heldout.values()])), 4) if heldout else None}
    log.write(json.dumps({"final": result}) + "\n")
    log.close()
    (out / "eval.json").write_text(json.dumps(result, indent=1))
    write_card(out, result)
    if not args.keep_checkpoint:
        (out / "checkpoint.pt").unlink()
        progress_file.unlink()
    print(json.dumps({k: result[k] for k in ("steps", "tokens_seen", "tokens_per_s", "train_s", "heldout_mean_loss")}),
          flush=True)
    return result


if __name__ == "__main__":
    main()
