"""Round trips and failure modes of videopoet.media, on synthetic files made in tmp_path."""

import struct
import subprocess
import wave
import zlib

import imageio.v2 as iio2
import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from videopoet import media
from videopoet.errors import VideoPoetError
from videopoet.media import (
    CLIP_FRAMES,
    CLIP_SAMPLES,
    CLIP_SECONDS,
    FPS,
    SAMPLE_RATE,
    SIZES,
    Video,
    concat_clips,
    probe,
    read_audio,
    read_image,
    read_video,
    write_video,
)


# ----------------------------------------------------------------------------- synthetic media


def moving_square(n=CLIP_FRAMES, size=(128, 128), tint=96):
    """A smooth gradient background with a yellow square sliding left to right."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, tint)], -1).astype(np.uint8)
    frames = np.repeat(bg[None], n, axis=0)
    for i in range(n):
        x = 4 + i * (w - 40) // max(n - 1, 1)
        frames[i, h // 3 : h // 3 + 32, x : x + 32] = (240, 240, 40)
    return frames


def coded_frames(n, size=(128, 128)):
    """Frame i shows the bits of i as black/white columns, so frames are told apart after decoding."""
    h, w = size
    frames = np.full((n, h, w, 3), 128, np.uint8)
    col = w // 8
    for i in range(n):
        for b in range(7):
            frames[i, :, b * col : (b + 1) * col] = 255 if (i >> b) & 1 else 0
    return frames


def tone(freq=440.0, seconds=CLIP_SECONDS, sr=SAMPLE_RATE, amp=0.5):
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def dominant_freq(x, sr=SAMPLE_RATE):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)]


def write_wav(path, audio, sr):
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(sr)
        wf.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def png_header_only(path, width, height):
    """A tiny valid-looking PNG whose header claims a huge image."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


# ----------------------------------------------------------------------------- video round trip


@pytest.mark.parametrize("name", ["square", "portrait"])
def test_write_probe_read_roundtrip(tmp_path, name):
    size = SIZES[name]
    frames = moving_square(size=size)
    audio = tone(440.0)
    out = tmp_path / f"clip_{name}.mp4"
    assert write_video(out, frames, audio=audio) == out

    info = probe(out)
    assert info["frames"] == CLIP_FRAMES
    assert info["fps"] == pytest.approx(FPS)
    assert (info["height"], info["width"]) == size
    assert info["has_audio"]
    assert info["audio_seconds"] == pytest.approx(CLIP_SECONDS, rel=0.01)
    assert info["duration"] == pytest.approx(CLIP_SECONDS, rel=0.01)

    video = read_video(out, size=size)
    assert isinstance(video, Video)
    assert video.frames.shape == (CLIP_FRAMES, *size, 3) and video.frames.dtype == np.uint8
    assert video.fps == FPS and video.source_fps == pytest.approx(FPS)
    assert not video.trimmed and video.notice is None
    assert psnr(video.frames, frames) > 30
    assert video.audio is not None and video.audio.dtype == np.float32
    assert video.audio.shape == (CLIP_SAMPLES,)
    assert np.corrcoef(video.audio, audio)[0, 1] > 0.95

    back = read_audio(out)
    assert abs(len(back) - CLIP_SAMPLES) <= CLIP_SAMPLES * 0.01
    n = min(len(back), len(audio))
    assert np.corrcoef(back[:n], audio[:n])[0, 1] > 0.95


def test_write_video_without_audio_and_odd_size(tmp_path):
    frames = moving_square(n=5, size=(127, 129))
    out = write_video(tmp_path / "odd.mp4", frames)
    info = probe(out)
    assert info["frames"] == 5 and not info["has_audio"] and info["audio_seconds"] == 0.0
    assert (info["height"], info["width"]) == (128, 130)  # padded to even for yuv420p
    video = read_video(out, size=(127, 129))
    assert video.audio is None and psnr(video.frames, frames) > 30


def test_write_video_pads_and_trims_audio(tmp_path):
    frames = moving_square()
    short = write_video(tmp_path / "short.mp4", frames, audio=tone(seconds=1.0))
    long = write_video(tmp_path / "long.mp4", frames, audio=tone(seconds=5.0))
    for path in (short, long):
        assert probe(path)["audio_seconds"] == pytest.approx(CLIP_SECONDS, rel=0.01)
    padded = read_video(short).audio
    assert np.abs(padded[: SAMPLE_RATE // 2]).max() > 0.3  # the tone
    assert np.abs(padded[-SAMPLE_RATE // 2 :]).max() < 0.05  # the silence it was padded with


# ----------------------------------------------------------------------------- images


def test_read_image_centre_crops_wide_to_portrait(tmp_path):
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, :100] = (255, 0, 0)
    wide[:, 100:200] = (0, 255, 0)  # only this centre stripe should survive
    wide[:, 200:] = (0, 0, 255)
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)

    for size in SIZES.values():
        img = read_image(path, size=size)
        assert img.shape == (*size, 3) and img.dtype == np.uint8
        assert img[..., 1].min() > 200 and img[..., 0].max() < 40 and img[..., 2].max() < 40
    # arrays and PIL images go through the same path
    assert np.array_equal(read_image(wide, size=(224, 128)), read_image(path, size=(224, 128)))
    assert np.array_equal(read_image(Image.fromarray(wide), size=(224, 128)), read_image(path, size=(224, 128)))


def test_read_image_modes_alpha_grey_exif(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, 32:, 3] = 255  # left half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    img = read_image(tmp_path / "alpha.png", size=(64, 64))
    assert (img[:, :30] > 250).all()  # composited on white
    assert (img[:, 34:] == (255, 0, 0)).all()

    Image.fromarray(np.full((40, 40), 77, np.uint8), "L").save(tmp_path / "grey.bmp")
    grey = read_image(tmp_path / "grey.bmp", size=(32, 32))
    assert grey.shape == (32, 32, 3) and (grey == 77).all()

    # Stored 60 wide x 20 tall, red left / blue right; EXIF orientation 6 shows it rotated 90 deg clockwise.
    stored = np.zeros((20, 60, 3), np.uint8)
    stored[:, :30] = (255, 0, 0)
    stored[:, 30:] = (0, 0, 255)
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "phone.jpg", quality=95, exif=exif)
    img = read_image(tmp_path / "phone.jpg", size=(64, 64))
    top, bottom = img[:16].mean(axis=(0, 1)), img[-16:].mean(axis=(0, 1))
    assert top[0] > 200 and top[2] < 60  # red on top after rotation
    assert bottom[2] > 200 and bottom[0] < 60


def test_read_image_webp(tmp_path):
    Image.fromarray(moving_square(n=1)[0]).save(tmp_path / "a.webp", lossless=True)
    assert psnr(read_image(tmp_path / "a.webp"), moving_square(n=1)[0]) > 40


# ----------------------------------------------------------------------------- fps, trimming, formats


@pytest.fixture(scope="module")
def source_24fps(tmp_path_factory):
    """3 s at 24 fps (72 frames), each frame coding its own index."""
    frames = coded_frames(72)
    path = tmp_path_factory.mktemp("src") / "src24.mp4"
    write_video(path, frames, fps=24, audio=tone(seconds=3.0), crf=10)
    return path, frames


def nearest_source(read, source):
    return [int(np.argmin([np.mean((f.astype(np.float32) - s) ** 2) for s in source])) for f in read]


def test_fps_resampling_picks_nearest_source_frames(source_24fps):
    path, source = source_24fps
    video = read_video(path, fps=8)
    assert video.source_fps == pytest.approx(24)
    assert len(video.frames) == 24
    assert nearest_source(video.frames, source) == list(range(0, 72, 3))
    assert not video.trimmed and video.notice is None
    assert video.audio.shape == (3 * SAMPLE_RATE,)


def test_max_frames_trims_with_notice(source_24fps):
    path, source = source_24fps
    video = read_video(path, fps=8, max_frames=CLIP_FRAMES)
    assert len(video.frames) == CLIP_FRAMES
    assert video.trimmed
    assert video.notice == "video is 3.0 s long; using the first 2.1 s"
    assert video.audio.shape == (CLIP_SAMPLES,)

    later = read_video(path, fps=8, max_frames=4, start_seconds=1.0)
    assert nearest_source(later.frames, source) == [24, 27, 30, 33]
    assert later.trimmed and "from 1.0 s" in later.notice

    exact = read_video(path, fps=8, max_frames=24)  # exactly the whole video: nothing cut
    assert len(exact.frames) == 24 and not exact.trimmed


def test_gif_webm_avi_readable(tmp_path):
    frames = moving_square()
    gif = tmp_path / "anim.gif"
    iio.imwrite(gif, frames, plugin="pillow", duration=125, loop=0)  # 125 ms = 8 fps
    webm = tmp_path / "anim.webm"
    iio2.mimwrite(webm, list(frames), format="FFMPEG", fps=8, codec="libvpx", output_params=["-b:v", "2M"])
    avi = tmp_path / "anim.avi"
    iio2.mimwrite(avi, list(frames), format="FFMPEG", fps=8, codec="mjpeg", quality=10)
    for path in (gif, webm, avi):
        video = read_video(path)
        assert video.frames.shape == (CLIP_FRAMES, 128, 128, 3), path.name
        assert psnr(video.frames, frames) > 22, path.name
        assert video.audio is None
    # a GIF at 4 fps read at 8 fps shows each frame twice
    slow = tmp_path / "slow.gif"
    iio.imwrite(slow, frames[:4], plugin="pillow", duration=250, loop=0)
    video = read_video(slow)
    assert len(video.frames) == 8 and video.source_fps == pytest.approx(4)
    assert np.array_equal(video.frames[0], video.frames[1])
    assert not np.array_equal(video.frames[1], video.frames[2])


def test_read_audio_wav_resamples_and_limits(tmp_path):
    path = tmp_path / "tone.wav"
    write_wav(path, tone(1000.0, seconds=2.0, sr=44100), 44100)
    audio = read_audio(path)
    assert audio.dtype == np.float32 and len(audio) == pytest.approx(2 * SAMPLE_RATE, abs=32)
    assert dominant_freq(audio) == pytest.approx(1000, abs=5)
    assert len(read_audio(path, max_seconds=0.5)) == pytest.approx(SAMPLE_RATE // 2, abs=32)


# ----------------------------------------------------------------------------- concatenation


@pytest.fixture(scope="module")
def three_clips():
    freqs = (330.0, 440.0, 550.0)
    return [(moving_square(tint=t), tone(f)) for t, f in zip((0, 128, 255), freqs)], freqs


def test_concat_with_crossfade(tmp_path, three_clips):
    clips, freqs = three_clips
    out = concat_clips(clips, tmp_path / "joined.mp4", crossfade=0.25)
    expected = 3 * CLIP_SECONDS - 2 * 0.25
    info = probe(out)
    assert info["frames"] == 3 * CLIP_FRAMES - 2 * 2
    assert info["duration"] == pytest.approx(expected, abs=1 / FPS)
    assert info["audio_seconds"] == pytest.approx(expected, rel=0.01)

    audio = read_audio(out)
    win = SAMPLE_RATE // 20  # 50 ms
    rms = [np.sqrt(np.mean(audio[i : i + win] ** 2)) for i in range(0, len(audio) - win, win)]
    assert min(rms) > 0.25  # a 0.5-amplitude tone has RMS 0.35; no dip at the joins
    step = CLIP_SECONDS - 0.25
    for i, f in enumerate(freqs):
        mid = round((i * step + CLIP_SECONDS / 2) * SAMPLE_RATE)
        assert dominant_freq(audio[mid - 2000 : mid + 2000]) == pytest.approx(f, abs=10)

    video = read_video(out, max_frames=None)
    (f1, _), (f2, _), _ = clips
    # First blended frame: 2/3 of clip 1's frame 15 and 1/3 of clip 2's frame 0.
    blend = (f1[15].astype(np.float32) * 2 / 3 + f2[0].astype(np.float32) / 3 + 0.5).astype(np.uint8)
    assert psnr(video.frames[15], blend) > 30
    assert psnr(video.frames[14], f1[14]) > 30 and psnr(video.frames[17], f2[2]) > 30


def test_concat_without_crossfade_and_silent_clip(tmp_path, three_clips):
    clips, _ = three_clips
    out = concat_clips(clips, tmp_path / "plain.mp4")
    info = probe(out)
    assert info["frames"] == 3 * CLIP_FRAMES
    assert info["duration"] == pytest.approx(3 * CLIP_SECONDS, abs=1 / FPS)
    assert info["audio_seconds"] == pytest.approx(3 * CLIP_SECONDS, rel=0.01)

    silent_middle = [clips[0], (clips[1][0], None), Video(frames=clips[2][0], audio=clips[2][1])]
    audio = read_audio(concat_clips(silent_middle, tmp_path / "gap.mp4"))
    assert audio.size == pytest.approx(3 * CLIP_SAMPLES, rel=0.01)
    middle = audio[round(2.6 * SAMPLE_RATE) : round(3.8 * SAMPLE_RATE)]
    assert np.abs(middle).max() < 0.05
    assert np.abs(audio[: SAMPLE_RATE]).max() > 0.3 and np.abs(audio[-SAMPLE_RATE:]).max() > 0.3


def test_concat_rejects_crossfade_longer_than_clip(tmp_path):
    frames = moving_square(n=3)
    with pytest.raises(VideoPoetError, match="crossfade"):
        concat_clips([(frames, None)] * 3, tmp_path / "x.mp4", crossfade=0.25)


# ----------------------------------------------------------------------------- bad input


def _assert_clean(excinfo, name):
    message = str(excinfo.value)
    assert name in message
    assert "Traceback" not in message and "\n" not in message
    assert excinfo.value.__cause__ is None


def _mp4_bytes(tmp_path):
    path = write_video(tmp_path / "good.mp4", moving_square(), audio=tone())
    return path.read_bytes()


@pytest.mark.parametrize("reader", [read_image, read_video, read_audio, probe])
def test_missing_file(tmp_path, reader):
    with pytest.raises(VideoPoetError, match="not found") as excinfo:
        reader(tmp_path / "missing.mp4")
    _assert_clean(excinfo, "missing.mp4")


@pytest.mark.parametrize("reader,name", [(read_image, "empty.png"), (read_video, "empty.mp4"), (read_audio, "empty.wav")])
def test_empty_file(tmp_path, reader, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(VideoPoetError, match="empty") as excinfo:
        reader(tmp_path / name)
    _assert_clean(excinfo, name)


@pytest.mark.parametrize("reader", [read_image, read_video, read_audio])
def test_unsupported_extension(tmp_path, reader):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(VideoPoetError, match="unsupported") as excinfo:
        reader(tmp_path / "notes.txt")
    _assert_clean(excinfo, "notes.txt")
    assert ".mp4" in str(excinfo.value) or ".png" in str(excinfo.value)  # lists what is supported


def test_oversized_upload(tmp_path, monkeypatch):
    path = tmp_path / "big.mp4"
    path.write_bytes(b"\0" * 2048)
    monkeypatch.setattr(media, "MAX_UPLOAD_BYTES", 1024)
    with pytest.raises(VideoPoetError, match="limit") as excinfo:
        read_video(path)
    _assert_clean(excinfo, "big.mp4")


def test_corrupt_videos(tmp_path):
    good = _mp4_bytes(tmp_path)
    rng = np.random.default_rng(0)
    cases = {
        "truncated.mp4": good[:200],
        "garbage.mp4": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "garbage.webm": b"not a video at all" * 100,
        "garbage.gif": b"GIF89a" + rng.integers(0, 256, 500, dtype=np.uint8).tobytes(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(VideoPoetError) as excinfo:
            read_video(tmp_path / name)
        _assert_clean(excinfo, name)
    for name in ("truncated.mp4", "garbage.mp4"):
        for reader in (read_audio, probe):
            with pytest.raises(VideoPoetError) as excinfo:
                reader(tmp_path / name)
            _assert_clean(excinfo, name)


def test_corrupt_images(tmp_path):
    buf = tmp_path / "ok.png"
    Image.fromarray(moving_square(n=1)[0]).save(buf)
    data = buf.read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.png").write_bytes(b"\x00\x01garbage" * 50)
    (tmp_path / "garbage.jpg").write_bytes(b"\xff\xd8\xff" + b"\x13" * 300)
    for name in ("truncated.png", "garbage.png", "garbage.jpg"):
        with pytest.raises(VideoPoetError, match="not a readable image") as excinfo:
            read_image(tmp_path / name)
        _assert_clean(excinfo, name)


@pytest.mark.parametrize("width,height", [(30000, 30000), (9000, 9000)])
def test_decompression_bomb_png(tmp_path, width, height):
    # 30000^2 trips Pillow's own bomb error; 9000^2 (81 MP) only our lower limit.
    path = png_header_only(tmp_path / f"bomb{width}.png", width, height)
    assert path.stat().st_size < 100
    with pytest.raises(VideoPoetError, match="MP") as excinfo:
        read_image(path)
    _assert_clean(excinfo, path.name)


def test_video_without_video_track_and_video_without_audio(tmp_path):
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    path = tmp_path / "voice.mp4"
    subprocess.run([exe, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                    "-c:a", "aac", str(path)], check=True, timeout=60)
    with pytest.raises(VideoPoetError, match="no video") as excinfo:
        read_video(path)
    _assert_clean(excinfo, "voice.mp4")
    assert len(read_audio(path)) == pytest.approx(SAMPLE_RATE, rel=0.02)

    mute = write_video(tmp_path / "mute.mp4", moving_square(n=3))
    with pytest.raises(VideoPoetError, match="no audio") as excinfo:
        read_audio(mute)
    _assert_clean(excinfo, "mute.mp4")


def test_start_past_end(tmp_path):
    path = write_video(tmp_path / "short.mp4", moving_square())
    with pytest.raises(VideoPoetError, match="past the end") as excinfo:
        read_video(path, start_seconds=10)
    _assert_clean(excinfo, "short.mp4")


@pytest.mark.parametrize(
    "frames",
    [
        np.zeros((17, 128, 128, 3), np.float32),
        np.zeros((17, 128, 128), np.uint8),
        np.zeros((17, 128, 128, 4), np.uint8),
        np.zeros((0, 128, 128, 3), np.uint8),
        "not frames",
    ],
    ids=["float32", "no-channels", "rgba", "zero-frames", "string"],
)
def test_write_video_rejects_bad_arrays(tmp_path, frames):
    with pytest.raises(VideoPoetError, match="frames"):
        write_video(tmp_path / "bad.mp4", frames)
    assert not list(tmp_path.iterdir())  # no partial output left behind


def test_write_video_rejects_bad_audio_and_path(tmp_path):
    frames = moving_square(n=3)
    with pytest.raises(VideoPoetError, match="audio"):
        write_video(tmp_path / "a.mp4", frames, audio=np.zeros((3, 3, 3), np.float32))
    with pytest.raises(VideoPoetError, match="out.avi"):
        write_video(tmp_path / "out.avi", frames)
    assert not list(tmp_path.iterdir())
