"""scripts/codec_reference.py: the byte budget is the tokenizer's, and what it codes fits the budget
and decodes back to the clip."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from videopoet.eval.metrics import psnr

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "codec_reference.py"


@pytest.fixture(scope="module")
def codec():
    spec = importlib.util.spec_from_file_location("codec_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_budget_is_the_tokens_bits(codec):
    assert codec.budget_bytes(17, 128, 128, 14) == 5 * 16 * 16 * 14 // 8 == 2240
    assert codec.budget_bytes(17, 224, 128, 14) == 5 * 28 * 16 * 14 // 8
    assert codec.budget_bytes(1, 128, 128, 12) == 16 * 16 * 12 // 8


def test_coded_clips_and_images_fit_and_come_back(codec):
    yy, xx = np.mgrid[:128, :128]
    clip = np.stack([np.stack([(xx + 4 * t) % 256, yy * 2 % 256, np.full_like(xx, 90)], -1)
                     for t in range(17)]).astype(np.uint8)  # a sliding gradient
    budget = codec.budget_bytes(17, 128, 128, 14)
    data = codec.best_fit(lambda crf: codec.x264(clip, crf), list(range(52)), budget)
    assert data is not None and len(data) <= budget
    assert psnr(clip, codec.x264_decode(data, clip.shape)) > 20
    image = clip[8]
    data = codec.best_fit(lambda q: codec.webp(image, q), list(range(100, 0, -1)), codec.budget_bytes(1, 128, 128, 14))
    assert data is not None and len(data) <= 448
    assert psnr(image, codec.webp_decode(data)) > 20
    assert codec.best_fit(lambda q: codec.webp(image, q), [100], 10) is None  # nothing fits 10 bytes
