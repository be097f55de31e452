"""Audio tokenizer (SoundStream-style codec, RVQ 4 x 1024), its metrics and its training script."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from videopoet.eval import log_mel_l1, onset_f1
from videopoet.tokenizers import AudioTokenizer
from videopoet.training import train_audio_tokenizer as train
from videopoet.world.audio import SoundEvent, synthesize

SR = 16000
EVENTS = [SoundEvent("impact", 0.3), SoundEvent("beat", 0.9), SoundEvent("chime", 1.5)]


def clip(seed: int = 0) -> np.ndarray:
    return synthesize(EVENTS, ["wind"], seed)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The training script's smoke run: a tiny model, a few steps on shards written by the world."""
    from videopoet.world.dataset import write_dataset

    root = tmp_path_factory.mktemp("audio_tokenizer")
    write_dataset(root / "pool", 8, real_fraction=0.0, workers=2)
    out = root / "model"
    result = train.main(["--out", str(out), "--data", str(root / "pool"), "--tiny", "--steps", "6", "--batch", "4",
                         "--heldout", "4", "--device", "cpu", "--workers", "2", "--log-every", "2",
                         "--keep-checkpoint"])
    return out, result


@pytest.fixture(scope="module")
def tokenizer(run):
    return AudioTokenizer.from_pretrained(run[0])


def test_training_run_writes_weights_eval_and_card(run):
    out, result = run
    for name in ("diffusion_pytorch_model.safetensors", "config.json", "eval.json", "README.md", "train_log.jsonl",
                 "checkpoint.pt"):
        assert (out / name).exists(), name
    ev = json.loads((out / "eval.json").read_text())
    assert ev["steps"] == 6 and ev["train_clips"] == 8 and ev["heldout"]["n"] == 4
    held = ev["heldout"]
    assert 0.0 <= held["audio_onset_f1"] <= 1.0
    assert held["audio_mel_l1"] < held["silence_mel_l1"]
    assert len(held["codes_used_per_level"]) == 4 and all(1 <= u <= 1024 for u in held["codes_used_per_level"])
    card = (out / "README.md").read_text()
    assert result["command"] in card and "audio_mel_l1" in card and "audio_onset_f1" in card
    lines = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "step" in r] == [1, 2, 4, 6]
    assert all(np.isfinite(r["loss"]) for r in lines if "loss" in r)


def test_resume_continues_from_the_checkpoint(run, tmp_path):
    out = tmp_path / "model"
    shutil.copytree(run[0], out)
    result = train.main(["--out", str(out), "--render", "4", "--tiny", "--steps", "8", "--batch", "4",
                         "--heldout", "2", "--device", "cpu", "--workers", "2", "--log-every", "1", "--resume"])
    assert result["steps"] == 8
    lines = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "step" in r][-2:] == [7, 8]
    assert not (out / "checkpoint.pt").exists()  # a finished run leaves only what ships


def test_decoder_only_training_keeps_the_codes(run, tmp_path):
    """--decoder-only trains the decoder and nothing else: every other tensor (the codebooks and
    batch-norm statistics too) stays bit-identical, so the codes a language model was trained on
    do not change."""
    out, _ = run
    before = AudioTokenizer.from_pretrained(out)
    result = train.main(["--out", str(tmp_path / "dec"), "--data", str(out.parent / "pool"), "--init", str(out),
                         "--decoder-only", "--steps", "3", "--batch", "4", "--lr", "1e-2", "--heldout", "2",
                         "--device", "cpu", "--workers", "2"])
    after = AudioTokenizer.from_pretrained(tmp_path / "dec")
    changed = {k for k, v in after.state_dict().items() if not torch.equal(v, before.state_dict()[k])}
    assert changed and all(k.startswith("decoder.") for k in changed)
    assert "_name_or_path" not in json.loads((tmp_path / "dec" / "config.json").read_text())
    audio = np.stack([clip(0), clip(1)])
    assert np.array_equal(after.encode_audio(audio), before.encode_audio(audio))
    assert result["decoder_only"] and "decoder of" in (tmp_path / "dec" / "README.md").read_text()
    with pytest.raises(SystemExit):
        train.main(["--out", str(tmp_path / "x"), "--data", str(out.parent / "pool"), "--decoder-only"])


def test_shapes_range_and_numpy_api(tokenizer):
    audio = np.stack([clip(0), clip(1), clip(2)])
    with torch.no_grad():
        codes = tokenizer.encode(torch.from_numpy(audio))
        decoded = tokenizer.decode(codes)
    assert codes.shape == (3, 4, 106) and codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < 1024
    assert decoded.shape == (3, 34000)
    assert float(decoded.abs().max()) <= 1.0
    assert torch.all(decoded[:, 33920:] == 0)

    one = tokenizer.encode_audio(audio[0])
    assert one.shape == (4, 106) and one.dtype == np.int64
    np.testing.assert_array_equal(one, codes[0].numpy())
    assert tokenizer.encode_audio(audio).shape == (3, 4, 106)
    wave = tokenizer.decode_audio(one)
    assert wave.shape == (34000,) and wave.dtype == np.float32
    assert tokenizer.decode_audio(codes.numpy()).shape == (3, 34000)


def test_bad_inputs_are_refused(tokenizer):
    with pytest.raises(ValueError, match="34000"):
        tokenizer.encode_audio(np.zeros(16000, np.float32))
    with pytest.raises(ValueError, match="1024"):
        tokenizer.decode_audio(np.full((4, 106), 1024))
    with pytest.raises(ValueError, match="106"):
        tokenizer.decode_audio(np.zeros((4, 100), np.int64))


def test_save_load_round_trip_is_bit_identical(tokenizer, tmp_path):
    torch.manual_seed(0)
    model = AudioTokenizer(**train.TINY)
    model.train()
    model(torch.from_numpy(np.stack([clip(s) for s in range(4)])))  # k-means initialises the codebooks
    model.eval()
    audio = torch.from_numpy(np.stack([clip(7), clip(8)]))
    for original in (model, tokenizer):
        original.save_pretrained(tmp_path / "copy")
        reloaded = AudioTokenizer.from_pretrained(tmp_path / "copy")
        assert all(bool(layer._codebook.initted) for layer in reloaded.quantizer.layers)
        with torch.no_grad():
            codes = original.encode(audio)
            assert torch.equal(reloaded.encode(audio), codes)
            assert torch.equal(reloaded.decode(codes), original.decode(codes))


def test_collapsed_codebook_stops_training():
    usage = train.CodeUsage(4, 1024, torch.device("cpu"))
    healthy = torch.randint(0, 1024, (64, 4, 106))
    usage.add(healthy)
    train.check_code_usage(usage.take(), step=1000, batches=1)
    collapsed = healthy.clone()
    collapsed[:, 2] = torch.randint(0, 50, (64, 106))  # level 2 uses < 5% of its codes
    usage.add(collapsed)
    with pytest.raises(RuntimeError, match=r"collapse.*level\(s\) \[2\]"):
        train.check_code_usage(usage.take(), step=1000, batches=1)


def test_nonfinite_loss_stops_training():
    with pytest.raises(RuntimeError, match="NaN"):
        train.check_finite(torch.tensor(True), step=5)


def test_stft_loss_is_zero_only_for_identical_audio():
    audio = torch.from_numpy(np.stack([clip(0)]))
    assert float(train.stft_loss(audio, audio)) == 0.0
    assert float(train.stft_loss(audio, 0.5 * audio)) > 0.1


def test_log_mel_l1():
    a = clip(0)
    assert log_mel_l1(a, a) == 0.0
    noisy = a + 0.01 * np.random.default_rng(0).standard_normal(a.shape).astype(np.float32)
    silence = np.zeros_like(a)
    assert 0.0 < log_mel_l1(a, noisy) < log_mel_l1(a, silence)
    with pytest.raises(ValueError):
        log_mel_l1(a, a[:-1])


def test_onset_f1():
    a = clip(0)
    assert onset_f1(a, a) == 1.0
    shifted = np.concatenate([np.zeros(int(0.2 * SR), np.float32), a[:-int(0.2 * SR)]])
    assert onset_f1(a, shifted) < 0.34
    nearly = np.concatenate([np.zeros(int(0.01 * SR), np.float32), a[:-int(0.01 * SR)]])
    assert onset_f1(a, nearly) == 1.0
    quiet = synthesize([], ["wind"], 0)
    assert onset_f1(quiet, quiet) == 1.0
    assert onset_f1(a, quiet) == 0.0
