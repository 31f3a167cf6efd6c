"""Inference speed of the full-size models against the original implementations' order of computation, same run.

For each architecture (AVSBench-TPAVI at 224², AVSegFormer at 512², one video of T = 5 frames, VGGish included,
randomly initialised full-size models) every path runs in its own worker process, and the rounds are interleaved
(path 1, path 2, ... then again), so all paths see the same machine load; each worker's peak resident memory is
its own. Paths:

- `original`: the original code's order of computation (`benchmarks/original_order.py`), in a default process;
- `ours`: the package's forward under `torch.no_grad`, in a default process;
- `fast`: the fast inference path of `avs-robust segment` / the pipeline / the Space (`modeling_avs.inference`):
  `torch.inference_mode` in a process with `configure_cpu_allocator()`;
- `int8` / `bf16` (opt-in, less exact): the fast path with dynamic int8 Linear layers / bf16 autocast.

Printed per path: median s/video (wall) and CPU seconds (user + system, all threads; steadier than wall time when
other jobs share the machine), their ratios to `original`, max |Δlogit| to `original`, operation count
(`FlopCounterMode`; quantised int8 Linear layers are not counted), the share of this machine's fp32 matmul
throughput it sustains (measured in the same run; by wall and by CPU time) and peak RSS. Then the pipeline end to end on a 10-second clip (decode + features + forward + post-process) with
the full-size AVSBench, frames/s and each stage's share. `--accuracy` adds the reduced precisions' deltas
(`benchmarks/precision_accuracy.py`).

    python benchmarks/forward_speed.py [--models avsbench avsegformer] [--paths original ours fast int8]
        [--runs 3] [--warmup 1] [--threads 2] [--frames 5] [--pipeline-seconds 10] [--accuracy [MODEL_DIR]]

Times on a machine shared with other jobs vary; the ratios of interleaved rounds are much steadier than the
absolute numbers, but final figures need a quiet machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

RESOLUTIONS = {"avsbench": 224, "avsegformer": 512}
PATHS = ("original", "ours", "fast", "int8", "bf16")
DEFAULT_PATHS = ("original", "ours", "fast")
GEMM_SHAPE = (16384, 2048, 2048)  # AVSegFormer's largest layer: about the best an fp32 forward can sustain here


def build_model(name: str):
    import torch

    import modeling_avs

    torch.manual_seed(0)
    if name == "avsbench":
        model = modeling_avs.AVSBenchForAudioVisualSegmentation(modeling_avs.AVSBenchConfig())
    else:
        model = modeling_avs.AVSegFormerForAudioVisualSegmentation(modeling_avs.AVSegFormerConfig())
    return model.eval().requires_grad_(False)  # FlopCounterMode's module tracker needs frozen weights


def make_inputs(name: str, frames: int) -> dict:
    import torch

    generator = torch.Generator().manual_seed(0)
    size = RESOLUTIONS[name]
    return {
        "pixel_values": torch.randn(frames, 3, size, size, generator=generator),
        "input_features": torch.randn(frames, 1, 96, 64, generator=generator),
    }


def path_forward(name: str, path: str, threads: int):
    """Build the model of `name` for `path` in this process and return `forward(inputs) -> logits`."""
    import torch

    from modeling_avs.inference import configure_cpu_allocator, inference_context, prepare_for_inference

    torch.set_num_threads(threads)
    if path in ("fast", "int8", "bf16"):
        configure_cpu_allocator()
    model = build_model(name)
    if path == "original":
        import original_order

        if name == "avsbench":
            return lambda inputs: original_order.original_avsbench_logits(model, **inputs)

        def original(inputs):
            with original_order.original_avsegformer(model):
                return model(**inputs).logits

        return original
    if path == "ours":
        return lambda inputs: model(**inputs).logits
    model = prepare_for_inference(model, "fp32" if path == "fast" else path)

    def fast(inputs):
        with inference_context("fp32" if path == "fast" else path):
            return model(**inputs).logits.float()

    return fast


def reset_peak_memory() -> None:
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def peak_memory_gib() -> float:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    raise RuntimeError("VmHWM not found in /proc/self/status")


def count_flops(forward, inputs) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        forward(inputs)
    return float(counter.get_total_flops())


def worker(connection, name: str, path: str, frames: int, threads: int) -> None:
    """
    Serve `connection`: "run" → (wall seconds, CPU seconds, peak GiB), "logits" → logits, "flops" → count;
    "stop" ends. CPU seconds (user + system, all threads) are less sensitive to other jobs than wall seconds.
    """
    import torch

    forward = path_forward(name, path, threads)
    inputs = make_inputs(name, frames)
    logits = None
    connection.send("ready")
    while (command := connection.recv()) != "stop":
        if command == "run":
            reset_peak_memory()
            with torch.no_grad():
                start, cpu_start = time.perf_counter(), time.process_time()
                logits = forward(inputs)
                seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
            connection.send((seconds, cpu_seconds, peak_memory_gib()))
        elif command == "logits":
            connection.send(logits)
        elif command == "flops":
            connection.send(count_flops(forward, inputs))


def gemm_gflops(threads: int, runs: int = 5) -> tuple[float, float]:
    """
    This machine's fp32 matmul throughput now: GFLOP per wall second and per CPU second (user + system, all
    threads), medians of `runs`. The CPU-second figure is the steadier one when other jobs share the machine.
    """
    import torch

    torch.set_num_threads(threads)
    rows, inner, cols = GEMM_SHAPE
    left, right = torch.randn(rows, inner), torch.randn(inner, cols)
    output = torch.empty(rows, cols)
    torch.mm(left, right, out=output)
    seconds, cpu_seconds = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        torch.mm(left, right, out=output)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    flops = 2 * rows * inner * cols / 1e9
    return flops / statistics.median(seconds), flops / statistics.median(cpu_seconds)


def compare_paths(name: str, paths: list[str], args: argparse.Namespace) -> dict:
    """Interleave `paths` round by round in worker processes and print the comparison table."""
    context = multiprocessing.get_context("spawn")
    workers = {}
    for path in paths:
        parent, child = context.Pipe()
        process = context.Process(target=worker, args=(child, name, path, args.frames, args.threads))
        process.start()
        workers[path] = (parent, process)
    for parent, _ in workers.values():
        if parent.recv() != "ready":
            raise RuntimeError("a benchmark worker failed to start")
    load = os.getloadavg()[0]
    timings = {path: [] for path in paths}
    cpu_timings = {path: [] for path in paths}
    peaks = dict.fromkeys(paths, 0.0)
    for round_index in range(args.warmup + args.runs):
        for path in paths:
            parent = workers[path][0]
            parent.send("run")
            seconds, cpu_seconds, peak = parent.recv()
            if round_index >= args.warmup:
                timings[path].append(seconds)
                cpu_timings[path].append(cpu_seconds)
                peaks[path] = max(peaks[path], peak)
    logits = {}
    flops = {}
    for path, (parent, _) in workers.items():
        parent.send("logits")
        logits[path] = parent.recv()
        parent.send("flops")
        flops[path] = parent.recv()
        parent.send("stop")
    for _, process in workers.values():
        process.join()
    rate, cpu_rate = gemm_gflops(args.threads)
    medians = {path: statistics.median(values) for path, values in timings.items()}
    cpu_medians = {path: statistics.median(values) for path, values in cpu_timings.items()}
    size = RESOLUTIONS[name]
    print(
        f"\n{name}: 1 video = {args.frames}×3×{size}×{size}, {args.threads} threads, {args.warmup} warm-up + "
        f"{args.runs} interleaved rounds, load average {load:.1f} at start / {os.getloadavg()[0]:.1f} at end; "
        f"fp32 matmul {rate:.0f} GFLOP/s now ({cpu_rate:.0f} GFLOP per CPU second)"
    )
    reference = "original" if "original" in paths else paths[0]
    print(
        f"{'path':<9}{'s/video':>8}{'runs (wall s)':>28}{'ratio':>6}{'CPU s':>7}{'CPU ratio':>10}{'max|Δlogit|':>12}"
        f"{'GFLOP':>6}{'% limit':>8}{'(CPU)':>6}{'peak GiB':>9}"
    )
    for path in paths:
        runs = ",".join(f"{t:.2f}" for t in timings[path])
        difference = (logits[path].float() - logits[reference].float()).abs().max().item()
        bound, cpu_bound = flops[path] / 1e9 / rate, flops[path] / 1e9 / cpu_rate  # at the matmul throughput
        print(
            f"{path:<9}{medians[path]:>8.2f}{runs:>28}{medians[path] / medians[reference]:>6.2f}"
            f"{cpu_medians[path]:>7.2f}{cpu_medians[path] / cpu_medians[reference]:>10.2f}{difference:>12.1e}"
            f"{flops[path] / 1e9:>6.0f}{bound / medians[path]:>8.0%}{cpu_bound / cpu_medians[path]:>6.0%}"
            f"{peaks[path]:>9.2f}"
        )
    return {"medians": medians, "cpu_medians": cpu_medians, "flops": flops, "rate": rate, "cpu_rate": cpu_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(RESOLUTIONS), choices=list(RESOLUTIONS))
    parser.add_argument("--paths", nargs="+", default=list(DEFAULT_PATHS), choices=PATHS)
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (each round runs every path once)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--pipeline-seconds", type=int, default=10, help="clip length of the pipeline run (0: skip)")
    parser.add_argument(
        "--accuracy",
        nargs="?",
        const="",
        metavar="MODEL_DIR",
        help="also print the reduced precisions' accuracy deltas (parity fixtures; with MODEL_DIR, a trained model "
        "on the synthetic test split: benchmarks/precision_accuracy.py)",
    )
    args = parser.parse_args()
    for name in args.models:
        compare_paths(name, args.paths, args)
    if args.pipeline_seconds:
        import pipeline_speed

        with tempfile.TemporaryDirectory() as folder:
            pipeline_speed.report(Path(folder), args.pipeline_seconds, args.threads)
    if args.accuracy is not None:
        import precision_accuracy

        precisions = [path for path in args.paths if path in precision_accuracy.REDUCED_PRECISIONS]
        precisions = precisions or list(precision_accuracy.REDUCED_PRECISIONS)
        precision_accuracy.parity_report(precision_accuracy.PARITY_DIR, precisions)
        if args.accuracy:
            precision_accuracy.synthetic_report(Path(args.accuracy), precisions, "small", 42)


if __name__ == "__main__":
    main()
