"""The world's sound: events start where they are seen, beds stay in the background, and it is fast."""

import dataclasses
import itertools
import time

import numpy as np
import pytest

from videopoet.world.audio import (
    BEDS,
    CLIP_SAMPLES,
    EVENT_KINDS,
    SAMPLE_RATE,
    SoundEvent,
    onset_times,
    synthesize,
    warm_up,
)

TOL = 0.0625          # half a video frame at 8 fps
CLIP_S = CLIP_SAMPLES / SAMPLE_RATE


@pytest.fixture(scope="module", autouse=True)
def _caches():
    warm_up()


def _found(onsets: np.ndarray, t: float) -> bool:
    return bool(np.any(np.abs(onsets - t) <= TOL))


def _spurious(onsets: np.ndarray, times) -> int:
    times = np.asarray(times, float)
    return sum(1 for o in onsets if not np.any(np.abs(times - o) <= TOL))


def _centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float((power * np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)).sum() / power.sum())


def _periodicity(x: np.ndarray) -> tuple[float, float]:
    """Highest normalised autocorrelation for a pitch of 60-400 Hz, and that pitch."""
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    ac = ac / (ac[0] * (len(x) - np.arange(len(x))) / len(x))          # unbiased
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    lag = lo + int(np.argmax(ac[lo:hi]))
    return float(ac[lag]), SAMPLE_RATE / lag


def test_api():
    assert SAMPLE_RATE == 16000 and CLIP_SAMPLES == 34000
    assert len(EVENT_KINDS) == 14 and len(BEDS) == 12 and "silence" in BEDS
    ev = SoundEvent("hoof", 0.5)
    assert (ev.gain, ev.pitch) == (1.0, 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.t = 1.0  # type: ignore[misc]


def test_deterministic_well_formed_and_seeded():
    events = [SoundEvent("footstep", 0.3), SoundEvent("boom", 1.0, 0.8), SoundEvent("chime", 1.5, 0.6, 1.2)]
    a = synthesize(events, ["rain", "city"], 7)
    assert a.dtype == np.float32 and a.shape == (CLIP_SAMPLES,)
    assert np.all(np.isfinite(a)) and np.abs(a).max() <= 0.95
    np.testing.assert_array_equal(a, synthesize(events, ["rain", "city"], 7))
    assert not np.array_equal(a, synthesize(events, ["rain", "city"], 8))
    assert not np.array_equal(synthesize([], ["rain"], 1), synthesize([], ["rain"], 2))
    long = synthesize(events, ["rain", "music"], 7, n_samples=200_000, music_bpm=100)   # wraps every loop
    assert long.shape == (200_000,) and np.sqrt(np.mean(long[150_000:] ** 2)) > 0.005
    assert not synthesize([], [], 0).any()
    assert synthesize(events, ["rain"], 0, n_samples=0).shape == (0,)


def test_pile_up_does_not_clip_and_edges_are_cut():
    pile = [SoundEvent(k, 0.5) for k in ("boom", "thunder", "impact", "beat", "roar")] * 4
    y = synthesize(pile, ["sea", "fire"], 3)
    assert 0.5 < np.abs(y).max() <= 0.95
    base = synthesize([SoundEvent("footstep", 1.0)], ["wind"], 4)
    late = synthesize([SoundEvent("footstep", 1.0), SoundEvent("thunder", 2.5)], ["wind"], 4)
    np.testing.assert_array_equal(base, late)                      # starts after the clip: unheard
    early = synthesize([SoundEvent("thunder", -0.3)], ["silence"], 4)  # began before: its tail is heard
    assert np.abs(early[:1600]).max() > 0.05
    tail = synthesize([SoundEvent("thunder", 2.0)], ["silence"], 4)  # runs past the end: cut off
    assert np.abs(tail[-500:]).max() > 0.01


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="meow"):
        synthesize([SoundEvent("meow", 0.5)], [], 0)
    with pytest.raises(ValueError, match="lava"):
        synthesize([], ["lava"], 0)


@pytest.mark.parametrize("pitch", [0.7, 1.0, 1.4])
def test_attack_is_sharp_and_nothing_comes_early(pitch):
    start = int(0.5 * SAMPLE_RATE)
    for seed, kind in enumerate(EVENT_KINDS):
        y = synthesize([SoundEvent(kind, 0.5, 1.0, pitch)], ["silence"], seed)
        assert np.abs(y[:start]).max() < 2e-3, kind                    # only the noise floor before
        first_5ms = np.abs(y[start:start + 80]).max()
        first_100ms = np.abs(y[start:start + 1600]).max()
        assert first_5ms >= 0.3 * first_100ms, (kind, pitch)
        assert 0.3 < first_100ms <= 0.95, (kind, pitch)


def test_pitch_changes_rate():
    low = synthesize([SoundEvent("roar", 0.1, 1.0, 0.7)], ["silence"], 5)
    high = synthesize([SoundEvent("roar", 0.1, 1.0, 1.4)], ["silence"], 5)

    def length(y):
        return np.nonzero(np.abs(y) > 0.01)[0][-1] / SAMPLE_RATE

    assert length(high) < 0.75 * length(low)
    f_low = _periodicity(low[int(0.3 * SAMPLE_RATE):int(0.4 * SAMPLE_RATE)])[1]
    f_high = _periodicity(high[int(0.25 * SAMPLE_RATE):int(0.35 * SAMPLE_RATE)])[1]
    assert f_high > 1.5 * f_low


@pytest.mark.parametrize("bed", ["silence", "rain", "city", "music"])
def test_every_event_onset_is_found_over_a_bed(bed):
    for i, kind in enumerate(EVENT_KINDS):
        for seed in (i, 50 + i):
            t = 0.15 + (0.61 * seed) % 1.7
            y = synthesize([SoundEvent(kind, t)], [bed], seed, music_bpm=110)
            on = onset_times(y)
            assert _found(on, t), (kind, bed, seed, t, on)
            assert _spurious(on, [t]) <= int(CLIP_S), (kind, bed, seed, t, on)   # <= 1 per second


@pytest.mark.parametrize("kind", ["footstep", "beat", "boom", "chime", "impact"])
def test_event_at_clip_start_is_found(kind):
    for seed, bed in enumerate(["silence", "rain", "city"]):
        on = onset_times(synthesize([SoundEvent(kind, 0.0)], [bed], seed))
        assert _found(on, 0.0), (kind, bed, on)


@pytest.mark.parametrize("beds", [["silence"], ["rain"], ["city", "crowd"], ["sea", "wind"]])
def test_footstep_sequence_is_recovered(beds):
    times = [0.25, 0.75, 1.25, 1.75]
    for seed in range(4):
        on = onset_times(synthesize([SoundEvent("footstep", t, 0.8) for t in times], beds, seed))
        assert all(_found(on, t) for t in times), (beds, seed, on)
        assert _spurious(on, times) <= 1, (beds, seed, on)


@pytest.mark.parametrize("beds", [["silence"], ["wind"], ["space"], ["rain", "sea"]])
def test_three_fireworks_are_recovered(beds):
    times = [0.2, 0.85, 1.5]
    for seed in range(4):
        on = onset_times(synthesize([SoundEvent("boom", t, 0.85) for t in times], beds, seed))
        assert all(_found(on, t) for t in times), (beds, seed, on)
        assert _spurious(on, times) <= 1, (beds, seed, on)


def test_gallop_and_dance_rhythms_are_recovered():
    hooves = [0.1 + 0.3 * k for k in range(7)]
    beats = [0.05 + 60 / 128 * k for k in range(5)]
    for seed in range(3):
        on = onset_times(synthesize([SoundEvent("hoof", t, 0.8, 0.75) for t in hooves], ["wind"], seed))
        assert all(_found(on, t) for t in hooves) and _spurious(on, hooves) <= 1, on
        y = synthesize([SoundEvent("beat", t, 0.9) for t in beats], ["music", "city"], seed, music_bpm=128)
        on = onset_times(y)
        assert all(_found(on, t) for t in beats) and _spurious(on, beats) <= 1, on


@pytest.mark.parametrize("bed", BEDS)
def test_beds_are_quiet_continuous_and_raise_no_onsets(bed):
    n_onsets = 0
    for seed in range(4):
        y = synthesize([], [bed], 1000 + seed, music_bpm=90 + 20 * seed)
        n_onsets += len(onset_times(y))
        rms = float(np.sqrt(np.mean(y ** 2)))
        if bed == "silence":
            assert rms < 1e-3
        else:
            assert 0.01 < rms <= 0.12, (bed, rms)
            assert np.abs(y).max() < 0.5
            quarters = np.sqrt(np.mean(y[:CLIP_SAMPLES // 4 * 4].reshape(4, -1) ** 2, axis=1))
            assert quarters.min() > 0.2 * quarters.max(), (bed, quarters)   # continuous, no gaps
    assert n_onsets <= 2, (bed, n_onsets)


def test_kinds_sound_different():
    def mean_centroid(kind):
        return np.mean([_centroid(synthesize([SoundEvent(kind, 0.05)], ["silence"], s)) for s in range(4)])

    low = max(mean_centroid("thunder"), mean_centroid("boom"))
    high = min(mean_centroid("splash"), mean_centroid("chime"))
    assert 3 * low < high, (low, high)

    def strength(kind, seed):
        y = synthesize([SoundEvent(kind, 0.05)], ["silence"], seed)
        return _periodicity(y[int(0.3 * SAMPLE_RATE):int(0.4 * SAMPLE_RATE)])

    roar = [strength("roar", s) for s in range(4)]
    assert all(a > 0.5 and 60 < f0 < 250 for a, f0 in roar), roar
    noisy = [strength(k, s)[0] for k in ("thunder", "splash", "swish", "whoosh") for s in range(2)]
    assert min(a for a, _ in roar) > max(noisy) + 0.15, (roar, noisy)

    # a nearest-centroid classifier on coarse spectra and envelopes tells all 14 kinds apart
    edges = np.geomspace(50, 7900, 17)

    def features(kind, seed):
        y = synthesize([SoundEvent(kind, 0.05)], ["silence"], seed)[800:800 + 24000].astype(np.float64)
        f = np.fft.rfftfreq(len(y), 1 / SAMPLE_RATE)
        p = np.abs(np.fft.rfft(y)) ** 2
        spec = [np.log(p[(f >= a) & (f < b)].sum() + 1e-9) for a, b in itertools.pairwise(edges)]
        spec = np.array(spec) - np.max(spec)
        env = [np.log(np.mean(y[a:b] ** 2) + 1e-9) for a, b in itertools.pairwise((0, 800, 3200, 9600, 24000))]
        return np.concatenate([spec, np.array(env) - env[0]])

    train = {k: np.mean([features(k, s) for s in range(3)], axis=0) for k in EVENT_KINDS}
    correct = 0
    for k in EVENT_KINDS:
        for s in (10, 11):
            v = features(k, s)
            guess = min(train, key=lambda c: np.sum((train[c] - v) ** 2))
            correct += guess == k
    assert correct >= 0.9 * 2 * len(EVENT_KINDS), correct


def test_music_bed_follows_bpm_softly():
    slow = synthesize([], ["music"], 3, music_bpm=70)
    fast = synthesize([], ["music"], 3, music_bpm=170)
    assert not np.array_equal(slow, fast)
    assert len(onset_times(slow)) == 0 and len(onset_times(fast)) == 0


def test_onset_times_on_degenerate_input():
    assert onset_times(np.zeros(100, np.float32)).shape == (0,)
    assert onset_times(np.zeros(CLIP_SAMPLES, np.float32)).shape == (0,)
    click = np.zeros(CLIP_SAMPLES, np.float32)
    click[16000:16040] = 0.8
    on = onset_times(click)
    assert len(on) == 1 and abs(on[0] - 1.0) <= TOL


def test_synthesis_is_fast():
    rng = np.random.default_rng(0)
    calls = []
    for i in range(20):
        events = [SoundEvent(EVENT_KINDS[int(rng.integers(len(EVENT_KINDS)))], float(rng.uniform(0, 2)),
                             float(rng.uniform(0.5, 1.0)), float(rng.choice([0.75, 1.0, 1.25])))
                  for _ in range(6)]
        calls.append((events, [str(b) for b in rng.choice(BEDS, 2, replace=False)], i))
    for events, beds, seed in calls:                       # first use fills the per-pitch caches
        synthesize(events, beds, seed, music_bpm=120)
    times = []
    for events, beds, seed in calls:
        t0 = time.perf_counter()
        synthesize(events, beds, seed + 1, music_bpm=120)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.010, np.median(times)
