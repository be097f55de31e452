"""Training scripts, one per model, each runnable as `python -m videopoet.training.<name>`.

    python -m videopoet.training.train_judge --out weights/judge --clips 200000 --minutes 6.5 --device cuda

train_judge: the world judge (videopoet.eval.judge). Renders world clips on every core while it
trains, then scores held-out clips (seeds >= 10**9) and writes the checkpoint and its model card.
"""
