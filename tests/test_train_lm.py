"""Pre-tokenizing world pools and training the language model on every task (tiny models, CPU)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from videopoet import tasks
from videopoet.model.quantization import load_transformer
from videopoet.model.transformer import VideoPoetTransformer
from videopoet.structure import structure_video
from videopoet.tokenizers import AudioTokenizer, VideoTokenizer
from videopoet.training import pretokenize as pre
from videopoet.training import train_lm as lm
from videopoet.training.train_audio_tokenizer import TINY as TINY_AUDIO
from videopoet.training.train_video_tokenizer import TINY as TINY_VIDEO
from videopoet.world.dataset import _write_shard

REPO = Path(__file__).resolve().parents[1]
POOLS = {"square": ((128, 128), [0, 1], 0.0), "portrait": ((224, 128), [500000000], 0.0),
         "real": ((128, 128), [3, 4], 1.0)}  # seed 3: a Ken Burns photo, seed 4: a real video crop


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Tiny random tokenizers, three one-shard pools rendered by the world, and their tokens."""
    root = tmp_path_factory.mktemp("lm")
    torch.manual_seed(0)
    VideoTokenizer(**TINY_VIDEO).save_pretrained(root / "weights" / "video_tokenizer")
    audio = AudioTokenizer(**TINY_AUDIO).eval()
    audio.encode(0.1 * torch.randn(4, audio.config.clip_samples))  # k-means codebook init, saved with it
    audio.save_pretrained(root / "weights" / "audio_tokenizer")
    shutil.copytree(REPO / "weights" / "caption_tokenizer", root / "weights" / "caption_tokenizer")
    for name, (size, seeds, real) in POOLS.items():
        (root / name).mkdir()
        shard = _write_shard((root / name, 0, seeds, size, real, True))
        (root / name / "index.json").write_text(json.dumps({"clips": len(seeds), "structure": True,
                                                            "shards": [shard["file"]]}))
    index = pre.main(["--data", *(str(root / n) for n in POOLS), "--out", str(root / "tokens"),
                      "--weights", str(root / "weights"), "--device", "cpu", "--batch", "3"])
    return root, index


@pytest.fixture(scope="module")
def pools(data):
    root, _ = data
    indexes, shards = lm.load_token_dirs([root / "tokens"])
    vocab = tasks.Vocabulary(n_text=indexes[0]["n_text"], video_codebook_bits=indexes[0]["video_codebook_bits"])
    return vocab, lm.make_pools(shards, vocab, torch.device("cpu"))


def sampler(vocab, pools, dropout=0.1, seed=0, batch_tokens=4096):
    return lm.TaskSampler(pools, [np.arange(p.size) for p in pools], vocab, batch_tokens, dropout,
                          np.random.default_rng(seed))


def test_pretokenize_round_trip(data):
    root, index = data
    assert index["complete"] and index["clips"] == 5 and index["video_codebook_bits"] == 12
    assert index["command"].startswith("python -m videopoet.training.pretokenize --data")
    from tokenizers import Tokenizer

    caption_tok = Tokenizer.from_file(str(root / "weights" / "caption_tokenizer" / "tokenizer.json"))
    video_tok = VideoTokenizer.from_pretrained(root / "weights" / "video_tokenizer").eval()
    audio_tok = AudioTokenizer.from_pretrained(root / "weights" / "audio_tokenizer").eval()
    for entry in index["shards"]:
        pool = Path(entry["source"])
        size, seeds, _ = POOLS[pool.name]
        latent = (5, size[0] // 8, size[1] // 8)
        with np.load(root / "tokens" / entry["file"]) as t, np.load(pool / entry["source_shard"]) as src:
            n = len(seeds)
            assert t["video"].shape == t["structure"].shape == (n, *latent) and entry["latent"] == list(latent)
            assert t["audio"].shape == (n, 4, 106) and t["caption_ids"].shape == (n, 64)
            for key in ("video", "structure", "audio", "caption_ids", "caption_len"):
                assert t[key].dtype == np.int16, key
            assert 0 <= t["video"].min() and t["video"].max() < 2**12 and 0 <= t["audio"].min() and t["audio"].max() < 1024
            assert t["seeds"].tolist() == seeds and (t["portrait"] == (size[0] > size[1])).all()
            labels = [json.loads(s) for s in t["labels"]]
            assert t["real"].tolist() == [lab["source"] in ("photo", "video") for lab in labels]
            # Real footage has no depth, and real media without a sound track no audio to learn.
            assert t["has_structure"].tolist() == np.isfinite(src["depth"]).reshape(n, -1).all(axis=1).tolist()
            silent = ~src["audio"].reshape(n, -1).any(axis=1)
            assert t["has_audio"].tolist() == (~(t["real"] & silent)).tolist()
            for i in range(n):
                length = int(t["caption_len"][i])
                assert (t["caption_ids"][i, length:] == -1).all() and (t["caption_ids"][i, :length] >= 0).all()
                assert caption_tok.decode(t["caption_ids"][i, :length].tolist()) == str(t["captions"][i]).lower()
            # The tokens are the tokenizers' own codes of the rendered clip (up to near-ties that
            # another batch size may break the other way).
            i = int(np.argmax(t["has_structure"]))
            assert np.mean(video_tok.encode_frames(src["video"][i]) == t["video"][i]) > 0.99
            assert np.mean(audio_tok.encode_audio(src["audio"][i].astype(np.float32)) == t["audio"][i]) > 0.99
            if t["has_structure"][i]:
                expected = video_tok.encode_frames(structure_video(src["depth"][i], src["flow"][i]))
                assert np.mean(expected == t["structure"][i]) > 0.99
    # A second run finds every shard written and leaves them alone.
    stamps = {p: p.stat().st_mtime_ns for p in (root / "tokens").glob("*.npz")}
    again = pre.pretokenize([root / n for n in POOLS], root / "tokens", root / "weights", "cpu")
    assert again["clips"] == index["clips"] and stamps == {p: p.stat().st_mtime_ns for p in stamps}


def test_every_task_sequence_matches_its_layout_and_fits(pools):
    vocab, pools = pools
    s = sampler(vocab, pools)
    assert {p.latent for p in pools} == {tuple(tasks.SQUARE_VIDEO), tuple(tasks.PORTRAIT_VIDEO)}
    assert s.available() == list(tasks.TASKS)
    model = VideoPoetTransformer(**lm.TINY, vocab_size=vocab.size)  # default max_len and position tables
    longest = lm.check_fits(model, s, list(tasks.TASKS))
    assert 4000 < longest <= model.config.max_len  # portrait stylization / inpainting with a full caption
    rng = np.random.default_rng(0)
    for task in tasks.TASKS:
        for with_text in (True, False):
            for p, real, text_len, members in s.groups(task, with_text):
                pool = pools[p]
                index = members[:2]
                template = s.template(task, p, real, text_len)
                masks = None
                if task in ("inpaint", "outpaint"):
                    kind = "box" if task == "inpaint" else "border"
                    masks = np.stack([tasks.make_mask(kind, pool.latent, rng) for _ in index])
                batch = lm.gather(pool, template, index, masks, vocab.id("<mask>"))
                for b, i in enumerate(index):
                    clip = pool.clip(int(i), with_text, None if masks is None else masks[b])
                    ref = lm.LAYOUTS[task](vocab, clip).sequence
                    assert torch.equal(batch["tokens"][b], ref.tokens), (task, with_text, pool.latent)
                    assert torch.equal(batch["positions"][b], ref.positions)
                    assert torch.equal(batch["modality"][b], ref.modality.long())
                    assert int(batch["prefix_len"][b]) == ref.prefix_len
                if task in ("inpaint", "outpaint"):
                    assert (batch["tokens"][:, :template.prefix_len] == vocab.id("<mask>")).any()


def test_batches_are_one_task_at_one_length(pools):
    vocab, pools = pools
    s = sampler(vocab, pools, batch_tokens=2000)
    for task in tasks.TASKS:
        for _ in range(3):
            batch, template = s.draw(task)
            assert batch["tokens"].shape[1] == len(template) <= 4608
            assert (batch["tokens"][:, 1] == vocab.task_id(task)).all()
            assert batch["tokens"].shape[0] == 1 or batch["tokens"].numel() <= 2000
            assert (batch["tokens"] != vocab.pad_id).all()  # no padding, and no absent structure


def test_caption_dropout_produces_text_free_sequences(pools):
    vocab, pools = pools
    text = (vocab.text_range.start, vocab.text_range.stop)

    def has_text(batch):
        return ((batch["tokens"] >= text[0]) & (batch["tokens"] < text[1])).any(dim=1)

    s = sampler(vocab, pools, dropout=0.3, seed=1)
    batches = [s.draw("t2v")[0] for _ in range(60)]
    drawn = torch.cat([has_text(b) for b in batches])
    assert 0.05 < 1 - drawn.float().mean() < 0.6  # some text-free t2v sequences, most with text
    # A dropped caption keeps the task token: guidance's unconditional branch is the same task.
    assert all((b["tokens"][:, 1] == vocab.task_id("t2v")).all() for b in batches)
    never = sampler(vocab, pools, dropout=0.0)
    assert all(has_text(never.draw("t2v")[0]).all() for _ in range(20))
    assert not any(has_text(never.draw("uncond")[0]).any() for _ in range(5))
    optional = torch.cat([has_text(never.draw("i2v")[0]) for _ in range(30)])
    assert optional.any() and not optional.all()
    # Images early, video later.
    assert lm.task_weights(0.0, ["t2v", "t2i"])["t2i"] > lm.task_weights(1.0, ["t2v", "t2i"])["t2i"]


def test_training_steps_reduce_loss_on_a_fixed_batch(pools):
    vocab, pools = pools
    torch.manual_seed(0)
    batch, _ = sampler(vocab, pools, batch_tokens=600).draw("t2i")
    model = VideoPoetTransformer(**lm.TINY, vocab_size=vocab.size)
    opt = lm.make_optimizer(model, 3e-3, fused=False)
    accelerator = Accelerator(cpu=True)
    model, opt = accelerator.prepare(model, opt)
    losses = [float(lm.train_step(model, opt, accelerator, batch)[0]) for _ in range(6)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.3, losses


def test_code_bit_embedding_ties_codes_by_their_bits_and_bakes_into_the_plain_table(pools):
    vocab, pools = pools
    torch.manual_seed(0)
    batch, _ = sampler(vocab, pools, batch_tokens=600).draw("t2v")
    model = VideoPoetTransformer(**lm.TINY, vocab_size=vocab.size).eval()
    plain_keys = set(model.state_dict())
    lm.CodeBitEmbedding.attach(model, vocab)
    table = model.token_embedding.weight.detach()
    own = model.token_embedding.parametrizations.weight.original.detach()
    shared = table - own
    code = vocab.video_range.start
    # Only video codes get the bit term, and a code's term is the signed sum of its bits' rows.
    assert shared[:code].abs().max() == 0 and shared[vocab.video_range.stop:].abs().max() == 0
    bits = model.token_embedding.parametrizations.weight[0].projection.detach()
    assert torch.allclose(shared[code + 0b101], -bits.sum(0) + 2 * (bits[0] + bits[2]), atol=1e-6)
    with torch.no_grad():
        before = model(batch["tokens"], batch["positions"], batch["modality"], batch["prefix_len"])
        lm.CodeBitEmbedding.bake(model)
        after = model(batch["tokens"], batch["positions"], batch["modality"], batch["prefix_len"])
    assert set(model.state_dict()) == plain_keys and torch.equal(model.token_embedding.weight, table)
    assert torch.equal(before, after)


def test_train_lm_cli_resumes_and_writes_model_eval_and_card(data):
    root, _ = data
    out = root / "model"
    common = ["--tokens", str(root / "tokens"), "--out", str(out), "--device", "cpu", "--tiny", "--tasks", "t2i", "t2a",
              "--batch-tokens", "1024", "--heldout", "1", "--heldout-fraction", "0.4", "--log-every", "1"]
    first = lm.main(common + ["--steps", "2", "--keep-checkpoint"])
    assert first["steps"] == 2 and (out / "checkpoint.pt").exists()
    result = lm.main(common + ["--steps", "3", "--resume"])
    assert result["steps"] == 3 and result["tokens_seen"] > first["tokens_seen"]
    assert not (out / "checkpoint.pt").exists()
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "step" in r] == [1, 2, 3]
    assert all(set(r["loss_by_task"]) <= {"t2i", "t2a"} and r["tokens_per_s"] > 0 for r in records if "step" in r)
    saved = json.loads((out / "eval.json").read_text())
    assert set(saved["heldout"]) == {"t2i", "t2a"} and all(np.isfinite(r["loss"]) for r in saved["heldout"].values())
    assert saved["data"]["heldout_clips"] > 0 and saved["tasks_skipped"] == []
    card = (out / "README.md").read_text()
    assert result["command"] in card and "t2a" in card and "python -m videopoet.training.pretokenize" in card
    from safetensors import safe_open

    dtypes = {}
    for shard in out.glob("*.safetensors"):
        with safe_open(shard, "pt") as f:
            dtypes.update({k: f.get_tensor(k).dtype for k in f.keys()})
    # The shipped format: the blocks' Linear weights int8, embeddings and norms fp16.
    assert all(dtypes[k] == torch.int8 for k in dtypes if k.startswith("blocks.") and k.endswith(".weight")
               and "norm" not in k)
    assert dtypes["token_embedding.weight"] == torch.float16
    assert load_transformer(out, precision="fp32").config.vocab_size == saved["vocab"]["size"]
