"""The Gradio app, end to end: launch it in-process and call its named endpoints with gradio_client."""

from __future__ import annotations

import os
import socket

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest

import gradio_client  # noqa: E402

import app  # noqa: E402
from videopoet.media import probe  # noqa: E402
from videopoet.world import SEED_SCENES, parse_caption  # noqa: E402
from videopoet.world.vocab import CAMERAS  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    app.launch(app.demo, server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield gradio_client.Client(app.demo.local_url, verbose=False)
    finally:
        app.demo.close()


def _path(video) -> str:
    # gradio_client hands a Video back as {"video": path, "subtitles": ...}
    return video["video"] if isinstance(video, dict) else video


def _check_outputs(result, size):
    clip, depth, flow, caption, labels, camera_true, camera_est, camera_probs = result
    h, w = size
    info = probe(_path(clip))
    assert info["frames"] == 17 and info["fps"] == 8
    assert (info["height"], info["width"]) == (h, w)
    assert info["has_audio"] and info["audio_seconds"] == pytest.approx(2.125, abs=0.05)
    for extra in (depth, flow):
        extra_info = probe(_path(extra))
        assert extra_info["frames"] == 17 and (extra_info["height"], extra_info["width"]) == (h, w)
    assert labels["size"] == [h, w]
    assert camera_true == labels["camera"]
    # The estimate names a camera move with its probabilities, or says how to fit the estimator.
    if camera_est.startswith("unavailable"):
        assert "fit-camera" in camera_est
    else:
        assert camera_est.split(" (")[0] == camera_probs["label"] in CAMERAS
        assert {c["label"] for c in camera_probs["confidences"]} <= set(CAMERAS)
    return caption, labels


def test_render_scene_matches_request(client):
    result = client.predict(
        subjects=["panda"], count=2, action="play cards", background="card table", effects=["smoke"],
        then_effect="fireworks", then_start=1.0, style="none", camera="pan left", accessories=["crown"],
        orientation="portrait", seed=5, api_name="/render_scene")
    caption, labels = _check_outputs(result, (224, 128))
    assert labels["subjects"] == ["panda", "panda"]
    assert labels["background"] == "card table" and labels["action"] == "play cards"
    assert labels["effects"] == ["smoke"] and labels["then"] == [{"effect": "fireworks", "start": 1.0}]
    assert labels["camera"] == "pan left" and labels["accessories"] == ["crown"] and labels["seed"] == 5
    said = parse_caption(caption)
    assert said["subjects"] == ["panda", "panda"] and said["background"] == "card table"
    assert said["then"] == ["fireworks"] and said["accessories"] == ["crown"]


def test_render_scene_scenery_square(client):
    result = client.predict(
        subjects=[], count=1, action="dance", background="nebula", effects=["twinkling stars"],
        then_effect="none", then_start=1.0, style="van gogh", camera="fpv drone shot", accessories=[],
        orientation="square", seed=1, api_name="/render_scene")
    caption, labels = _check_outputs(result, (128, 128))
    assert labels["subjects"] == [] and labels["action"] is None  # scenery ignores the action control
    assert labels["background"] == "nebula" and labels["style"] == "van gogh"
    assert parse_caption(caption)["background"] == "nebula"


def test_random_scene_is_deterministic(client):
    first = client.predict(seed=123, orientation="square", api_name="/random_scene")
    caption, labels = _check_outputs(first, (128, 128))
    assert parse_caption(caption)["background"] == labels["background"]
    again = client.predict(seed=123, orientation="square", api_name="/random_scene")
    assert again[3] == caption and again[4]["spec"] == labels["spec"]


@pytest.mark.parametrize("change, words", [
    (dict(subjects=[], accessories=["sunglasses"]), "accessories need a subject"),
    (dict(then_effect="fireworks", then_start=2.5), "between 0 and 2"),
    (dict(subjects=["panda", "lion"], count=2), "single subject"),
    (dict(then_effect="rain"), "Value: rain is not in the list of choices"),  # the dropdown refuses it
    (dict(seed=-1), "seed must be between"),
])
def test_bad_requests_explain_themselves(client, change, words):
    request = dict(subjects=["wombat"], count=1, action="idle", background="sunny beach", effects=[],
                   then_effect="none", then_start=1.0, style="none", camera="static", accessories=[],
                   orientation="portrait", seed=0)
    request.update(change)
    with pytest.raises(Exception) as info:
        client.predict(**request, api_name="/render_scene")
    assert words in str(info.value)
    assert "Traceback" not in str(info.value)


def test_helpers_are_private_and_fill_controls(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/render_scene", "/random_scene"}
    subjects, count, *_ = app.seed_scene_controls("two pandas playing cards")
    assert (subjects, count) == (["panda"], 2)
    # Choosing a seed scene fills the controls with exactly its (first) spec.
    for name, specs in SEED_SCENES.items():
        assert app.build_spec(*app.seed_scene_controls(name)) == specs[0], name
    # A rendered random scene's labels fill the controls with the spec that drew it.
    labels = client.predict(seed=7, orientation="square", api_name="/random_scene")[4]
    seed_scene, *controls = app.labels_controls(labels)
    assert seed_scene is None
    assert app.build_spec(*controls).to_dict() == {**labels["spec"], "subjects": tuple(labels["spec"]["subjects"]),
                                                   "effects": tuple(labels["spec"]["effects"]),
                                                   "accessories": tuple(labels["spec"]["accessories"]),
                                                   "then": tuple(tuple(t) for t in labels["spec"]["then"])}


def test_visualisations():
    import numpy as np

    depth = np.full((2, 4, 4), 3.0, np.float32)
    depth[:, :2] = 0.5
    rgb = app.depth_to_rgb(depth)
    assert rgb.shape == (2, 4, 4, 3) and rgb.dtype == np.uint8
    assert rgb[:, :2].sum() > rgb[:, 2:].sum()  # near is brighter than the sky
    flow = np.zeros((1, 2, 2, 2), np.float32)
    flow[0, 0, 0] = (4, 0)  # right
    flow[0, 0, 1] = (0, 4)  # down
    pic, scale = app.flow_to_rgb(flow)
    assert pic[0, 1].max() == 0  # no motion is black
    assert pic[0, 0, 0].max() == 255 and tuple(pic[0, 0, 0]) != tuple(pic[0, 0, 1])  # hue tells direction
