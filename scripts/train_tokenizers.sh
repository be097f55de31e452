#!/usr/bin/env bash
# Reproduce the shipped tokenizers and judge from scratch on one GPU machine (16 CPU cores), each
# with the command on its card: render a pool of world and real clips, then train the video
# tokenizer alone on the GPU (it is the slowest to converge and sharing the GPU cost it most), then its
# decoder alone on the same pool; render a smaller world pool and train the audio tokenizer, then its
# decoder alone; then the world judge alone (it renders its own clips on 12 cores, in three runs: see
# weights/judge/README.md). Each *_stage1 folder is a whole tokenizer; the second stage keeps its tokens.
#   bash scripts/train_tokenizers.sh OUT_DIR [POOL_DIR] [video|audio|judge ...]
# A machine without the Debian packages that hold the real photos and videos takes the training
# split exported by `python -m videopoet.world export-real --out DIR` through VIDEOPOET_REAL_MEDIA=DIR.
set -euo pipefail
py=${PYTHON:-python3}
out=${1:?usage: train_tokenizers.sh OUT_DIR [POOL_DIR] [video|audio|judge ...]}
pool=${2:-/tmp/pool}
shift $(( $# < 2 ? $# : 2 ))
parts=${*:-video audio judge}
mkdir -p "$out"
write() { "$py" -m videopoet.world write --no-structure "$@"; }
if [[ " $parts " == *" video "* ]]; then
  write --out "$pool/square" --n 8000
  write --out "$pool/portrait" --n 4000 --portrait --first-seed 500000000
  write --out "$pool/real_square" --n 1600 --real-fraction 1
  write --out "$pool/real_portrait" --n 1000 --real-fraction 1 --portrait --first-seed 500000000
  data=("$pool/square" "$pool/portrait" "$pool/real_square" "$pool/real_portrait")
  "$py" -m videopoet.training.train_video_tokenizer --out "$out/video_tokenizer_stage1" --minutes 10 --device cuda \
      --data "${data[@]}" > "$out/video_tokenizer_stage1.log" 2>&1
  "$py" -m videopoet.training.train_video_tokenizer --out "$out/video_tokenizer" --init "$out/video_tokenizer_stage1" \
      --decoder-only --minutes 4.5 --lr 1e-3 --device cuda --data "${data[@]}" > "$out/video_tokenizer.log" 2>&1
fi
if [[ " $parts " == *" audio "* ]]; then
  write --out "$pool/audio_square" --n 4000
  write --out "$pool/audio_portrait" --n 2000 --portrait --first-seed 500000000
  "$py" -m videopoet.training.train_audio_tokenizer --out "$out/audio_tokenizer_stage1" --minutes 5 --lr 4e-4 \
      --device cuda --heldout 256 --data "$pool/audio_square" "$pool/audio_portrait" > "$out/audio_tokenizer_stage1.log" 2>&1
  "$py" -m videopoet.training.train_audio_tokenizer --out "$out/audio_tokenizer" --init "$out/audio_tokenizer_stage1" \
      --decoder-only --minutes 4 --lr 1e-3 --device cuda --heldout 256 --data "$pool/audio_square" "$pool/audio_portrait" \
      > "$out/audio_tokenizer.log" 2>&1
fi
if [[ " $parts " == *" judge "* ]]; then
  "$py" -m videopoet.training.train_judge --out "$out/judge_run1" --clips 400000 --minutes 15 --workers 12 \
      --appearance --still-p 0.05 --device cuda > "$out/judge_run1.log" 2>&1
  "$py" -m videopoet.training.train_judge --out "$out/judge_run2" --init "$out/judge_run1" --seed 1 --lr 7e-4 \
      --clips 400000 --minutes 9.5 --workers 12 --still-p 0.05 --device cuda > "$out/judge_run2.log" 2>&1
  "$py" -m videopoet.training.train_judge --out "$out/judge" --init "$out/judge_run2" --seed 2 --lr 7e-4 \
      --clips 400000 --minutes 24 --workers 12 --still-p 0.05 --device cuda > "$out/judge.log" 2>&1
fi
