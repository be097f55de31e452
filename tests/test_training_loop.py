"""The training loop's shared pieces: the device replay ring and the rendered-sample feed."""

from __future__ import annotations

from multiprocessing.pool import ThreadPool

import numpy as np
import torch

from videopoet.training.loop import DeviceReplay, RenderFeed


def test_device_replay_serves_fresh_samples_first_then_replays_and_wraps():
    ring = DeviceReplay({"x": ((2,), torch.int64), "y": ((), torch.float16)}, capacity=4, device=torch.device("cpu"))
    ring.add({"x": np.array([[0, 0], [1, 1], [2, 2]]), "y": np.array([0, 1, 2], np.float16)})
    g = torch.Generator().manual_seed(0)
    first = ring.batch(2, g)
    assert first["x"][:, 0].tolist() == [0, 1] and first["y"].tolist() == [0, 1]
    ring.add({"x": np.array([[3, 3], [4, 4]]), "y": np.array([3, 4], np.float16)})  # 4 overwrites 0
    second = ring.batch(5, g)
    assert second["x"][:3, 0].tolist() == [2, 3, 4]  # the unseen ones, oldest first
    assert set(second["x"][3:, 0].tolist()) <= {1, 2, 3, 4} and ring.unseen == 0 and ring.filled == 4
    assert torch.equal(second["x"][:, 0], second["x"][:, 1]) and torch.equal(second["x"][:, 0].half(), second["y"])


def test_render_feed_files_samples_by_shape_and_reports_failed_seeds(capsys):
    jobs = [(4, (2, 3)), (3, (5, 1)), (2, (2, 3))]

    def make(arg):
        n, shape = arg
        return np.ones((n, *shape), np.uint8), [(99, "ValueError: bad scene")] if n == 3 else []

    def next_job():
        return (make, jobs.pop(0)) if jobs else None

    with ThreadPool(2) as pool:
        feed = RenderFeed(pool, torch.device("cpu"), 16, next_job, lambda r: ({"v": r[0]}, r[1]),
                          inflight=2, backlog=100)
        feed.top_up()
        while not feed.finished():
            feed.collect(timeout=0.05)
        feed.collect()
    assert feed.samples == 9 and feed.failures.failed == [(99, "ValueError: bad scene")]
    assert {k: b.filled for k, b in feed.buffers.items()} == {((2, 3),): 6, ((5, 1),): 3}
    assert feed.ready(5) == [((2, 3),), ((5, 1),)]  # once nothing more comes, any sample will do
    g = torch.Generator().manual_seed(0)
    shapes = [tuple(feed.take(2, g)["v"].shape[1:]) for _ in range(2)]  # the shapes take turns
    assert sorted(shapes) == [(2, 3), (5, 1)]
    assert "world seed 99 failed to render" in capsys.readouterr().err
