"""Speed and memory of the metric fast path vs the literal AVSBench reference, at S4-Robust test size.

S4-Robust test: 740 videos x 5 frames x 4 conditions at 224 x 224, random logits and masks (every 7th frame
without object). The fast path (`RobustAVSEvaluator`, protocol "legacy" with 1 video per batch, the robust test
scripts' setting) runs on all 14,800 frames. The literal reference (`tests/avsbench_reference_metrics.py`: loops
over frames and the 255 thresholds) is too slow for the full set, so it runs on the first `--reference-videos`
videos of every condition and its time is extrapolated linearly (stated in the output); both paths are compared
on that subset. Each path runs in its own process so that its peak memory (max RSS growth over the process'
state after imports and data preparation) is its own. Only metric calls are timed, not data generation.

    python benchmarks/metric_speed.py [--videos 740] [--reference-videos 8] [--videos-per-update 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = ("positive", "silence", "noise", "offscreen")
FRAMES_PER_VIDEO = 5
SIZE = 224


def video_frames(condition_index: int, video: int, num_videos: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic logits and masks `[num_videos * 5, 224, 224]` of consecutive videos of one condition."""
    logits, masks = [], []
    for index in range(video, video + num_videos):
        mask_generator = torch.Generator().manual_seed(index)  # the same masks in every condition
        mask = torch.rand(FRAMES_PER_VIDEO, SIZE, SIZE, generator=mask_generator) > 0.7
        if index % 7 == 0:
            mask[0] = False
        generator = torch.Generator().manual_seed(1_000_003 * (condition_index + 1) + index)
        logits.append(
            torch.randn(FRAMES_PER_VIDEO, SIZE, SIZE, generator=generator) * 2 + mask * (2 - condition_index)
        )
        masks.append(mask)
    return torch.cat(logits), torch.cat(masks)


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run_fast(num_videos: int, videos_per_update: int, device: str) -> dict:
    from modeling_avs.metrics import RobustAVSEvaluator

    evaluator = RobustAVSEvaluator(protocol="legacy", legacy_batch_videos=1)
    video_frames(0, 0, videos_per_update)  # warm-up allocation of one chunk before the memory baseline
    baseline, elapsed, cpu = max_rss_bytes(), 0.0, 0.0
    for condition_index, condition in enumerate(CONDITIONS):
        for video in range(0, num_videos, videos_per_update):
            count = min(videos_per_update, num_videos - video)
            logits, masks = video_frames(condition_index, video, count)
            logits, masks = logits.to(device), masks.to(device)
            ids = [str(index) for index in range(video, video + count) for _ in range(FRAMES_PER_VIDEO)]
            start, start_cpu = time.perf_counter(), time.process_time()
            evaluator.update(logits, masks, condition, ids)
            if device != "cpu":
                torch.cuda.synchronize()
            elapsed, cpu = elapsed + time.perf_counter() - start, cpu + time.process_time() - start_cpu
    start, start_cpu = time.perf_counter(), time.process_time()
    results = evaluator.compute()
    elapsed, cpu = elapsed + time.perf_counter() - start, cpu + time.process_time() - start_cpu
    peak = max_rss_bytes() - baseline
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "frames": evaluator.num_frames,
        "peak_bytes": peak,
        "state_bytes": evaluator.memory_bytes,
        **results,
    }


def run_reference(num_videos: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from avsbench_reference_metrics import g_metric, legacy_condition_scores

    video_frames(0, 0)
    baseline, elapsed, cpu, conditions = max_rss_bytes(), 0.0, 0.0, {}
    for condition_index, condition in enumerate(CONDITIONS):
        scores = []
        for video in range(num_videos):
            logits, masks = video_frames(condition_index, video)
            start, start_cpu = time.perf_counter(), time.process_time()
            scores.append(legacy_condition_scores([(torch.sigmoid(logits), masks)]))  # one video per batch
            elapsed, cpu = elapsed + time.perf_counter() - start, cpu + time.process_time() - start_cpu
        conditions[condition] = {key: sum(s[key] for s in scores) / len(scores) for key in scores[0]}
    negatives = [conditions[name] for name in CONDITIONS[1:]]
    summary = {
        "g_miou": g_metric(conditions["positive"]["miou"], [s["miou"] for s in negatives]),
        "g_f": g_metric(conditions["positive"]["fscore"], [s["fscore"] for s in negatives]),
        "g_fpr": sum(s["fpr"] for s in negatives) / len(negatives),  # the mean of the negative conditions
    }
    frames = num_videos * FRAMES_PER_VIDEO * len(CONDITIONS)
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "frames": frames,
        "peak_bytes": max_rss_bytes() - baseline,
        "conditions": conditions,
        "global": summary,
    }


def in_subprocess(arguments: list[str]) -> dict:
    """Run one worker with this checkout's `modeling_avs` first on the path; return its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, cwd=ROOT, env=env)
    if process.returncode:
        raise RuntimeError(f"worker {arguments} failed:\n{process.stderr}")
    return json.loads(process.stdout.splitlines()[-1])


def largest_difference(fast: dict, reference: dict) -> float:
    differences = [abs(fast["global"][key] - value) for key, value in reference["global"].items()]
    for name, scores in reference["conditions"].items():
        differences += [abs(fast["conditions"][name][key] - value) for key, value in scores.items()]
    return max(differences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=740, help="videos per condition (S4 test: 740)")
    parser.add_argument("--reference-videos", type=int, default=8, help="videos per condition for the reference")
    parser.add_argument("--videos-per-update", type=int, default=4, help="videos per evaluator.update call")
    parser.add_argument("--device", default="cpu", help="device of the fast path")
    parser.add_argument("--worker", choices=("fast", "reference"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "fast":
        print(json.dumps(run_fast(args.videos, args.videos_per_update, args.device)))
        return
    if args.worker == "reference":
        print(json.dumps(run_reference(args.videos)))
        return

    common = ["--videos-per-update", str(args.videos_per_update), "--device", args.device]
    fast = in_subprocess(["--worker", "fast", "--videos", str(args.videos), *common])
    fast_subset = in_subprocess(["--worker", "fast", "--videos", str(args.reference_videos), *common])
    reference = in_subprocess(["--worker", "reference", "--videos", str(args.reference_videos)])
    scale = fast["frames"] / reference["frames"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fast path on {args.device}")
    print(
        f"frames: {fast['frames']} ({args.videos} videos x {FRAMES_PER_VIDEO} frames x {len(CONDITIONS)} conditions)"
    )
    print(
        f"fast path (legacy, 1 video/batch, {args.videos_per_update} videos/update): {fast['seconds']:.2f} s wall, "
        f"{fast['cpu_seconds']:.2f} s CPU, {1e3 * fast['seconds'] / fast['frames']:.3f} ms/frame, "
        f"peak RSS +{fast['peak_bytes'] / 2**20:.0f} MiB (evaluator state {fast['state_bytes'] / 2**20:.1f} MiB, "
        "the rest is temporaries and glibc heap growth)"
    )
    print(
        f"literal reference on {reference['frames']} frames: {reference['seconds']:.2f} s wall, "
        f"{reference['cpu_seconds']:.2f} s CPU, {1e3 * reference['seconds'] / reference['frames']:.3f} ms/frame, "
        f"peak RSS +{reference['peak_bytes'] / 2**20:.0f} MiB; extrapolated to {fast['frames']} frames: "
        f"{reference['seconds'] * scale:.0f} s wall, {reference['cpu_seconds'] * scale:.0f} s CPU"
    )
    print(
        f"speed-up (extrapolated reference / fast): {reference['seconds'] * scale / fast['seconds']:.1f}x wall, "
        f"{reference['cpu_seconds'] * scale / fast['cpu_seconds']:.1f}x CPU time"
    )
    print(f"largest score difference on the common subset: {largest_difference(fast_subset, reference):.2e}")
    print(
        "full-set scores: "
        + ", ".join(f"{key} {100 * value:.3f}" for key, value in fast["global"].items() if key.startswith("g_"))
    )


if __name__ == "__main__":
    main()
