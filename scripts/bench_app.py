"""Seconds a user waits in the playground: the cold start of `python app.py` (until the page answers
and the default pipeline is loaded), then the app's own endpoints through gradio_client — a text-
to-video clip square without and with sound, a portrait one with sound, and a 4-scene storyboard
movie with sound (square, then portrait as the tab preselects it).

    python scripts/bench_app.py
    python scripts/bench_app.py --device cuda --no-storyboard

Every call uses the app's default settings (seed 0). Prints one JSON object.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videopoet import default_precision  # noqa: E402
from videopoet.tasks import NEGATIVE_PROMPT  # noqa: E402

# app.Model.pipeline logs this line once the preloaded pipeline is in memory.
LOADED = re.compile(r"loaded the \w+ pipeline from .* in [\d.]+ s")
DEFAULTS = dict(seed=0, temperature=1.0, top_k=256, cfg_scale=3.0, negative_prompt=NEGATIVE_PROMPT,
                precision=default_precision())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_ready(app: subprocess.Popen, log: Path, url: str, started: float, timeout: float) -> tuple[float, float]:
    """(seconds until the page answered, seconds until the pipeline was loaded too)."""
    page_s = None
    while time.perf_counter() - started < timeout:
        text = log.read_text(errors="replace")
        if app.poll() is not None or "could not preload" in text:
            raise SystemExit(f"the app did not start:\n{text[-2000:]}")
        if page_s is None and answers(url):
            page_s = time.perf_counter() - started
        if page_s is not None and LOADED.search(text):
            return page_s, time.perf_counter() - started
        time.sleep(0.1)
    raise SystemExit(f"the app was not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')[-2000:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", help="the app's --device (default: the app's choice)")
    ap.add_argument("--premise", default="a fox who finds a lost balloon")
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--no-storyboard", action="store_true", help="time the clips only")
    ap.add_argument("--timeout", type=float, default=180, help="seconds the cold start may take")
    args = ap.parse_args()

    from gradio_client import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    if args.device:
        command += ["--device", args.device]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    result = {"device": args.device or "app default", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch, "app.log")
        with log.open("w") as sink:
            started = time.perf_counter()
            app = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            page_s, ready_s = wait_until_ready(app, log, url, started, args.timeout)
            result.update(page_s=round(page_s, 2), ready_s=round(ready_s, 2))
            client = Client(url, verbose=False)

            def timed(api_name: str, **kwargs) -> tuple[float, tuple]:
                start = time.perf_counter()
                out = client.predict(api_name=api_name, **kwargs)
                return round(time.perf_counter() - start, 2), out

            clip = dict(prompt="A raccoon dancing in Times Square", camera="none", **DEFAULTS)
            for name, orientation, sound in (("square_s", "square", False), ("square_sound_s", "square", True),
                                             ("portrait_sound_s", "portrait", True)):
                result[name], _ = timed("/text_to_video", orientation=orientation, sound=sound, **clip)
            if not args.no_storyboard:
                _, (title, _, hero, scenes, _) = timed("/write_story", premise=args.premise, scenes=args.scenes, seed=0)
                result["storyboard_prompts"] = [row[0] for row in scenes["data"]]
                for orientation in ("square", "portrait"):
                    result[f"storyboard_{orientation}_s"], _ = timed(
                        "/make_movie", title=title, hero=hero, scenes=scenes, orientation=orientation, sound=True,
                        **DEFAULTS)
        finally:
            app.terminate()
            app.wait(timeout=30)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
