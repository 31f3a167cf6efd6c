"""End-to-end speed of `pipeline("audio-visual-segmentation")` with the full-size AVSBench-TPAVI on a video clip.

The clip (25 fps, 640×360, a moving square over a gradient and a tone as AAC audio) is written first; the pipeline
then runs on it as `avs-robust segment` does (fp32 fast path, `configure_cpu_allocator()`), once to warm up and
once timed stage by stage: decode (PyAV: the frame of each second + the audio track, and the pipeline's input
handling), features (the processor: resizing and normalising the frames, VGGish log-mel), forward (the model on windows of 5 frames) and post-process (masks and
probabilities at the frame size).

    python benchmarks/pipeline_speed.py [--seconds 10] [--threads 2] [--precision fp32]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

FPS = 25
FRAME_SIZE = (360, 640)  # height, width


def write_clip(path: Path, seconds: int) -> Path:
    """A `seconds`-long 25 fps MP4 with a square moving over a gradient and a 440 Hz tone (16 kHz AAC)."""
    from modeling_avs.visualization import write_mp4

    height, width = FRAME_SIZE
    background = np.linspace(0, 160, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
    frames = []
    for index in range(seconds * FPS):
        frame = background.copy()
        left = (index * 7) % (width - 80)
        frame[140:220, left : left + 80] = (230, 80, 40)
        frames.append(frame.astype(np.uint8))
    time_axis = np.arange(seconds * 16000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 440 * time_axis)).astype(np.float32)
    return write_mp4(frames, path, seconds_per_frame=1 / FPS, audio=audio)


def report(folder: Path, seconds: int, threads: int, precision: str = "fp32") -> dict[str, float]:
    """Time the pipeline's stages on a clip of `seconds` and print frames/s and each stage's share."""
    import torch
    from transformers import pipeline

    from modeling_avs import AVSBenchConfig, AVSBenchForAudioVisualSegmentation
    from modeling_avs.inference import configure_cpu_allocator
    from modeling_avs.training import build_processor

    torch.set_num_threads(threads)
    configure_cpu_allocator()
    clip = write_clip(folder / "clip.mp4", seconds)
    torch.manual_seed(0)
    model = AVSBenchForAudioVisualSegmentation(AVSBenchConfig()).eval()
    segmenter = pipeline("audio-visual-segmentation", model=model, processor=build_processor(224), device="cpu")
    segmenter(str(clip), precision=precision)  # warm-up
    stages = ("decode", "features", "forward", "post-process")
    timings, cpu_timings = dict.fromkeys(stages, 0.0), dict.fromkeys(stages, 0.0)

    def timed(stage: str, function, *args, **kwargs):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = function(*args, **kwargs)
        timings[stage], cpu_timings[stage] = time.perf_counter() - start, time.process_time() - cpu_start
        return result

    processor = segmenter.processor

    class TimedProcessor:
        """The pipeline's processor, timing its calls (the features stage of `preprocess`)."""

        def __call__(self, *args, **kwargs):
            return timed("features", processor, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(processor, name)

    segmenter.processor = TimedProcessor()
    model_inputs = timed("decode", segmenter.preprocess, str(clip))  # the features' time is subtracted below
    timings["decode"] -= timings["features"]
    cpu_timings["decode"] -= cpu_timings["features"]
    segmenter.processor = processor
    model_outputs = timed("forward", segmenter.forward, model_inputs, precision=precision)
    results = timed("post-process", segmenter.postprocess, model_outputs)
    total, cpu_total = sum(timings.values()), sum(cpu_timings.values())
    shares = ", ".join(
        f"{stage} {value:.2f} s ({value / total:.0%}; CPU {cpu_timings[stage]:.2f} s)"
        for stage, value in timings.items()
    )
    print(
        f"\npipeline end to end, full-size AVSBench-TPAVI ({precision}), {seconds} s clip at {FPS} fps "
        f"{FRAME_SIZE[1]}×{FRAME_SIZE[0]}, {threads} threads, load average {os.getloadavg()[0]:.1f}: {len(results)} "
        f"frames in {total:.2f} s = {len(results) / total:.2f} frames/s ({cpu_total:.2f} CPU s); {shares}"
    )
    return timings


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report(Path(folder), args.seconds, args.threads, args.precision)


if __name__ == "__main__":
    main()
