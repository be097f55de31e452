"""Reading and writing the media VideoPoet works with: images, clips, audio and mp4 output.

Everything a person uploads passes through here, so every problem they can cause (missing, empty,
oversized, unsupported or damaged files) becomes a `VideoPoetError` that names the file. ffmpeg is the
binary bundled with imageio-ffmpeg; no system ffmpeg or ffprobe is needed.
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from videopoet.errors import VideoPoetError

__all__ = [
    "FPS",
    "SAMPLE_RATE",
    "CLIP_FRAMES",
    "CLIP_SECONDS",
    "CLIP_SAMPLES",
    "SIZES",
    "MAX_UPLOAD_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_VIDEO_SECONDS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "AUDIO_EXTENSIONS",
    "Video",
    "read_image",
    "read_video",
    "read_audio",
    "write_video",
    "write_audio",
    "fit_audio",
    "write_output",
    "concat_clips",
    "stitch",
    "probe",
]

FPS = 8
SAMPLE_RATE = 16000
CLIP_FRAMES = 17
CLIP_SECONDS = CLIP_FRAMES / FPS  # 2.125
CLIP_SAMPLES = CLIP_FRAMES * SAMPLE_RATE // FPS  # 34,000
SIZES = {"square": (128, 128), "portrait": (224, 128)}  # (H, W)

MAX_UPLOAD_BYTES = 200 * 1000 * 1000
MAX_IMAGE_PIXELS = 64 * 1000 * 1000
MAX_VIDEO_SECONDS = 600
# Base allowance per ffmpeg call; calls that process long media get more (see _timeout).
FFMPEG_TIMEOUT = 60.0

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mov", ".mkv", ".gif")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".m4a")


class _DropSizeNotice(logging.Filter):
    # imageio-ffmpeg warns whenever the piped size differs from the stored one, which is exactly
    # what the ffmpeg pre-shrink in read_video asks for.
    def filter(self, record: logging.LogRecord) -> bool:
        return "is different from the source frame size" not in record.getMessage()


logging.getLogger("imageio_ffmpeg").addFilter(_DropSizeNotice())


@dataclass
class Video:
    """Frames (T, H, W, 3) uint8 at `fps`, optional mono float32 audio, and how it was read."""

    frames: np.ndarray
    fps: float = FPS
    audio: np.ndarray | None = None
    sample_rate: int = SAMPLE_RATE
    source_fps: float | None = None
    trimmed: bool = False
    notice: str | None = None

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps


# ----------------------------------------------------------------------------- helpers


def _ffmpeg_exe() -> str:
    # ffmpeg, imageio and imageio-ffmpeg are imported where they are used, so that reading images
    # works on a training machine that has none of them.
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _timeout(media_seconds: float = 0.0) -> float:
    return FFMPEG_TIMEOUT + 2.0 * max(0.0, media_seconds)


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _check_file(path, extensions: tuple[str, ...], kind: str) -> Path:
    """Resolve `path` and refuse what cannot be a readable upload, before any decoder sees it."""
    if not isinstance(path, (str, os.PathLike)):
        raise VideoPoetError(f"expected a {kind} file path, got {type(path).__name__}")
    p = Path(path)
    name = p.name or str(p)
    if not p.exists():
        raise VideoPoetError(f"{name}: file not found")
    if not p.is_file():
        raise VideoPoetError(f"{name}: is a folder, not a {kind} file")
    ext = p.suffix.lower()
    if ext not in extensions:
        shown = f"'{ext}'" if ext else "no extension"
        raise VideoPoetError(
            f"{name}: unsupported file type ({shown}); supported {kind} types: {', '.join(extensions)}"
        )
    size = p.stat().st_size
    if size == 0:
        raise VideoPoetError(f"{name}: file is empty (0 bytes)")
    if size > MAX_UPLOAD_BYTES:
        raise VideoPoetError(
            f"{name}: file is {_fmt_bytes(size)}; the limit is {_fmt_bytes(MAX_UPLOAD_BYTES)}"
        )
    # Absolute paths keep ffmpeg from reading a name like "-x.mp4" as an option or "a:b" as a protocol.
    return p.absolute()


def _check_size(size) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise VideoPoetError(f"size must be (height, width), got {size!r}") from None
    if h < 1 or w < 1:
        raise VideoPoetError(f"size must be positive, got {size!r}")
    return h, w


def _ffmpeg_reason(stderr: bytes | str, p: Path | None = None) -> str:
    """The last line ffmpeg complained with, minus the server-side path."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    noise = ("Exiting", "Error opening input file", "Conversion failed", "At least one output file")
    lines = [ln for ln in lines if not ln.startswith(noise)]
    reason = lines[-1] if lines else "unknown error"
    if p is not None:
        reason = reason.replace(str(p), p.name)
    reason = re.sub(r"^\[[^\]]*\]\s*", "", reason)
    return reason[:200]


def _run_ffmpeg(args: list[str], p: Path, timeout: float, input: bytes | None = None):
    try:
        return subprocess.run(args, input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise VideoPoetError(
            f"{p.name}: ffmpeg took longer than {timeout:.0f} s; the file may be damaged or too long"
        ) from None
    except OSError as e:
        raise VideoPoetError(f"{p.name}: could not start ffmpeg ({e.strerror})") from None


def _fit(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop to the target aspect ratio, then resize (area averaging when shrinking)."""
    th, tw = size
    h, w = img.shape[:2]
    if (h, w) == (th, tw):
        return np.ascontiguousarray(img)
    if w * th > tw * h:  # too wide
        cw = min(w, max(1, round(h * tw / th)))
        x0 = (w - cw) // 2
        img = img[:, x0 : x0 + cw]
    elif w * th < tw * h:  # too tall
        ch = min(h, max(1, round(w * th / tw)))
        y0 = (h - ch) // 2
        img = img[y0 : y0 + ch]
    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if (h >= th and w >= tw) else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(img), (tw, th), interpolation=interp)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    rgb = rgba[..., :3].astype(np.uint32)
    a = rgba[..., 3:4].astype(np.uint32)
    return ((rgb * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block should not cost the picture
        pass
    if im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        # 16-bit and float greyscale: Pillow's convert("L") clips instead of scaling.
        arr = np.asarray(im).astype(np.float32)
        if im.mode != "F" and arr.max(initial=0) > 255:
            arr = arr / 257.0
        im = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        return _composite_on_white(np.asarray(im.convert("RGBA")))
    return np.asarray(im.convert("RGB"))


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or arr.size == 0:
        raise VideoPoetError(
            f"image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {arr.shape}"
        )
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        # Float images are taken to be in [0, 1], the convention of skimage and torchvision.
        arr = (np.clip(np.nan_to_num(arr), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise VideoPoetError(f"image array must be uint8 (or float in [0, 1]); got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = _composite_on_white(arr)
    return arr


# ----------------------------------------------------------------------------- images


def read_image(path_or_array, size=(128, 128)) -> np.ndarray:
    """Load an image (file, numpy array or PIL image) as (H, W, 3) uint8, centre-cropped to `size`
    (None keeps the image's own size, upright by its EXIF orientation)."""
    size = None if size is None else _check_size(size)

    def fit(rgb: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(rgb) if size is None else _fit(rgb, size)

    if isinstance(path_or_array, np.ndarray):
        return fit(_array_to_rgb(path_or_array))
    if isinstance(path_or_array, Image.Image):
        w, h = path_or_array.size
        if w * h > MAX_IMAGE_PIXELS:
            raise VideoPoetError(f"image is {w}x{h} ({w * h / 1e6:.0f} MP); the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} MP")
        return fit(_pil_to_rgb(path_or_array))
    p = _check_file(path_or_array, IMAGE_EXTENSIONS, "image")
    name = p.name
    try:
        with warnings.catch_warnings():
            # We enforce our own, lower pixel limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                # Image.open reads only the header, so this runs before any pixel is decoded.
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise VideoPoetError(
                        f"{name}: image is {w}x{h} ({w * h / 1e6:.0f} MP); "
                        f"the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} MP"
                    )
                im.load()
                rgb = _pil_to_rgb(im)
    except VideoPoetError:
        raise
    except Image.DecompressionBombError:
        raise VideoPoetError(
            f"{name}: image dimensions are too large (limit {MAX_IMAGE_PIXELS / 1e6:.0f} MP)"
        ) from None
    except MemoryError:
        raise VideoPoetError(f"{name}: image is too large to decode") from None
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
        raise VideoPoetError(f"{name}: not a readable image (corrupt or truncated file)") from None
    return fit(rgb)


# ----------------------------------------------------------------------------- ffmpeg header


def _parse_header(text: str) -> dict:
    """Facts about the first video and audio streams from `ffmpeg -i` output."""
    info: dict = {"duration": None, "has_video": False, "has_audio": False, "width": None,
                  "height": None, "fps": None, "rotation": 0, "sample_rate": None,
                  "video_codec": None, "audio_codec": None}
    m = re.search(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)", text)
    if m:
        info["duration"] = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "Output #" in line:  # streams below describe what we write, not the file
            break
        vm = re.search(r"Stream #\d+:\d+.*?: Video: (\S+)(.*)", line)
        if vm and not info["has_video"]:
            info["has_video"] = True
            info["video_codec"] = vm[1].rstrip(",")
            rest = vm[2]
            for sm in re.finditer(r"(?<![\w])(\d{1,5})x(\d{1,5})(?![\w])", rest):
                if int(sm[1]) > 0 and int(sm[2]) > 0:
                    info["width"], info["height"] = int(sm[1]), int(sm[2])
                    break
            fm = re.search(r"([\d.]+) fps", rest) or re.search(r"([\d.]+) tbr", rest)
            if fm:
                info["fps"] = float(fm[1])
            for side in lines[i + 1 : i + 12]:
                if "Stream #" in side:
                    break
                rm = re.search(r"rotation of (-?[\d.]+) degrees", side) or re.search(r"rotate\s*:\s*(-?\d+)", side)
                if rm:
                    info["rotation"] = int(round(float(rm[1])))
            continue
        am = re.search(r"Stream #\d+:\d+.*?: Audio: (\S+)(.*)", line)
        if am and not info["has_audio"]:
            info["has_audio"] = True
            info["audio_codec"] = am[1].rstrip(",")
            hm = re.search(r"(\d+) Hz", am[2])
            if hm:
                info["sample_rate"] = int(hm[1])
    if info["width"] and abs(info["rotation"]) % 180 == 90:
        # ffmpeg rotates on decode, so report what a reader actually gets.
        info["width"], info["height"] = info["height"], info["width"]
    return info


def _header(p: Path) -> tuple[dict, str]:
    res = _run_ffmpeg([_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(p)], p, FFMPEG_TIMEOUT)
    text = res.stderr.decode("utf-8", "replace")
    return _parse_header(text), text


def _not_readable(p: Path, what: str, text: str) -> VideoPoetError:
    if re.search(r"^Input #\d+", text, re.M):
        # The container opened but held nothing decodable, typical of a cut-off upload.
        return VideoPoetError(f"{p.name}: no playable {what.split()[0]} track found (the file may be truncated or damaged)")
    return VideoPoetError(f"{p.name}: not a readable {what} (corrupt or unsupported: {_ffmpeg_reason(text, p)})")


# ----------------------------------------------------------------------------- audio


def _decode_audio(p: Path, sample_rate: int, start: float = 0.0, seconds: float | None = None) -> np.ndarray | None:
    """Mono float32 samples of the first audio stream, or None when the file has none."""
    args = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
    if start > 0:
        args += ["-ss", f"{start:.6f}"]
    args += ["-i", str(p)]
    if seconds is not None:
        args += ["-t", f"{seconds:.6f}"]
    args += ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(int(sample_rate)), "-f", "f32le", "pipe:1"]
    res = _run_ffmpeg(args, p, _timeout(seconds if seconds is not None else MAX_VIDEO_SECONDS))
    if res.returncode != 0:
        err = res.stderr.decode("utf-8", "replace")
        if "matches no streams" in err:
            return None
        raise _not_readable(p, "audio file", err)
    audio = np.frombuffer(res.stdout, dtype="<f4").astype(np.float32)
    return np.clip(np.nan_to_num(audio), -1.0, 1.0)


def read_audio(path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Mono float32 audio in [-1, 1] at `sample_rate` from an audio file or a video's audio track.

    At most `max_seconds` (and never more than MAX_VIDEO_SECONDS) are read.
    """
    p = _check_file(path, AUDIO_EXTENSIONS + tuple(e for e in VIDEO_EXTENSIONS if e != ".gif"), "audio")
    if sample_rate <= 0:
        raise VideoPoetError(f"sample_rate must be positive, got {sample_rate}")
    limit = MAX_VIDEO_SECONDS if max_seconds is None else min(float(max_seconds), MAX_VIDEO_SECONDS)
    if limit <= 0:
        raise VideoPoetError(f"max_seconds must be positive, got {max_seconds}")
    audio = _decode_audio(p, sample_rate, 0.0, limit)
    if audio is None:
        raise VideoPoetError(f"{p.name}: has no audio track")
    if audio.size == 0:
        raise VideoPoetError(f"{p.name}: audio track is empty")
    return audio


def _fit_audio(audio, n_samples: int, what: str = "audio") -> np.ndarray:
    """Mono float32 of exactly n_samples: trimmed, or padded with silence."""
    a = np.asarray(audio)
    if a.ndim == 2:
        # Mix down whichever axis is the channel axis (the short one).
        a = a.mean(axis=1 if a.shape[1] <= a.shape[0] else 0)
    if a.ndim != 1:
        raise VideoPoetError(f"{what} must be a 1-D mono array; got shape {np.shape(audio)}")
    if np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    elif a.dtype == np.int16:
        a = a.astype(np.float32) / 32768.0
    elif a.dtype == np.int32:
        a = a.astype(np.float32) / 2147483648.0
    else:
        raise VideoPoetError(f"{what} must be float (in [-1, 1]) or int16; got {a.dtype}")
    a = np.clip(np.nan_to_num(a), -1.0, 1.0)
    out = np.zeros(n_samples, dtype=np.float32)
    n = min(n_samples, a.shape[0])
    out[:n] = a[:n]
    return out


fit_audio = _fit_audio


# ----------------------------------------------------------------------------- video reading


def _target_index(k: int, fps: float, src_fps: float) -> int:
    # Nearest source frame to target time k / fps; the epsilon keeps exact ratios (24 -> 8) exact.
    return int(math.floor(k * src_fps / fps + 0.5 + 1e-9))


def _read_ffmpeg_frames(p: Path, size, fps, limit, start_seconds):
    info, text = _header(p)
    if not info["has_video"]:
        if info["has_audio"]:
            raise VideoPoetError(f"{p.name}: has no video track (only audio)")
        raise _not_readable(p, "video", text)
    if info["width"] and info["height"] and info["width"] * info["height"] > MAX_IMAGE_PIXELS:
        raise VideoPoetError(
            f"{p.name}: video frames are {info['width']}x{info['height']}; "
            f"the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} MP per frame"
        )
    duration = info["duration"]
    if duration is not None and start_seconds > 0 and start_seconds >= duration:
        raise VideoPoetError(f"{p.name}: start {start_seconds:.1f} s is past the end of the {duration:.1f} s video")

    input_params = ["-ss", f"{start_seconds:.6f}"] if start_seconds > 0 else []
    output_params = []
    th, tw = size
    if info["width"] and info["height"] and info["width"] * info["height"] > 16 * th * tw:
        # Piping full-HD frames only to average them down costs most of the read time; let ffmpeg
        # shrink to twice the target first (aspect kept, so the centre crop is unchanged).
        s = f"min(1,max({2 * th}/ih,{2 * tw}/iw))"
        output_params = ["-vf", f"scale=w='trunc(iw*{s}/2)*2':h='trunc(ih*{s}/2)*2':flags=area"]

    import imageio.v2 as iio2

    frames: list[np.ndarray] = []
    more = False
    try:
        reader = iio2.get_reader(str(p), format="FFMPEG", input_params=input_params, output_params=output_params)
    except Exception:
        raise _not_readable(p, "video", text) from None
    try:
        meta = reader.get_meta_data()
        src_fps = float(meta.get("fps") or info["fps"] or fps)
        need = _target_index(0, fps, src_fps)
        k = 0
        last_j, last_fit = -1, None
        for j, raw in enumerate(reader):
            while need == j:
                if k >= limit:
                    more = True
                    break
                if last_j != j:
                    last_j, last_fit = j, _fit(raw, size)
                frames.append(last_fit)
                k += 1
                need = _target_index(k, fps, src_fps)
            if more:
                break
    except VideoPoetError:
        raise
    except Exception:
        if not frames:
            raise _not_readable(p, "video", text) from None
        # A damaged tail: keep the frames that decoded, as players do.
    finally:
        try:
            reader.close()
        except Exception:
            pass
    return frames, src_fps, duration, more, info["has_audio"]


def _read_gif_frames(p: Path, size, fps, limit, start_seconds):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
    except Image.DecompressionBombError:
        w = h = None
    except Exception:
        raise VideoPoetError(f"{p.name}: not a readable GIF (corrupt or truncated file)") from None
    if w is None or w * h > MAX_IMAGE_PIXELS:
        raise VideoPoetError(f"{p.name}: GIF frames are too large (limit {MAX_IMAGE_PIXELS / 1e6:.0f} MP)")

    frames: list[np.ndarray] = []
    import imageio.v3 as iio

    more = False
    n_src = 0
    t_end = 0.0  # end time of the source frames seen so far
    k = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with iio.imopen(p, "r", plugin="pillow") as f:
                for i, rgba in enumerate(f.iter(mode="RGBA")):
                    ms = f.metadata(index=i).get("duration") or 0
                    # Browsers show frames of <= 10 ms for 100 ms; so do we, or such GIFs flash by.
                    dur = (ms if ms > 10 else 100) / 1000.0
                    t_end += dur
                    n_src += 1
                    if more:
                        continue  # only adding up the duration for the notice
                    fitted = None
                    # GIF frames are shown for a duration, so take the frame on screen at each target time.
                    while start_seconds + k / fps < t_end:
                        if k >= limit:
                            more = True
                            break
                        if fitted is None:
                            fitted = _fit(_composite_on_white(rgba), size)
                        frames.append(fitted)
                        k += 1
                    if n_src > 100_000:
                        break
    except VideoPoetError:
        raise
    except Exception:
        if not frames:
            raise VideoPoetError(f"{p.name}: not a readable GIF (corrupt or truncated file)") from None
    if start_seconds > 0 and start_seconds >= t_end and n_src:
        raise VideoPoetError(f"{p.name}: start {start_seconds:.1f} s is past the end of the {t_end:.1f} s GIF")
    src_fps = n_src / t_end if t_end > 0 else None
    return frames, src_fps, t_end, more, False


def read_video(path, size=(128, 128), fps: float = FPS, max_frames: int | None = None,
               start_seconds: float = 0.0) -> Video:
    """Read a video (mp4/avi/webm/mov/mkv/gif) as a `Video` at `fps`, centre-cropped to `size`.

    Frames are the source frames nearest to each target time (no interpolation). Reading stops after
    `max_frames` frames (and after MAX_VIDEO_SECONDS); then `trimmed` is True and `notice` says so.
    The audio track, if any, is returned for the same time span.
    """
    size = _check_size(size)
    p = _check_file(path, VIDEO_EXTENSIONS, "video")
    if not fps or fps <= 0:
        raise VideoPoetError(f"fps must be positive, got {fps}")
    if max_frames is not None and max_frames < 1:
        raise VideoPoetError(f"max_frames must be at least 1, got {max_frames}")
    if start_seconds < 0:
        raise VideoPoetError(f"start_seconds must be >= 0, got {start_seconds}")
    limit = int(MAX_VIDEO_SECONDS * fps)
    if max_frames is not None:
        limit = min(limit, int(max_frames))

    reader = _read_gif_frames if p.suffix.lower() == ".gif" else _read_ffmpeg_frames
    frames, src_fps, duration, more, has_audio = reader(p, size, float(fps), limit, float(start_seconds))
    if not frames:
        raise VideoPoetError(f"{p.name}: contains no video frames")
    arr = np.stack(frames)
    used = len(arr) / fps

    notice = None
    if more:
        total = f"{duration:.1f} s" if duration else "longer"
        span = f"the first {used:.1f} s" if start_seconds == 0 else f"{used:.1f} s from {start_seconds:.1f} s"
        notice = f"video is {total} long; using {span}" if duration else f"video is longer; using {span}"

    audio = None
    if has_audio:
        try:
            decoded = _decode_audio(p, SAMPLE_RATE, float(start_seconds), used)
        except VideoPoetError:
            decoded = None
            notice = (notice + "; " if notice else "") + "its audio track could not be decoded"
        if decoded is not None and decoded.size:
            audio = _fit_audio(decoded, round(len(arr) * SAMPLE_RATE / fps))
    return Video(frames=arr, fps=fps, audio=audio, sample_rate=SAMPLE_RATE, source_fps=src_fps,
                 trimmed=more, notice=notice)


# ----------------------------------------------------------------------------- writing


def _check_frames(frames, what: str = "frames") -> np.ndarray:
    if isinstance(frames, (list, tuple)):
        try:
            frames = np.stack([np.asarray(f) for f in frames]) if len(frames) else np.zeros((0,), np.uint8)
        except ValueError:
            raise VideoPoetError(f"{what}: all frames must have the same shape") from None
    if not isinstance(frames, np.ndarray):
        raise VideoPoetError(f"{what} must be a numpy array, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise VideoPoetError(f"{what} must be uint8 (T, H, W, 3); got dtype {frames.dtype}")
    if frames.ndim != 4 or frames.shape[3] != 3:
        raise VideoPoetError(f"{what} must have shape (T, H, W, 3); got {frames.shape}")
    if frames.shape[0] == 0 or frames.shape[1] == 0 or frames.shape[2] == 0:
        raise VideoPoetError(f"{what} is empty: shape {frames.shape}")
    return frames


def _rate(fps: float) -> str:
    # ffmpeg wants a rational: 23.976 would otherwise be rounded by the muxer.
    return str(Fraction(fps).limit_denominator(1001))


def write_video(path, frames, fps: float = FPS, audio=None, sample_rate: int = SAMPLE_RATE, crf: int = 18):
    """Write frames (T, H, W, 3) uint8 (and optional mono audio) to a browser-playable H.264/AAC mp4.

    Audio is padded with silence or trimmed to exactly T / fps seconds. Returns `path`.
    """
    frames = _check_frames(frames)
    out = Path(path)
    if out.suffix.lower() != ".mp4":
        raise VideoPoetError(f"{out.name}: write_video writes .mp4 files")
    if not fps or fps <= 0:
        raise VideoPoetError(f"fps must be positive, got {fps}")
    if not 0 <= int(crf) <= 51:
        raise VideoPoetError(f"crf must be in 0..51, got {crf}")
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        # yuv420p needs even sides; repeating the edge row/column keeps every original pixel.
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        h, w = frames.shape[1:3]
    seconds = t / fps
    if audio is not None:
        if sample_rate <= 0:
            raise VideoPoetError(f"sample_rate must be positive, got {sample_rate}")
        audio = _fit_audio(audio, round(seconds * sample_rate))

    out.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename, so a reader (e.g. the app) never sees half a file.
    fd, tmp_out = tempfile.mkstemp(suffix=".mp4", prefix=".partial-", dir=out.parent)
    os.close(fd)
    tmp_audio = None
    import ffmpeg

    try:
        video_in = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=_rate(fps))
        streams = [video_in.video]
        out_args = dict(vcodec="libx264", pix_fmt="yuv420p", crf=int(crf), preset="medium",
                        movflags="+faststart", f="mp4")
        if audio is not None:
            fd, tmp_audio = tempfile.mkstemp(suffix=".f32")
            with os.fdopen(fd, "wb") as fh:
                fh.write(audio.astype("<f4").tobytes())
            streams.append(ffmpeg.input(tmp_audio, format="f32le", ar=int(sample_rate), ac=1).audio)
            out_args.update(acodec="aac", audio_bitrate="96k", ar=int(sample_rate))
        stream = (
            ffmpeg.output(*streams, tmp_out, **out_args)
            .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
            .overwrite_output()
        )
        args = stream.compile(cmd=_ffmpeg_exe())
        res = _run_ffmpeg(args, out, _timeout(seconds), input=np.ascontiguousarray(frames).tobytes())
        if res.returncode != 0:
            raise VideoPoetError(f"{out.name}: encoding failed ({_ffmpeg_reason(res.stderr)})")
        os.replace(tmp_out, out)
        tmp_out = None
    finally:
        for tmp in (tmp_out, tmp_audio):
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
    return path


def concat_clips(clips, path, crossfade: float = 0.0, fps: float = FPS, sample_rate: int = SAMPLE_RATE):
    """Join clips [(frames, audio_or_None) or Video, ...] into one mp4 with continuous audio.

    With crossfade > 0 (seconds, rounded to whole frames) consecutive clips overlap: frames blend
    linearly and audio crossfades at equal power, so the result lasts sum(durations) - (n-1)*crossfade.
    Clips without audio are silent; if no clip has audio the file has no audio track. Frames of later
    clips are centre-cropped to the first clip's size. Returns `path`.
    """
    if not clips:
        raise VideoPoetError("concat_clips needs at least one clip")
    if crossfade < 0:
        raise VideoPoetError(f"crossfade must be >= 0 seconds, got {crossfade}")
    if not fps or fps <= 0:
        raise VideoPoetError(f"fps must be positive, got {fps}")
    vids, auds = [], []
    for i, clip in enumerate(clips, 1):
        if isinstance(clip, Video):
            if clip.audio is not None and clip.sample_rate != sample_rate:
                raise VideoPoetError(f"clip {i}: audio is {clip.sample_rate} Hz, expected {sample_rate} Hz")
            f, a = clip.frames, clip.audio
        else:
            try:
                f, a = clip
            except (TypeError, ValueError):
                raise VideoPoetError(f"clip {i} must be (frames, audio_or_None) or a Video") from None
        f = _check_frames(f, f"clip {i} frames")
        if vids and f.shape[1:3] != vids[0].shape[1:3]:
            f = np.stack([_fit(x, vids[0].shape[1:3]) for x in f])
        vids.append(f)
        auds.append(a)

    m = 0 if crossfade == 0 else max(1, round(crossfade * fps))
    for i, f in enumerate(vids):
        overlap = m * ((i > 0) + (i < len(vids) - 1))
        if overlap > len(f):
            raise VideoPoetError(
                f"crossfade of {crossfade} s is too long for clip {i + 1} ({len(f) / fps:.3f} s)"
            )

    # Video: blend the m overlapping frames of each join with weights rising from 0 to 1.
    w = ((np.arange(m, dtype=np.float32) + 1) / (m + 1))[:, None, None, None]
    pieces = [vids[0]]
    for f in vids[1:]:
        if m:
            tail = pieces[-1][-m:].astype(np.float32)
            pieces[-1] = pieces[-1][:-m]
            pieces.append(np.clip(tail * (1 - w) + f[:m].astype(np.float32) * w + 0.5, 0, 255).astype(np.uint8))
        pieces.append(f[m:])
    frames = np.concatenate(pieces)

    audio = None
    if any(a is not None for a in auds):
        lens = [round(len(f) * sample_rate / fps) for f in vids]
        tracks = [np.zeros(n, np.float32) if a is None else _fit_audio(a, n, f"clip {i + 1} audio")
                  for i, (a, n) in enumerate(zip(auds, lens))]
        ma = round(m * sample_rate / fps)
        # Equal power: cos/sin ramps keep the loudness of uncorrelated material constant across a join.
        x = (np.arange(ma, dtype=np.float64) + 0.5) / max(ma, 1) * (np.pi / 2)
        fade_out, fade_in = np.cos(x).astype(np.float32), np.sin(x).astype(np.float32)
        parts = [tracks[0]]
        for a in tracks[1:]:
            if ma:
                tail = parts[-1][-ma:]
                parts[-1] = parts[-1][:-ma]
                parts.append(tail * fade_out + a[:ma] * fade_in)
            parts.append(a[ma:])
        audio = np.clip(np.concatenate(parts), -1.0, 1.0)
    return write_video(path, frames, fps=fps, audio=audio, sample_rate=sample_rate)


def write_audio(path, audio, sample_rate: int = SAMPLE_RATE):
    """Write mono audio (float in [-1, 1] or int16) to a 16-bit PCM .wav file. Returns `path`."""
    import wave

    out = Path(path)
    if out.suffix.lower() != ".wav":
        raise VideoPoetError(f"{out.name}: write_audio writes .wav files")
    if sample_rate <= 0:
        raise VideoPoetError(f"sample_rate must be positive, got {sample_rate}")
    a = np.asarray(audio)
    if a.size == 0:
        raise VideoPoetError(f"{out.name}: no audio to write")
    samples = _fit_audio(a, a.shape[0] if a.ndim == 1 else max(a.shape))
    pcm = np.round(samples * 32767.0).astype("<i2")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", prefix=".partial-", dir=out.parent)
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(pcm.tobytes())
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


OUTPUT_EXTENSIONS = (".mp4", ".png", ".jpg", ".jpeg", ".webp", ".wav")


def write_output(path, frames=None, audio=None, fps: float = FPS, sample_rate: int = SAMPLE_RATE):
    """Write a generated result by the extension of `path`: .mp4 (frames, with their sound when
    there is audio), .png/.jpg/.webp (the first frame) or .wav (the sound). Returns `path`."""
    out = Path(path)
    ext = out.suffix.lower()
    if ext not in OUTPUT_EXTENSIONS:
        shown = f"'{ext}'" if ext else "no extension"
        raise VideoPoetError(f"{out.name}: cannot write {shown}; write one of {', '.join(OUTPUT_EXTENSIONS)}")
    if ext == ".wav":
        if audio is None:
            raise VideoPoetError(f"{out.name}: this result has no sound to write; write an .mp4 or an image")
        return write_audio(out, audio, sample_rate)
    if frames is None:
        raise VideoPoetError(f"{out.name}: this result is sound only; write it to a .wav file")
    if ext == ".mp4":
        return write_video(out, frames, fps=fps, audio=audio, sample_rate=sample_rate)
    first = _check_frames(frames)[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(first).save(out)
    return path


def stitch(clips, path, crossfade_s: float = 0.5, fps: float = FPS, sample_rate: int = SAMPLE_RATE):
    """Join a storyboard's clips into one mp4: consecutive clips overlap by `crossfade_s` seconds,
    the pictures blending and the sound crossfading at equal power, so the sound runs on without a
    gap. A clip is anything with `frames` and `audio` attributes (a `Video`, a pipeline output), a
    (frames, audio_or_None) pair, or a video file (read at the first clip's size). Returns `path`."""
    pairs = []
    for i, clip in enumerate(clips, 1):
        if isinstance(clip, (str, os.PathLike)):
            size = pairs[0][0].shape[1:3] if pairs else _native_size(clip)
            video = read_video(clip, size=size, fps=fps)
            pairs.append((video.frames, video.audio))
        elif hasattr(clip, "frames") and hasattr(clip, "audio"):
            if clip.frames is None:
                raise VideoPoetError(f"clip {i} has no frames (a sound-only result cannot be stitched)")
            if getattr(clip, "fps", fps) != fps:
                raise VideoPoetError(f"clip {i}: {clip.fps} fps, expected {fps}")
            if clip.audio is not None and getattr(clip, "sample_rate", sample_rate) != sample_rate:
                raise VideoPoetError(f"clip {i}: audio is {clip.sample_rate} Hz, expected {sample_rate} Hz")
            pairs.append((clip.frames, clip.audio))
        else:
            pairs.append(clip)
    return concat_clips(pairs, path, crossfade=crossfade_s, fps=fps, sample_rate=sample_rate)


def _native_size(path) -> tuple[int, int]:
    info = probe(path)
    if not info["width"]:
        raise VideoPoetError(f"{Path(path).name}: has no video track")
    return info["height"], info["width"]


# ----------------------------------------------------------------------------- probing


def probe(path) -> dict:
    """Decode a media file once and report frames, fps, duration, width, height, has_audio, audio_seconds.

    Counts are exact (decoded, with edit lists applied), not container estimates.
    """
    p = _check_file(path, VIDEO_EXTENSIONS + AUDIO_EXTENSIONS + IMAGE_EXTENSIONS, "media")
    args = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "verbose", "-i", str(p),
            "-map", "0:v:0?", "-map", "0:a:0?", "-f", "null", "-"]
    res = _run_ffmpeg(args, p, _timeout(MAX_VIDEO_SECONDS))
    text = res.stderr.decode("utf-8", "replace")
    info = _parse_header(text)
    if res.returncode != 0 or not (info["has_video"] or info["has_audio"]):
        raise _not_readable(p, "media file", text)
    frames, samples = 0, 0
    for m in re.finditer(r"Input stream #\d+:\d+ \((video|audio)\):([^\n]*)", text):
        decoded = re.search(r"(\d+) frames decoded", m[2])
        if m[1] == "video" and decoded:
            frames = max(frames, int(decoded[1]))
        sm = re.search(r"\((\d+) samples\)", m[2])
        if m[1] == "audio" and sm:
            samples = max(samples, int(sm[1]))
    fps, sr = info["fps"], info["sample_rate"]
    audio_seconds = samples / sr if (samples and sr) else 0.0
    # The container's Duration is rounded to 10 ms; decoded counts are exact.
    exact = max(frames / fps if (frames and fps) else 0.0, audio_seconds)
    duration = exact or info["duration"]
    return {
        "frames": frames,
        "fps": fps,
        "duration": duration,
        "width": info["width"],
        "height": info["height"],
        "has_audio": info["has_audio"],
        "audio_seconds": audio_seconds,
        "sample_rate": sr,
        "video_codec": info["video_codec"],
        "audio_codec": info["audio_codec"],
    }
