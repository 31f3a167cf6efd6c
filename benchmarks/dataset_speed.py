"""Generation speed of the synthetic AVSBench-Robust benchmark (target: >= 100 videos/s at 96x96).

Usage (from the repository root, or with modeling-avs installed):
    PYTHONPATH=. python benchmarks/dataset_speed.py [--config s4] [--num-videos 200] [--image-size 96]

Prints the machine's load average, videos per second (wall and process CPU time) for in-memory generation and
for writing Parquet shards with their ratios to the target, and the share of CPU time spent in each stage of one
video (class-sound synthesis, the noise condition, WAV encoding, rendering, PNG encoding). On a shared machine
judge by the CPU rate; wall time approaches it when the machine is idle.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import datasets
import numpy as np

from modeling_avs.data.audio_io import encode_audio
from modeling_avs.data.negative_audio import noise_waveform, stable_seed
from modeling_avs.data.synthetic import make_synthetic_dataset, plan_split, split_sizes
from modeling_avs.data.synthetic_audio import mixture
from modeling_avs.data.synthetic_visual import place_objects, png_bytes, render_video

TARGET_VIDEOS_PER_SECOND = 100.0


def stage_times(config: str, image_size: int, count: int) -> dict[str, float]:
    """CPU seconds spent per stage over `count` videos (all 5 masks encoded)."""
    plans = plan_split(config, "train", count, seed=0)
    totals = dict.fromkeys(("class sounds", "noise", "wav encoding", "rendering", "png encoding"), 0.0)
    for plan in plans:
        start = time.process_time()
        wave = mixture(np.random.default_rng(stable_seed(0, plan.video_id)), [cls.ms3_object for cls in plan.sources])
        synthesised = time.process_time()
        noise = noise_waveform(0, plan.video_id)
        noised = time.process_time()
        encode_audio(wave, "WAV"), encode_audio(noise, "WAV")
        encoded = time.process_time()
        rng = np.random.default_rng(1)
        frames, masks = render_video(
            rng, place_objects(rng, list(plan.visible), image_size, (0.17, 0.27)), list(plan.sounding), image_size
        )
        rendered = time.process_time()
        [png_bytes(array) for array in frames + masks]
        done = time.process_time()
        totals["class sounds"] += synthesised - start
        totals["noise"] += noised - synthesised
        totals["wav encoding"] += encoded - noised
        totals["rendering"] += rendered - encoded
        totals["png encoding"] += done - rendered
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="s4", choices=("s4", "ms3"))
    parser.add_argument("--num-videos", type=int, default=200, help="train videos (validation/test add 15%% each)")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--num-proc", type=int, default=2, help="also time generation with this many processes")
    args = parser.parse_args()
    total = sum(split_sizes(args.config, args.num_videos).values())
    cache = tempfile.mkdtemp()
    datasets.config.HF_DATASETS_CACHE = cache  # keep the reloaded copies out of the user's cache
    make_synthetic_dataset(args.config, 16, args.image_size, seed=1)  # warm-up (imports, per-process caches)

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{args.config}, {total} videos at {args.image_size}x{args.image_size}, {os.cpu_count()} CPUs, load average {load}"
    )
    print("(cpu = process CPU time, which other jobs sharing the machine inflate less than wall time):")
    runs = [("in memory, 1 process ", None, 1), ("to Parquet, 1 process", tempfile.mkdtemp(), 1)]
    if args.num_proc > 1:
        runs.append((f"in memory, {args.num_proc} processes", None, args.num_proc))
    for label, output_dir, num_proc in runs:
        wall, cpu = time.perf_counter(), time.process_time()
        make_synthetic_dataset(
            args.config, args.num_videos, args.image_size, seed=0, output_dir=output_dir, num_proc=num_proc
        )
        wall_rate = total / (time.perf_counter() - wall)
        cpu_rate = total / (time.process_time() - cpu)
        line = f"  {label}: {wall_rate:7.1f} videos/s wall ({wall_rate / TARGET_VIDEOS_PER_SECOND:.2f} x target)"
        if num_proc == 1:  # the CPU time of worker processes is not counted by process_time
            line += f", {cpu_rate:7.1f} videos/s cpu ({cpu_rate / TARGET_VIDEOS_PER_SECOND:.2f} x target)"
        print(line)
        if output_dir is not None:
            shutil.rmtree(output_dir)
    shutil.rmtree(cache)
    stages = stage_times(args.config, args.image_size, min(total, 100))
    overall = sum(stages.values())
    print(
        f"  per-video work {1000 * overall / min(total, 100):.2f} ms cpu: "
        + ", ".join(f"{name} {seconds / overall:.0%}" for name, seconds in stages.items())
    )


if __name__ == "__main__":
    main()
