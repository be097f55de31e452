"""LM decode speed: tokens/s and seconds per 1280-token clip for each precision and batch size.

    python scripts/bench_lm.py --fresh --device cpu
    python scripts/bench_lm.py --path weights/transformer --device cuda --batches 1 4 --precisions bf16 int8

Every precision runs the same weights: a fresh default-config model (fixed seed) is saved 8-bit to
a temporary folder first, and each precision is loaded from the int8 checkpoint with
`load_transformer` (bf16/fp32 dequantized), as the app loads the shipped weights. Each timed call
is one `sample()` — prefill of a `--prompt-len` token text prompt, then `--n-new` decode steps,
temperature 1 with top-k, no guidance (guidance doubles the rows: batch 4 here costs what batch 2
with CFG costs). On CUDA the decode steps replay a CUDA graph where the model allows it (bf16, fp32);
`--compare-eager` adds each row decoded eagerly. `--llama` times what a user would otherwise run, in
the same process: transformers' `generate()` on a Llama of this model's width, depth, MLP and
vocabulary, bf16, with its default and its static cache (BRIEF section 6), and the ratio of ours to
it at equal batch. Prints one JSON object.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

# Run as `python scripts/NAME.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videopoet.model import CUDAGraphDecodeStep, PrefixBatch, VideoPoetTransformer, sample
from videopoet.model.quantization import load_transformer, save_8bit
from videopoet.model.transformer import SPECIAL, TEXT, VIDEO


def video_layout(n_new: int, config) -> tuple[torch.Tensor, torch.Tensor]:
    """(t, y, x) coordinates of the first `n_new` latent cells of a 5x16x16 landscape clip."""
    t, y, x = torch.meshgrid(torch.arange(config.video_t_positions), torch.arange(16), torch.arange(16), indexing="ij")
    cells = torch.stack([t, y, x], dim=-1).reshape(-1, 3)
    if n_new > len(cells):
        raise ValueError(f"--n-new {n_new} exceeds the {len(cells)} cells of the layout")
    return cells[:n_new], torch.full((n_new,), VIDEO)


def text_prompt(batch: int, length: int, vocab: int) -> PrefixBatch:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, vocab, (batch, length), generator=g)
    positions = torch.zeros(batch, length, 3, dtype=torch.long)
    positions[..., 0] = torch.arange(length)
    modality = torch.full((batch, length), TEXT)
    modality[:, 0] = SPECIAL
    positions[:, 0, 0] = 0
    return PrefixBatch(tokens, positions, modality, torch.full((batch,), length))


def timed(device: torch.device, run) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def timed_sample(model, prefix, positions, modality, n_new: int, device: torch.device, cuda_graph: bool) -> float:
    return timed(device, lambda: sample(model, prefix, n_new, positions, modality, temperature=1.0, top_k=256,
                                        generator=torch.Generator().manual_seed(0), cuda_graph=cuda_graph))


def llama_rows(config, batches: list[int], args, device: torch.device) -> list[dict]:
    """transformers' generate() on a randomly initialised Llama of the same shape, bf16."""
    from transformers import LlamaConfig, LlamaForCausalLM

    llama = LlamaForCausalLM(LlamaConfig(
        vocab_size=config.vocab_size, hidden_size=config.d_model, num_hidden_layers=config.n_layers,
        num_attention_heads=config.n_heads, intermediate_size=config.mlp_hidden,
        max_position_embeddings=args.prompt_len + args.n_new, tie_word_embeddings=True,
    )).to(device, torch.bfloat16).eval()
    parameters = sum(p.numel() for p in llama.parameters())
    rows = []
    for cache in ("dynamic", "static"):
        for batch in batches:
            prompt = text_prompt(batch, args.prompt_len, config.vocab_size).tokens.to(device)

            def generate(n_new: int):
                # min_new_tokens keeps a random model from stopping early at its end-of-sequence id.
                llama.generate(prompt, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=True, top_k=256,
                               cache_implementation=cache if cache == "static" else None, pad_token_id=0)

            timed(device, lambda: generate(args.warmup))
            seconds = timed(device, lambda: generate(args.n_new))
            rows.append({"model": "transformers Llama", "cache": cache, "parameters": parameters,
                         "precision": "bf16", "batch": batch, "seconds": round(seconds, 3),
                         "tokens_per_s": round(batch * args.n_new / seconds, 1),
                         "seconds_per_clip": round(seconds / batch, 3)})
    del llama
    return rows


def main():
    ap = argparse.ArgumentParser()
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--path", help="checkpoint folder (int8 from save_8bit, or float)")
    source.add_argument("--fresh", action="store_true", help="a fresh default-config model (seed 0)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precisions", nargs="+", default=["bf16", "fp32", "int8"], choices=["bf16", "fp32", "int8"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    ap.add_argument("--n-new", type=int, default=1280, help="tokens per clip (1280 = 5x16x16 latent)")
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=16, help="decode steps of an untimed call first")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--compare-eager", action="store_true",
                    help="on CUDA, also time the rows that replay a CUDA graph without it")
    ap.add_argument("--llama", action="store_true", help="also time transformers' generate() on an equal-size Llama")
    args = ap.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as scratch:
        path = args.path
        if args.fresh:
            torch.manual_seed(0)
            save_8bit(VideoPoetTransformer(), scratch)
            path = scratch
        results = []
        for precision in args.precisions:
            start = time.perf_counter()
            model = load_transformer(path, precision=precision, device=device)
            load_s = time.perf_counter() - start
            config = model.config
            positions, modality = video_layout(args.n_new, config)
            # int8 and split models never replay a graph: one eager row is all they have.
            graphable = CUDAGraphDecodeStep.usable(model)
            graph_modes = [True, False] if args.compare_eager and graphable else [True]
            for batch in args.batches:
                prefix = text_prompt(batch, args.prompt_len, config.vocab_size)
                for cuda_graph in graph_modes:
                    timed_sample(model, prefix, positions[: args.warmup], modality[: args.warmup], args.warmup,
                                 device, cuda_graph)
                    seconds = timed_sample(model, prefix, positions, modality, args.n_new, device, cuda_graph)
                    results.append({"model": "videopoet", "precision": precision, "batch": batch,
                                    "cuda_graph": cuda_graph and graphable,
                                    "seconds": round(seconds, 3),
                                    "tokens_per_s": round(batch * args.n_new / seconds, 1),
                                    "seconds_per_clip": round(seconds / batch, 3), "load_s": round(load_s, 3)})
            del model
        if args.llama:
            baseline = llama_rows(config, args.batches, args, device)
            results += baseline
            for row in results:
                if row["model"] == "videopoet" and row["precision"] == "bf16":
                    for other in baseline:
                        if other["batch"] == row["batch"]:
                            ratio = row["tokens_per_s"] / other["tokens_per_s"]
                            row[f"speed_vs_llama_{other['cache']}"] = round(ratio, 2)
    # The load average says how much of the CPU other processes took while this ran.
    print(json.dumps({"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "load_average": [round(x, 2) for x in os.getloadavg()],
                      "source": "fresh default config" if args.fresh else args.path,
                      "n_new": args.n_new, "prompt_len": args.prompt_len, "results": results}, indent=1))


if __name__ == "__main__":
    main()
