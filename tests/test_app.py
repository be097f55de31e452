"""The Gradio app, end to end: launch it in-process and call its named endpoints with gradio_client.

The model endpoints run on the tiny randomly initialised weights folder of conftest.py (`weights_dir`),
with guidance off (one batch row instead of two) and mostly without sound, to stay fast on 2 cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np
import pytest

import gradio_client  # noqa: E402
from gradio_client import handle_file  # noqa: E402

import app  # noqa: E402
from videopoet import media  # noqa: E402
from videopoet.media import probe  # noqa: E402
from videopoet.world import SEED_SCENES, parse_caption  # noqa: E402
from videopoet.world.vocab import CAMERAS  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")  # the server runs in this process


@pytest.fixture(scope="module")
def client(weights_dir, free_port):
    # The model tabs run on the tiny random weights of conftest.py: files, shapes, messages, not quality.
    app.MODEL.configure(weights=weights_dir, device="cpu")
    app.launch(app.demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield gradio_client.Client(app.demo.local_url, verbose=False)
    finally:
        app.demo.close()
        app.MODEL.configure()


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
    assert set(api["named_endpoints"]) == {
        "/render_scene", "/random_scene", "/text_to_video", "/image_to_video", "/stylize", "/inpaint", "/outpaint",
        "/video_to_audio", "/extend_candidates", "/pick_candidate", "/extend", "/write_story", "/make_movie"}
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


# ------------------------------------------------------------------------------------------------
# The model tabs


FAST = dict(temperature=1.0, top_k=256, cfg_scale=1.0, negative_prompt="", precision="fp32")
UNGUIDED = dict(temperature=1.0, top_k=256, precision="fp32")


def _clip_file(path, n_frames=17, size=(128, 128), sound=True) -> str:
    """A moving gradient (with a tone) written as an mp4."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.stack([np.stack([(xx * 2 + 9 * t) % 256, (yy * 2 + 3 * t) % 256, np.full_like(xx, 90)], -1)
                       for t in range(n_frames)]).astype(np.uint8)
    samples = n_frames * media.SAMPLE_RATE // media.FPS
    tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / media.SAMPLE_RATE)).astype(np.float32)
    return str(media.write_video(path, frames, audio=tone if sound else None))


def _video(path, frames=17, size=(128, 128), audio=None) -> dict:
    info = probe(_path(path))
    assert info["frames"] == frames and (info["height"], info["width"]) == size
    if audio is not None:
        assert info["has_audio"] == audio
    return info


def test_text_to_video_portrait_with_sound(client):
    clip, interpreted, details = client.predict(
        prompt="A raccoon dancing in Times Square", camera="zoom out", orientation="portrait", sound=True, seed=3,
        **FAST, api_name="/text_to_video")
    info = _video(clip, size=(224, 128), audio=True)
    assert info["audio_codec"] == "aac" and info["audio_seconds"] == pytest.approx(2.125, abs=0.05)
    assert interpreted.startswith("interpreted as: ") and "raccoon" in interpreted
    assert details["seed"] == 3 and details["has_sound"] and details["precision"] == "fp32"
    assert details["prompt_seen_by_model"].endswith("Zoom out.")
    # Every token of both passes, each pass ending <eo?_o> <eos>: portrait video 5x28x16, then 4x106 sound.
    assert details["tokens"] == 5 * 28 * 16 + 2 + 4 * 106 + 2 and details["tokens_per_s"] > 0
    assert app.speed_rows()[0][0] == "text to video"


def test_long_prompt_is_cut_with_a_notice(client):
    clip, _, details = client.predict(
        prompt=("a horse galloping through a swirling starry night. " * 200)[:10_000], camera="none",
        orientation="square",
        sound=False, seed=4, **FAST, api_name="/text_to_video")
    _video(clip, audio=False)
    assert any("10,000 characters" in n for n in details["notices"]), details["notices"]


def test_image_to_video_shrinks_a_huge_photo(client, tmp_path):
    import cv2

    yy, xx = np.mgrid[0:2000, 0:3000]
    photo = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "huge.jpg"), photo)
    clip, _, details = client.predict(
        image=handle_file(tmp_path / "huge.jpg"), prompt="", camera="pan left", orientation="auto", sound=False,
        seed=5, **FAST, api_name="/image_to_video")
    _video(clip)  # landscape: the square frame is the nearer one
    assert any("3000×2000" in n and "128×128" in n for n in details["notices"]), details["notices"]
    assert details["prompt_seen_by_model"] == "Pan left."


def test_stylize_trims_a_long_video_and_shows_its_structure(client, tmp_path):
    long = _clip_file(tmp_path / "long.mp4", n_frames=40)
    clip, structure, depth, flow, interpreted, details = client.predict(
        video=handle_file(long), prompt="Van Gogh style", orientation="auto", sound=False, seed=6, **FAST,
        api_name="/stylize")
    for video in (clip, structure, depth, flow):
        _video(video)
    assert any("using the first" in n for n in details["notices"]), details["notices"]


def test_inpaint_with_a_preset_and_outpaint_with_a_drawn_mask(client, tmp_path):
    from PIL import Image

    source = _clip_file(tmp_path / "source.mp4")
    clip, _, details = client.predict(
        video=handle_file(source), mask="box", drawn=None, prompt="a wombat wearing sunglasses", orientation="auto",
        sound=False, seed=7, **FAST, api_name="/inpaint")
    _video(clip)
    # What the editor sends: the first frame as the background, the paint on a transparent layer.
    canvas = app.mask_canvas(source)
    background = Image.open(canvas["background"])
    assert max(background.size) == app.CANVAS_SIDE
    layer = np.zeros((background.height, background.width, 4), np.uint8)
    layer[:, : background.width // 5] = (255, 0, 255, 255)
    Image.fromarray(layer).save(tmp_path / "layer.png")
    drawn = {"background": handle_file(canvas["background"]), "layers": [handle_file(tmp_path / "layer.png")],
             "composite": handle_file(canvas["background"]), "id": None}
    clip, _, details = client.predict(
        video=handle_file(source), mask="drawn", drawn=drawn, prompt="", orientation="auto", sound=True, seed=8,
        **FAST, api_name="/outpaint")
    _video(clip, audio=True)
    assert details["task"] == "outpaint"


def test_video_to_audio_adds_sound(client, tmp_path):
    silent = _clip_file(tmp_path / "silent.mp4", size=(224, 128), sound=False)
    clip, details = client.predict(video=handle_file(silent), orientation="auto", seed=9, **UNGUIDED,
                                   api_name="/video_to_audio")
    info = _video(clip, size=(224, 128), audio=True)
    assert info["audio_seconds"] == pytest.approx(2.125, abs=0.05)
    assert details["tokens"] == 4 * 106 + 2


def test_extend_pick_continue_and_extend(client):
    common = dict(video=None, orientation="square", sound=False, **FAST)
    first = client.predict(prompt="Two pandas playing cards", seed=10, **common, api_name="/extend_candidates")
    *candidates, details = first
    assert len(candidates) == app.NUM_CANDIDATES and details["continues"].startswith("nothing")
    for candidate in candidates:
        _video(candidate)  # whole first clips
    movie, history, *emptied = client.predict(choice="2", api_name="/pick_candidate")
    _video(movie)
    assert [row[:2] for row in history["data"]] == [[1, "candidate 2 of 4"]] and emptied == [None] * 4

    *candidates, details = client.predict(prompt="", seed=11, **common, api_name="/extend_candidates")
    assert details["continues"] == "the movie so far"
    for candidate in candidates:
        _video(candidate, frames=16)  # the last second, then the new one
    movie, history, *_ = client.predict(choice="4", api_name="/pick_candidate")
    _video(movie, frames=17 + 8)

    movie, history, details = client.predict(seconds=1, prompt="", seed=12, **common, api_name="/extend")
    _video(movie, frames=17 + 8 + 8)
    assert [row[1] for row in history["data"]] == ["candidate 2 of 4", "candidate 4 of 4", "extended 1 s"]
    assert history["data"][-1][-1] == pytest.approx(33 / 8)


def test_storyboard_movie_is_capped_and_stitched_with_sound(client, monkeypatch):
    title, story, hero, scenes, details = client.predict(premise="a traveling raccoon", scenes=3, seed=0,
                                                         api_name="/write_story")
    assert len(scenes["data"]) == 3 and "raccoon" in hero and title in story
    monkeypatch.setattr(app, "MAX_SCENES", 2)  # the cap, smaller: two clips are enough to test it
    movie, download, captions, details = client.predict(
        title=title, hero=hero, scenes=scenes, orientation="square", sound=True, seed=0, **FAST,
        api_name="/make_movie")
    assert any("3 scenes; rendering the first 2" in n for n in details["notices"]), details["notices"]
    n = 2
    crossfade = round(app.DEFAULT_CROSSFADE_S * media.FPS)
    info = _video(movie, frames=n * 17 - (n - 1) * crossfade, audio=True)
    assert info["duration"] == pytest.approx((n * 17 - (n - 1) * crossfade) / media.FPS, abs=0.01)
    assert info["audio_seconds"] == pytest.approx(info["duration"], abs=0.05)
    assert probe(download)["frames"] == info["frames"] and len(captions["data"]) == n
    assert all("raccoon" in caption.lower() for _, caption in captions["data"])  # the hero in every scene


def test_the_last_clip_feeds_the_other_tabs(tmp_path):
    from videopoet.pipeline import VideoPoetOutput

    source = media.read_video(_clip_file(tmp_path / "source.mp4"), size=(128, 128))
    out = VideoPoetOutput(frames=source.frames, audio=source.audio, prompt="Two pandas playing cards.", seed=1,
                          task="t2v", tokens={"video": np.zeros((5, 16, 16), np.int64)})
    _video(app.use_last_clip({"output": out}), audio=True)  # into Stylize, Inpaint, Video→Audio
    movie, history, state = app.start_from_last({"output": out})  # Extend & Edit, in token space
    _video(movie, audio=True)
    assert state["current"] is out and history == [[1, "start: the last t2v clip", out.prompt, 1, 17 / 8]]
    movie, history, state = app.undo_step(state)
    assert movie is None and history == [] and state["current"] is None


def test_too_many_scenes_asked_of_the_writer():
    with pytest.warns(UserWarning, match=f"at most {app.MAX_SCENES}"):  # gr.Warning, outside a request
        _, _, _, scenes, details = app.write_story("a ship in a storm", 20, 1)
    assert len(scenes) == app.MAX_SCENES
    assert any(f"at most {app.MAX_SCENES}" in n for n in details["notices"])


def _error(client, api_name, **kwargs) -> str:
    with pytest.raises(Exception) as info:
        client.predict(**kwargs, api_name=api_name)
    message = str(info.value)
    assert "Traceback" not in message
    return message


def test_bad_input_explains_itself(client, tmp_path):
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all" * 20)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage" * 20)
    short = _clip_file(tmp_path / "short.mp4", n_frames=5)
    t2v = dict(camera="none", orientation="square", sound=False, seed=0, **FAST)
    cases = [
        ("/text_to_video", dict(prompt="   ", **t2v), "the prompt is empty"),
        ("/text_to_video", dict(prompt="a cat", **{**t2v, "precision": "int4"}), "precision must be one of"),
        ("/text_to_video", dict(prompt="a cat", **{**t2v, "seed": -5}), "seed must be between"),
        ("/stylize", dict(video=handle_file(tmp_path / "notes.txt"), prompt="oil painting", orientation="auto",
                          sound=False, seed=0, **FAST), "unsupported file type ('.txt')"),
        ("/video_to_audio", dict(video=handle_file(tmp_path / "broken.mp4"), orientation="auto", seed=0, **UNGUIDED),
         "broken.mp4: not a readable"),
        ("/video_to_audio", dict(video=handle_file(short), orientation="auto", seed=0, **UNGUIDED),
         "this task needs 17"),
        ("/video_to_audio", dict(video=None, orientation="auto", seed=0, **UNGUIDED), "upload a video first"),
        ("/image_to_video", dict(image=handle_file(tmp_path / "broken.png"), prompt="", camera="none",
                                 orientation="auto", sound=False, seed=0, **FAST), "not a readable image"),
        ("/inpaint", dict(video=handle_file(short), mask="drawn", drawn=None, prompt="", orientation="auto",
                          sound=False, seed=0, **FAST), "the drawn mask is empty"),
        ("/pick_candidate", dict(choice="1"), "generate candidates first"),
        ("/make_movie", dict(title="", hero="", scenes={"headers": app.SCENE_HEADERS, "data": [["", ""]],
                                                        "metadata": None},
                             orientation="square", sound=False, seed=0, **FAST), "the storyboard has no scenes"),
        ("/make_movie", dict(title="", hero="", scenes={"headers": app.SCENE_HEADERS,
                                                        "data": [["a cat", "barrel roll"]], "metadata": None},
                             orientation="square", sound=False, seed=0, **FAST), "unknown camera move"),
    ]
    for api_name, kwargs, words in cases:
        message = _error(client, api_name, **kwargs)
        assert words in message, (api_name, message)
    # A fresh session: nothing kept yet, so nothing to extend.
    fresh = gradio_client.Client(app.demo.local_url, verbose=False)
    assert "nothing to extend yet" in _error(fresh, "/extend", seconds=1, prompt="", video=None,
                                             orientation="auto", sound=False, seed=0, **FAST)


def test_full_queue_is_refused_with_a_message(client, monkeypatch):
    monkeypatch.setattr(app.demo._queue, "max_size", 0)
    message = _error(client, "/text_to_video", prompt="a cat", camera="none", orientation="square", sound=False,
                     seed=0, **FAST)
    assert "Queue is full" in message


def test_about_shows_model_cards_and_speeds():
    card = app.model_card_markdown(app.DEFAULT_WEIGHTS)
    assert "### audio tokenizer" in card and "heldout.audio_mel_l1" in card
    assert "### video tokenizer" in card and "video_psnr_world" in card
    assert app.speed_rows() and len(app.speed_rows()[0]) == len(app.SPEED_HEADERS)


def test_without_the_language_model_every_model_tab_says_so(client, weights_dir, tmp_path):
    import shutil

    shutil.copytree(weights_dir, tmp_path / "w", ignore=shutil.ignore_patterns("transformer"))
    app.MODEL.configure(weights=tmp_path / "w", device="cpu")
    try:
        banner = app.model_banner()
        assert banner["visible"] and "the language model is not in" in banner["value"]
        assert "transformer" in banner["value"]
        message = _error(client, "/text_to_video", prompt="a cat", camera="none", orientation="square",
                         sound=False, seed=0, **FAST)
        assert "the language model is not in" in message
        message = _error(client, "/video_to_audio", video=None, orientation="auto", seed=0, **UNGUIDED)
        assert "the language model is not in" in message or "upload a video first" in message
        # What needs no model still works: the story writer and the world.
        assert client.predict(premise="a raccoon", scenes=1, seed=0, api_name="/write_story")[3]["data"]
    finally:
        app.MODEL.configure(weights=weights_dir, device="cpu")


def test_preload_loads_the_default_pipeline_and_skips_missing_weights(weights_dir, tmp_path):
    try:
        app.MODEL.configure(weights=tmp_path / "empty", device="cpu")
        app.preload()  # nothing to load: no error, nothing loaded
        assert not app.MODEL.loaded("int8")
        app.MODEL.configure(weights=weights_dir, device="cpu")
        app.preload()
        assert app.MODEL.loaded("int8")  # the fastest on a CPU
    finally:
        app.MODEL.configure(weights=weights_dir, device="cpu")  # as the client fixture has it


def test_extend_continues_a_short_upload_and_opens_the_movie_with_it(client, tmp_path):
    fresh = gradio_client.Client(app.demo.local_url, verbose=False)  # nothing kept in this session yet
    short = _clip_file(tmp_path / "short.mp4", n_frames=9)
    common = dict(prompt="", video=handle_file(short), orientation="square", sound=False, **FAST)
    *candidates, details = fresh.predict(seed=3, **common, api_name="/extend_candidates")
    assert details["continues"] == "the uploaded video", details["continues"]
    for candidate in candidates:
        _video(candidate, frames=16)  # the upload's last second, then the new one
    movie, history, *_ = fresh.predict(choice="1", api_name="/pick_candidate")
    _video(movie, frames=9 + 8)  # the upload as it was (no held lead-in), then the new second
    too_short = _clip_file(tmp_path / "tiny.mp4", n_frames=5)
    another = gradio_client.Client(app.demo.local_url, verbose=False)
    assert "at least 8" in _error(another, "/extend_candidates", seed=3, **{**common, "video": handle_file(too_short)})
