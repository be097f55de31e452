"""Every VideoPoet task as one token sequence: the caption tokenizer, the unified vocabulary, the
layouts, and the batching the language model trains on.

One id space holds every modality (VideoPoet §3.2):

    [special tokens][text tokens][video codes][audio codes, level 0 | level 1 | level 2 | level 3]

A task is laid out as

    <bos> <task:x> [<source>] [<res>] [<bot_i> text <eot_i>] [<bov_i> video <eov_i>] [<boa_i> audio <eoa_i>]
    [<bov_o> video <eov_o>] [<boa_o> audio <eoa_o>] <eos>

where absent modalities are dropped entirely. Everything up to and including the first output
begin-token (`<bov_o>` or `<boa_o>`) is the prefix: the model attends to it bidirectionally and
takes no loss on it; every later token is an output, predicted causally. The same layout function
serves training (outputs given: the whole sequence) and inference (outputs omitted: the prefix, plus
an `output_spec` saying which tokens from which id range the sampler must produce, and where).

Usage:
    tok = train_caption_tokenizer(captions)
    vocab = Vocabulary(n_text=tok.get_vocab_size(), video_codebook_bits=14)
    example = text_to_video(vocab, encode_caption(tok, "A raccoon dancing."), video_tokens)
    prompt = text_to_video(vocab, encode_caption(tok, "A raccoon dancing."))  # for sampling
    outputs = parse_output(vocab, generated_ids, prompt.output_spec)         # {"video": (5, 16, 16)}
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from videopoet.errors import VideoPoetError

MAX_TEXT_TOKENS = 64
AUDIO_FRAMES = 106
AUDIO_LEVELS = 4
AUDIO_CODES = 1024
SQUARE_VIDEO = (5, 16, 16)  # 17 frames of 128 x 128
PORTRAIT_VIDEO = (5, 28, 16)  # 17 frames of 224 x 128 (H x W)
CONTEXT_LATENT_FRAMES = 2  # the last second of a clip: latent frames 3 and 4 cover frames 9..16
CONTEXT_AUDIO_FRAMES = 50  # one second of audio codes (50 frames per second)
CAMERA_SUFFIXES = ("Zoom out", "Dolly zoom", "Pan left", "Arc shot", "Crane shot", "FPV drone shot")
NEGATIVE_PROMPT = ("a still shot of an ugly cartoon, slideshow of an empty scene, low resolution, "
                   "distorted and disfigured")

TASKS = ("uncond", "t2v", "t2i", "i2v", "continuation", "inpaint", "outpaint", "stylize",
         "v2a", "a2v", "t2a", "av_continuation")
# `<mask>` fills the cells of an inpainting/outpainting input that the model must invent: dropping
# them would lose the grid geometry, and a real code would claim content that is not there.
SPECIAL_TOKENS = ("<bos>", *(f"<task:{t}>" for t in TASKS), "<bot_i>", "<eot_i>", "<bov_i>", "<eov_i>",
                  "<boa_i>", "<eoa_i>", "<source>", "<res>", "<bov_o>", "<eov_o>", "<boa_o>", "<eoa_o>",
                  "<eos>", "<pad>", "<mask>")

MODALITY_SPECIAL, MODALITY_TEXT, MODALITY_VIDEO, MODALITY_AUDIO = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------------
# Caption tokenizer
# ---------------------------------------------------------------------------------------------------

def train_caption_tokenizer(captions: list[str], vocab_size: int = 2048):
    """A lowercasing byte-level BPE over `captions`: any text encodes (bytes are the fallback, so
    there is no unknown token) and decodes back to its normalised form exactly."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(captions, trainer=trainer)
    tokenizer.enable_truncation(max_length=MAX_TEXT_TOKENS)
    return tokenizer


def caption_corpus(n_captions: int, seed: int = 0) -> list[str]:
    """World captions written straight from random scene specs (no rendering: same grammar, same
    distribution, ~1000x faster), plus the real-media captions and the prompts users type."""
    from videopoet.world.captions import caption
    from videopoet.world.real import sources
    from videopoet.world.scene import random_spec
    from videopoet.world.vocab import CAMERAS

    rng = np.random.default_rng(seed)
    corpus = [caption(random_spec(rng), rng) for _ in range(n_captions)]
    camera_phrases = [p for d in CAMERAS.values() for p in d["phrases"]] + list(CAMERA_SUFFIXES)
    for source in sources():
        desc = source.description[0].upper() + source.description[1:]
        corpus.append(f"Real footage of {source.description}.")
        corpus += [f"{desc}. {p[0].upper()}{p[1:]}." for p in camera_phrases]
    # Users append the article's camera suffixes to any prompt.
    corpus += [f"{c[:-1]}. {CAMERA_SUFFIXES[i % len(CAMERA_SUFFIXES)]}." for i, c in enumerate(corpus[: n_captions // 4])]
    corpus.append(NEGATIVE_PROMPT)
    return corpus


def build_caption_tokenizer(out_dir: str | Path, n_captions: int = 20000, vocab_size: int = 2048) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tokenizer.json"
    train_caption_tokenizer(caption_corpus(n_captions), vocab_size).save(str(path))
    return path


def encode_caption(tokenizer, text: str) -> np.ndarray:
    """Caption -> text-token ids (tokenizer space, not the unified one), at most 64 of them."""
    return np.asarray(tokenizer.encode(text).ids[:MAX_TEXT_TOKENS], dtype=np.int64)


# ---------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Vocabulary:
    n_text: int
    video_codebook_bits: int
    audio_levels: int = AUDIO_LEVELS
    audio_codes: int = AUDIO_CODES

    special_tokens = SPECIAL_TOKENS

    def id(self, name: str) -> int:
        try:
            return SPECIAL_TOKENS.index(name)
        except ValueError:
            raise VideoPoetError(f"unknown special token {name!r}; known: {SPECIAL_TOKENS}") from None

    def task_id(self, task: str) -> int:
        return self.id(f"<task:{task}>")

    @property
    def pad_id(self) -> int:
        return self.id("<pad>")

    @property
    def special_range(self) -> range:
        return range(len(SPECIAL_TOKENS))

    @property
    def text_range(self) -> range:
        return range(self.special_range.stop, self.special_range.stop + self.n_text)

    @property
    def video_range(self) -> range:
        return range(self.text_range.stop, self.text_range.stop + 2 ** self.video_codebook_bits)

    def audio_range(self, level: int) -> range:
        if not 0 <= level < self.audio_levels:
            raise VideoPoetError(f"audio level must be in [0, {self.audio_levels}), not {level}")
        start = self.video_range.stop + level * self.audio_codes
        return range(start, start + self.audio_codes)

    @property
    def size(self) -> int:
        return self.audio_range(self.audio_levels - 1).stop

    def from_text_ids(self, ids) -> np.ndarray:
        return _shift(ids, 0, self.n_text, self.text_range.start, "text token")

    def from_video_codes(self, codes) -> np.ndarray:
        return _shift(codes, 0, 2 ** self.video_codebook_bits, self.video_range.start, "video code")

    def from_audio_codes(self, codes) -> np.ndarray:
        """(levels, frames) codes -> (levels, frames) unified ids; each level in its own range."""
        codes = np.asarray(codes, dtype=np.int64)
        if codes.ndim != 2 or codes.shape[0] != self.audio_levels:
            raise VideoPoetError(f"audio codes must be ({self.audio_levels}, frames), not {codes.shape}")
        return np.stack([_shift(row, 0, self.audio_codes, self.audio_range(level).start, f"level-{level} audio code")
                         for level, row in enumerate(codes)])

    def to_text_ids(self, ids) -> np.ndarray:
        return _shift(ids, self.text_range.start, self.text_range.stop, -self.text_range.start, "text id")

    def to_video_codes(self, ids) -> np.ndarray:
        r = self.video_range
        return _shift(ids, r.start, r.stop, -r.start, "video id")

    def to_audio_codes(self, ids) -> np.ndarray:
        """Level-major ids, (levels, frames) or flat (levels * frames,) -> (levels, frames) codes."""
        ids = np.asarray(ids, dtype=np.int64).reshape(self.audio_levels, -1)
        return np.stack([_shift(row, self.audio_range(level).start, self.audio_range(level).stop,
                                -self.audio_range(level).start, f"level-{level} audio id")
                         for level, row in enumerate(ids)])


def _shift(values, low: int, high: int, offset: int, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < low or values.max() >= high):
        bad = values[(values < low) | (values >= high)]
        raise VideoPoetError(f"{what}s must lie in [{low}, {high}); got {bad[:5].tolist()}")
    return values + offset


# ---------------------------------------------------------------------------------------------------
# Sequences and batches
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)  # tensors have no truth value to compare by
class Sequence:
    """What the model reads. Positions: text token i -> (i, 0, 0); video -> latent (t, y, x);
    audio -> (frame, level, 0); special -> (0, 0, 0). Tokens [0, prefix_len) condition (bidirectional,
    no loss); the rest are outputs (causal, loss)."""

    task: str
    tokens: torch.Tensor  # int64 (L,)
    positions: torch.Tensor  # int64 (L, 3)
    modality: torch.Tensor  # int8 (L,)
    prefix_len: int

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


def collate(seqs: list[Sequence], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest sequence. `valid[b, j]`: token j is real. `loss_mask[b, j]`: token j
    is an output, so the logits at j - 1 are scored against it (shift by one in the loss)."""
    length = max(len(s) for s in seqs)
    batch = len(seqs)
    tokens = torch.full((batch, length), pad_id, dtype=torch.int64)
    positions = torch.zeros((batch, length, 3), dtype=torch.int64)
    modality = torch.zeros((batch, length), dtype=torch.int8)
    valid = torch.zeros((batch, length), dtype=torch.bool)
    loss_mask = torch.zeros((batch, length), dtype=torch.bool)
    for b, s in enumerate(seqs):
        n = len(s)
        tokens[b, :n] = s.tokens
        positions[b, :n] = s.positions
        modality[b, :n] = s.modality
        valid[b, :n] = True
        loss_mask[b, s.prefix_len:n] = True
    prefix_len = torch.tensor([s.prefix_len for s in seqs], dtype=torch.int64)
    return {"tokens": tokens, "positions": positions, "modality": modality, "valid": valid,
            "loss_mask": loss_mask, "prefix_len": prefix_len}


def group_by_length(seqs: list[Sequence], batch_size: int, rng: np.random.Generator | None = None) -> list[list[int]]:
    """Indices of `seqs` in batches that each hold one task at one length (VideoPoet's alternating
    gradient descent: no padding, one task per step). With `rng`, members and batch order are shuffled."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, s in enumerate(seqs):
        groups[(s.task, len(s))].append(i)
    batches = []
    for members in groups.values():
        if rng is not None:
            members = [members[i] for i in rng.permutation(len(members))]
        batches += [members[i:i + batch_size] for i in range(0, len(members), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


# ---------------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OutputSegment:
    """A run of output tokens, every one drawn from ids [low, high): a video grid (t, h, w), one audio
    level (frames,), or a single fixed special token (1,) with high == low + 1."""

    modality: int
    shape: tuple[int, ...]
    low: int
    high: int
    level: int = 0

    @property
    def length(self) -> int:
        return int(np.prod(self.shape))

    def positions(self) -> np.ndarray:
        if self.modality == MODALITY_VIDEO:
            return _grid_positions(self.shape)
        if self.modality == MODALITY_AUDIO:
            frames = np.arange(self.shape[0])
            return np.stack([frames, np.full_like(frames, self.level), np.zeros_like(frames)], axis=1)
        return np.zeros((self.length, 3), dtype=np.int64)


@dataclasses.dataclass(frozen=True, eq=False)
class Layout:
    """`sequence` is the whole example when outputs were given (training), else the prefix alone
    (inference). `output_spec` describes the outputs either way."""

    sequence: Sequence
    output_spec: tuple[OutputSegment, ...]

    @property
    def output_length(self) -> int:
        return sum(s.length for s in self.output_spec)

    def output_positions(self) -> torch.Tensor:
        return torch.from_numpy(np.concatenate([s.positions() for s in self.output_spec]).astype(np.int64))

    def output_modality(self) -> torch.Tensor:
        return torch.tensor([s.modality for s in self.output_spec for _ in range(s.length)], dtype=torch.int8)

    def output_bounds(self) -> torch.Tensor:
        """(N, 2) allowed [low, high) id range for each output token, for constrained sampling."""
        return torch.tensor([(s.low, s.high) for s in self.output_spec for _ in range(s.length)], dtype=torch.int64)


def _grid_positions(shape) -> np.ndarray:
    t, y, x = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return np.stack([t.ravel(), y.ravel(), x.ravel()], axis=1).astype(np.int64)


class _Builder:
    """Accumulates (ids, positions, modality) parts of one sequence."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.ids: list[np.ndarray] = []
        self.positions: list[np.ndarray] = []
        self.modality: list[np.ndarray] = []

    def add(self, ids: np.ndarray, positions: np.ndarray, modality) -> None:
        ids = np.asarray(ids, dtype=np.int64).ravel()
        self.ids.append(ids)
        self.positions.append(np.asarray(positions, dtype=np.int64).reshape(len(ids), 3))
        self.modality.append(np.broadcast_to(np.asarray(modality, dtype=np.int8), ids.shape))

    def special(self, name: str) -> None:
        self.add([self.vocab.id(name)], np.zeros((1, 3)), MODALITY_SPECIAL)

    def text(self, text_ids) -> None:
        text_ids = np.asarray(text_ids, dtype=np.int64)
        if not 0 < len(text_ids) <= MAX_TEXT_TOKENS:
            raise VideoPoetError(f"a caption must be 1..{MAX_TEXT_TOKENS} tokens, not {len(text_ids)} "
                                 f"(encode it with encode_caption)")
        i = np.arange(len(text_ids))
        self.special("<bot_i>")
        self.add(self.vocab.from_text_ids(text_ids), np.stack([i, 0 * i, 0 * i], axis=1), MODALITY_TEXT)
        self.special("<eot_i>")

    def video(self, codes: np.ndarray, mask: np.ndarray | None = None) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        if codes.ndim != 3:
            raise VideoPoetError(f"video tokens must be (t, h, w), not {codes.shape}")
        ids = self.vocab.from_video_codes(codes)
        if mask is not None:
            if mask.shape != codes.shape:
                raise VideoPoetError(f"mask {mask.shape} must match the video tokens {codes.shape}")
            ids = np.where(mask, self.vocab.id("<mask>"), ids)
        self.add(ids, _grid_positions(codes.shape), MODALITY_VIDEO)

    def audio(self, codes: np.ndarray) -> None:
        ids = self.vocab.from_audio_codes(codes)
        levels, frames = ids.shape
        f, lv = np.meshgrid(np.arange(frames), np.arange(levels))  # level-major, like the ids
        self.add(ids, np.stack([f.ravel(), lv.ravel(), np.zeros(ids.size, np.int64)], axis=1), MODALITY_AUDIO)

    def __len__(self) -> int:
        return sum(len(i) for i in self.ids)

    def sequence(self, task: str, prefix_len: int) -> Sequence:
        return Sequence(task=task, tokens=torch.from_numpy(np.concatenate(self.ids)),
                        positions=torch.from_numpy(np.concatenate(self.positions)),
                        modality=torch.from_numpy(np.concatenate(self.modality).astype(np.int8)),
                        prefix_len=prefix_len)


def _layout(vocab: Vocabulary, task: str, *, text=None, video_in=None, mask=None, audio_in=None,
            video_out=None, audio_out=None, video_shape=None, audio_shape=None, real=False) -> Layout:
    """The one assembler behind every task. Outputs are `video_out`/`audio_out` (tokens, for
    training) or `video_shape`/`audio_shape` (what to generate, for inference); the two must not mix."""
    if video_out is not None:
        video_shape = np.shape(video_out)
    if audio_out is not None:
        audio_shape = np.shape(audio_out)
    has_video, has_audio = video_shape is not None, audio_shape is not None
    training = video_out is not None or audio_out is not None
    if training and ((has_video and video_out is None) or (has_audio and audio_out is None)):
        raise VideoPoetError("give every output's tokens (training) or none of them (inference)")
    image_only = task == "t2i"

    b = _Builder(vocab)
    b.special("<bos>")
    b.special(f"<task:{task}>")
    if real:
        b.special("<source>")
    if has_video and video_shape[1] > video_shape[2]:
        b.special("<res>")
    if text is not None:
        b.text(text)
    if video_in is not None:
        b.special("<bov_i>")
        b.video(video_in, mask)
        b.special("<eov_i>")
    if audio_in is not None:
        b.special("<boa_i>")
        b.audio(audio_in)
        b.special("<eoa_i>")

    spec: list[OutputSegment] = []

    def fixed(name: str) -> None:
        spec.append(OutputSegment(MODALITY_SPECIAL, (1,), vocab.id(name), vocab.id(name) + 1))

    prefix_len = None
    if has_video:
        b.special("<bov_o>")
        prefix_len = len(b)
        spec.append(OutputSegment(MODALITY_VIDEO, tuple(int(n) for n in video_shape), vocab.video_range.start,
                                  vocab.video_range.stop))
        if not image_only:  # an image is the start of a video: no end tokens, so T2I teaches video starts
            fixed("<eov_o>")
    if has_audio:
        if has_video:
            fixed("<boa_o>")
        else:
            b.special("<boa_o>")
            prefix_len = len(b)
        levels, frames = audio_shape
        for level in range(levels):
            r = vocab.audio_range(level)
            spec.append(OutputSegment(MODALITY_AUDIO, (int(frames),), r.start, r.stop, level))
        fixed("<eoa_o>")
    if not image_only:
        fixed("<eos>")

    if training:
        for segment in spec:
            if segment.modality == MODALITY_VIDEO:
                b.video(video_out)
            elif segment.modality == MODALITY_AUDIO:
                if segment.level == 0:
                    b.audio(audio_out)
            else:
                b.add([segment.low], np.zeros((1, 3)), MODALITY_SPECIAL)
    return Layout(b.sequence(task, prefix_len), tuple(spec))


def _video_shape(video, portrait: bool, frames: int = SQUARE_VIDEO[0]):
    if video is not None:
        return None
    _, h, w = PORTRAIT_VIDEO if portrait else SQUARE_VIDEO
    return (frames, h, w)


def unconditional(vocab: Vocabulary, video=None, *, portrait: bool = False, real: bool = False) -> Layout:
    return _layout(vocab, "uncond", video_out=video, video_shape=_video_shape(video, portrait), real=real)


def text_to_video(vocab: Vocabulary, text, video=None, *, portrait: bool = False, real: bool = False) -> Layout:
    return _layout(vocab, "t2v", text=text, video_out=video, video_shape=_video_shape(video, portrait), real=real)


def text_to_image(vocab: Vocabulary, text, image=None, *, portrait: bool = False, real: bool = False) -> Layout:
    """`image`: (1, h, w) tokens, the first latent frame of a clip."""
    return _layout(vocab, "t2i", text=text, video_out=image, video_shape=_video_shape(image, portrait, 1), real=real)


def image_to_video(vocab: Vocabulary, image, video=None, *, text=None, real: bool = False) -> Layout:
    """`image`: (1, h, w) tokens; the output clip has the image's orientation."""
    image = np.asarray(image)
    return _layout(vocab, "i2v", text=text, video_in=image, video_out=video,
                   video_shape=None if video is not None else (SQUARE_VIDEO[0],) + image.shape[1:], real=real)


def continuation(vocab: Vocabulary, context, video=None, *, text=None, real: bool = False) -> Layout:
    """`context`: the last second of a clip, (2, h, w) tokens (its last two latent frames)."""
    context = np.asarray(context)
    return _layout(vocab, "continuation", text=text, video_in=context, video_out=video,
                   video_shape=None if video is not None else (SQUARE_VIDEO[0],) + context.shape[1:], real=real)


def _masked(task: str, vocab: Vocabulary, video_in, mask, video, text, real) -> Layout:
    video_in = np.asarray(video_in)
    mask = np.asarray(mask, dtype=bool)
    return _layout(vocab, task, text=text, video_in=video_in, mask=mask, video_out=video,
                   video_shape=None if video is not None else video_in.shape, real=real)


def inpainting(vocab: Vocabulary, video_in, mask, video=None, *, text=None, real: bool = False) -> Layout:
    """`mask` (t, h, w) bool, True where the model must fill in; the output is the whole clip."""
    return _masked("inpaint", vocab, video_in, mask, video, text, real)


def outpainting(vocab: Vocabulary, video_in, mask, video=None, *, text=None, real: bool = False) -> Layout:
    return _masked("outpaint", vocab, video_in, mask, video, text, real)


def stylization(vocab: Vocabulary, text, structure, video=None, *, real: bool = False) -> Layout:
    """`structure`: video tokens of the flow+depth rendering of the source clip."""
    structure = np.asarray(structure)
    return _layout(vocab, "stylize", text=text, video_in=structure, video_out=video,
                   video_shape=None if video is not None else structure.shape, real=real)


def video_to_audio(vocab: Vocabulary, video_in, audio=None, *, real: bool = False) -> Layout:
    return _layout(vocab, "v2a", video_in=video_in, audio_out=audio,
                   audio_shape=None if audio is not None else (vocab.audio_levels, AUDIO_FRAMES), real=real)


def audio_to_video(vocab: Vocabulary, audio_in, video=None, *, text=None, portrait: bool = False,
                   real: bool = False) -> Layout:
    return _layout(vocab, "a2v", text=text, audio_in=audio_in, video_out=video,
                   video_shape=_video_shape(video, portrait), real=real)


def text_to_audio(vocab: Vocabulary, text, audio=None, *, real: bool = False) -> Layout:
    return _layout(vocab, "t2a", text=text, audio_out=audio,
                   audio_shape=None if audio is not None else (vocab.audio_levels, AUDIO_FRAMES), real=real)


def audio_video_continuation(vocab: Vocabulary, video_context, audio_context, video=None, audio=None, *,
                             text=None, real: bool = False) -> Layout:
    """Contexts: the last second of a clip, (2, h, w) video tokens and (4, 50) audio codes."""
    video_context = np.asarray(video_context)
    return _layout(vocab, "av_continuation", text=text, video_in=video_context, audio_in=audio_context,
                   video_out=video, audio_out=audio,
                   video_shape=None if video is not None else (SQUARE_VIDEO[0],) + video_context.shape[1:],
                   audio_shape=None if audio is not None else (vocab.audio_levels, AUDIO_FRAMES), real=real)


def parse_output(vocab: Vocabulary, tokens, output_spec) -> dict[str, np.ndarray]:
    """Generated output ids -> {"video": (t, h, w) codes, "audio": (levels, frames) codes}, checking
    that every token lies in its segment's range (fixed specials included)."""
    tokens = np.asarray(tokens, dtype=np.int64).ravel()
    expected = sum(s.length for s in output_spec)
    if len(tokens) != expected:
        raise VideoPoetError(f"expected {expected} output tokens, got {len(tokens)}")
    out: dict[str, np.ndarray] = {}
    levels = []
    start = 0
    for segment in output_spec:
        chunk = tokens[start:start + segment.length]
        start += segment.length
        if segment.modality == MODALITY_VIDEO:
            out["video"] = vocab.to_video_codes(chunk).reshape(segment.shape)
        elif segment.modality == MODALITY_AUDIO:
            levels.append(chunk)
        else:
            _shift(chunk, segment.low, segment.high, 0, SPECIAL_TOKENS[segment.low])
    if levels:
        out["audio"] = vocab.to_audio_codes(np.stack(levels))
    return out


# ---------------------------------------------------------------------------------------------------
# Masks for inpainting and outpainting
# ---------------------------------------------------------------------------------------------------

MASK_KINDS = ("box", "border", "half", "random")
MASK_TASK = {"box": "inpaint", "random": "inpaint", "border": "outpaint", "half": "outpaint"}


def make_mask(kind: str, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """(t, h, w) bool on the token grid, True where the model must generate. box: a rectangle of a
    quarter to a half of each side; border: a ring 1/8 to 1/4 of each side wide around a kept centre;
    half: the left, right, top or bottom half; random: each cell with a probability of 0.25..0.75.
    Spatial masks hold for every frame, as a static region to fill does."""
    _, h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    if kind == "box":
        bh = int(rng.integers(max(1, h // 4), max(2, h // 2) + 1))
        bw = int(rng.integers(max(1, w // 4), max(2, w // 2) + 1))
        y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        mask[y:y + bh, x:x + bw] = True
    elif kind == "border":
        by = int(rng.integers(max(1, h // 8), max(1, h // 4) + 1))
        bx = int(rng.integers(max(1, w // 8), max(1, w // 4) + 1))
        mask[:] = True
        mask[by:h - by, bx:w - bx] = False
    elif kind == "half":
        side = int(rng.integers(4))
        if side == 0:
            mask[:, : w // 2] = True
        elif side == 1:
            mask[:, w // 2:] = True
        elif side == 2:
            mask[: h // 2] = True
        else:
            mask[h // 2:] = True
    elif kind == "random":
        full = rng.random(shape) < rng.uniform(0.25, 0.75)
        full.flat[int(rng.integers(full.size))] = True  # never nothing to fill
        return full
    else:
        raise VideoPoetError(f"unknown mask kind {kind!r}; known: {MASK_KINDS}")
    return np.broadcast_to(mask, shape).copy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m videopoet.tasks")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-caption-tokenizer", help="train the caption BPE and write tokenizer.json")
    build.add_argument("--out", default="weights/caption_tokenizer")
    build.add_argument("--n", type=int, default=20000, help="world captions to train on")
    build.add_argument("--vocab-size", type=int, default=2048)
    args = parser.parse_args(argv)
    path = build_caption_tokenizer(args.out, args.n, args.vocab_size)
    print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
