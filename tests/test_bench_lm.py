"""The benchmark's `lm` generator on the tiny random-weights pipeline (tests/conftest.py): each task
mapped gives the shapes the benchmark checks, what a task is given comes back, the CLI passes
--weights and --precision through, and a folder without weights skips it.

Random tokenizers reconstruct badly, so what was given is compared with its tokenizer round trip
(what any LM output can at best be), and against the same item generated from the caption alone.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from videopoet.errors import VideoPoetError
from videopoet.eval.__main__ import main
from videopoet.eval.bench import (
    CONTEXT_FRAMES,
    GeneratorSkipped,
    LanguageModel,
    build_items,
    builtin_generators,
)
from videopoet.eval.judge import WorldJudge
from videopoet.eval.metrics import psnr
from videopoet.pipeline import VideoPoetPipeline
from videopoet.tokenizers import VideoTokenizer
from videopoet.training.train_judge import TINY

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def lm(weights_dir):
    # Loaded here, not on first use, so each test can watch the pipeline's calls (the CLI test
    # covers loading from --weights).
    pipe = VideoPoetPipeline.from_pretrained(weights_dir, precision="fp32", device="cpu", use_interpreter=False)
    return LanguageModel(weights_dir, pipe=pipe)


@pytest.fixture(scope="module")
def tokenizer(weights_dir):
    return VideoTokenizer.from_pretrained(weights_dir / "video_tokenizer").eval()


def _item(task: str, index: int = 0):
    return build_items(task, index + 1)[index]  # index 0 is square, 1 portrait


def _recorded(monkeypatch, pipe, method: str) -> list:
    """The outputs of every later call of `pipe.method`."""
    outputs = []
    call = getattr(pipe, method)

    def record(*args, **kwargs):
        outputs.append(call(*args, **kwargs))
        return outputs[-1]

    monkeypatch.setattr(pipe, method, record)
    return outputs


def test_text_and_sound_tasks_give_the_checked_shapes_reproducibly(lm):
    image = lm("t2i", _item("t2i", 1))
    assert image.video.dtype == np.uint8 and image.video.shape == (1, 224, 128, 3) and image.audio is None
    item = _item("v2a")
    sound = lm("v2a", item)
    assert sound.video is None and sound.audio.dtype == np.float32 and sound.audio.shape == (34000,)
    item = _item("t2a")
    first, again = lm("t2a", item), lm("t2a", item)
    assert first.audio.shape == (34000,) and np.array_equal(first.audio, again.audio)  # seeded per item
    other = LanguageModel(seed=1, pipe=lm.pipe)
    assert not np.array_equal(other("t2a", item).audio, first.audio)


def test_sampling_settings_reach_every_call(lm, monkeypatch):
    from videopoet.eval.__main__ import parse_sampling

    sampling = parse_sampling("cfg_scale=1, top_k=none ,temperature=0.7")
    assert sampling == {"cfg_scale": 1.0, "top_k": None, "temperature": 0.7}
    seen = []
    call = lm.pipe.text_to_audio

    def record(*args, **kwargs):
        seen.append(kwargs)
        return call(*args, **kwargs)

    monkeypatch.setattr(lm.pipe, "text_to_audio", record)
    LanguageModel(pipe=lm.pipe, sampling=sampling)("t2a", _item("t2a"))
    lm("t2a", _item("t2a"))
    assert seen[0] == {"seed": seen[1]["seed"], **sampling}
    assert seen[1] == {"seed": seen[0]["seed"]}  # without settings the pipeline's defaults hold
    with pytest.raises(VideoPoetError, match="unknown sampling setting 'cfg'"):
        LanguageModel(pipe=lm.pipe, sampling={"cfg": 2.0})


def test_image_to_video_keeps_the_image(lm, tokenizer):
    item = _item("i2v", 1)  # portrait
    animated, from_text = lm("i2v", item).video, lm("t2v", item).video
    assert animated.shape == from_text.shape == (17, 224, 128, 3) and animated.dtype == np.uint8
    round_trip = tokenizer.decode_frames(tokenizer.encode_frames(item.given.image[None]))[0]
    # The image's tokens are pinned: its first frame is the round trip exactly, so the benchmark's
    # psnr_given is the tokenizer's; ignoring the image (text only) lands far from it.
    assert np.array_equal(animated[0], round_trip)
    assert psnr(item.given.image, animated[0]) == pytest.approx(psnr(item.given.image, round_trip))
    assert psnr(round_trip, from_text[0]) < 25


def test_inpainting_keeps_every_unmasked_token(lm, tokenizer, monkeypatch):
    item = _item("inpaint")
    outputs = _recorded(monkeypatch, lm.pipe, "inpaint")
    filled, from_text = lm("inpaint", item).video, lm("t2v", item).video
    assert filled.shape == from_text.shape == (17, 128, 128, 3) and filled.dtype == np.uint8
    given = tokenizer.encode_frames(item.given.video)
    kept = ~item.given.mask.reshape(16, 8, 16, 8).any(axis=(1, 3))
    tokens = outputs[0].tokens["video"]
    assert np.array_equal(tokens[:, kept], given[:, kept]) and not np.array_equal(tokens, given)
    # The kept cells keep the given pixels; the hole is generated.
    kept_pixels = kept.repeat(8, axis=0).repeat(8, axis=1)
    assert np.array_equal(filled[:, kept_pixels], item.given.video[:, kept_pixels])
    assert not np.array_equal(filled[:, ~kept_pixels], item.given.video[:, ~kept_pixels])


def test_continuation_keeps_the_context_and_its_sound(lm, tokenizer, monkeypatch):
    item = _item("continuation")
    outputs = _recorded(monkeypatch, lm.pipe, "extend")
    clip = lm("continuation", item)
    assert clip.video.shape == (17, 128, 128, 3) and clip.audio.shape == (34000,) and clip.audio.dtype == np.float32
    context = tokenizer.decode_frames(tokenizer.encode_frames(item.given.video))
    assert np.array_equal(clip.video[:CONTEXT_FRAMES], context)
    new = outputs[0]
    assert np.array_equal(clip.video[CONTEXT_FRAMES:], new.frames)
    # The new second starts at audio frame 56 (17,920 samples), after the given sound up to there.
    assert np.array_equal(clip.audio[:17920], item.given.audio[:17920])
    assert np.array_equal(clip.audio[17920:33920], new.audio) and not clip.audio[33920:].any()


def test_cli_runs_lm_from_weights_at_a_precision(weights_dir, tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    WorldJudge(**TINY).save_pretrained(tmp_path / "judge")
    monkeypatch.chdir(tmp_path)  # no weights/ here: only --weights finds them
    code = main(["bench", "--task", "t2a", "--n", "1", "--json", "--judge", "judge", "--workers", "1",
                 "--generators", "ground_truth,lm", "--weights", str(weights_dir), "--precision", "fp32"])
    assert code == 0
    lm_scores = json.loads(capsys.readouterr().out)["generators"]["lm"]
    assert {"audio_class_accuracy", "fwd"} <= set(lm_scores) and lm_scores["fwd"] > 0
    assert main(["bench", "--task", "t2a", "--n", "1", "--judge", "judge", "--generators", "lm",
                 "--precision", "fp16"]) == 2
    assert "invalid choice: 'fp16'" in capsys.readouterr().err


def test_a_folder_without_weights_skips(tmp_path):
    generator = builtin_generators(["lm"], weights=tmp_path)["lm"]
    with pytest.raises(GeneratorSkipped, match=f"{tmp_path / 'model_index.json'} not found"):
        generator("t2v", _item("t2v"))
