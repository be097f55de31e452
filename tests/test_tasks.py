"""Task layouts, the unified vocabulary, batching, masks and the caption tokenizer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from videopoet import tasks
from videopoet.errors import VideoPoetError
from videopoet.tasks import (
    MODALITY_AUDIO,
    MODALITY_SPECIAL,
    MODALITY_TEXT,
    MODALITY_VIDEO,
    Vocabulary,
    collate,
    group_by_length,
    make_mask,
    parse_output,
)

VOCAB = Vocabulary(n_text=2000, video_codebook_bits=14)
RNG = np.random.default_rng(0)
TEXT = np.array([5, 17, 3, 1999])
SQUARE = RNG.integers(0, 2**14, size=(5, 16, 16))
PORTRAIT = RNG.integers(0, 2**14, size=(5, 28, 16))
AUDIO = RNG.integers(0, 1024, size=(4, 106))
AUDIO_CONTEXT = RNG.integers(0, 1024, size=(4, 50))
MASK = make_mask("box", (5, 16, 16), np.random.default_rng(1))

# task -> (layout taking its outputs as video=/audio=, those outputs as parse_output returns them)
CASES = {
    "uncond": (lambda **o: tasks.unconditional(VOCAB, **o), {"video": SQUARE}),
    "t2v": (lambda **o: tasks.text_to_video(VOCAB, TEXT, **o), {"video": SQUARE}),
    "t2i": (lambda video=None: tasks.text_to_image(VOCAB, TEXT, video), {"video": SQUARE[:1]}),
    "i2v": (lambda **o: tasks.image_to_video(VOCAB, SQUARE[:1], text=TEXT, **o), {"video": SQUARE}),
    "continuation": (lambda **o: tasks.continuation(VOCAB, SQUARE[-2:], **o), {"video": SQUARE}),
    "inpaint": (lambda **o: tasks.inpainting(VOCAB, SQUARE, MASK, text=TEXT, **o), {"video": SQUARE}),
    "outpaint": (lambda **o: tasks.outpainting(VOCAB, SQUARE, ~MASK, **o), {"video": SQUARE}),
    "stylize": (lambda **o: tasks.stylization(VOCAB, TEXT, SQUARE, **o), {"video": SQUARE}),
    "v2a": (lambda **o: tasks.video_to_audio(VOCAB, SQUARE, **o), {"audio": AUDIO}),
    "a2v": (lambda **o: tasks.audio_to_video(VOCAB, AUDIO, **o), {"video": SQUARE}),
    "t2a": (lambda **o: tasks.text_to_audio(VOCAB, TEXT, **o), {"audio": AUDIO}),
    "av_continuation": (lambda **o: tasks.audio_video_continuation(VOCAB, SQUARE[-2:], AUDIO_CONTEXT, **o),
                        {"video": SQUARE, "audio": AUDIO}),
}


def names(ids) -> list[str]:
    return [tasks.SPECIAL_TOKENS[i] if i in VOCAB.special_range else "." for i in ids.tolist()]


def test_special_tokens_exactly_as_specified():
    task_tokens = [f"<task:{t}>" for t in ("uncond", "t2v", "t2i", "i2v", "continuation", "inpaint", "outpaint",
                                            "stylize", "v2a", "a2v", "t2a", "av_continuation")]
    assert tasks.SPECIAL_TOKENS == ("<bos>", *task_tokens, "<bot_i>", "<eot_i>", "<bov_i>", "<eov_i>", "<boa_i>",
                                    "<eoa_i>", "<source>", "<res>", "<bov_o>", "<eov_o>", "<boa_o>", "<eoa_o>",
                                    "<eos>", "<pad>", "<mask>")
    assert len(set(tasks.SPECIAL_TOKENS)) == len(tasks.SPECIAL_TOKENS)
    assert [VOCAB.id(n) for n in tasks.SPECIAL_TOKENS] == list(range(len(tasks.SPECIAL_TOKENS)))
    with pytest.raises(VideoPoetError):
        VOCAB.id("<task>")


def test_vocabulary_ranges_disjoint_and_covering():
    ranges = [VOCAB.special_range, VOCAB.text_range, VOCAB.video_range] + [VOCAB.audio_range(level) for level in range(4)]
    assert ranges[0].start == 0 and ranges[-1].stop == VOCAB.size
    for a, b in itertools.pairwise(ranges):
        assert a.stop == b.start
    assert [len(r) for r in ranges] == [len(tasks.SPECIAL_TOKENS), 2000, 2**14, 1024, 1024, 1024, 1024]
    assert VOCAB.size == len(tasks.SPECIAL_TOKENS) + 2000 + 2**14 + 4096


def test_vocabulary_maps_invert_and_check_ranges():
    assert np.array_equal(VOCAB.to_video_codes(VOCAB.from_video_codes(SQUARE)), SQUARE)
    assert np.array_equal(VOCAB.to_audio_codes(VOCAB.from_audio_codes(AUDIO)), AUDIO)
    assert np.array_equal(VOCAB.to_audio_codes(VOCAB.from_audio_codes(AUDIO).ravel()), AUDIO)
    assert VOCAB.from_audio_codes(np.full((4, 1), 7))[:, 0].tolist() == [VOCAB.audio_range(lv).start + 7 for lv in range(4)]
    assert np.array_equal(VOCAB.to_text_ids(VOCAB.from_text_ids(TEXT)), TEXT)
    with pytest.raises(VideoPoetError):
        VOCAB.to_video_codes([VOCAB.video_range.stop])
    with pytest.raises(VideoPoetError):
        VOCAB.to_audio_codes(VOCAB.from_audio_codes(AUDIO)[::-1])  # level 3 ids where level 0 belongs
    with pytest.raises(VideoPoetError):
        VOCAB.from_video_codes([2**14])


@pytest.mark.parametrize("task", list(CASES))
def test_layout_round_trips_and_prefix_marks_outputs(task):
    build, outputs = CASES[task]
    example = build(**outputs)
    prompt = build()
    seq = example.sequence
    assert seq.task == task and seq.tokens[1].item() == VOCAB.task_id(task)
    assert example.output_spec == prompt.output_spec
    # The inference prefix is the training sequence's prefix, token for token.
    assert torch.equal(prompt.sequence.tokens, seq.tokens[:seq.prefix_len])
    assert torch.equal(prompt.sequence.positions, seq.positions[:seq.prefix_len])
    assert prompt.sequence.prefix_len == len(prompt.sequence)
    assert len(seq) == seq.prefix_len + prompt.output_length
    assert names(seq.tokens[seq.prefix_len - 1:seq.prefix_len])[0] in ("<bov_o>", "<boa_o>")
    assert torch.equal(prompt.output_positions(), seq.positions[seq.prefix_len:])
    assert torch.equal(prompt.output_modality(), seq.modality[seq.prefix_len:])
    bounds = prompt.output_bounds()
    out = seq.tokens[seq.prefix_len:]
    assert bool(((out >= bounds[:, 0]) & (out < bounds[:, 1])).all())
    parsed = parse_output(VOCAB, out, prompt.output_spec)
    assert parsed.keys() == outputs.keys()
    for key, value in outputs.items():
        assert np.array_equal(parsed[key], value)
    expected_end = [] if task == "t2i" else ["<eos>"]
    assert names(seq.tokens[-1:]) == (expected_end or ["."])
    for name in ("<bot_i>", "<bov_i>", "<boa_i>"):  # absent inputs leave no empty pairs
        present = VOCAB.id(name) in seq.tokens.tolist()
        uses = {"<bot_i>": "text", "<bov_i>": "video_in", "<boa_i>": "audio_in"}[name]
        assert present == (task in INPUTS[uses])


INPUTS = {"text": {"t2v", "t2i", "i2v", "inpaint", "stylize", "t2a"},
          "video_in": {"i2v", "continuation", "inpaint", "outpaint", "stylize", "v2a", "av_continuation"},
          "audio_in": {"a2v", "av_continuation"}}


def test_text_to_video_positions_modality_and_order():
    seq = tasks.text_to_video(VOCAB, TEXT, SQUARE).sequence
    n = len(TEXT)
    assert seq.tokens.dtype == torch.int64 and seq.positions.shape == (len(seq), 3) and seq.modality.dtype == torch.int8
    assert names(seq.tokens[:3]) == ["<bos>", "<task:t2v>", "<bot_i>"]
    assert names(seq.tokens[3 + n:5 + n]) == ["<eot_i>", "<bov_o>"]
    assert seq.prefix_len == 5 + n
    assert len(seq) == 5 + n + 1280 + 2 and names(seq.tokens[-2:]) == ["<eov_o>", "<eos>"]
    assert seq.positions[3:3 + n].tolist() == [[i, 0, 0] for i in range(n)]
    assert seq.modality[3:3 + n].tolist() == [MODALITY_TEXT] * n
    video = slice(seq.prefix_len, seq.prefix_len + 1280)
    assert seq.modality[video].tolist() == [MODALITY_VIDEO] * 1280
    assert seq.positions[video][17].tolist() == [0, 1, 1]  # row-major (t, y, x)
    assert seq.positions[video][-1].tolist() == [4, 15, 15]
    specials = seq.modality == MODALITY_SPECIAL
    assert int(specials.sum()) == 7 and not seq.positions[specials].any()


def test_audio_positions_are_frame_level_and_level_major():
    seq = tasks.text_to_audio(VOCAB, TEXT, AUDIO).sequence
    audio = seq.modality == MODALITY_AUDIO
    assert int(audio.sum()) == 424
    pos = seq.positions[audio]
    assert pos[:106, 1].eq(0).all() and pos[106:212, 1].eq(1).all()
    assert pos[107].tolist() == [1, 1, 0]
    assert VOCAB.to_audio_codes(seq.tokens[audio].numpy()).tolist() == AUDIO.tolist()


def test_portrait_adds_res_and_sizes():
    square = tasks.text_to_video(VOCAB, TEXT, SQUARE).sequence
    portrait = tasks.text_to_video(VOCAB, TEXT, PORTRAIT).sequence
    assert VOCAB.id("<res>") not in square.tokens.tolist()
    assert names(portrait.tokens[:3]) == ["<bos>", "<task:t2v>", "<res>"]
    assert len(portrait) == len(square) + 1 + (2240 - 1280)
    prompt = tasks.text_to_video(VOCAB, TEXT, portrait=True)
    assert prompt.output_spec[0].shape == (5, 28, 16) and VOCAB.id("<res>") in prompt.sequence.tokens.tolist()
    image = tasks.text_to_image(VOCAB, TEXT, portrait=True)
    assert image.output_spec[0].shape == (1, 28, 16) and image.output_length == 448


def test_text_to_image_omits_end_tokens():
    seq = tasks.text_to_image(VOCAB, TEXT, SQUARE[:1]).sequence
    assert len(seq) == seq.prefix_len + 256
    assert VOCAB.id("<eov_o>") not in seq.tokens.tolist() and VOCAB.id("<eos>") not in seq.tokens.tolist()


def test_masked_cells_become_mask_tokens_at_their_grid_positions():
    seq = tasks.inpainting(VOCAB, SQUARE, MASK).sequence
    start = names(seq.tokens).index("<bov_i>") + 1
    grid = seq.tokens[start:start + 1280].reshape(5, 16, 16).numpy()
    assert np.array_equal(grid == VOCAB.id("<mask>"), MASK)
    assert np.array_equal(VOCAB.to_video_codes(grid[~MASK]), SQUARE[~MASK])
    assert seq.modality[start:start + 1280].eq(MODALITY_VIDEO).all()


def test_source_flag_for_real_media():
    seq = tasks.image_to_video(VOCAB, SQUARE[:1], SQUARE, real=True).sequence
    assert names(seq.tokens[:3]) == ["<bos>", "<task:i2v>", "<source>"]


@pytest.mark.parametrize("shape", [(5, 16, 16), (5, 28, 16)])
def test_masks_cover_the_right_cells(shape):
    rng = np.random.default_rng(3)
    _, h, w = shape
    for _ in range(20):
        masks = {kind: make_mask(kind, shape, rng) for kind in tasks.MASK_KINDS}
        for m in masks.values():
            assert m.shape == shape and m.dtype == bool and m.any() and not m.all()
        for kind in ("box", "border", "half"):  # static regions: the same in every frame
            assert (masks[kind] == masks[kind][:1]).all()
        ys, xs = np.nonzero(masks["box"][0])
        box_h, box_w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert masks["box"][0].sum() == box_h * box_w  # a solid rectangle
        assert h // 4 <= box_h <= h // 2 and w // 4 <= box_w <= w // 2
        border = masks["border"][0]
        assert border[0].all() and border[-1].all() and border[:, 0].all() and border[:, -1].all()
        assert not border[h // 2, w // 2]
        kept_ys, kept_xs = np.nonzero(~border)
        assert (~border)[kept_ys.min():kept_ys.max() + 1, kept_xs.min():kept_xs.max() + 1].all()
        half = masks["half"][0]
        assert half.sum() == h * w // 2
        left, top = np.arange(w)[None, :] < w // 2, np.arange(h)[:, None] < h // 2
        assert any(np.array_equal(half, np.broadcast_to(ref, (h, w))) for ref in (left, ~left, top, ~top))
    with pytest.raises(VideoPoetError):
        make_mask("circle", shape, rng)


def test_collate_pads_and_masks_loss():
    a = tasks.text_to_audio(VOCAB, TEXT, AUDIO).sequence
    b = tasks.text_to_image(VOCAB, TEXT[:2], SQUARE[:1]).sequence
    batch = collate([a, b], VOCAB.pad_id)
    length = max(len(a), len(b))
    assert batch["tokens"].shape == (2, length) and batch["positions"].shape == (2, length, 3)
    assert batch["valid"].sum(1).tolist() == [len(a), len(b)]
    assert (batch["tokens"][1, len(b):] == VOCAB.pad_id).all()
    assert batch["loss_mask"][0].nonzero().ravel().tolist() == list(range(a.prefix_len, len(a)))
    assert batch["loss_mask"][1].nonzero().ravel().tolist() == list(range(b.prefix_len, len(b)))
    assert not (batch["loss_mask"] & ~batch["valid"]).any()
    assert batch["prefix_len"].tolist() == [a.prefix_len, b.prefix_len]


def test_group_by_length_never_mixes_tasks_or_lengths():
    seqs = [tasks.text_to_audio(VOCAB, TEXT[:1 + i % 3], AUDIO).sequence for i in range(10)]
    seqs += [tasks.text_to_image(VOCAB, TEXT[:1 + i % 2], SQUARE[:1]).sequence for i in range(7)]
    batches = group_by_length(seqs, batch_size=3, rng=np.random.default_rng(0))
    assert sorted(i for batch in batches for i in batch) == list(range(len(seqs)))
    for batch in batches:
        assert 1 <= len(batch) <= 3
        assert len({(seqs[i].task, len(seqs[i])) for i in batch}) == 1
        collated = collate([seqs[i] for i in batch], VOCAB.pad_id)
        assert collated["valid"].all()  # no padding


@pytest.fixture(scope="module")
def caption_tokenizer():
    return tasks.train_caption_tokenizer(tasks.caption_corpus(3000, seed=0))


def test_caption_tokenizer_round_trips_fresh_captions(caption_tokenizer):
    from videopoet.world.captions import caption
    from videopoet.world.scene import random_spec

    tok = caption_tokenizer
    assert tok.get_vocab_size() <= 2048
    rng = np.random.default_rng(12345)  # not the training seed: fresh captions
    for _ in range(200):
        text = caption(random_spec(rng), rng)
        ids = tasks.encode_caption(tok, text)
        assert 0 < len(ids) <= tasks.MAX_TEXT_TOKENS
        assert tok.decode(ids.tolist()) == tok.normalizer.normalize_str(text) == text.lower()
    for prompt in [f"A raccoon dancing in Times Square. {s}." for s in tasks.CAMERA_SUFFIXES] + [tasks.NEGATIVE_PROMPT]:
        assert tok.decode(tok.encode(prompt).ids) == prompt.lower()
    assert len(tasks.encode_caption(tok, "word " * 200)) == tasks.MAX_TEXT_TOKENS
    # Common words are single tokens, so captions stay short.
    assert len(tok.encode("a raccoon dancing").ids) == 3


def test_caption_tokenizer_saves_small(tmp_path):
    path = tasks.build_caption_tokenizer(tmp_path, n_captions=500)
    assert path.name == "tokenizer.json" and path.stat().st_size < 200 * 1024
    from tokenizers import Tokenizer

    assert Tokenizer.from_file(str(path)).decode(Tokenizer.from_file(str(path)).encode("A Cat.").ids) == "a cat."
