"""python -m videopoet.world COMMAND — build the atlas, look at the world, render datasets.

    build-atlas              render the emoji sprites into the cache
    stats [--json]           what the world can show, and whether every seed scene renders
    bench [--n N] [--json]   clips per second on every core
    gallery --out DIR        a contact sheet PNG and a few mp4s with sound
    render -o clip.mp4       one clip (--seed, --scene NAME, --portrait)
    write --out DIR --n N    a sharded dataset using every core
    data-card                rewrite videopoet/world/DATA_CARD.md
    fit-camera               refit the pixels-to-camera-move classifier
    camera-accuracy          how often the camera move is recovered from pixels alone
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from videopoet.errors import VideoPoetError


def _size(portrait: bool) -> tuple[int, int]:
    return (224, 128) if portrait else (128, 128)


def cmd_build_atlas(args) -> None:
    from videopoet.world.atlas import build_atlas, load_atlas

    path = build_atlas()
    load_atlas.cache_clear()
    print(f"{path} ({len(load_atlas().subjects())} subjects)")


def stats() -> dict:
    from videopoet.world.atlas import load_atlas
    from videopoet.world.render import render
    from videopoet.world.scene import SEED_SCENES
    from videopoet.world.styles import STYLES
    from videopoet.world.vocab import ACTIONS, BACKGROUNDS, CAMERAS, EFFECTS

    def renders(specs) -> bool:
        try:
            return all(render(i, (128, 128), spec).video.shape == (17, 128, 128, 3) for i, spec in enumerate(specs))
        except Exception:  # a scene that fails to render is reported as false, which is the point
            return False

    return {
        "subjects": len(load_atlas().subjects()),
        "backgrounds": len(BACKGROUNDS),
        "actions": len(ACTIONS),
        "cameras": len(CAMERAS),
        "effects": len(EFFECTS),
        "styles": len([s for s in STYLES if s != "none"]),
        "seed_scenes": {name: renders(specs) for name, specs in SEED_SCENES.items()},
    }


def cmd_stats(args) -> None:
    result = stats()
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if key == "seed_scenes":
            for name, ok in value.items():
                print(f"  {'ok ' if ok else 'FAIL'} {name}")
        else:
            print(f"{key:12s} {value}")


def cmd_bench(args) -> None:
    from videopoet.world.dataset import bench

    result = bench(args.n, _size(args.portrait), args.workers)
    print(json.dumps(result) if args.json else f"{result['clips_per_s']} clips/s on {result['workers']} workers")


def cmd_render(args) -> None:
    from videopoet.media import write_video
    from videopoet.world.render import render
    from videopoet.world.scene import SEED_SCENES

    spec = None
    if args.scene:
        if args.scene not in SEED_SCENES:
            raise VideoPoetError(f"no seed scene {args.scene!r}; known: {sorted(SEED_SCENES)}")
        spec = SEED_SCENES[args.scene][0]
    sample = render(args.seed, _size(args.portrait), spec)
    write_video(args.output, sample.video, audio=sample.audio)
    print(f"{args.output}: {sample.caption}")


def cmd_gallery(args) -> None:
    from tqdm import tqdm

    from videopoet.media import write_video
    from videopoet.world.render import render
    from videopoet.world.scene import SEED_SCENES
    from videopoet.world.real import render_real

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, spec, (224, 128) if i % 3 == 0 else (128, 128)) for name, specs in SEED_SCENES.items()
            for i, spec in enumerate(specs[:1])]
    jobs += [(f"random {s}", None, (128, 128)) for s in range(args.random)]
    rows = []
    for i, (name, spec, size) in enumerate(tqdm(jobs, desc="gallery")):
        seed = 1000 + i
        sample = render(seed, size, spec)
        rows.append((sample.caption, sample.video))
        if i < args.videos:
            write_video(out / f"{i:02d}_{_slug(name)}.mp4", sample.video, audio=sample.audio)
    for j in range(2):
        sample = render_real(j * 7 + 1)
        rows.append((sample.caption, sample.video))
    sheet = contact_sheet(rows)
    import cv2

    cv2.imwrite(str(out / "contact_sheet.png"), sheet[..., ::-1])
    print(f"{out / 'contact_sheet.png'} and {min(args.videos, len(jobs))} mp4s in {out}")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")[:40]


def contact_sheet(rows: list[tuple[str, np.ndarray]], frames=(0, 4, 8, 12, 16), cell: int = 128) -> np.ndarray:
    """One row per clip: a few frames, each scaled to `cell` px high, and the caption beneath."""
    import cv2

    text_h = 30
    pictures = []
    for caption, video in rows:
        h, w = video.shape[1:3]
        scale = cell / h
        strip = np.concatenate([cv2.resize(video[f], (int(w * scale), cell), interpolation=cv2.INTER_AREA)
                                for f in frames], axis=1)
        pictures.append((caption, strip))
    width = max(p.shape[1] for _, p in pictures)
    sheet = np.full((len(pictures) * (cell + text_h), width, 3), 255, np.uint8)
    for i, (caption, strip) in enumerate(pictures):
        y = i * (cell + text_h)
        sheet[y:y + cell, :strip.shape[1]] = strip
        for k, line in enumerate([caption[:95], caption[95:190]]):
            cv2.putText(sheet, line, (4, y + cell + 12 + 12 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 1,
                        cv2.LINE_AA)
    return sheet


def cmd_write(args) -> None:
    from videopoet.world.dataset import write_dataset

    out = write_dataset(args.out, args.n, _size(args.portrait), args.shard_size, args.first_seed,
                        args.real_fraction, args.workers, structure=not args.no_structure)
    print(f"{args.n} clips in {out}")


def cmd_export_real(args) -> None:
    from videopoet.world.real import export_media

    out = export_media(args.out, include_held_out=args.include_held_out)
    split = "training and held-out splits" if args.include_held_out else "training split"
    print(f"{split} of the real media in {out} (use it with VIDEOPOET_REAL_MEDIA={out})")


def cmd_data_card(args) -> None:
    from videopoet.world.real import write_data_card

    print(write_data_card())


def _camera_features(seeds, sizes) -> tuple[np.ndarray, list[str]]:
    from multiprocessing import get_context

    jobs = [(s, sizes[s % len(sizes)]) for s in seeds]
    with get_context("fork").Pool() as pool:
        rows = pool.map(_features_of, jobs, chunksize=8)
    return np.stack([r[0] for r in rows]), [r[1] for r in rows]


def _features_of(job):
    import cv2

    from videopoet.world.camera import flow_features
    from videopoet.world.render import render

    cv2.setNumThreads(1)
    sample = render(*job)
    return flow_features(sample.video), sample.labels["camera"]


def cmd_fit_camera(args) -> None:
    from videopoet.world.camera import CLASSIFIER_PATH, fit_camera_classifier

    seeds = range(2_000_000, 2_000_000 + args.n)
    x, y = _camera_features(seeds, [(128, 128), (224, 128)])
    model = fit_camera_classifier(x, y)
    CLASSIFIER_PATH.write_text(json.dumps(model))
    print(f"fitted on {len(y)} clips, train accuracy {model['train_accuracy']:.3f} -> {CLASSIFIER_PATH}")


def camera_accuracy(n: int, first_seed: int = 0) -> dict:
    from videopoet.world.camera import _classifier, _logits

    x, y = _camera_features(range(first_seed, first_seed + n), [(128, 128), (224, 128)])
    clf = _classifier()
    predicted = [clf["labels"][i] for i in _logits(clf, x).argmax(1)]
    correct = [p == t for p, t in zip(predicted, y)]
    per_move: dict[str, list[bool]] = {}
    for t, c in zip(y, correct):
        per_move.setdefault(t, []).append(c)
    return {"accuracy": round(float(np.mean(correct)), 4), "n": n,
            "per_move": {k: round(float(np.mean(v)), 3) for k, v in sorted(per_move.items())},
            "confusions": sorted({f"{t}->{p}" for t, p in zip(y, predicted) if t != p})}


def cmd_camera_accuracy(args) -> None:
    result = camera_accuracy(args.n)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videopoet.world", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build-atlas").set_defaults(func=cmd_build_atlas)
    p = sub.add_parser("stats")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("bench")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--workers", type=int)
    p.add_argument("--portrait", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("render")
    p.add_argument("-o", "--output", default="clip.mp4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scene", help="a seed scene's name (see `stats`)")
    p.add_argument("--portrait", action="store_true")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("gallery")
    p.add_argument("--out", required=True)
    p.add_argument("--random", type=int, default=6, help="random scenes after the seed scenes")
    p.add_argument("--videos", type=int, default=6, help="how many of the clips to write as mp4")
    p.set_defaults(func=cmd_gallery)
    p = sub.add_parser("write")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--shard-size", type=int, default=256)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--real-fraction", type=float, default=0.0)
    p.add_argument("--workers", type=int)
    p.add_argument("--portrait", action="store_true")
    p.add_argument("--no-structure", action="store_true", help="leave out depth and flow (tokenizer data)")
    p.set_defaults(func=cmd_write)
    sub.add_parser("data-card").set_defaults(func=cmd_data_card)
    p = sub.add_parser("export-real", help="copy the real photos/videos of the training split for a GPU machine")
    p.add_argument("--out", required=True)
    p.add_argument("--include-held-out", action="store_true",
                   help="add the held-out files, for a machine that runs the benchmark (training never reads them)")
    p.set_defaults(func=cmd_export_real)
    p = sub.add_parser("fit-camera")
    p.add_argument("--n", type=int, default=1200)
    p.set_defaults(func=cmd_fit_camera)
    p = sub.add_parser("camera-accuracy")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_camera_accuracy)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except VideoPoetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
