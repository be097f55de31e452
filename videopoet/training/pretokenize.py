"""Tokenize world pools once, so the language model trains on tokens and never on pixels.

    python -m videopoet.world write --out /tmp/pool/square --n 12000 --real-fraction 0.2
    python -m videopoet.world write --out /tmp/pool/portrait --n 6000 --real-fraction 0.2 --portrait --first-seed 500000000
    python -m videopoet.training.pretokenize --data /tmp/pool/square /tmp/pool/portrait \
        --out /tmp/tokens --weights weights --device cuda

Every pool shard becomes one token shard (np.savez, uncompressed), written whole or not at all, so
an interrupted run resumes where it stopped. A token shard holds, per clip:

    video            int16 (N, 5, H/8, W/8)   video tokenizer codes
    audio            int16 (N, 4, 106)        audio tokenizer codes, row l = RVQ level l
    structure        int16 (N, 5, H/8, W/8)   codes of structure_video(depth, flow); 0 where absent
    has_structure    bool (N,)                depth and flow were written and are finite
    caption_ids      int16 (N, 64)            caption tokenizer ids, padded with -1
    caption_len      int16 (N,)
    captions, labels str (N,)                 caption text; labels as JSON
    seeds            int64 (N,)
    portrait         bool (N,)                H > W
    real             bool (N,)                real media (a photo or a video from a package), not the world
    has_audio        bool (N,)                False for real media without a sound track (Ken Burns
                                              photos, silent videos): their zeros are no clip's sound

index.json lists the shards and what the tokens need to be read: the caption vocabulary size and
the video codebook bits (the unified vocabulary), the latent shapes, and a fingerprint of the
tokenizers, so a resumed run cannot mix tokens of two different tokenizers. It says
`"complete": true` only once every shard is written; the trainer refuses a directory without it.

On CUDA the video tokenizer runs under bf16 autocast (as it was trained); the audio tokenizer runs
in fp32, because its nearest-codebook search picks other codes when distances are rounded.
Held-out seeds are dropped on reading (`videopoet.training.data.iter_shards`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from videopoet.errors import VideoPoetError
from videopoet.structure import structure_video
from videopoet.tasks import AUDIO_FRAMES, AUDIO_LEVELS, MAX_TEXT_TOKENS, encode_caption
from videopoet.tokenizers.audio import AudioTokenizer
from videopoet.tokenizers.video import VideoTokenizer, frames_to_tensor
from videopoet.training.data import iter_shards
from videopoet.training.loop import command_line

REAL_SOURCES = ("photo", "video")  # `labels["source"]` of real media (videopoet.world.real); the world's is "world"


def is_real(labels: dict) -> bool:
    return labels.get("source") in REAL_SOURCES


def load_tokenizers(weights: str | Path, device: torch.device):
    """(video tokenizer, audio tokenizer, caption tokenizer) from a weights folder, in eval mode."""
    from tokenizers import Tokenizer

    weights = Path(weights)
    video = VideoTokenizer.from_pretrained(weights / "video_tokenizer", torch_dtype=torch.float32).to(device).eval()
    audio = AudioTokenizer.from_pretrained(weights / "audio_tokenizer", torch_dtype=torch.float32).to(device).eval()
    caption = Tokenizer.from_file(str(weights / "caption_tokenizer" / "tokenizer.json"))
    if video.config.codebook_bits > 15:
        raise VideoPoetError(f"video codes of {video.config.codebook_bits} bits do not fit the int16 token shards")
    return video, audio, caption


def fingerprint(weights: str | Path) -> str:
    """A hash of the three tokenizers' files: tokens made by different tokenizers must not mix."""
    digest = hashlib.sha256()
    for part in ("video_tokenizer", "audio_tokenizer", "caption_tokenizer"):
        for path in sorted((Path(weights) / part).glob("*")):
            if path.suffix in (".json", ".safetensors") and path.name != "eval.json":
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _encode_video(tokenizer: VideoTokenizer, frames: np.ndarray, batch: int) -> np.ndarray:
    """uint8 (N, T, H, W, 3) -> int16 (N, t, h, w), `batch` clips at a time."""
    device = tokenizer.device
    # bf16 on CUDA, as the tokenizer was trained; CPU stays fp32 (bf16 convolutions are slow there).
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    out = []
    for i in range(0, len(frames), batch):
        chunk = torch.from_numpy(np.ascontiguousarray(frames[i:i + batch])).to(device, non_blocking=True)
        with torch.no_grad(), autocast:
            out.append(tokenizer.encode(frames_to_tensor(chunk)).to(torch.int16).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, *VideoTokenizer.latent_shape(*frames.shape[1:4])), np.int16)


def _encode_audio(tokenizer: AudioTokenizer, audio: np.ndarray, batch: int) -> np.ndarray:
    device = tokenizer.device
    out = []
    for i in range(0, len(audio), batch):
        chunk = torch.from_numpy(audio[i:i + batch].astype(np.float32)).to(device, non_blocking=True)
        with torch.no_grad():
            out.append(tokenizer.encode(chunk).to(torch.int16).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, AUDIO_LEVELS, AUDIO_FRAMES), np.int16)


def tokenize_shard(arrays: dict[str, np.ndarray], video_tok: VideoTokenizer, audio_tok: AudioTokenizer,
                   caption_tok, batch: int, threads: ThreadPoolExecutor) -> dict[str, np.ndarray]:
    """One pool shard's arrays -> the token shard's arrays (see the module docstring)."""
    video = arrays["video"]
    n, frames, height, width, _ = video.shape
    latent = VideoTokenizer.latent_shape(frames, height, width)
    labels = [json.loads(s) for s in arrays["labels"]]
    real = np.array([is_real(lab) for lab in labels], dtype=bool)
    audio = arrays["audio"]
    silent = ~np.abs(audio).astype(np.float32).reshape(n, -1).any(axis=1)
    has_audio = ~(real & silent)

    structure = np.zeros((n, *latent), np.int16)
    has_structure = np.zeros(n, bool)
    if "depth" in arrays:
        has_structure = np.isfinite(arrays["depth"].reshape(n, -1)).all(axis=1)  # real footage has no depth
        which = np.flatnonzero(has_structure)
        if len(which):
            # numpy releases the GIL in its ufuncs, so threads overlap the per-clip normalisation.
            rendered = np.stack(list(threads.map(lambda i: structure_video(arrays["depth"][i], arrays["flow"][i]), which)))
            structure[which] = _encode_video(video_tok, rendered, batch)

    caption_ids = np.full((n, MAX_TEXT_TOKENS), -1, np.int16)
    caption_len = np.zeros(n, np.int16)
    for i, text in enumerate(arrays["captions"]):
        ids = encode_caption(caption_tok, str(text))
        caption_ids[i, :len(ids)] = ids
        caption_len[i] = len(ids)
    if (caption_len == 0).any():
        raise VideoPoetError(f"{int((caption_len == 0).sum())} clips have an empty caption")

    return {
        "video": _encode_video(video_tok, video, batch),
        "audio": _encode_audio(audio_tok, audio, batch),
        "structure": structure,
        "has_structure": has_structure,
        "caption_ids": caption_ids,
        "caption_len": caption_len,
        "captions": np.asarray(arrays["captions"]),
        "labels": np.asarray(arrays["labels"]),
        "seeds": arrays["seeds"].astype(np.int64),
        "portrait": np.full(n, height > width),
        "real": real,
        "has_audio": has_audio,
    }


def _shard_name(folder: Path, shard: str) -> str:
    tag = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:6]
    return f"{folder.name}-{tag}-{Path(shard).stem}.npz"


def pretokenize(data: list[str | Path], out: str | Path, weights: str | Path = "weights",
                device: str | torch.device = "cpu", batch: int = 64, command: str | None = None) -> dict:
    """Tokenize every shard of the pool folders `data` into `out`; returns the index, which records
    `command` (the command line that made it, for model cards)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    video_tok, audio_tok, caption_tok = load_tokenizers(weights, device)
    index_path = out / "index.json"
    index = {"complete": False, "fingerprint": fingerprint(weights), "n_text": caption_tok.get_vocab_size(),
             "video_codebook_bits": int(video_tok.config.codebook_bits), "audio_levels": AUDIO_LEVELS,
             "audio_frames": AUDIO_FRAMES, "command": command, "clips": 0, "shards": []}
    if index_path.exists():
        previous = json.loads(index_path.read_text())
        if previous.get("fingerprint") != index["fingerprint"]:
            raise VideoPoetError(f"{out} holds tokens made by other tokenizers (fingerprint "
                                 f"{previous.get('fingerprint')} != {index['fingerprint']}); use a fresh --out")
        index["command"] = command or previous.get("command")

    folders = [Path(d) for d in data]
    pools = [(folder, json.loads((folder / "index.json").read_text())) for folder in folders]
    bar = tqdm(total=sum(p["clips"] for _, p in pools), unit="clip", desc="tokenize", dynamic_ncols=True,
               mininterval=2.0)
    t0 = time.time()
    with ThreadPoolExecutor(8) as threads:
        for folder, pool_index in pools:
            fields = ("video", "audio", "seeds", "captions", "labels")
            fields += ("depth", "flow") if pool_index.get("structure", False) else ()
            done = {s for s in pool_index["shards"] if (out / _shard_name(folder, s)).exists()}
            for shard, arrays in iter_shards(folder, fields, skip=done):
                path = out / _shard_name(folder, shard)
                tokens = tokenize_shard(arrays, video_tok, audio_tok, caption_tok, batch, threads)
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, **tokens)
                tmp.replace(path)
                bar.update(len(arrays["seeds"]))
            for shard in pool_index["shards"]:
                name = _shard_name(folder, shard)
                with np.load(out / name) as written:
                    n, latent = len(written["seeds"]), list(written["video"].shape[1:])
                    structured = int(written["has_structure"].sum())
                index["shards"].append({"file": name, "source": str(folder), "source_shard": shard, "clips": n,
                                        "latent": latent, "with_structure": structured})
                index["clips"] += n
            index_path.write_text(json.dumps(index, indent=1))
    bar.close()
    index["complete"] = True
    index["seconds"] = round(time.time() - t0, 1)
    index_path.write_text(json.dumps(index, indent=1))
    return index


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True, help="pool folders written by `python -m videopoet.world write`")
    ap.add_argument("--out", required=True, help="token directory to write (resumed if it exists)")
    ap.add_argument("--weights", default="weights", help="folder with video_tokenizer/, audio_tokenizer/, caption_tokenizer/")
    ap.add_argument("--device", default=None)
    ap.add_argument("--batch", type=int, default=64, help="clips per tokenizer call")
    args = ap.parse_args(argv)
    command = command_line("videopoet.training.pretokenize", argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    index = pretokenize(args.data, args.out, args.weights, device, args.batch, command)
    summary = {k: v for k, v in index.items() if k != "shards"}
    summary["shards"] = len(index["shards"])
    summary["with_structure"] = sum(s["with_structure"] for s in index["shards"])
    print(json.dumps(summary), flush=True)
    return index


if __name__ == "__main__":
    main()
