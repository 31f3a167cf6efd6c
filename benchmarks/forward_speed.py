"""Forward speed and peak memory of the full-size models on CPU (one video, T = 5 frames, eval, no_grad).

Each (model, path) pair runs in a fresh subprocess so that its peak resident memory (VmHWM) is its own.
Paths: `eager` (fp32) and `bf16` (CPU autocast; outputs differ, the max |Δlogit| against fp32 is printed).
(channels-last gave no gain on the AVX2 development CPU, see `forward_speed_avsegformer.py --paths`.) Ratios are measured in the same run; the machine is noisy.
The original implementations took 2.69 s (AVSBench-TPAVI, 224²) and 16.8 s (AVSegFormer, 512², pure-PyTorch
deformable attention) per video on the reference 2-core machine; `forward_speed_avsegformer.py` also times the
original order of computation of AVSegFormer in the same process.

    python benchmarks/forward_speed.py --models avsbench avsegformer --runs 3 --threads 2
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

PATHS = ("eager", "bf16")
RESOLUTIONS = {"avsbench": 224, "avsegformer": 512}


def build(model_name: str):
    import torch

    import modeling_avs

    torch.manual_seed(0)
    if model_name == "avsbench":
        model = modeling_avs.AVSBenchForAudioVisualSegmentation(modeling_avs.AVSBenchConfig())
    elif model_name == "avsegformer":
        model = modeling_avs.AVSegFormerForAudioVisualSegmentation(modeling_avs.AVSegFormerConfig())
    else:
        raise ValueError(f"unknown model {model_name!r}")
    return model.eval()


def peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


def measure(model_name: str, path: str, runs: int, threads: int) -> dict:
    """Run in the child process: returns median seconds/video, peak RSS and the logits checksum."""
    import torch

    torch.set_num_threads(threads)
    model = build(model_name)
    size = RESOLUTIONS[model_name]
    generator = torch.Generator().manual_seed(1)
    pixel_values = torch.randn(5, 3, size, size, generator=generator)
    input_features = torch.randn(5, 1, 96, 64, generator=generator)

    def forward():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=path == "bf16"):
            return model(pixel_values=pixel_values, input_features=input_features).logits.float()

    logits = forward()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "runs_s": times, "peak_rss_mib": peak_rss_mib(), "logits": logits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=sorted(RESOLUTIONS), choices=sorted(RESOLUTIONS))
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--logits-file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        import torch

        result = measure(*args.child, args.runs, args.threads)
        torch.save(result.pop("logits"), args.logits_file)
        print(json.dumps(result))
        return

    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        for model_name in args.models:
            results = {}
            for path in args.paths:
                logits_file = f"{tmp}/{model_name}-{path}.pt"
                command = [sys.executable, __file__, "--child", model_name, path, "--logits-file", logits_file]
                command += ["--runs", str(args.runs), "--threads", str(args.threads)]
                output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                results[path] = json.loads(output.strip().splitlines()[-1])
                results[path]["logits"] = torch.load(logits_file)
            base = results.get("eager")
            print(f"\n{model_name} ({RESOLUTIONS[model_name]}², 1 video = 5 frames, {args.threads} threads)")
            print(f"{'path':<14}{'median s/video':>16}{'peak RSS MiB':>14}{'speed-up':>10}{'max |Δlogit|':>14}")
            for path, result in results.items():
                speedup = base["median_s"] / result["median_s"] if base else float("nan")
                diff = (result["logits"] - base["logits"]).abs().max().item() if base else float("nan")
                print(
                    f"{path:<14}{result['median_s']:>16.3f}{result['peak_rss_mib']:>14.0f}{speedup:>10.2f}{diff:>14.2e}"
                )


if __name__ == "__main__":
    main()
