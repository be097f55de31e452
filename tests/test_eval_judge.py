"""The world judge: shapes on both frame sizes, save/load, predict's label form, scoring, that a few
training steps lower the loss, the default size budget, and the training script end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from videopoet.eval.judge import (
    HEADS,
    WorldJudge,
    canonical_labels,
    default_vocab,
    prepare_clip,
    render_for_judge,
    score,
)
from videopoet.training.train_judge import TINY, TINY_APPEARANCE, augment, make_optimizer, train_step

SIZES = [(128, 128), (224, 128)]
LABEL_KEYS = {"subjects", "count", "action", "background", "style", "camera", "effects", "audio_classes"}


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return WorldJudge(**TINY).eval()


@pytest.fixture(scope="module")
def tiny_appearance():
    torch.manual_seed(0)
    return WorldJudge(**TINY, **TINY_APPEARANCE).eval()


@pytest.fixture(scope="module")
def clips():
    """32 ground-truth clips as the judge's workers ship them (16 square, 16 portrait)."""
    return [render_for_judge((500 + i, SIZES[i % 2], 128, 9)) for i in range(32)]


def _batch(b, size, t=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    video = torch.randint(0, 256, (b, t, *size, 3), generator=g, dtype=torch.uint8)
    audio = torch.randn(b, 34000, generator=g) * 0.1
    return video, audio


@pytest.mark.parametrize("variant", ["plain", "appearance"])
@pytest.mark.parametrize("size", SIZES)
def test_heads_and_features_on_both_sizes(tiny, tiny_appearance, size, variant):
    tiny = tiny_appearance if variant == "appearance" else tiny
    assert tiny.clip_width == (128 if variant == "appearance" else 64)
    video, audio = _batch(2, size)
    with torch.no_grad():
        logits = tiny(video, audio)
        feats = tiny.features(video, audio)
    vocab = default_vocab()
    expected = {"subjects": len(vocab["subjects"]), "count": 4, "action": 16, "background": 15, "style": 9,
                "camera": 12, "effects": 8, "audio_classes": len(vocab["audio_classes"])}
    assert expected["audio_classes"] == 26
    assert set(logits) == set(HEADS)
    for head, n in expected.items():
        assert logits[head].shape == (2, n), head
    assert feats.shape == (2, TINY["feature_dim"]) and torch.isfinite(feats).all()
    # Any T >= 5 works; float input in [0, 1] reads the same as uint8.
    with torch.no_grad():
        assert tiny.features(video[:, :5], audio).shape == (2, TINY["feature_dim"])
        assert torch.allclose(tiny.features(video.float() / 255, audio), feats, atol=1e-5)
        # A missing modality is replaced by its learned stand-in.
        assert tiny.features(video, None).shape == tiny.features(None, audio).shape == (2, TINY["feature_dim"])
    with pytest.raises(ValueError):
        tiny(video[:, :4], audio)


def test_default_features_are_256d_and_fit_the_budget(tmp_path):
    from videopoet.training.train_judge import APPEARANCE

    judge = WorldJudge()
    params = sum(p.numel() for p in judge.parameters())
    assert params * 2 <= 3 * 2**20 and params <= 1.5e6
    with_appearance = sum(p.numel() for p in WorldJudge(**APPEARANCE).parameters())
    assert params < with_appearance and with_appearance * 2 <= 3 * 2**20 - 2**16  # room for the header
    with torch.no_grad():
        video, audio = _batch(1, (224, 128))
        assert judge.eval().features(video, audio).shape == (1, 256)
    judge.half().save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").stat().st_size <= 3 * 2**20
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("subjects", "actions", "backgrounds", "styles", "cameras", "effects", "audio_classes"):
        assert isinstance(config[key], list) and config[key]  # the checkpoint names its classes
    assert config["actions"][-1] == "none" and len(config["actions"]) == 16


def test_save_load_round_trip(tiny, tmp_path):
    video, audio = _batch(2, (128, 128), seed=1)
    tiny.save_pretrained(tmp_path / "fp32")
    again = WorldJudge.from_pretrained(tmp_path / "fp32").eval()
    with torch.no_grad():
        a, b = tiny(video, audio), again(video, audio)
    for head in HEADS:
        assert torch.equal(a[head], b[head]), head
    # Shipped checkpoints are fp16: they reload to exactly the fp16-rounded model.
    half = WorldJudge(**{k: v for k, v in tiny.config.items() if not k.startswith("_")})
    half.load_state_dict(tiny.state_dict())
    half.half().save_pretrained(tmp_path / "fp16")
    loaded = WorldJudge.from_pretrained(tmp_path / "fp16").eval()
    rounded = half.float().eval()
    with torch.no_grad():
        assert torch.equal(loaded.features(video, audio), rounded.features(video, audio))
    assert loaded.predict(video, audio) == rounded.predict(video, audio)


def test_predict_returns_world_style_labels(tiny, clips):
    videos = [c[0] for c in clips[:4]]  # square and portrait mixed, prepared (9 frames, 128 wide)
    audios = [c[1].astype(np.float32) for c in clips[:4]]
    preds = tiny.predict(videos, audios, batch_size=3)
    assert len(preds) == 4
    vocab = default_vocab()
    for p in preds:
        assert set(p) == LABEL_KEYS
        assert len(p["subjects"]) == p["count"] and set(p["subjects"]) <= set(vocab["subjects"])
        assert (p["action"] is None) == (p["count"] == 0)
        assert p["background"] in vocab["backgrounds"] and p["style"] in vocab["styles"]
        assert p["camera"] in vocab["cameras"]
        assert set(p["effects"]) <= set(vocab["effects"]) and p["effects"] == sorted(p["effects"])
        assert set(p["audio_classes"]) <= set(vocab["audio_classes"])
    # Raw full-size clips give the same predictions as clips prepared by the data workers.
    from videopoet.world.render import render

    raw = render(500, (128, 128))
    with torch.no_grad():
        f_raw = tiny.features(torch.from_numpy(raw.video)[None], torch.from_numpy(raw.audio)[None])
        f_prep = tiny.features(torch.from_numpy(prepare_clip(raw.video))[None], torch.from_numpy(raw.audio)[None])
    assert torch.allclose(f_raw, f_prep, atol=0.05)
    assert len(tiny.predict(None, audios)) == len(tiny.predict(np.stack(videos[::2]), None)) + 2


def test_score_and_canonical_labels():
    truth = {"subjects": ["panda", "panda"], "action": "play cards", "background": "card table",
             "effects": ["rain"], "then": [{"effect": "fireworks", "start": 1.0}], "style": "none",
             "camera": "static", "audio_classes": ["card_flip", "crowd"]}
    canon = canonical_labels(truth)
    assert canon["effects"] == ["fireworks", "rain"] and canon["count"] == 2
    perfect = score([canon], [truth])
    assert all(perfect[k] == 1.0 for k in ("subjects", "count", "action", "background", "style", "camera",
                                            "effects", "audio_classes", "effects_f1", "audio_classes_f1"))
    wrong = dict(canon, subjects=["panda"], count=1, effects=["rain"], camera="pan left")
    s = score([wrong, canon], [truth, truth])
    assert s["subjects"] == 0.5 and s["count"] == 0.5 and s["camera"] == 0.5 and s["effects"] == 0.5
    assert s["subjects_recall"] == 1.0  # the panda is there both times, only the count is wrong
    assert 0 < s["effects_f1"] < 1
    # A prompt that does not state a kind is not scored on it.
    assert "camera" not in score([canon], [{"subjects": ["panda"]}])


def test_augment_keeps_shapes_and_range():
    video, audio = _batch(4, (112, 64), t=9)
    x, a, dv, da = augment(video, audio, torch.Generator().manual_seed(0))
    assert x.shape == video.shape and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert a.shape == audio.shape and dv.shape == da.shape == (4,) and not (dv & da).any()


@pytest.mark.parametrize("variant", [{}, TINY_APPEARANCE])
def test_training_steps_lower_the_loss(clips, variant):
    torch.manual_seed(0)
    model = WorldJudge(**TINY, **variant)
    by_size = {}
    for v, a, lab in clips:
        by_size.setdefault(v.shape, []).append((v, a, lab))
    batches = []
    for group in by_size.values():
        batches.append((torch.from_numpy(np.stack([g[0] for g in group])),
                        torch.from_numpy(np.stack([g[1] for g in group]).astype(np.float32)),
                        model.targets([g[2] for g in group])))

    def eval_loss():
        model.eval()
        with torch.no_grad():
            return sum(float(model.loss(model(v, a), t)[0]) for v, a, t in batches) / len(batches)

    before = eval_loss()
    opt = make_optimizer(model, 3e-3, 0.0)
    device = torch.device("cpu")
    for step in range(20):
        v, a, t = batches[step % len(batches)]
        loss, parts, _ = train_step(model, opt, v, a, t, device, aug=False)
        assert torch.isfinite(loss) and set(parts) == set(HEADS)
    after = eval_loss()
    assert after < 0.9 * before, (before, after)


def test_training_script_end_to_end(tmp_path):
    from videopoet.training.train_judge import main

    out = tmp_path / "judge"
    result = main(["--out", str(out), "--clips", "32", "--minutes", "0.5", "--device", "cpu", "--tiny",
                   "--heldout", "8", "--batch", "8", "--workers", "1", "--chunk", "8", "--reuse", "2"])
    assert result["steps"] >= 4 and result["clips_rendered"] == 32 and result["heldout"]["n"] == 8
    for name in ("config.json", "diffusion_pytorch_model.safetensors", "README.md", "eval.json", "train_log.jsonl"):
        assert (out / name).exists(), name
    card = (out / "README.md").read_text()
    assert "--clips 32" in card and "Held-out accuracy" in card and "parameters" in card
    judge = WorldJudge.from_pretrained(out)
    assert judge.config.video_channels == list(TINY["video_channels"])


def test_a_seed_that_fails_to_render_is_skipped_and_counted(monkeypatch, capsys):
    import videopoet.training.train_judge as train_judge
    from videopoet.training.loop import RenderFailures, TrainingFailure

    real = train_judge.render_for_judge

    def flaky(args):
        if args[0] == 501:
            raise ValueError("bad scene")
        return real(args)

    monkeypatch.setattr(train_judge, "render_for_judge", flaky)
    video, audio, labels, failed = train_judge._render_chunk(([500, 501, 502], (128, 128), 64, 9))
    assert len(video) == len(audio) == len(labels) == 2 and failed == [(501, "ValueError: bad scene")]
    tally = RenderFailures(max_fraction=0.01, grace=1)
    tally.add(len(labels), failed)  # one failure in three seeds: within the grace, reported
    assert "world seed 501 failed to render and was skipped: ValueError: bad scene" in capsys.readouterr().err
    with pytest.raises(TrainingFailure, match="2 of 6 world seeds failed"):
        tally.add(2, [(600, "ValueError: again")])


def test_a_run_that_stops_early_keeps_its_model(monkeypatch, tmp_path):
    import videopoet.training.train_judge as train_judge

    real, calls = train_judge.train_step, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_judge, "train_step", interrupted)
    out = tmp_path / "judge"
    with pytest.raises(KeyboardInterrupt):
        train_judge.main(["--out", str(out), "--clips", "16", "--minutes", "1", "--device", "cpu", "--tiny",
                          "--appearance", "--still-p", "0.5", "--batch", "4", "--workers", "1", "--chunk", "8",
                          "--pool", "8"])
    saved = WorldJudge.from_pretrained(out)
    assert saved.config.appearance_channels == list(TINY_APPEARANCE["appearance_channels"]) and len(calls) == 3


def test_a_run_can_continue_a_saved_judge(monkeypatch, tmp_path):
    import videopoet.training.train_judge as train_judge

    start = tmp_path / "start"
    WorldJudge(**TINY, **TINY_APPEARANCE).half().save_pretrained(start)
    saved = WorldJudge.from_pretrained(start).float().state_dict()
    real, first_weights = train_judge.train_step, []

    def interrupted(model, *args, **kwargs):
        if first_weights:
            raise KeyboardInterrupt
        first_weights.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real(model, *args, **kwargs)

    monkeypatch.setattr(train_judge, "train_step", interrupted)
    out = tmp_path / "judge"
    with pytest.raises(KeyboardInterrupt):
        train_judge.main(["--out", str(out), "--init", str(start), "--seed", "1", "--clips", "16", "--minutes", "1",
                          "--device", "cpu", "--batch", "4", "--workers", "1", "--chunk", "8", "--pool", "8"])
    assert all(torch.equal(first_weights[0][k], v) for k, v in saved.items())  # training began from `start`
    assert "_name_or_path" not in json.loads((out / "config.json").read_text())  # not where it started from
    continued = WorldJudge.from_pretrained(out)
    assert continued.config.appearance_channels == list(TINY_APPEARANCE["appearance_channels"])
    assert any(not torch.equal(continued.state_dict()[k].float(), v) for k, v in saved.items())


@pytest.mark.parametrize("extra", [["--tiny"], ["--appearance"], ["--video-width", "128"]])
def test_continuing_a_judge_refuses_a_new_architecture(tmp_path, capsys, extra):
    from videopoet.training.train_judge import main

    start = tmp_path / "start"
    WorldJudge(**TINY).save_pretrained(start)
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path / "out"), "--init", str(start), *extra])
    assert stop.value.code == 2 and "--init continues a saved judge" in capsys.readouterr().err


def test_continuing_from_a_folder_without_a_judge_says_so(tmp_path, capsys):
    from videopoet.training.train_judge import main

    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path / "out"), "--init", str(tmp_path)])
    assert stop.value.code == 2 and "no saved judge there" in capsys.readouterr().err


def test_frozen_clips_are_labelled_static_with_no_action(tiny, clips):
    from videopoet.training.train_judge import freeze

    video = torch.from_numpy(np.stack([c[0] for c in clips[0:8:2]]))  # four square clips
    targets = tiny.targets([c[2] for c in clips[0:8:2]])
    still, labels = freeze(video, targets, tiny, p=1.0)
    assert torch.equal(still, video[:, :1].expand_as(video)) and not torch.equal(still, video)
    assert (labels["camera"] == tiny.vocab["cameras"].index("static")).all()
    assert (labels["action"] == tiny.vocab["actions"].index("none")).all()
    for head in ("subjects", "background", "style", "effects", "audio_classes"):
        assert torch.equal(labels[head], targets[head]), head
    same, kept = freeze(video, targets, tiny, p=0.0)
    assert same is video and kept is targets
    half, _ = freeze(video, targets, tiny, p=0.5, generator=torch.Generator().manual_seed(1))
    frozen = [torch.equal(half[i], still[i]) for i in range(4)]
    assert 0 < sum(frozen) < 4 and all(torch.equal(half[i], video[i]) for i in range(4) if not frozen[i])
