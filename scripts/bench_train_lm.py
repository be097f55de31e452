"""LM training speed: tokens/s of one training step (forward, backward, AdamW) for each task's
batches, with the shared-prefix attention path (two mask-free SDPA calls, flash attention on CUDA)
and with the explicit (B, 1, L, L) mask path it replaced.

    python scripts/bench_train_lm.py --device cuda
    python scripts/bench_train_lm.py --device cpu --tiny --steps 1 --batch-tokens 4096   # smoke run

Batches come from train_lm's own TaskSampler over random codes, so every task has its real layout,
sequence lengths and batch sizes (about --batch-tokens tokens a step). The default model, bf16
autocast and the bit-parametrized token table are those of a training run. Both paths start from
the same weights and train on the same batches; the table also gives each task's mean loss under
each, which track each other (bf16 rounding lets them drift apart slowly over the steps). `mixture` is the tokens/s of a run drawing tasks by train_lm's weights: every step holds
the same number of tokens, so it is the weighted harmonic mean of the tasks' rates. Prints one
JSON object, the table last.
"""

import argparse
import copy
import inspect
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

# Run as `python scripts/NAME.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet import tasks
from videopoet.model.transformer import VideoPoetTransformer
from videopoet.tasks import AUDIO_CODES, AUDIO_FRAMES, AUDIO_LEVELS, MAX_TEXT_TOKENS, Vocabulary
from videopoet.training.loop import make_accelerator
from videopoet.training.train_lm import TASK_WEIGHTS, TINY, CodeBitEmbedding, TaskSampler, make_optimizer, \
    make_pools, train_step

# A batch takes clips of one caption length and source only (no padding): few lengths and many clips
# per shape, so that a text-to-image batch (about 200 sequences) fills its tokens as in a real pool.
CLIPS_PER_SHAPE = 2048
CAPTION_LENGTHS = (14, 22, 30, 38)


def random_shards(vocab: Vocabulary, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """Token shards of random codes in both orientations, a quarter of them real: the fields
    pretokenize writes, with the shapes of the shipped tokenizers."""
    shards = []
    for latent in [(5, 16, 16), (5, 28, 16)]:
        n = CLIPS_PER_SHAPE
        caption_len = rng.choice(CAPTION_LENGTHS, n)
        caption_ids = rng.integers(0, vocab.n_text, (n, MAX_TEXT_TOKENS))
        caption_ids[np.arange(MAX_TEXT_TOKENS)[None, :] >= caption_len[:, None]] = -1
        shards.append({
            "seeds": np.arange(n) + len(shards) * n, "caption_len": caption_len, "caption_ids": caption_ids,
            "real": rng.random(n) < 0.25, "has_audio": np.ones(n, bool), "has_structure": np.ones(n, bool),
            "video": rng.integers(0, 2 ** vocab.video_codebook_bits, (n, *latent)),
            "structure": rng.integers(0, 2 ** vocab.video_codebook_bits, (n, *latent)),
            "audio": rng.integers(0, AUDIO_CODES, (n, AUDIO_LEVELS, AUDIO_FRAMES)),
        })
    return shards


def time_task(model, opt, accelerator, batches: list[dict], steps: int, device: torch.device) -> tuple[float, float]:
    """(tokens/s, mean loss) over `steps` timed steps after one warm-up step per batch shape."""
    for batch in batches:
        train_step(model, opt, accelerator, batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    tokens, losses = 0, []
    start = time.perf_counter()
    for i in range(steps):
        batch = batches[i % len(batches)]
        loss, _ = train_step(model, opt, accelerator, batch)
        losses.append(loss)
        tokens += batch["tokens"].numel()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - start), float(torch.stack(losses).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None)
    ap.add_argument("--steps", type=int, default=12, help="timed steps per task and path")
    ap.add_argument("--batch-tokens", type=int, default=65536)
    ap.add_argument("--tasks", nargs="+", choices=tasks.TASKS, default=list(tasks.TASKS))
    ap.add_argument("--tiny", action="store_true", help="a tiny model (smoke runs)")
    args = ap.parse_args()

    accelerator = make_accelerator(args.device)
    device = accelerator.device
    torch.backends.cuda.matmul.allow_tf32 = True
    # The default model's vocabulary with 14-bit video codes, as shipped.
    video_bits = 14
    vocab_size = inspect.signature(VideoPoetTransformer.__init__).parameters["vocab_size"].default
    n_text = vocab_size - len(tasks.SPECIAL_TOKENS) - 2 ** video_bits - AUDIO_LEVELS * AUDIO_CODES
    vocab = Vocabulary(n_text=n_text, video_codebook_bits=video_bits)
    rng = np.random.default_rng(0)
    pools = make_pools(random_shards(vocab, rng), vocab, device)
    sampler = TaskSampler(pools, [np.arange(p.size) for p in pools], vocab, args.batch_tokens, 0.1, rng)
    # Each task's batches drawn once, so both paths see the same tokens.
    batches = {t: [sampler.draw(t)[0] for _ in range(3)] for t in args.tasks}

    torch.manual_seed(0)
    base = VideoPoetTransformer(**{**(TINY if args.tiny else {}), "vocab_size": vocab.size})
    CodeBitEmbedding.attach(base, vocab)
    rows, results = [], {}
    for path in ("shared_prefix", "mask"):
        model = copy.deepcopy(base)
        model.shared_prefix_attention = path == "shared_prefix"
        opt = make_optimizer(model, 1e-4, fused=device.type == "cuda")
        model, opt = accelerator.prepare(model, opt)
        for task in args.tasks:
            rate, loss = time_task(model, opt, accelerator, batches[task], args.steps, device)
            results.setdefault(task, {})[path] = {"tokens_per_s": round(rate), "loss": round(loss, 4)}
        del model, opt
        if device.type == "cuda":
            torch.cuda.empty_cache()
    weights = {t: TASK_WEIGHTS[t] for t in args.tasks}
    total = sum(weights.values())
    mixture = {path: round(1 / sum(w / total / results[t][path]["tokens_per_s"] for t, w in weights.items()))
               for path in ("shared_prefix", "mask")}
    lengths = {t: [int(b["tokens"].shape[1]) for b in batches[t]] for t in args.tasks}
    print(json.dumps({"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                      "torch": torch.__version__, "batch_tokens": args.batch_tokens, "steps": args.steps,
                      "sequence_lengths": lengths, "tasks": results, "mixture_tokens_per_s": mixture}, indent=1))
    print(f"{'task':16s} {'length':>6s} {'shared_prefix tok/s':>20s} {'mask tok/s':>11s} {'speed-up':>8s}  loss (shared/mask)")
    for task in args.tasks:
        r = results[task]
        s, m = r["shared_prefix"], r["mask"]
        rows.append(f"{task:16s} {max(lengths[task]):6d} {s['tokens_per_s']:20,d} {m['tokens_per_s']:11,d} "
                    f"{s['tokens_per_s'] / m['tokens_per_s']:8.2f}  {s['loss']:.4f}/{m['loss']:.4f}")
    rows.append(f"{'mixture':16s} {'':6s} {mixture['shared_prefix']:20,d} {mixture['mask']:11,d} "
                f"{mixture['shared_prefix'] / mixture['mask']:8.2f}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
