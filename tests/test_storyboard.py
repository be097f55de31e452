"""Storyboards: the built-in writer, the chat-completions writer and its fallback, storyboard files,
and rendering a story into one movie."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import numpy as np
import pytest

from videopoet import storyboard
from videopoet.errors import VideoPoetError
from videopoet.storyboard import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_MODEL,
    ENV_TIMEOUT,
    MAX_SCENES,
    Scene,
    Story,
    format_storyboard,
    make_movie,
    parse_storyboard,
    write_story,
)
from videopoet.world.captions import parse_caption
from videopoet.world.vocab import CAMERAS


@pytest.fixture(autouse=True)
def no_endpoint(monkeypatch):
    for name in (ENV_BASE_URL, ENV_API_KEY, ENV_MODEL, ENV_TIMEOUT):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("n", range(1, MAX_SCENES + 1))
def test_builtin_writer_keeps_one_hero(n):
    story = write_story("a traveling raccoon wearing sunglasses", n, seed=n)
    assert len(story.scenes) == n and story.source == "built-in" and story.notices == []
    assert story.hero == "a raccoon wearing sunglasses"
    for scene in story.scenes:
        assert scene.prompt.lower().startswith(story.hero), scene.prompt
        labels = parse_caption(scene.prompt)
        assert labels["subjects"] == ["raccoon"] and labels["accessories"] == ["sunglasses"], scene.prompt
        assert scene.camera is None or scene.camera in CAMERAS
        assert scene.narration and scene.narration in story.text
    assert story.title and "Raccoon" in story.title
    if n >= 3:
        assert len({parse_caption(s.prompt)["background"] for s in story.scenes}) >= 2
        assert len({s.camera for s in story.scenes}) >= 2


def test_builtin_writer_is_deterministic_and_casts_a_hero():
    a = write_story("", 5, seed=7)
    b = write_story("", 5, seed=7)
    assert [s.line for s in a.scenes] == [s.line for s in b.scenes] and a.text == b.text
    hero = parse_caption(a.scenes[0].prompt)["subjects"]
    assert len(hero) == 1 and all(parse_caption(s.prompt)["subjects"] == hero for s in a.scenes)
    vague = write_story("a story about friendship", 3, seed=1)
    assert len(vague.scenes) == 3 and any("names no hero" in n for n in vague.notices)


def test_too_many_scenes_are_capped_with_a_notice():
    story = write_story("a panda", 20, seed=0)
    assert len(story.scenes) == MAX_SCENES
    assert any(f"at most {MAX_SCENES}" in n for n in story.notices)
    for bad in (0, -3, "many"):
        with pytest.raises(VideoPoetError):
            write_story("a panda", bad)


def test_parse_storyboard_lines_comments_and_cameras():
    text = """
# Rookie's trip
title: Rookie the Raccoon

1. A raccoon dancing in Times Square | camera: Zoom out
   # a comment between scenes

- A raccoon walking on the beach, camera: pan left
A raccoon flying through a nebula (camera: FPV drone shot)
A raccoon yawning in front of a plain wall camera: static
A raccoon roaring in a forge
"""
    story = parse_storyboard(text)
    assert story.title == "Rookie the Raccoon" and story.source == "file"
    assert [(s.prompt, s.camera) for s in story.scenes] == [
        ("A raccoon dancing in Times Square", "zoom out"),
        ("A raccoon walking on the beach", "pan left"),
        ("A raccoon flying through a nebula", "fpv drone shot"),
        ("A raccoon yawning in front of a plain wall", None),
        ("A raccoon roaring in a forge", None),
    ]
    assert parse_storyboard("\n".join(f"A dog jumping {i}" for i in range(60))).notices


def test_parse_storyboard_errors():
    with pytest.raises(VideoPoetError, match="no scenes"):
        parse_storyboard("\n  \n# only a comment\n")
    with pytest.raises(VideoPoetError, match="line 2.*unknown camera move"):
        parse_storyboard("A dog jumping\nA dog walking | camera: barrel roll\n")
    with pytest.raises(VideoPoetError, match="line 1.*no scene prompt"):
        parse_storyboard("camera: zoom out\n")


def test_format_storyboard_round_trips():
    story = write_story("a ship on the rough seas", 6, seed=3)
    back = parse_storyboard(format_storyboard(story))
    assert back.title == story.title
    assert [(s.prompt, s.camera) for s in back.scenes] == [(s.prompt, s.camera) for s in story.scenes]


# ---------------------------------------------------------------------------------------------------
# The chat-completions endpoint
# ---------------------------------------------------------------------------------------------------

CANNED = {
    "title": "Rookie Goes West",
    "hero": "a raccoon",
    "story": "Rookie leaves the city and finds the sea.",
    "scenes": [
        {"prompt": "A raccoon dancing in Times Square", "camera": "Zoom out"},
        {"prompt": "A raccoon walking on a sunny beach", "camera": "pan left"},
        {"prompt": "A raccoon sailing on the rough seas", "camera": None},
    ],
}


class _Server:
    """A tiny local chat-completions server: `mode` says how it answers."""

    def __init__(self, mode: str):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                if mode == "slow":
                    time.sleep(2.0)  # past the client's timeout: it has hung up, so no answer is written
                    return
                if mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"internal error")
                    return
                content = ("```json\n" + json.dumps(CANNED) + "\n```" if mode == "ok"
                           else "Sorry, I cannot write stories today.")
                reply = {"id": "x", "object": "chat.completion",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                      "finish_reason": "stop"}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server_factory():
    servers = []

    def make(mode: str) -> _Server:
        servers.append(_Server(mode))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_endpoint_is_used_when_configured(monkeypatch, server_factory):
    server = server_factory("ok")
    monkeypatch.setenv(ENV_BASE_URL, server.url + "/")
    monkeypatch.setenv(ENV_API_KEY, "sk-test")
    monkeypatch.setenv(ENV_MODEL, "tiny-story-model")
    story = write_story("a traveling raccoon", 3, seed=0)
    assert story.source == "llm:tiny-story-model" and story.notices == []
    assert story.title == "Rookie Goes West" and story.hero == "a raccoon"
    assert [(s.prompt, s.camera) for s in story.scenes] == [
        ("A raccoon dancing in Times Square", "zoom out"),
        ("A raccoon walking on a sunny beach", "pan left"),
        ("A raccoon sailing on the rough seas", None),
    ]
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "tiny-story-model"
    messages = request["body"]["messages"]
    assert "exactly 3 scenes" in messages[-1]["content"] and "a traveling raccoon" in messages[-1]["content"]
    assert "raccoon" in messages[0]["content"] and "Zoom out" in messages[0]["content"]
    # More scenes back than asked for: cut, with a notice. use_llm=False ignores the endpoint.
    two = write_story("a traveling raccoon", 2, seed=0)
    assert len(two.scenes) == 2 and any("kept the first 2" in n for n in two.notices)
    assert write_story("a raccoon", 2, seed=0, use_llm=False).source == "built-in"


@pytest.mark.parametrize("mode", ["error", "garbage", "slow", "refused"])
def test_broken_endpoint_falls_back_to_the_builtin_writer(monkeypatch, server_factory, mode):
    if mode == "refused":
        server = server_factory("ok")
        url = server.url
        server.close()  # nothing listens there any more
    else:
        url = server_factory(mode).url
    monkeypatch.setenv(ENV_BASE_URL, url)
    monkeypatch.setenv(ENV_TIMEOUT, "0.5")
    start = time.perf_counter()
    story = write_story("a panda", 3, seed=0)
    assert time.perf_counter() - start < 10
    assert story.source == "built-in" and len(story.scenes) == 3
    assert any("failed" in n and "built-in writer" in n for n in story.notices), story.notices
    assert all(parse_caption(s.prompt)["subjects"] == ["panda"] for s in story.scenes)


def test_asking_for_the_endpoint_without_one_says_so():
    story = write_story("a panda", 2, seed=0, use_llm=True)
    assert story.source == "built-in" and any(ENV_BASE_URL in n for n in story.notices)


# ---------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------

class _FakePipeline:
    """Stands in for VideoPoetPipeline: records each call and returns a flat-coloured clip."""

    def __init__(self, interpreter=None, extend=True):
        self.calls: list[tuple] = []
        self.batches: list[int] = []  # prompts per text_to_video call
        self.interpreter = interpreter
        if not extend:
            self.extend = None

    def _clip(self, prompt, seed):
        shade = (seed * 40) % 256
        frames = np.full((17, 32, 32, 3), shade, np.uint8)
        audio = np.zeros(34000, np.float32)
        return SimpleNamespace(frames=frames, audio=audio, fps=8, sample_rate=16000, prompt=f"caption of {prompt}",
                               notices=[])

    def text_to_video(self, prompt, *, camera=None, seed=None, portrait=False, with_audio=True, progress=None, **kw):
        """A list of prompts is one batch, as in VideoPoetPipeline: prompt i gets seed + i."""
        prompts, cameras = (prompt, camera) if isinstance(prompt, list) else ([prompt], [camera])
        self.batches.append(len(prompts))
        self.calls += [("t2v", p, c, seed + i) for i, (p, c) in enumerate(zip(prompts, cameras))]
        if progress:
            progress(10, 10)
        clips = [self._clip(p, seed + i) for i, p in enumerate(prompts)]
        return clips if isinstance(prompt, list) else clips[0]

    def extend(self, video, prompt=None, *, num_seconds=1, camera=None, seed=None, with_audio=True, progress=None, **kw):
        assert num_seconds == storyboard.CHAINED_SCENE_SECONDS and video.frames.shape == (17, 32, 32, 3)
        self.calls.append(("extend", prompt, camera, seed))
        return self._clip(prompt, seed)


def test_make_movie_renders_every_scene_and_stitches(tmp_path):
    from videopoet.media import probe

    story = write_story("a panda", storyboard.SCENES_PER_CALL + 1, seed=0)
    fake = _FakePipeline()
    seen = []
    movie = make_movie(fake, story, tmp_path / "movie.mp4", seed=5,
                       progress=lambda fraction, desc="": seen.append((round(fraction, 3), desc)))
    assert fake.batches == [storyboard.SCENES_PER_CALL, 1]
    assert [c[0] for c in fake.calls] == ["t2v"] * 5
    assert [c[1] for c in fake.calls] == [s.prompt for s in story.scenes]
    assert [c[2] for c in fake.calls] == [s.camera for s in story.scenes]
    assert [c[3] for c in fake.calls] == [5, 6, 7, 8, 9]
    assert movie.captions == [f"caption of {s.prompt}" for s in story.scenes]
    assert seen[0] == (0.0, "scenes 1-4/5") and (0.8, "scene 5/5") in seen and seen[-1] == (1.0, "stitching")
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    info = probe(movie.path)
    crossfade = round(storyboard.DEFAULT_CROSSFADE_S * 8)
    assert info["frames"] == 5 * 17 - 4 * crossfade and info["has_audio"]


def test_make_movie_chains_scenes_through_extend(tmp_path):
    story = Story("t", "", [Scene("A dog walking on the beach"), Scene("A dog jumping on the beach", "pan left")])
    fake = _FakePipeline()
    make_movie(fake, story, tmp_path / "chain.mp4", seed=0, chain=True)
    assert [c[0] for c in fake.calls] == ["t2v", "extend"] and fake.calls[1][2] == "pan left"
    plain = _FakePipeline(extend=False)
    movie = make_movie(plain, story, tmp_path / "plain.mp4", chain=True)
    assert [c[0] for c in plain.calls] == ["t2v", "t2v"] and any("starts fresh" in n for n in movie.notices)
    with pytest.raises(VideoPoetError, match="mp4"):
        make_movie(fake, story, tmp_path / "movie.gif")


def test_make_movie_casts_the_hero_into_scenes_that_name_nobody(tmp_path):
    from videopoet.interpreter import PromptInterpreter

    story = parse_storyboard("A raccoon walking in Times Square\nDancing on Mars | camera: zoom out\n"
                             "Sunrise over a snowy mountain\nFlying through a nebula with many twinkling stars\n")
    fake = _FakePipeline(interpreter=PromptInterpreter.load())
    movie = make_movie(fake, story, tmp_path / "hero.mp4")
    prompts = [c[1] for c in fake.calls]
    assert prompts[0] == "A raccoon walking in Times Square"
    assert prompts[1].lower().startswith("a raccoon") and "mars" in prompts[1].lower()
    assert prompts[2:] == ["Sunrise over a snowy mountain", "Flying through a nebula with many twinkling stars"]
    assert any(n.startswith("scene 2:") and "hero" in n for n in movie.notices)


def test_storyboard_dry_run_command(tmp_path, capsys):
    from videopoet.__main__ import main

    path = tmp_path / "story.txt"
    path.write_text("title: Two Scenes\nA panda dancing in Times Square | camera: Zoom out\nA panda yawning\n")
    assert main(["storyboard", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "A panda dancing in Times Square | camera: zoom out" in out and "title: Two Scenes" in out
    written = tmp_path / "written.txt"
    assert main(["storyboard", "--premise", "a wombat", "--scenes", "3", "--dry-run", "--write", str(written)]) == 0
    assert len(parse_storyboard(written.read_text()).scenes) == 3
    assert main(["storyboard", "--dry-run"]) == 2  # neither a file nor a premise
