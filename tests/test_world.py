"""The procedural world: determinism, shapes, scenes, captions, sound timing, flow, camera."""

from __future__ import annotations

import json
from collections import Counter

import cv2
import numpy as np
import pytest

from videopoet.errors import VideoPoetError
from videopoet.world import SEED_SCENES, Spec, estimate_camera, parse_caption, render
from videopoet.world.audio import onset_times
from videopoet.world.vocab import CAMERAS

SIZES = [(128, 128), (224, 128)]


@pytest.mark.parametrize("size", SIZES)
def test_shapes_and_dtypes(size):
    h, w = size
    s = render(11, size)
    assert s.video.shape == (17, h, w, 3) and s.video.dtype == np.uint8
    assert s.audio.shape == (34000,) and s.audio.dtype == np.float32
    assert np.abs(s.audio).max() <= 1.0
    assert s.depth.shape == (17, h, w) and s.depth.dtype == np.float32
    assert s.flow.shape == (17, h, w, 2) and s.flow.dtype == np.float32
    assert np.isfinite(s.depth).all() and np.isfinite(s.flow).all()
    assert isinstance(s.caption, str) and s.caption
    json.dumps(s.labels)  # labels are plain data


def test_deterministic_per_seed():
    a, b = render(42), render(42)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.audio, b.audio)
    assert np.array_equal(a.flow, b.flow) and np.array_equal(a.depth, b.depth)
    assert a.caption == b.caption and a.labels == b.labels
    c = render(43)
    assert not np.array_equal(a.video, c.video)


def test_every_seed_scene_renders():
    for name, specs in SEED_SCENES.items():
        for i, spec in enumerate(specs):
            s = render(i, (224, 128), spec)
            assert s.video.shape == (17, 224, 128, 3), name
            assert s.video.std() > 10, f"{name} renders a flat picture"
            assert s.labels["background"] == spec.background


def test_seed_scenes_say_what_the_articles_say():
    spec = SEED_SCENES["astronaut dancing on mars, then fireworks"][0]
    s = render(3, spec=spec)
    assert "then" in s.caption.lower() and "mars" in s.caption.lower()
    booms = [e["t"] for e in s.labels["events"] if e["kind"] == "boom"]
    assert booms and min(booms) >= 1.0  # the fireworks come after the dancing starts
    pandas = render(0, spec=SEED_SCENES["two pandas playing cards"][0])
    assert pandas.caption.lower().startswith("two pandas")


def test_caption_and_labels_agree():
    for seed in range(300):
        s = render(seed) if seed % 2 else _labels_only(seed)
        parsed = parse_caption(s.caption)
        labels = s.labels
        assert Counter(parsed["subjects"]) == Counter(labels["subjects"]), (s.caption, labels["subjects"])
        assert parsed["action"] == labels["action"], s.caption
        assert parsed["background"] == labels["background"], s.caption
        assert set(parsed["effects"]) == set(labels["effects"]), s.caption
        assert set(parsed["then"]) == {t["effect"] for t in labels["then"]}, s.caption
        assert parsed["style"] == labels["style"], s.caption
        assert parsed["camera"] == labels["camera"], s.caption
        assert set(parsed["accessories"]) == set(labels["accessories"]), s.caption


def _labels_only(seed):
    """Captions come from the spec alone; rendering every other seed keeps this test quick."""
    from types import SimpleNamespace

    from videopoet.world.captions import caption
    from videopoet.world.scene import random_spec

    rng = np.random.default_rng(seed)
    spec = random_spec(rng)
    return SimpleNamespace(caption=caption(spec, rng), labels={
        "subjects": list(spec.subjects), "action": spec.action, "background": spec.background,
        "effects": list(spec.effects), "then": [{"effect": e} for e, _ in spec.then], "style": spec.style,
        "camera": spec.camera, "accessories": list(spec.accessories)})


@pytest.mark.parametrize("spec", [
    Spec(("dog",), "walk", "white studio"),
    Spec(("horse",), "gallop", "grassy meadow"),
    Spec(("frog",), "jump", "white studio"),
    Spec(("raccoon",), "dance", "times square"),
    Spec(("lion",), "roar", "forge"),
    Spec((), None, "mars", effects=("fireworks",)),
    Spec(("ship",), "sail", "stormy sea", effects=("lightning",)),
], ids=lambda s: s.action or s.effects[0])
def test_sounds_start_within_one_frame_of_what_is_seen(spec):
    for seed in range(3):
        s = render(seed, spec=spec)
        events = [e["t"] for e in s.labels["events"] if e["t"] < 2.0]
        assert events, "every scene here makes a sound"
        onsets = onset_times(s.audio)
        hits = [np.min(np.abs(onsets - t)) <= 0.125 for t in events] if len(onsets) else [False]
        assert np.mean(hits) >= 0.8, (spec, events, onsets.tolist())


def test_thunder_follows_the_flash_it_belongs_to():
    spec = Spec((), None, "stormy sea", effects=("lightning",))
    s = render(5, spec=spec)
    brightness = s.video.reshape(17, -1).mean(1)
    flash_frame = int(np.argmax(np.diff(brightness))) + 1
    thunders = [e["t"] for e in s.labels["events"] if e["kind"] == "thunder"]
    assert min(abs(t - flash_frame / 8) for t in thunders) <= 0.125


def test_subject_depth_and_static_background_flow():
    s = render(1, spec=Spec(("panda",), "idle", "white studio", camera="static"))
    centre = s.depth[8, 64 - 10:64 + 10, 64 - 5:64 + 5]
    assert np.isclose(np.median(centre), 0.5, atol=0.02)  # subjects stand at depth 0.5
    assert np.abs(s.flow[:, :20]).max() < 0.5  # a static camera leaves the back wall still


def _warp_error(video, flow):
    """Mean error predicting frame t+1 by moving frame t's pixels along the flow, vs not moving."""
    h, w = video.shape[1:3]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    with_flow, without = [], []
    for t in range(16):
        # Backward lookup with the flow at the destination: exact for the smooth camera fields.
        pred = cv2.remap(video[t], xs - flow[t, ..., 0], ys - flow[t, ..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
        target = video[t + 1].astype(np.float32)
        with_flow.append(np.abs(pred.astype(np.float32) - target).mean())
        without.append(np.abs(video[t].astype(np.float32) - target).mean())
    return float(np.mean(with_flow)), float(np.mean(without))


@pytest.mark.parametrize("camera", ["pan left", "zoom in", "crane shot", "orbit", "dolly zoom"])
def test_flow_predicts_the_next_frame(camera):
    s = render(7, spec=Spec(("cat",), "walk", "grassy meadow", camera=camera))
    with_flow, without = _warp_error(s.video, s.flow)
    assert with_flow < 0.6 * without, (with_flow, without)


def test_flow_follows_a_moving_subject():
    s = render(2, spec=Spec(("horse",), "gallop", "white studio", camera="static"))
    moving = np.linalg.norm(s.flow, axis=-1) > 1.0
    assert moving.mean() > 0.01  # the horse moves, the studio does not
    with_flow, without = _warp_error(s.video, s.flow)
    assert with_flow < without


@pytest.mark.parametrize("camera", list(CAMERAS))
def test_camera_move_recovered_from_pixels(camera):
    right = 0
    for seed in range(3):
        s = render(100 + seed, SIZES[seed % 2], Spec(("dog",), "idle", "grassy meadow", camera=camera))
        guess, probs = estimate_camera(s.video)
        right += guess == camera
        assert abs(sum(probs.values()) - 1) < 1e-6
    assert right >= 2, camera


def test_directions_are_not_confused():
    """Opposite moves must never swap: that is the direction a user asked for."""
    for seed in range(4):
        for move, opposite in (("pan left", "pan right"), ("tilt up", "tilt down"), ("zoom in", "zoom out")):
            s = render(seed, spec=Spec((), None, "snowy mountain", camera=move))
            assert estimate_camera(s.video)[0] != opposite


def test_bad_specs_name_the_problem():
    with pytest.raises(VideoPoetError, match="unknown subject 'unicornfish'"):
        render(0, spec=Spec(("unicornfish",), "walk", "mars"))
    with pytest.raises(VideoPoetError, match="unknown background"):
        render(0, spec=Spec(("dog",), "walk", "atlantis"))
    with pytest.raises(ValueError, match="size"):
        render(0, (64, 64))


def test_mp4_round_trip_keeps_frames_and_sound(tmp_path):
    from videopoet.media import probe, read_video, write_video

    s = render(9, (224, 128), Spec(("dog",), "walk", "sunny beach"))
    path = write_video(tmp_path / "clip.mp4", s.video, audio=s.audio)
    info = probe(path)
    assert info["frames"] == 17 and info["has_audio"]
    assert abs(info["audio_seconds"] - 2.125) <= 0.01 * 2.125
    back = read_video(path, size=(224, 128))
    assert back.frames.shape == (17, 224, 128, 3)


def test_a_tinted_sprite_one_pixel_wide_and_four_tall_composites():
    """OpenCV reads a (4, 1) array as a Scalar: `cv2.multiply(alpha, s)` on such a patch raised, one
    clip in about 180,000 (a fading sprite at the frame's edge), and took a training run with it."""
    from videopoet.world.camera import FRAMES, CameraPath
    from videopoet.world.compositor import composite
    from videopoet.world.layers import Layer

    h = w = 128
    steps = FRAMES + 1
    still = CameraPath("static", np.ones(steps), np.zeros(steps), np.zeros((steps, 2)), np.zeros((steps, 2)),
                       np.zeros(steps))
    rgba = np.full((3, 5, 4), 255, np.uint8)
    # Its left edge on the last column and its top on row 10: a 1 x 4 patch on screen.
    local = np.tile(np.array([[1.0, 0.0, w / 2 - 1 + 2.5], [0.0, 1.0, 10 - h / 2 + 1.5]]), (steps, 1, 1))
    tint = np.tile(np.array([1.0, 1.0, 1.0, 0.5]), (steps, 1))
    video, depth, _ = composite([Layer(rgba, 0.5, local=local, tint=tint)], still, (h, w))
    assert video[0, 10:13, w - 1].min() > 0 and video[0, :, : w - 1].max() == 0  # drawn, half faded
    assert depth[0, 10:13, w - 1].max() < depth[0, 0, 0]
