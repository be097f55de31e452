"""Training scripts, one per model, each runnable as `python -m videopoet.training.<name>`.

train_judge              the world judge (videopoet.eval.judge), on clips rendered while it trains
train_video_tokenizer    the video tokenizer, on a pre-rendered pool of world and real clips
train_audio_tokenizer    the audio tokenizer, on the sound of a pre-rendered pool
data                     reading pre-rendered pools (held-out seeds are dropped on load)
loop                     learning-rate schedule, resumable checkpoints, continuing a saved model,
                         failures that stop a run

scripts/train_tokenizers.sh renders the pools and runs the tokenizer and judge trainings on one GPU
machine.
"""
