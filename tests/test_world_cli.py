"""The world's command line: stats, bench, gallery and the sharded dataset writer."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from videopoet.world import render
from videopoet.world.dataset import write_dataset


def _run(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "videopoet.world", *args], capture_output=True, text=True,
                         timeout=300, check=True)
    return out.stdout


def test_stats_json_counts_and_seed_scenes():
    stats = json.loads(_run("stats", "--json"))
    assert stats["subjects"] >= 150 and stats["backgrounds"] >= 14 and stats["actions"] >= 12
    assert stats["cameras"] >= 12 and stats["effects"] >= 8 and stats["styles"] >= 8
    assert len(stats["seed_scenes"]) == 15 and all(stats["seed_scenes"].values())


def test_bench_json_shape():
    result = json.loads(_run("bench", "--n", "4", "--workers", "2", "--json"))
    assert set(result) >= {"clips_per_s", "workers", "size"}
    assert result["clips_per_s"] > 0 and result["workers"] == 2 and result["size"] == [128, 128]


def test_gallery_writes_a_sheet_and_playable_clips(tmp_path):
    from videopoet.media import probe

    _run("gallery", "--out", str(tmp_path), "--random", "1", "--videos", "2")
    assert (tmp_path / "contact_sheet.png").stat().st_size > 10_000
    clips = sorted(tmp_path.glob("*.mp4"))
    assert len(clips) == 2 and all(probe(c)["has_audio"] for c in clips)


def test_dataset_shards_match_render_and_resume(tmp_path):
    write_dataset(tmp_path, n=5, shard_size=2, workers=2)
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["shards"] == ["shard-00000.npz", "shard-00001.npz", "shard-00002.npz"]
    with np.load(tmp_path / "shard-00001.npz") as shard:
        assert shard["video"].shape == (2, 17, 128, 128, 3)
        assert shard["flow"].shape == (2, 17, 128, 128, 2) and shard["audio"].shape == (2, 34000)
        assert list(shard["seeds"]) == [2, 3]
        assert np.array_equal(shard["video"][1], render(3).video)
        assert json.loads(shard["labels"][0])["background"] == render(2).labels["background"]
    before = (tmp_path / "shard-00000.npz").stat().st_mtime_ns
    write_dataset(tmp_path, n=5, shard_size=2, workers=2)
    assert (tmp_path / "shard-00000.npz").stat().st_mtime_ns == before  # finished shards are kept
