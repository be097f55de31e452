#!/usr/bin/env bash
# Reproduce the shipped language model from scratch on one GPU machine, given the shipped tokenizers:
# render a world pool with depth and flow (20% real photos and video crops), tokenize it, train.
#   bash scripts/train_lm.sh OUT_DIR [POOL_DIR]
# SQUARE, PORTRAIT (clips) and MINUTES (training wall time) override the defaults below.
# A machine without the Debian packages that hold the real photos and videos takes the training
# split exported by `python -m videopoet.world export-real --out DIR` through VIDEOPOET_REAL_MEDIA=DIR.
set -euo pipefail
py=${PYTHON:-python3}
out=${1:?usage: train_lm.sh OUT_DIR [POOL_DIR]}
pool=${2:-/tmp/lm_pool}
square=${SQUARE:-12000}
portrait=${PORTRAIT:-6000}
minutes=${MINUTES:-17}
"$py" -m videopoet.world write --out "$pool/square" --n "$square" --real-fraction 0.2
"$py" -m videopoet.world write --out "$pool/portrait" --n "$portrait" --real-fraction 0.2 --portrait --first-seed 500000000
"$py" -m videopoet.training.pretokenize --data "$pool/square" "$pool/portrait" --out "$pool/tokens" --weights weights --device cuda
"$py" -m videopoet.training.train_lm --tokens "$pool/tokens" --out "$out" --minutes "$minutes" --device cuda
