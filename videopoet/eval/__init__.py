"""Evaluation harness: automatic metrics (and, alongside, the world judge and the benchmark).

    from videopoet.eval import psnr, ssim, motion_amount, camera_accuracy, frechet_distance
"""

from videopoet.eval.metrics import (
    camera_accuracy,
    camera_direction,
    feature_stats,
    first_frame_repeated,
    flow_correlation,
    frechet_distance,
    frechet_distance_from_stats,
    is_static,
    log_mel_l1,
    median_onset_offset_ms,
    motion_amount,
    onset_f1,
    onset_offsets,
    optical_flow,
    psnr,
    ssim,
    temporal_consistency,
)

__all__ = [
    "camera_accuracy", "camera_direction", "feature_stats", "first_frame_repeated", "flow_correlation",
    "frechet_distance", "frechet_distance_from_stats", "is_static", "log_mel_l1", "median_onset_offset_ms",
    "motion_amount", "onset_f1", "onset_offsets", "optical_flow", "psnr", "ssim", "temporal_consistency",
]
