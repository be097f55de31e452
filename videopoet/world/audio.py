"""The sound of the procedural world: timed sound events over ambient beds, 16 kHz mono.

The renderer works out from what is seen a list of `SoundEvent`s (a hoof lands, a firework bursts,
lightning strikes) and the ambient beds of the scene (rain, city, music, ...) and calls
`synthesize`. Every event sound starts exactly at its time with a sharp attack (1 ms ramp, most of
its early level within 5 ms), so its onset can be located to well within one video frame (125 ms at
8 fps); `onset_times` is the detector that tests, evaluation and the audio-visual judge use to find
those onsets again. Beds are quiet (RMS <= 0.06, several beds share that level) and stationary
enough that the detector does not fire on them.

Speed is the point of the design (the world renders >= 20 clips/s per core, video included):
  * every event kind has a bank of `N_VARIANTS` one-shot samples, synthesised (and filtered with
    scipy) once, on first use; a call picks a variant, resamples it for `pitch` (linear
    interpolation of a pre-low-passed copy, cached per 1/24 octave) and adds it in as one slice;
  * every bed is a seamless 8.2 s loop (noise shaped in the FFT domain wraps without a seam; its
    modulators have whole cycles per loop) built once; a call adds a slice at a random offset.
    Music is four sustained chord loops, cross-faded on the bar lines of `music_bpm`;
  * a call is then a handful of vector adds: ~0.3-1 ms for a clip once the caches are warm (the
    first use of a kind or bed costs 10-300 ms). `warm_up()` builds every bank and loop up front
    (~1.5 s), e.g. before forking render workers.

Everything a call does is decided by a `numpy.random.Generator` seeded with `seed`, so the output is
a pure function of (events, beds, seed, n_samples, music_bpm).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000
CLIP_SAMPLES = 34000  # 2.125 s at 16 kHz (17 frames at 8 fps)

EVENT_KINDS = ("footstep", "hoof", "impact", "beat", "boom", "thunder", "roar", "splash",
               "card_flip", "power_up", "swish", "chime", "crackle", "whoosh")
BEDS = ("rain", "wind", "sea", "city", "river", "forge", "space", "music", "crowd", "jungle",
        "fire", "silence")

N_VARIANTS = 8          # one-shot samples per event kind
N_BED_VARIANTS = 2      # noise loops per bed
DEFAULT_BPM = 120.0     # music bed tempo when music_bpm is None

__all__ = ["BEDS", "CLIP_SAMPLES", "EVENT_KINDS", "N_VARIANTS", "SAMPLE_RATE", "SoundEvent", "onset_times",
           "synthesize", "warm_up"]


@dataclass(frozen=True)
class SoundEvent:
    """One sound caused by something seen.

    kind: one of EVENT_KINDS. t: seconds from clip start when the sound begins (its onset).
    gain: 0..1, smaller for distant or small things. pitch: playback-rate factor (0.7 for a big
    animal, 1.4 for a small one); it also scales the sound's length.
    """

    kind: str
    t: float
    gain: float = 1.0
    pitch: float = 1.0


_SR = SAMPLE_RATE
_LOOP = 1 << 17             # bed loop length: 131072 samples = 8.192 s
_LOOP_S = _LOOP / _SR
_RAMP = 16                  # 1 ms linear attack ramp on every one-shot (no click, still sharp)

# Peak level of each kind at gain 1 (events ~0.5-0.9 peak; beds are far quieter).
_PEAK = {"footstep": 0.7, "hoof": 0.7, "impact": 0.8, "beat": 0.85, "boom": 0.9, "thunder": 0.9,
         "roar": 0.8, "splash": 0.7, "card_flip": 0.75, "power_up": 0.7, "swish": 0.7,
         "chime": 0.6, "crackle": 0.75, "whoosh": 0.6}
# RMS level of each bed (all <= 0.12).
_BED_RMS = {"rain": 0.05, "wind": 0.05, "sea": 0.06, "city": 0.04, "river": 0.05, "forge": 0.05,
            "space": 0.035, "music": 0.05, "crowd": 0.045, "jungle": 0.03, "fire": 0.04,
            "silence": 1e-4}


# ----------------------------------------------------------------------------------------------
# building blocks (used only while building the caches)
# ----------------------------------------------------------------------------------------------

def _time(n: int) -> np.ndarray:
    return np.arange(n) / _SR


def _filt(x: np.ndarray, btype: str, freq, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, freq, btype=btype, fs=_SR, output="sos")
    return signal.sosfilt(sos, x)


def _unit(x: np.ndarray) -> np.ndarray:
    s = float(np.sqrt(np.mean(x * x)))
    return x / s if s > 0 else x


def _noise(rng: np.random.Generator, n: int, btype: str | None = None, freq=None,
           order: int = 2) -> np.ndarray:
    """Unit-RMS white noise, optionally filtered (filter first, envelope later: attacks stay sharp)."""
    x = rng.standard_normal(n)
    if btype is not None:
        x = _filt(x, btype, freq, order)
    return _unit(x)


def _decay(t: np.ndarray, tau: float) -> np.ndarray:
    return np.exp(-t / tau)


def _modes(t: np.ndarray, freqs, amps, taus) -> np.ndarray:
    """Sum of exponentially damped sines (a struck resonant body)."""
    out = np.zeros_like(t)
    for f, a, tau in zip(freqs, amps, taus):
        if f < 0.45 * _SR:
            out += a * np.sin(2 * np.pi * f * t) * np.exp(-t / tau)
    return out


def _chirp_phase(f: np.ndarray) -> np.ndarray:
    """Phase of a tone whose instantaneous frequency (Hz) is the array f."""
    return 2 * np.pi * np.cumsum(f) / _SR


def _swept_noise(rng: np.random.Generator, n: int, fc: Callable[[np.ndarray], np.ndarray],
                 width_oct: float) -> np.ndarray:
    """Unit-RMS noise through a band-pass whose centre fc(t) moves (shaped frame by frame)."""
    nper = 256
    x = rng.standard_normal(n + nper)
    f, tt, z = signal.stft(x, fs=_SR, nperseg=nper, noverlap=nper * 3 // 4)
    centre = np.maximum(fc(np.clip(tt - nper / 2 / _SR, 0, None)), 50.0)
    lf = np.log2(np.maximum(f, 1.0))[:, None]
    gain = np.exp(-0.5 * ((lf - np.log2(centre)[None, :]) / (width_oct / 2)) ** 2)
    _, y = signal.istft(z * gain, fs=_SR, nperseg=nper, noverlap=nper * 3 // 4)
    return _unit(y[nper // 2:nper // 2 + n])


def _finish(x: np.ndarray, kind: str) -> np.ndarray:
    """Attack ramp, a short fade at the end, trim silence, scale to the kind's peak -> float32."""
    x = np.asarray(x, np.float64).copy()
    x[:_RAMP] *= np.linspace(0.0, 1.0, _RAMP, endpoint=False) + 1.0 / _RAMP
    a = np.abs(x)
    last = int(np.nonzero(a > 1e-3 * a.max())[0][-1]) + 1
    x = x[:max(last, 4 * _RAMP)]
    fade = min(80, len(x) // 4)
    x[-fade:] *= np.linspace(1.0, 0.0, fade)
    return (x * (_PEAK[kind] / np.abs(x).max())).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# event one-shots: each maker draws its own variation from rng and returns the raw waveform
# ----------------------------------------------------------------------------------------------

def _footstep(rng):
    n = int(0.09 * _SR)
    t = _time(n)
    body = _noise(rng, n, "lowpass", rng.uniform(900, 2000)) * _decay(t, rng.uniform(0.012, 0.02))
    thump = np.sin(2 * np.pi * rng.uniform(70, 120) * t) * _decay(t, 0.025)
    scuff = _noise(rng, n, "bandpass", (1500, 6000)) * _decay(t, rng.uniform(0.004, 0.007))
    return 0.8 * body + thump + 0.6 * scuff


def _clop(rng, n):
    t = _time(n)
    click = _noise(rng, n, "highpass", 1500) * _decay(t, 0.002)
    body = _modes(t, [rng.uniform(350, 500), rng.uniform(800, 1100), rng.uniform(1700, 2100)],
                  [1.0, 0.6, 0.3], [rng.uniform(0.015, 0.03), 0.015, 0.008])
    return 0.5 * click + body


def _hoof(rng):
    gap = int(rng.uniform(0.025, 0.04) * _SR)   # the two clops of a gallop's hoof pair
    n1 = int(0.12 * _SR)
    x = np.zeros(gap + n1)
    x[:n1] += _clop(rng, n1)
    x[gap:] += rng.uniform(0.5, 0.7) * _clop(rng, n1)
    return x


def _impact(rng):
    n = int(0.35 * _SR)
    t = _time(n)
    f = rng.uniform(40, 55) + rng.uniform(70, 110) * _decay(t, 0.03)
    thud = np.sin(_chirp_phase(f)) * _decay(t, rng.uniform(0.06, 0.1))
    knock = (_noise(rng, n, "bandpass", (1000, 3000)) * _decay(t, 0.006)
             + _modes(t, [rng.uniform(450, 750)], [0.8], [0.015]))
    return thud + 0.5 * knock


def _beat(rng):
    n = int(0.4 * _SR)
    t = _time(n)
    f = rng.uniform(42, 52) + rng.uniform(90, 130) * _decay(t, 0.035)
    kick = np.sin(_chirp_phase(f)) * _decay(t, rng.uniform(0.12, 0.18))
    click = _noise(rng, n, "highpass", 2000) * _decay(t, 0.0015)
    hat = _noise(rng, n, "highpass", 7000, 4) * _decay(t, rng.uniform(0.015, 0.03))
    return kick + 0.5 * click + 0.4 * hat


def _boom(rng):
    n = int(rng.uniform(0.9, 1.1) * _SR)
    t = _time(n)
    burst = _noise(rng, n, "lowpass", rng.uniform(1800, 2800)) * _decay(t, 0.03)
    body = _noise(rng, n, "lowpass", rng.uniform(250, 450), 4) * _decay(t, rng.uniform(0.24, 0.32))
    body *= 1.0 - 0.6 * _decay(t, 0.01)
    crackles = np.zeros(n)
    for _ in range(rng.integers(18, 32)):             # faint crackles of the falling sparks
        i = int(rng.uniform(0.15, 0.85) * _SR)
        m = min(32, n - i)
        crackles[i:i + m] += rng.uniform(0.03, 0.08) * rng.standard_normal(m) * np.exp(-np.arange(m) / 4)
    crackles = _filt(crackles, "highpass", 2000)
    return 0.7 * burst + body + crackles


def _thunder(rng):
    n = int(rng.uniform(1.2, 1.5) * _SR)
    t = _time(n)
    crack = _noise(rng, n, "bandpass", (300, 3500)) * _decay(t, rng.uniform(0.03, 0.05))
    for _ in range(rng.integers(1, 3)):                # sub-cracks in the first 60 ms: one clap
        d = int(rng.uniform(0.015, 0.06) * _SR)
        sub = _noise(rng, n - d, "bandpass", (300, 3000)) * _decay(t[:n - d], 0.02)
        crack[d:] += rng.uniform(0.3, 0.6) * sub
    rumble = _noise(rng, n, "lowpass", rng.uniform(140, 220), 4)
    am = 1.0 + 0.5 * _unit(_filt(rng.standard_normal(n), "lowpass", 4.0))
    env = (1.0 - _decay(t, 0.04)) * _decay(t, rng.uniform(0.45, 0.65)) * np.clip(am, 0.2, None)
    return 1.8 * crack + 1.4 * rumble * env


def _roar(rng):
    n = int(rng.uniform(0.75, 0.9) * _SR)
    t = _time(n)
    dur = n / _SR
    f0 = rng.uniform(95, 140)
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(5, 7) * t)) * (1 + 0.08 * _decay(t, 0.15)) \
        * (1 - 0.08 * t / dur)
    ph = _chirp_phase(f)
    saw = np.zeros(n)
    for k in range(1, int(7000 / f0) + 1):
        saw += np.sin(k * ph) / k
    voice = _filt(saw, "bandpass", (rng.uniform(250, 400), rng.uniform(1800, 2600)))
    growl = 1.0 + 0.3 * np.sin(2 * np.pi * rng.uniform(25, 35) * t)
    breath = _noise(rng, n, "bandpass", (500, 3000))
    env = (0.8 + 0.2 * (1 - _decay(t, 0.08))) * np.clip((dur - t) / 0.25, 0, 1) ** 1.5
    # saturation: a growl's grit, and a low crest factor so the roar is loud from its first ms
    return _filt(np.tanh(2.5 * (_unit(voice) * growl + 0.15 * breath)), "lowpass", 4000) * env


def _splash(rng):
    n = int(0.5 * _SR)
    t = _time(n)
    burst = _noise(rng, n, "highpass", rng.uniform(1200, 1800)) * _decay(t, rng.uniform(0.04, 0.06))
    hiss = _noise(rng, n, "bandpass", (2000, 7000)) * _decay(t, 0.15)
    wet = np.zeros(n)
    for _ in range(rng.integers(30, 50)):              # droplets and bubbles of the wet decay
        i = int(rng.uniform(0.01, 0.35) * _SR)
        m = min(int(0.02 * _SR), n - i)
        tb = _time(m)
        fb = rng.uniform(1200, 4500) * (1 + 2.0 * tb)
        wet[i:i + m] += rng.uniform(0.2, 0.6) * np.sin(_chirp_phase(fb)) * np.exp(-tb / 0.004) \
            * np.exp(-i / _SR / 0.15)
    return burst + 0.3 * hiss + wet


def _card_flip(rng):
    n = int(0.06 * _SR)
    t = _time(n)
    x = _noise(rng, n, "bandpass", (rng.uniform(1300, 1900), rng.uniform(6500, 7500))) * _decay(t, 0.004)
    d = int(rng.uniform(0.008, 0.016) * _SR)           # the flap right after the tick
    x[d:] += rng.uniform(0.3, 0.5) * _noise(rng, n - d, "bandpass", (2000, 6000)) * _decay(t[:n - d], 0.003)
    rustle = _noise(rng, n, "bandpass", (1500, 5000)) * _decay(t, rng.uniform(0.01, 0.015))
    return np.tanh(0.8 * (x + 0.5 * rustle))           # papery: dense, with few sharp peaks


def _power_up(rng):
    n = int(rng.uniform(0.65, 0.75) * _SR)
    t = _time(n)
    dur = n / _SR
    f = rng.uniform(180, 260) * (rng.uniform(4.5, 6.0)) ** (t / dur)
    ph = _chirp_phase(f)
    tone = np.sin(ph) + 0.45 * np.sin(2 * ph) + 0.3 * np.sin(3 * ph) + 0.2 * np.sin(4 * ph)
    buzz = signal.square(2 * np.pi * rng.uniform(50, 70) * t)      # mains-like buzz modulation
    env = (0.8 + 0.2 * t / dur) * np.clip((dur - t) / 0.08, 0, 1)
    zap = _noise(rng, n, "bandpass", (500, 4000)) * _decay(t, 0.01)          # the switch-on
    return tone * (1 + 0.35 * buzz) * env + 0.5 * zap


def _swish(rng):
    n = int(rng.uniform(0.28, 0.36) * _SR)             # one stroke of a glide
    t = _time(n)
    dur = n / _SR
    lo, hi = rng.uniform(1200, 1800), rng.uniform(4500, 6000)
    x = _noise(rng, n, "bandpass", (lo, hi))
    x += 0.8 * _noise(rng, n, "highpass", 2000) * _decay(t, 0.004)          # the blade bites
    scrape = 0.75 + 0.25 * np.clip(_unit(_filt(rng.standard_normal(n), "lowpass", 40.0)), -2, 2)
    peak_t = rng.uniform(0.06, 0.09)
    env = np.where(t < peak_t, 0.85 + 0.15 * t / peak_t, 1.0) * np.cos(0.5 * np.pi * t / dur) ** 0.7
    return np.tanh(0.7 * x * scrape) * env              # saturated: loud from the first ms


def _whoosh(rng):
    n = int(rng.uniform(0.35, 0.45) * _SR)
    t = _time(n)
    f_hi, f_lo = rng.uniform(2200, 3200), rng.uniform(350, 600)
    x = _swept_noise(rng, n, lambda tt: f_lo + (f_hi - f_lo) * np.exp(-tt / 0.09), 1.5)   # Doppler drop
    env = (0.85 + 0.15 * np.clip(t / 0.05, 0, 1)) * np.exp(-np.clip(t - 0.05, 0, None) / 0.1)
    return x * env


def _chime(rng):
    n = int(0.6 * _SR)
    t = _time(n)
    f0 = rng.uniform(1400, 2400)
    ratios = [1.0, 2.0, 2.76, 4.07, 5.4]
    amps = [1.0, 0.3, 0.5, 0.2, 0.25]
    taus = [0.35, 0.2, 0.15, 0.1, 0.08]
    x = _modes(t, [f0 * r * rng.uniform(0.995, 1.005) for r in ratios], amps, taus)
    x *= 1 + 0.15 * np.sin(2 * np.pi * rng.uniform(6, 9) * t)       # shimmer
    return x + 0.35 * _noise(rng, n, "highpass", 3000) * _decay(t, 0.002)   # the strike


def _crackle(rng):
    n = int(0.07 * _SR)
    x = np.zeros(n)
    k = rng.integers(3, 7)
    for j in range(k):
        i = 0 if j == 0 else int(rng.uniform(0.003, 0.03) * _SR)
        m = min(96, n - i)
        click = rng.standard_normal(m) * np.exp(-np.arange(m) / 16)
        x[i:i + m] += (1.0 if j == 0 else rng.uniform(0.4, 0.8)) * click
    x = _filt(x, "highpass", 1500)
    t = _time(n)
    return x + 0.3 * np.abs(x).max() * np.sin(2 * np.pi * rng.uniform(150, 250) * t) * _decay(t, 0.008)


_MAKERS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "footstep": _footstep, "hoof": _hoof, "impact": _impact, "beat": _beat, "boom": _boom,
    "thunder": _thunder, "roar": _roar, "splash": _splash, "card_flip": _card_flip,
    "power_up": _power_up, "swish": _swish, "chime": _chime, "crackle": _crackle, "whoosh": _whoosh,
}


# ----------------------------------------------------------------------------------------------
# beds: seamless loops of _LOOP samples (FFT-shaped noise wraps around; modulators have a whole
# number of cycles per loop), unit RMS; scaled to _BED_RMS at mix time
# ----------------------------------------------------------------------------------------------

_F = np.fft.rfftfreq(_LOOP, 1 / _SR)


def _colored(rng, shape: np.ndarray) -> np.ndarray:
    """Unit-RMS circular noise with magnitude spectrum `shape` (an array over _F)."""
    spec = np.fft.rfft(rng.standard_normal(_LOOP)) * shape
    return _unit(np.fft.irfft(spec, _LOOP))


def _band(lo: float, hi: float, order: int = 2) -> np.ndarray:
    """Butterworth-like band magnitude over _F (lo=0: low-pass, hi=None: high-pass)."""
    f = np.maximum(_F, 1e-3)
    g = np.ones_like(f)
    if lo:
        g /= np.sqrt(1 + (lo / f) ** (2 * order))
    if hi:
        g /= np.sqrt(1 + (f / hi) ** (2 * order))
    return g


def _slow(rng, max_hz: float, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """A smooth random periodic modulator in [lo, hi] with components up to max_hz."""
    k = max(1, int(max_hz * _LOOP_S))
    spec = np.zeros(_LOOP // 2 + 1, complex)
    spec[1:k + 1] = (rng.standard_normal(k) + 1j * rng.standard_normal(k)) / np.arange(1, k + 1) ** 0.5
    m = np.fft.irfft(spec, _LOOP)
    m = (m - m.min()) / (m.max() - m.min())
    return lo + (hi - lo) * m


def _tone(f: float, phase: float = 0.0) -> np.ndarray:
    """A sine whose frequency is rounded to a whole number of cycles per loop (seamless)."""
    k = max(1, round(f * _LOOP_S))
    return np.sin(2 * np.pi * k * np.arange(_LOOP) / _LOOP + phase)


def _sprinkle(rng, rate: float, make: Callable[[], np.ndarray]) -> np.ndarray:
    """Poisson-scattered short sounds around the loop (wrapping)."""
    out = np.zeros(_LOOP)
    for pos in rng.integers(0, _LOOP, rng.poisson(rate * _LOOP_S)):
        s = make()
        idx = (pos + np.arange(len(s))) % _LOOP
        out[idx] += s
    return out


def _blip(rng, f_lo, f_hi, tau, amp_lo, amp_hi, rise=1.0):
    m = int(5 * tau * _SR)
    tb = _time(m)
    fb = rng.uniform(f_lo, f_hi) * (1 + rise * tb / max(tb[-1], 1e-9))
    env = (1 - np.exp(-tb / 0.001)) * np.exp(-tb / tau)
    return rng.uniform(amp_lo, amp_hi) * np.sin(_chirp_phase(fb)) * env


def _tick(rng, amp_lo, amp_hi, tau_samples=3.0):
    m = int(8 * tau_samples)
    x = rng.standard_normal(m) * np.exp(-np.arange(m) / tau_samples)
    x -= x.mean()
    return rng.uniform(amp_lo, amp_hi) * x


def _bed_rain(rng):
    hiss = _colored(rng, _band(900, 9000) * (1 + 0.6 * _band(2500, 6000, 1)))
    drops = _sprinkle(rng, 80, lambda: _blip(rng, 2000, 5000, 0.003, 0.05, 0.25, rise=0.5))
    return hiss * _slow(rng, 0.3, 0.85, 1.0) + drops


def _bed_wind(rng):
    low = _colored(rng, _band(150, 500)) * _slow(rng, 0.4, 0.35, 1.0)
    mid = _colored(rng, _band(700, 1400, 3)) * _slow(rng, 0.5, 0.1, 0.7)
    return low + 0.6 * mid


def _bed_sea(rng):
    k = rng.choice([1, 2])                              # swells of 8.2 s or 4.1 s
    ph = rng.uniform(0, 2 * np.pi)
    swell = (0.5 - 0.5 * np.cos(2 * np.pi * k * np.arange(_LOOP) / _LOOP + ph)) ** 2
    swell = 0.7 * swell + 0.3 * _slow(rng, 0.4)
    body = _colored(rng, _band(40, 500)) * (0.45 + 0.55 * swell)
    wash = _colored(rng, _band(1200, 6000)) * (0.2 + 0.8 * swell ** 2)
    return body + 0.4 * wash


def _bed_city(rng):
    rumble = _colored(rng, _band(25, 220, 3)) * _slow(rng, 0.5, 0.6, 1.0)
    traffic = _colored(rng, _band(300, 2000)) * _slow(rng, 0.3, 0.2, 1.0)
    hum_f = rng.choice([50.0, 60.0])
    hum = _tone(hum_f) + 0.5 * _tone(2 * hum_f, 1.0) + 0.25 * _tone(3 * hum_f, 2.0)
    return rumble + 0.35 * traffic + 0.25 * hum


def _bed_river(rng):
    flow = _colored(rng, _band(400, 5000)) * (0.6 + 0.4 * _slow(rng, 20.0))
    bubbles = _sprinkle(rng, 300, lambda: _blip(rng, 600, 2500, 0.004, 0.1, 0.4, rise=1.0))
    return flow + bubbles


def _bed_forge(rng):
    roar = _colored(rng, _band(40, 400, 3)) * _slow(rng, 3.0, 0.7, 1.0)
    hiss = _colored(rng, _band(1000, 3000)) * _slow(rng, 1.0, 0.5, 1.0)
    crack = _filt(_sprinkle(rng, 3, lambda: _tick(rng, 0.2, 0.5)), "highpass", 1500)
    return roar + 0.15 * hiss + crack


def _bed_space(rng):
    drone = np.zeros(_LOOP)
    base = rng.uniform(45, 70)
    for r, a in ((1.0, 1.0), (1.5, 0.6), (2.0, 0.5), (3.0, 0.2)):
        drone += a * (_tone(base * r) + _tone(base * r + 0.25, 1.0))
    hum = _colored(rng, _band(20, 150, 3))
    return _unit(drone) * _slow(rng, 0.3, 0.7, 1.0) + 0.3 * hum


def _bed_crowd(rng):
    out = np.zeros(_LOOP)
    for _ in range(14):                                 # voices: formant noise with syllable rhythm
        f1, f2 = rng.uniform(300, 800), rng.uniform(900, 2500)
        voice = _colored(rng, _band(f1 * 0.7, f1 * 1.3, 2) + 0.5 * _band(f2 * 0.8, f2 * 1.2, 2))
        out += voice * _slow(rng, 4.0) ** 2 * rng.uniform(0.5, 1.0)
    return out


def _bed_jungle(rng):
    cicada_f = rng.uniform(4000, 6000)
    pulse = 0.5 + 0.5 * _tone(rng.uniform(30, 60))
    insects = _colored(rng, _band(cicada_f * 0.95, cicada_f * 1.05, 4)) * pulse * _slow(rng, 0.3, 0.5, 1.0)
    crickets = _tone(rng.uniform(3500, 4500)) * (0.5 + 0.5 * _tone(rng.uniform(2, 4))) ** 4

    def bird():
        m = int(rng.uniform(0.15, 0.3) * _SR)
        tb = _time(m)
        fb = rng.uniform(1800, 3200) * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(8, 14) * tb))
        return rng.uniform(0.2, 0.4) * np.sin(_chirp_phase(fb)) * np.sin(np.pi * tb / tb[-1]) ** 2

    birds = _sprinkle(rng, 0.7, bird)
    leaves = _colored(rng, _band(500, 4000))
    return insects + 0.4 * crickets + birds + 0.3 * leaves


def _bed_fire(rng):
    base = _colored(rng, _band(60, 600, 2)) * _slow(rng, 2.0, 0.6, 1.0)
    crackles = _filt(_sprinkle(rng, 200, lambda: _tick(rng, 0.1, 0.3, 2.0)), "highpass", 1200)
    return base + 0.1 * _unit(crackles)


def _bed_silence(rng):
    return rng.standard_normal(_LOOP)


_BED_MAKERS = {"rain": _bed_rain, "wind": _bed_wind, "sea": _bed_sea, "city": _bed_city,
               "river": _bed_river, "forge": _bed_forge, "space": _bed_space, "crowd": _bed_crowd,
               "jungle": _bed_jungle, "fire": _bed_fire, "silence": _bed_silence}

# music: sustained pad chords (I-V-vi-IV in C), each a seamless loop of _CHORD_LOOP samples
_CHORD_LOOP = 2 * _SR
_CHORDS = ((130.81, 164.81, 196.00, 65.41),   # C
           (98.00, 123.47, 146.83, 49.00),    # G
           (110.00, 130.81, 164.81, 55.00),   # Am
           (87.31, 110.00, 130.81, 43.65))    # F
_XFADE = int(0.3 * _SR)                       # chord cross-fade (slow: no onset on chord changes)


def _chord_loop(freqs) -> np.ndarray:
    n = np.arange(_CHORD_LOOP)
    out = np.zeros(_CHORD_LOOP)
    loop_s = _CHORD_LOOP / _SR
    for j, f in enumerate(freqs):
        amp = 0.7 if j == 3 else 1.0                      # the bass note
        for h in range(1, 7):
            for detune, va in ((0.0, 1.0), (0.5, 0.35)):  # a second, quieter voice detuned: chorus
                k = round((f * h + detune * h) * loop_s)
                phase = 0.7 * j + 1.3 * h + detune
                out += va * amp / h ** 1.5 * np.sin(2 * np.pi * k * n / _CHORD_LOOP + phase)
    return _unit(out)


# ----------------------------------------------------------------------------------------------
# caches
# ----------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
_BANK: dict[str, list[np.ndarray]] = {}
_BED: dict[str, list[np.ndarray]] = {}
_MUSIC: list[np.ndarray] = []
_XF_IN = (np.sin(0.5 * np.pi * (np.arange(_XFADE) + 0.5) / _XFADE) ** 1).astype(np.float32)
_XF_OUT = _XF_IN[::-1].copy()
_PITCHED: OrderedDict = OrderedDict()
_PITCHED_MAX = 1024     # resampled shots kept (~10 MB typical)
_LOWPASSED: dict = {}
_PITCH_STEPS = 24       # pitch is quantised to 1/24 octave (2.9 %) so resampled shots can be cached


def _stable_seed(name: str, salt: int) -> int:
    return (sum((i + 1) * ord(c) for i, c in enumerate(name)) * 1000003 + salt * 7919) & 0x7FFFFFFF


def _bank(kind: str) -> list[np.ndarray]:
    b = _BANK.get(kind)
    if b is None:
        if kind not in _MAKERS:
            raise ValueError(f"unknown sound event kind {kind!r}; expected one of {EVENT_KINDS}")
        with _LOCK:
            b = _BANK.get(kind)
            if b is None:
                rng = np.random.default_rng(_stable_seed(kind, 1))
                b = [_finish(_MAKERS[kind](rng), kind) for _ in range(N_VARIANTS)]
                _BANK[kind] = b
    return b


def _bed(name: str) -> list[np.ndarray]:
    b = _BED.get(name)
    if b is None:
        if name not in _BED_MAKERS:
            raise ValueError(f"unknown ambient bed {name!r}; expected one of {BEDS}")
        with _LOCK:
            b = _BED.get(name)
            if b is None:
                rng = np.random.default_rng(_stable_seed(name, 2))
                b = []
                for _ in range(N_BED_VARIANTS):
                    x = _unit(_BED_MAKERS[name](rng)) * _BED_RMS[name]
                    # store the loop plus a clip's worth of its start, so most reads are one slice
                    b.append(np.concatenate([x, x[:CLIP_SAMPLES]]).astype(np.float32))
                _BED[name] = b
    return b


def _music() -> list[np.ndarray]:
    if not _MUSIC:
        with _LOCK:
            if not _MUSIC:
                loops = [(_chord_loop(c) * _BED_RMS["music"]).astype(np.float32) for c in _CHORDS]
                _MUSIC.extend(np.concatenate([x, x, x]) for x in loops)
    return _MUSIC


def _band_limited(kind: str, variant: int, level: int) -> np.ndarray:
    """The bank sample low-passed below Nyquist / 2**(level/4), for playing up to that rate faster
    without aliasing (linear-phase FIR, delay removed: the attack stays where it was)."""
    key = (kind, variant, level)
    y = _LOWPASSED.get(key)
    if y is None:
        x = _bank(kind)[variant].astype(np.float64)
        taps = signal.firwin(63, 0.95 / 2.0 ** (level / 4))
        y = np.convolve(x, taps)[31:31 + len(x)].astype(np.float32)
        with _LOCK:
            _LOWPASSED[key] = y
    return y


def _shot(kind: str, variant: int, pitch: float) -> np.ndarray:
    """The one-shot sample of (kind, variant) played at `pitch` times the rate (cached)."""
    q = round(float(np.log2(max(pitch, 1e-3))) * _PITCH_STEPS)
    if q == 0:
        return _bank(kind)[variant]
    key = (kind, variant, q)
    y = _PITCHED.get(key)
    if y is not None:
        return y
    rate = 2.0 ** (q / _PITCH_STEPS)
    if rate > 1.0:                    # band-limit before speeding up
        x = _band_limited(kind, variant, min(int(np.ceil(np.log2(rate) * 4 - 1e-9)), 8))
    else:
        x = _bank(kind)[variant]
    pos = np.arange(0.0, len(x) - 1, rate)
    i = pos.astype(np.int64)
    frac = (pos - i).astype(np.float32)
    y = x[i] + frac * (x[i + 1] - x[i])
    y *= np.float32(_PEAK[kind] / max(float(np.abs(y).max()), 1e-9))
    with _LOCK:
        _PITCHED[key] = y
        while len(_PITCHED) > _PITCHED_MAX:
            _PITCHED.popitem(last=False)
    return y


def warm_up() -> None:
    """Build every sample bank and bed loop now (~1 s) instead of on first use."""
    for k in EVENT_KINDS:
        _bank(k)
    for b in BEDS:
        if b == "music":
            _music()
        else:
            _bed(b)


# ----------------------------------------------------------------------------------------------
# mixing
# ----------------------------------------------------------------------------------------------

def _add_loop(out: np.ndarray, loop: np.ndarray, loop_len: int, offset: int, gain: float) -> None:
    """out += gain * loop[offset:offset+len(out)], wrapping around a loop of loop_len samples."""
    n = len(out)
    if offset + n <= len(loop):
        out += gain * loop[offset:offset + n]
        return
    i = 0
    while i < n:
        m = min(n - i, loop_len - offset)
        out[i:i + m] += gain * loop[offset:offset + m]
        i += m
        offset = 0


def _add_music(out: np.ndarray, rng: np.random.Generator, bpm: float, events: Sequence[SoundEvent],
               gain: float) -> None:
    """Pad chords that change on bar lines (slow equal-power cross-fades, so no onsets); the bars
    fall on the clip's first 'beat' event, if any, and on a whole number of beats from it."""
    loops = _music()
    n = len(out)
    beat = 60.0 / min(max(float(bpm), 40.0), 240.0) * _SR
    bar = 4 * beat
    beats = [e.t for e in events if e.kind == "beat"]
    first = (min(beats) * _SR) % beat if beats else 0.0
    first -= int(rng.integers(0, 4)) * beat
    while first > 0:
        first -= bar
    start = first - bar                  # one bar earlier: its fade-out overlaps the clip start
    chord = int(rng.integers(0, len(loops)))
    half = _XFADE // 2
    while start < n + half:
        a = round(start) - half
        b = round(start + bar) + half
        lo, hi = max(a, 0), min(b, n)
        if hi > lo:
            tmp = np.zeros(hi - lo, np.float32)
            _add_loop(tmp, loops[chord], _CHORD_LOOP, int(rng.integers(0, _CHORD_LOOP)), gain)
            f_lo, f_hi = max(a, lo), min(a + _XFADE, hi)          # fade in over [a, a + X)
            if f_hi > f_lo:
                tmp[f_lo - lo:f_hi - lo] *= _XF_IN[f_lo - a:f_hi - a]
            g_lo, g_hi = max(b - _XFADE, lo), min(b, hi)          # fade out over [b - X, b)
            if g_hi > g_lo:
                tmp[g_lo - lo:g_hi - lo] *= _XF_OUT[g_lo - (b - _XFADE):g_hi - (b - _XFADE)]
            out[lo:hi] += tmp
        chord = (chord + 1) % len(loops)
        start += bar


def synthesize(events: Sequence[SoundEvent], beds: Sequence[str], seed: int,
               n_samples: int = CLIP_SAMPLES, music_bpm: float | None = None) -> np.ndarray:
    """Mix the ambient beds and the timed events of one clip.

    events: sounds caused by what is seen, each starting at its `t` (a sound starting before 0 is
    heard from the middle, one running past the end is cut off). beds: ambient loops from BEDS.
    seed: picks variants, level jitter and loop offsets — the output is deterministic for
    (events, beds, seed, n_samples, music_bpm). music_bpm: tempo of the 'music' bed (default 120);
    its chord changes fall on bar lines aligned to the first 'beat' event.

    Returns float32 mono of n_samples in [-0.95, 0.95] (peak-normalised only if the sum exceeds it).
    """
    n = int(n_samples)
    out = np.zeros(n, np.float32)
    rng = np.random.default_rng(seed)
    # several beds together are as loud as one: ambience stays well under the events
    share = 1.0 / np.sqrt(max(1, sum(1 for b in beds if b != "silence")))
    for name in beds:
        g = float(rng.uniform(0.8, 1.2)) * share
        if name == "music":
            _add_music(out, rng, DEFAULT_BPM if music_bpm is None else music_bpm, events, g)
        else:
            loops = _bed(name)
            loop = loops[int(rng.integers(0, len(loops)))]
            _add_loop(out, loop, _LOOP, int(rng.integers(0, _LOOP)), g)
    for ev in events:
        bank = _bank(ev.kind)
        variant = int(rng.integers(0, len(bank)))
        g = float(ev.gain) * float(rng.uniform(0.85, 1.0))
        p = float(ev.pitch) * float(rng.uniform(0.97, 1.03))
        start = round(float(ev.t) * _SR)
        if start >= n or g <= 0.0:
            continue
        shot = _shot(ev.kind, variant, p)
        skip = max(0, -start)
        start = max(0, start)
        m = min(len(shot) - skip, n - start)
        if m > 0:
            out[start:start + m] += g * shot[skip:skip + m]
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 0.95:
        out *= np.float32(0.95 / peak)
        np.clip(out, -0.95, 0.95, out=out)              # float32 rounding
    return out


# ----------------------------------------------------------------------------------------------
# onset detection
# ----------------------------------------------------------------------------------------------

# detector settings (tuned on the world's sounds: every kind found over every bed at gain 1, beds
# alone give ~no onsets; see tests/test_world_audio.py)
_ONSET_GAMMA = 10.0      # log1p(gamma * band magnitude): sounds far below ~0.01 hardly count
_ONSET_THETA = 0.3       # per-band rise (nats) that counts for nothing: a noise bed's wobble
_ONSET_DELTA = 1.0       # absolute flux margin over the running median
_ONSET_REL = 1.5         # x running median (+-0.25 s): busy passages need a bigger jump
_ONSET_MASK = 0.5        # x decaying max of the flux just before: a sound's own wobble is masked
_ONSET_MASK_TAU = 0.06   # s
_ONSET_GAP = 0.08        # s: onsets closer than this merge
_ONSET_WIN_S = 0.064     # analysis window
_ONSET_HOP_S = 0.008     # hop
_ONSET_LAG_S = 0.024     # the rise is measured against the frame this far back
_ONSET_HEAD_EXTRA = 0.4  # nats: the clip's first frames must rise this far above its median level
_ONSET_MIN_HELD = 0.3    # a head frame is measured once this share of its window is in the clip
_ONSET_SHIFT = -0.013    # s: the flux peaks this late after a true onset
_FB_CACHE: dict = {}


def _filterbank(sr: int, n_fft: int, n_bands: int = 30, min_hz: float = 125.0) -> np.ndarray:
    """Triangular bands from 40 Hz to 0.95 Nyquist, log-spaced but at least min_hz apart (wide
    enough to average several bins, so noise beds wobble little; 19 bands at 16 kHz), each
    summing to 1."""
    key = (sr, n_fft, n_bands, min_hz)
    fb = _FB_CACHE.get(key)
    if fb is None:
        f = np.fft.rfftfreq(n_fft, 1 / sr)
        top = 0.95 * sr / 2
        ratio = (top / 40.0) ** (1 / (n_bands + 1))
        edges = [40.0]
        while edges[-1] < top:
            edges.append(max(edges[-1] * ratio, edges[-1] + min_hz))
        fb = np.zeros((len(f), len(edges) - 2), np.float32)
        for b in range(len(edges) - 2):
            lo, c, hi = edges[b], edges[b + 1], edges[b + 2]
            w = np.clip(np.minimum((f - lo) / (c - lo), (hi - f) / (hi - c)), 0, None)
            fb[:, b] = w / w.sum()
        _FB_CACHE[key] = fb
    return fb


def _onset_flux(x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """Per-frame log-band flux and the hop; frame j's window covers samples
    [j*hop - n_fft + 2*hop, j*hop + 2*hop) (64 ms windows every 8 ms at 16 kHz).

    The clip is zero-padded in front (so an event at t=0 is an onset like any other) and the frames
    that overlap the padding are rescaled by the share of window energy they hold, so a bed that
    merely runs from the start keeps its level there; those first frames are measured against the
    clip's median band levels plus a margin, so a bed is no onset at t=0.
    """
    n_fft = 1 << int(np.ceil(np.log2(_ONSET_WIN_S * sr)))
    hop = max(1, round(_ONSET_HOP_S * sr))
    pad = n_fft - 2 * hop
    if len(x) < n_fft:
        return np.zeros(0, np.float32), hop
    n_frames = (len(x) + hop - 1) // hop
    xp = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(2 * hop, np.float32)])
    fade = max(1, hop // 4)                 # soften the cut at t=0: a running tone must not splatter
    ramp = (np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) ** 2).astype(np.float32)
    xp[pad:pad + fade] *= ramp
    win = np.hanning(n_fft).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames]
    mag = np.abs(np.fft.rfft(frames * win, axis=1)).astype(np.float32)
    # the window energy each head frame really holds (the rest fell on the padding)
    n_head = min(n_frames, pad // hop + 1)
    mask = np.concatenate([np.zeros(pad, np.float32), ramp, np.ones(n_fft, np.float32)])
    held = np.array([np.sum((win * mask[j * hop:j * hop + n_fft]) ** 2) for j in range(n_head)])
    held /= np.sum(win ** 2)
    first = int(np.argmax(held >= _ONSET_MIN_HELD))                  # first frame worth measuring
    mag[:n_head] /= np.sqrt(np.maximum(held, 1e-6))[:, None]
    bands = np.log1p(_ONSET_GAMMA * (mag @ _filterbank(sr, n_fft)))
    spread = np.maximum(np.maximum(bands[:, :-2], bands[:, 1:-1]), bands[:, 2:])
    spread = np.pad(spread, ((0, 0), (1, 1)), mode="edge")          # max over +-1 band
    lag = max(1, round(_ONSET_LAG_S * sr / hop))
    ref = np.empty_like(bands)
    ref[lag:] = spread[:-lag]
    body = spread[n_head:] if n_frames > n_head else spread
    ref[:first + lag] = np.median(body, axis=0) + _ONSET_HEAD_EXTRA
    flux = np.maximum(bands - ref - _ONSET_THETA, 0).sum(axis=1)
    flux[:first] = 0.0
    return flux, hop


def onset_times(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Seconds of the onsets in `audio`: a log-band spectral-flux detector with adaptive threshold.

    64 ms frames every 8 ms, 19 log-spaced bands (at 16 kHz); flux is the rise of the log-compressed
    band magnitude over the frame 24 ms back, less a small per-band allowance for noise, with the
    reference max-filtered over neighbouring bands so vibrato and sweeps do not count (SuperFlux).
    A frame is an onset where its flux is a local maximum (+-30 ms), above 1.5x its running median
    (+-0.25 s) plus a margin, and above half the decaying maximum of the flux just before (a sound's
    own wobble does not re-trigger). Onsets closer than 80 ms merge; an event at t=0 counts, a bed
    running from t=0 does not. Stationary beds give (almost) no onsets; the world's event onsets
    come back within ~10 ms (95 %), always within one video frame.
    """
    x = np.asarray(audio, np.float32).ravel()
    sr = int(sample_rate)
    flux, hop = _onset_flux(x, sr)
    n = len(flux)
    if n < 3:
        return np.zeros(0)
    w = max(3, round(0.25 * sr / hop))
    med = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(flux, w, mode="edge"), 2 * w + 1),
                    axis=1)
    k = max(1, round(0.03 * sr / hop))
    local_max = np.lib.stride_tricks.sliding_window_view(np.pad(flux, k), 2 * k + 1).max(axis=1)
    cand = np.nonzero((flux >= local_max) & (flux > _ONSET_REL * med + _ONSET_DELTA))[0]
    decay = float(np.exp(-hop / sr / _ONSET_MASK_TAU))
    reach = int(4 * _ONSET_MASK_TAU * sr / hop)
    times: list[float] = []
    for j in cand:
        lo = max(0, j - reach)
        past = flux[lo:max(lo, j - 1)]                  # not j-1: that is this very rise
        if len(past):
            recent = float(np.max(past * decay ** np.arange(j - lo, j - lo - len(past), -1)))
            if flux[j] <= _ONSET_MASK * recent:
                continue
        tt = max(j * hop / sr + _ONSET_SHIFT, 0.0)
        if times and tt - times[-1] < _ONSET_GAP:
            continue
        times.append(tt)
    return np.asarray(times, np.float64)
