"""Fixtures shared by test files.

`weights_dir`: a tiny, randomly initialised weights folder with the shipped layout (model_index.json,
one subfolder per component): a one-layer LM stored int8 by save_8bit, a tiny video tokenizer
(12-bit codes), a tiny depth estimator, and the shipped audio and caption tokenizers. Random
weights make random-looking clips, which is all the pipeline and app tests need. Built once per
session: the pipeline tests and the app tests share it.

`free_port`: a function returning a free local TCP port, for servers the tests launch.

`one_thread`: torch on one thread for a module (`pytestmark = pytest.mark.usefixtures("one_thread")`).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import torch

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


@pytest.fixture(scope="session")
def free_port():
    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return pick


@pytest.fixture(scope="module")
def one_thread():
    # Decoding a tiny model is one small op after another; with OpenMP threads each op pays a
    # thread hand-off, which on a busy 2-core machine cost ~10 ms per op (a 20x slowdown, measured).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory) -> Path:
    from transformers import PreTrainedTokenizerFast

    from videopoet import tasks
    from videopoet.model import VideoPoetTransformer
    from videopoet.model.depth import DepthEstimator
    from videopoet.model.quantization import save_8bit
    from videopoet.tokenizers import VideoTokenizer

    out = tmp_path_factory.mktemp("tiny_weights")
    shutil.copy(WEIGHTS / "model_index.json", out)
    for name in ("audio_tokenizer", "caption_tokenizer"):
        shutil.copytree(WEIGHTS / name, out / name)
    n_text = len(PreTrainedTokenizerFast.from_pretrained(WEIGHTS / "caption_tokenizer"))
    vocab = tasks.Vocabulary(n_text=n_text, video_codebook_bits=12)
    torch.manual_seed(0)
    VideoTokenizer(channels=(8, 16, 16), codebook_bits=12).save_pretrained(out / "video_tokenizer")
    DepthEstimator(channels=(8, 16)).save_pretrained(out / "depth_estimator")
    lm = VideoPoetTransformer(vocab_size=vocab.size, d_model=32, n_layers=1, n_heads=4, mlp_hidden=64, embed_dim=16)
    save_8bit(lm, out / "transformer")
    return out
