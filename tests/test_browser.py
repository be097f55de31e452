"""A real browser opens the app, generates a text-to-video clip and finds a playable video with sound.

Debian's chromium (installed by scripts/setup.sh) driven by playwright-python; no `playwright
install`. The app runs as its own process on the tiny random weights folder (tests/conftest.py),
exactly as `python app.py --weights DIR` would for a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by scripts/setup.sh")


@pytest.fixture(scope="module")
def app_url(weights_dir, free_port):
    port = free_port()
    # One thread: the tiny test model is one small op after another (see tests/conftest.py).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--weights", str(weights_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited: {proc.stdout.read().decode(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError("the app did not answer within 180 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_text_to_video_in_a_real_browser(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    from videopoet.media import probe

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(app_url, timeout=60_000)
            page.get_by_role("tab", name="Text→Video").click()
            tab = page.locator("[role=tabpanel]:visible").first
            tab.get_by_label("Prompt", exact=True).fill("A raccoon dancing in Times Square")
            tab.get_by_label("square").check()
            tab.get_by_role("button", name="Generate").click()
            video = tab.locator("video[src]").first
            video.wait_for(state="attached", timeout=300_000)
            src = video.get_attribute("src")
            response = page.request.get(src if src.startswith("http") else app_url.rstrip("/") + src)
            assert response.ok, response.status
            clip = tmp_path / "clip.mp4"
            clip.write_bytes(response.body())
            # Playable in the page itself: the browser decoded its duration.
            duration = video.evaluate("v => new Promise(r => v.readyState >= 1 ? r(v.duration) : "
                                      "v.addEventListener('loadedmetadata', () => r(v.duration)))")
        finally:
            browser.close()
    info = probe(clip)
    assert info["has_audio"], info
    assert info["frames"] == 17 and duration == pytest.approx(17 / 8, abs=0.15)
