"""The checkpoints in weights/ load and still reach the floors their model cards report, so a broken
or swapped checkpoint cannot land. Floors sit below the measured figures (GPU, larger held-out sets)
by the noise of these small CPU sets."""

import json
from pathlib import Path

import numpy as np
import pytest

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def test_shipped_weights_fit_the_budget():
    sizes = {d.name: sum(f.stat().st_size for f in d.glob("*.safetensors")) for d in WEIGHTS.iterdir() if d.is_dir()}
    assert sizes.get("judge", 0) <= 3 * 2**20
    assert sizes.get("video_tokenizer", 0) + sizes.get("audio_tokenizer", 0) <= 16 * 2**20
    assert sizes.get("transformer", 0) <= 24 * 2**20
    assert all(f.stat().st_size <= 15 * 2**20 for f in WEIGHTS.glob("*/*.safetensors"))


def test_judge_floors_on_held_out_clips():
    from videopoet.eval.judge import WorldJudge, evaluate_heldout

    judge = WorldJudge.from_pretrained(WEIGHTS / "judge")
    card = json.loads((WEIGHTS / "judge" / "eval.json").read_text())["heldout"]
    result = evaluate_heldout(judge, n=96, workers=2)
    # Issue 4's bar: 90% on every head (the shipped judge: subjects 91.7% here, the rest >= 97.9%).
    for head in ("subjects", "count", "action", "background", "style", "camera", "effects", "audio_classes"):
        assert result[head] >= 0.9, (head, result[head], card[head])


def test_judge_sees_a_still_clip_stand_still():
    """The shipped judge was trained with still clips, so a clip frozen on its first frame reads as
    subjects doing nothing under a static camera: the first-frame baseline gets no credit for motion."""
    from videopoet.eval.judge import WorldJudge, heldout_jobs, render_for_judge

    judge = WorldJudge.from_pretrained(WEIGHTS / "judge")
    clips = [render_for_judge(job) for job in heldout_jobs(4, judge.clip_width, judge.config.frames)]
    moving = judge.predict([c[0] for c in clips], [c[1].astype(np.float32) for c in clips])
    still = judge.predict([np.repeat(c[0][:1], len(c[0]), 0) for c in clips],
                          [c[1].astype(np.float32) for c in clips])
    assert [p["action"] for p in moving] == [c[2]["action"] for c in clips]
    assert all(p["action"] == "none" and p["camera"] == "static" for p in still), still


def test_audio_tokenizer_floors_on_held_out_clips():
    from videopoet.eval.tokenizers import heldout_set, score_audio
    from videopoet.tokenizers.audio import AudioTokenizer

    tok = AudioTokenizer.from_pretrained(WEIGHTS / "audio_tokenizer")
    audio = np.stack(heldout_set(8, workers=2)["audio"]).astype(np.float32)
    codes = tok.encode_audio(audio)
    assert codes.shape == (8, 4, 106) and codes.min() >= 0 and codes.max() < 1024
    recon = tok.decode_audio(codes)
    scores = score_audio(audio, recon)
    assert scores["audio_mel_l1"] < 0.15 * scores["silence_mel_l1"], scores
    assert scores["audio_onset_f1"] >= 0.7


def test_video_tokenizer_floors_on_held_out_clips():
    from videopoet.eval.tokenizers import evaluate_video_tokenizer, heldout_set
    from videopoet.tokenizers.video import VideoTokenizer

    tok = VideoTokenizer.from_pretrained(WEIGHTS / "video_tokenizer").float()
    card = json.loads((WEIGHTS / "video_tokenizer" / "eval.json").read_text())
    result = evaluate_video_tokenizer(tok, data=heldout_set(6, workers=2))
    assert result["video_psnr_world"] >= card["video_psnr_world"] - 1.5, result
    assert result["image_psnr"] >= card["image_psnr"] - 1.5, result
    assert result["video_ssim_world"] >= card["video_ssim_world"] - 0.1, result


def test_language_model_reads_its_caption_on_held_out_clips():
    """The shipped int8 LM, as stored (int8 weights on the CPU): its text-to-video loss on world clips
    no run trained on stays near its card, and each clip is likelier under its own caption than under
    another clip's (measured: 3.61 against 3.77 nats on these 8 clips, int8 and fp32 alike)."""
    import torch

    from videopoet import tasks
    from videopoet.eval.judge import HELD_OUT_FIRST_SEED
    from videopoet.pipeline import VideoPoetPipeline
    from videopoet.world import render

    pipe = VideoPoetPipeline.from_pretrained(WEIGHTS, precision="int8", device="cpu", use_interpreter=False)
    card = json.loads((WEIGHTS / "transformer" / "eval.json").read_text())["heldout"]["t2v"]["loss"]
    clips = [render(HELD_OUT_FIRST_SEED + 900_000 + i, size=(128, 128)) for i in range(8)]
    codes = [pipe.video_tokenizer.encode_frames(c.video[None])[0] for c in clips]
    captions = [pipe._encode(c.caption) for c in clips]

    def loss(caption, video_codes) -> float:
        batch = tasks.collate([tasks.text_to_video(pipe.vocab, caption, video_codes).sequence], pipe.vocab.pad_id)
        with torch.no_grad():
            return float(pipe.transformer(batch["tokens"], batch["positions"], batch["modality"].long(),
                                          batch["prefix_len"], batch["valid"], return_loss=True))

    own = np.mean([loss(captions[i], codes[i]) for i in range(8)])
    other = np.mean([loss(captions[(i + 1) % 8], codes[i]) for i in range(8)])
    assert own <= card + 0.5, (own, card)
    assert own < other, (own, other)


def test_every_task_runs_on_the_shipped_weights():
    """Each pipeline task once with the shipped int8 LM (fixed seeds, unguided where a prompt would
    double the rows, without sound unless the task makes it): the right shapes, clips that are not
    one flat colour, sound that is not silence, and every given pixel and token kept where a task
    keeps them."""
    from videopoet.eval.judge import HELD_OUT_FIRST_SEED
    from videopoet.pipeline import VideoPoetPipeline
    from videopoet.world import render

    pipe = VideoPoetPipeline.from_pretrained(WEIGHTS, device="cpu", use_interpreter=False)
    world = render(HELD_OUT_FIRST_SEED + 950_000, size=(128, 128))
    quick = dict(seed=0, cfg_scale=1.0)
    square = (17, 128, 128, 3)

    def moving(frames) -> bool:
        return frames.dtype == np.uint8 and frames.std() > 5 and np.abs(np.diff(frames.astype(np.int16), axis=0)).mean() > 0.5

    def audible(audio) -> bool:
        return audio.dtype == np.float32 and audio.shape == (34000,) and np.abs(audio).max() > 0.01

    t2v = pipe.text_to_video("A raccoon dancing in Times Square", with_audio=True, **quick)
    assert t2v.frames.shape == square and moving(t2v.frames) and audible(t2v.audio)
    assert pipe.text_to_image("Two pandas playing cards", **quick).frames.shape == (1, 128, 128, 3)
    i2v = pipe.image_to_video(world.video[0], "A fox walking", with_audio=False, **quick)
    assert i2v.frames.shape == square and moving(i2v.frames)
    given = pipe.video_tokenizer.encode_frames(world.video[:1])
    assert np.array_equal(i2v.tokens["video"][:1], given)  # the image's own tokens start the clip
    for task in (pipe.inpaint, pipe.outpaint):
        out = task(world.video, prompt=world.caption, with_audio=False, **quick)
        kept = np.all(out.frames == world.video, axis=-1)
        assert out.frames.shape == square and 0.2 < kept.mean() < 1.0  # the user's pixels outside the mask
    styled = pipe.stylize("Van Gogh style", world.video, with_audio=False, **quick)
    assert styled.frames.shape == square and moving(styled.frames)
    assert audible(pipe.video_to_audio(world.video, seed=0).audio)
    a2v = pipe.audio_to_video(world.audio, "A dog jumping", **quick)
    assert a2v.frames.shape == square and moving(a2v.frames)
    assert audible(pipe.text_to_audio("A dog barking", seed=0).audio)
    longer = pipe.extend(t2v, "A raccoon dancing in Times Square", num_seconds=1, with_audio=False, **quick)
    assert longer.frames.shape == (8, 128, 128, 3) and moving(np.concatenate([t2v.frames, longer.frames]))
    picks = pipe.candidates(video=t2v, num_candidates=2, with_audio=False, **quick)
    assert len(picks) == 2 and not np.array_equal(picks[0].tokens["video"], picks[1].tokens["video"])


@pytest.mark.parametrize("name", ["judge", "audio_tokenizer", "video_tokenizer", "transformer"])
def test_model_cards_name_their_command_and_time(name):
    card = (WEIGHTS / name / "README.md").read_text()
    assert "python -m videopoet.training." in card and "wall time" in card
