import numpy as np
import pytest
import torch

from videopoet.tokenizers.video import VideoTokenizer, frames_to_tensor

TINY = {"codebook_bits": 12, "channels": (8, 16, 16)}


@pytest.fixture(scope="module")
def tokenizer():
    torch.manual_seed(0)
    return VideoTokenizer(**TINY).eval()


def _clip(frames=17, size=(128, 128), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (frames, *size, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [(128, 128), (224, 128)])
@pytest.mark.parametrize("frames", [1, 5, 9, 17])
def test_shapes(tokenizer, size, frames):
    tokens = tokenizer.encode_frames(_clip(frames, size))
    assert tokens.shape == tokenizer.latent_shape(frames, *size) == (1 + (frames - 1) // 4, size[0] // 8, size[1] // 8)
    assert tokens.dtype == np.int64
    assert tokens.min() >= 0 and tokens.max() < 2**12
    video = tokenizer.decode_frames(tokens)
    assert video.shape == (frames, *size, 3) and video.dtype == np.uint8


def test_batched_and_single_agree(tokenizer):
    clips = np.stack([_clip(seed=1), _clip(seed=2)])
    batched = tokenizer.encode_frames(clips)
    assert batched.shape == (2, 5, 16, 16)
    np.testing.assert_array_equal(batched[1], tokenizer.encode_frames(clips[1]))


def test_causal_encoder(tokenizer):
    clip = _clip(seed=3)
    changed = clip.copy()
    changed[9:] = 255 - changed[9:]  # frames 9.. belong to latent frames 3 and 4
    a, b = tokenizer.encode_frames(clip), tokenizer.encode_frames(changed)
    np.testing.assert_array_equal(a[:3], b[:3])
    assert (a[3:] != b[3:]).any()


def test_causal_decoder(tokenizer):
    tokens = tokenizer.encode_frames(_clip(seed=4))
    full = tokenizer.decode_frames(tokens)
    np.testing.assert_array_equal(full[:5], tokenizer.decode_frames(tokens[:2]))


def test_image_is_first_latent_frame(tokenizer):
    clip = _clip(seed=5)
    image_tokens = tokenizer.encode_frames(clip[:1])
    np.testing.assert_array_equal(image_tokens[0], tokenizer.encode_frames(clip)[0])


def test_tokens_match_the_quantizer(tokenizer):
    """Tokens are read from the sign bits directly; they must be LFQ's own indices, in training and
    in encode(), and decode must invert them to LFQ's codes."""
    video = frames_to_tensor(torch.from_numpy(_clip(seed=6)[None]))
    with torch.no_grad():
        latent = tokenizer.encoder(video)
        quantized, indices, _ = tokenizer.quantizer(latent.movedim(1, -1).reshape(1, -1, latent.shape[1]))
        _, trained, _ = tokenizer(video)
    np.testing.assert_array_equal(tokenizer.encode(video).numpy().ravel(), indices.numpy().ravel())
    np.testing.assert_array_equal(trained.numpy(), tokenizer.encode(video).numpy())
    codes = tokenizer.quantizer.indices_to_codes(indices)
    np.testing.assert_array_equal(codes.numpy(), quantized.numpy())


def test_save_load_round_trip_is_bit_identical(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = VideoTokenizer.from_pretrained(tmp_path).eval()
    clip = _clip(seed=7)
    tokens = tokenizer.encode_frames(clip)
    np.testing.assert_array_equal(tokens, loaded.encode_frames(clip))
    np.testing.assert_array_equal(tokenizer.decode_frames(tokens), loaded.decode_frames(tokens))


def test_bad_inputs(tokenizer):
    with pytest.raises(ValueError, match="1\\+4n frames"):
        tokenizer.encode_frames(_clip(frames=4))
    with pytest.raises(ValueError, match="divisible by 8"):
        tokenizer.encode_frames(_clip(size=(100, 128)))
    with pytest.raises(ValueError, match="must lie in"):
        tokenizer.decode_frames(np.full((1, 16, 16), 2**12))


def test_training_smoke(tmp_path):
    """A few steps on a tiny pool: the script trains, saves fp16, reloads and scores held-out data."""
    from videopoet.training.train_video_tokenizer import main
    from videopoet.world.dataset import write_dataset

    pool = write_dataset(tmp_path / "pool", 8, shard_size=4, real_fraction=0.5, workers=2, structure=False)
    result = main(["--out", str(tmp_path / "tok"), "--data", str(pool), "--steps", "3", "--batch", "2",
                   "--tiny", "--heldout", "2", "--device", "cpu", "--keep-checkpoint", "--entropy-loss-weight", "0.005"])
    assert result["steps"] == 3 and result["config"]["entropy_loss_weight"] == 0.005
    for name in ("config.json", "diffusion_pytorch_model.safetensors", "eval.json", "README.md", "train_log.jsonl"):
        assert (tmp_path / "tok" / name).exists(), name
    assert 0 < result["video_psnr_world"] < 60 and 0 <= result["code_usage"] <= 1
    resumed = main(["--out", str(tmp_path / "tok"), "--data", str(pool), "--steps", "4", "--batch", "2",
                    "--tiny", "--heldout", "2", "--device", "cpu", "--resume"])
    assert resumed["steps"] == 4
    assert not (tmp_path / "tok" / "checkpoint.pt").exists()


def test_decoder_only_training_keeps_the_tokens(tmp_path):
    """--decoder-only trains the decoder and nothing else, so the tokens a language model was
    trained on stay exactly the same."""
    import json

    from videopoet.training.train_video_tokenizer import main
    from videopoet.world.dataset import write_dataset

    pool = write_dataset(tmp_path / "pool", 4, shard_size=4, real_fraction=0.0, workers=2, structure=False)
    common = ["--data", str(pool), "--batch", "2", "--heldout", "2", "--device", "cpu"]
    main(["--out", str(tmp_path / "stage1"), "--steps", "2", "--tiny", *common])
    before = VideoTokenizer.from_pretrained(tmp_path / "stage1")
    result = main(["--out", str(tmp_path / "stage2"), "--init", str(tmp_path / "stage1"), "--decoder-only",
                   "--steps", "2", "--lr", "1e-2", *common])
    after = VideoTokenizer.from_pretrained(tmp_path / "stage2")
    changed = {k for k, v in after.state_dict().items() if not torch.equal(v, before.state_dict()[k])}
    assert changed and all(k.startswith("decoder.") for k in changed)
    assert "_name_or_path" not in json.loads((tmp_path / "stage2" / "config.json").read_text())
    clip = _clip(seed=3)
    assert np.array_equal(after.encode_frames(clip), before.encode_frames(clip))
    assert result["decoder_only"] and "decoder of" in (tmp_path / "stage2" / "README.md").read_text()
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--decoder-only", *common])
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--init", str(tmp_path / "stage1"), "--tiny", *common])


def test_watchdog_stops_on_known_failures():
    from videopoet.training.loop import TrainingFailure
    from videopoet.training.train_video_tokenizer import Watchdog

    target = torch.rand(2, 3, 5, 16, 16) * 2 - 1
    varied = torch.randint(0, 4096, (2, 2, 2, 2))
    dog = Watchdog(4096, warmup_steps=0, min_usage=0.001)
    dog.observe(torch.tensor(0.5), varied)
    assert dog.check(1, target, target) > 0
    with pytest.raises(TrainingFailure, match="flat"):
        dog.check(2, target, torch.zeros_like(target))
    collapsed = Watchdog(4096, warmup_steps=0, min_usage=0.01)
    collapsed.observe(torch.tensor(0.5), torch.zeros(2, 2, 2, 2, dtype=torch.long))
    with pytest.raises(TrainingFailure, match="collapsed"):
        collapsed.check(3, target, target)
    dog.observe(torch.tensor(float("nan")), varied)
    dog.observe(torch.tensor(0.5), varied)  # a later finite loss does not hide the earlier NaN
    with pytest.raises(TrainingFailure, match="non-finite"):
        dog.check_finite(4)
