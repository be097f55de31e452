"""Screenshots of the app for the README, taken in a real browser on the shipped weights.

    python scripts/screenshots.py --out docs

Starts `python app.py` on a free port, opens it in Debian's chromium (playwright-python, as
tests/test_browser.py does), generates one text-to-video clip in the Text→Video tab, and writes
docs/app_text_to_video.png (the tab with its result), docs/app_storyboard.png (the Storyboard→Movie
tab with a written story) and docs/clip.gif (the generated clip, for pages that show no video).
Takes a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import imageio.v3 as iio

ROOT = Path(__file__).resolve().parents[1]
# Run as `python scripts/screenshots.py` from anywhere: the package is the folder above this one.
sys.path.insert(0, str(ROOT))

from videopoet.media import read_video

CHROMIUM = "/usr/bin/chromium"
PROMPT = "A raccoon dancing in Times Square"
PREMISE = "a fox who finds a lost balloon"
PRELOAD_WAIT_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the app exited before answering; run `python app.py` to see why")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not answer within 180 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="docs", help="folder for the PNGs and the GIF")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: bash scripts/setup.sh installs it")
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start_app(port)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url, timeout=60_000)
            # The app loads its pipeline in the background after launch; a user typing a prompt
            # gives it as long, and the clip's timing in the picture should not include it.
            page.wait_for_timeout(PRELOAD_WAIT_MS)

            page.get_by_role("tab", name="Text→Video").click()
            tab = page.locator("[role=tabpanel]:visible").first
            tab.get_by_label("Prompt", exact=True).fill(PROMPT)
            tab.get_by_label("square").check()
            tab.get_by_role("button", name="Generate").click()
            video = tab.locator("video[src]").first
            video.wait_for(state="attached", timeout=600_000)
            src = video.get_attribute("src")
            clip = page.request.get(src if src.startswith("http") else url.rstrip("/") + src).body()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(out / "app_text_to_video.png"))

            page.get_by_role("tab", name="Storyboard→Movie").click()
            tab = page.locator("[role=tabpanel]:visible").first
            tab.get_by_label("Premise").fill(PREMISE)
            tab.get_by_role("button", name="Write the story").click()
            page.wait_for_timeout(4000)
            page.screenshot(path=str(out / "app_storyboard.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    mp4 = out / "clip.mp4"
    mp4.write_bytes(clip)
    frames = read_video(mp4).frames
    mp4.unlink()
    iio.imwrite(out / "clip.gif", frames, extension=".gif", duration=125, loop=0)
    for name in ("app_text_to_video.png", "app_storyboard.png", "clip.gif"):
        print(out / name, f"{(out / name).stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
