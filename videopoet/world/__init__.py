"""The procedural audio-visual world the models train on and are judged against.

    from videopoet.world import render, Spec, SEED_SCENES
    sample = render(seed=7, size=(224, 128))            # a random scene, portrait
    sample = render(0, spec=SEED_SCENES["two pandas playing cards"][0])

A Sample holds video (17×H×W×3 uint8, 8 fps), audio (34,000 float32 samples at 16 kHz), depth,
exact optical flow, a caption and the labels the caption speaks of.
"""

from videopoet.world.camera import estimate_camera
from videopoet.world.captions import parse_caption
from videopoet.world.render import SIZES, Sample, render
from videopoet.world.scene import SEED_SCENES, Spec, random_spec

__all__ = ["SEED_SCENES", "SIZES", "Sample", "Spec", "estimate_camera", "parse_caption", "random_spec", "render"]
