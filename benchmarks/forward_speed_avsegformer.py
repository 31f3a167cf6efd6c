"""Forward speed and peak memory of the full-size AVSegFormer (PVT-v2-b5, VGGish inside, 512×512, one video of
T = 5 frames, eval, `torch.no_grad`, fp32 on CPU).

Paths, all measured in this one run on the same randomly initialised model:
- `reference`: the computation order of the original code (transformers' reference multi-scale deformable
  attention that stacks all samples, key/value projection of every pixel in the cross-modal mixer, per-query mask
  maps followed by a 1×1-conv MLP in NCHW), interleaved with the others round by round so that the ratios are
  less sensitive to the load of the shared machine than absolute times;
- `eager`: the package's default path;
- `channels_last` (optional, `--paths reference,eager,channels_last`): the default path with the model and
  input in channels-last memory format (no measurable gain on the 2-core AVX2 VM).

The original implementation took about 16.8 s per video on the 2-core development VM (pure-PyTorch deformable
attention fallback, fp32, quiet machine; `architecture.md` §7), printed as a reference for the absolute numbers.
Each path's operation count (`FlopCounterMode`) is divided by its time and by this machine's fp32 matmul throughput,
measured in the same run: the fraction of the attainable rate it sustains and the lower bound on its time here.
Peak memory is the process's peak resident set size (`VmHWM`), reset before each path, so it includes the weights.

Usage: `python benchmarks/forward_speed_avsegformer.py [--threads 2] [--runs 3] [--paths eager,reference]`
"""

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from transformers.models.deformable_detr.modeling_deformable_detr import (
    MultiScaleDeformableAttention as TransformersMultiScaleDeformableAttention,
)

from modeling_avs import AVSegFormerConfig, AVSegFormerForAudioVisualSegmentation
from modeling_avs.deformable_attention import register_deformable_attention_kernel
from modeling_avs.modeling_avsegformer import AVSegFormerCrossModalMixer, AVSegFormerMaskMLP

ORIGINAL_SECONDS_PER_VIDEO = 16.8
PATHS = ("reference", "eager", "channels_last")
DEFAULT_PATHS = ("reference", "eager")


def transformers_kernel(value, spatial_shapes, sampling_locations, attention_weights):
    shapes = torch.tensor(spatial_shapes, device=value.device)
    return TransformersMultiScaleDeformableAttention()(
        value, shapes, spatial_shapes, None, sampling_locations, attention_weights, 64
    )


def reference_mixer(self, mask_features, audio):
    """Original order: project keys and values of every pixel, attend, gate."""
    batch, channels, height, width = mask_features.shape
    head_dim = channels // self.num_heads
    pixels = mask_features.flatten(2).transpose(1, 2)
    keys, values = self.kv_proj(pixels).view(batch, -1, 2, self.num_heads, head_dim).permute(2, 0, 3, 1, 4)
    query = self.q_proj(audio).view(batch, self.num_heads, 1, head_dim)
    attention = (query @ keys.transpose(-1, -2) * head_dim**-0.5).softmax(dim=-1)
    gate = torch.sigmoid(self.proj((attention @ values).reshape(batch, channels)))
    return mask_features * gate[:, :, None, None]


def reference_mask_mlp(self, queries, pixels):
    """Original order: per-query mask maps `[N, Q, H, W]`, then 1×1 convolutions in NCHW."""
    num_frames, num_pixels, channels = pixels.shape
    side = int(num_pixels**0.5)
    features = pixels.transpose(1, 2).reshape(num_frames, channels, side, side)
    hidden = torch.einsum("bqc,bchw->bqhw", queries, features)
    for index, layer in enumerate(self.layers):
        hidden = F.conv2d(hidden, layer.weight[:, :, None, None], layer.bias)
        hidden = F.relu(hidden) if index < len(self.layers) - 1 else hidden
    return hidden.flatten(2).transpose(1, 2)


@contextlib.contextmanager
def reference_path(model: AVSegFormerForAudioVisualSegmentation) -> Iterator[None]:
    register_deformable_attention_kernel("transformers-reference", transformers_kernel)
    saved = model.config.deformable_attention_implementation
    for layer in model.encoder.layers:
        layer.self_attn.implementation = "transformers-reference"
    AVSegFormerCrossModalMixer.forward, mixer_forward = reference_mixer, AVSegFormerCrossModalMixer.forward
    AVSegFormerMaskMLP.forward, mlp_forward = reference_mask_mlp, AVSegFormerMaskMLP.forward
    try:
        yield
    finally:
        AVSegFormerCrossModalMixer.forward, AVSegFormerMaskMLP.forward = mixer_forward, mlp_forward
        for layer in model.encoder.layers:
            layer.self_attn.implementation = saved


@contextlib.contextmanager
def channels_last_path(model: AVSegFormerForAudioVisualSegmentation) -> Iterator[None]:
    model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        model.to(memory_format=torch.contiguous_format)


def reset_peak_memory() -> None:
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def peak_memory_gib() -> float:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    raise RuntimeError("VmHWM not found in /proc/self/status")


def path_context(model, path: str) -> contextlib.AbstractContextManager:
    """The context that switches `model` to `path` (the package's default path needs none)."""
    context = {"reference": reference_path, "channels_last": channels_last_path}.get(path)
    return context(model) if context else contextlib.nullcontext()


def run_path(model, inputs: dict[str, torch.Tensor], path: str) -> tuple[float, float, torch.Tensor]:
    """One forward on `path`: seconds, peak resident memory (GiB) during it, logits."""
    with path_context(model, path):
        if path == "channels_last":
            inputs = dict(inputs, pixel_values=inputs["pixel_values"].contiguous(memory_format=torch.channels_last))
        reset_peak_memory()
        with torch.no_grad():
            start = time.perf_counter()
            logits = model(**inputs).logits
            seconds = time.perf_counter() - start
        return seconds, peak_memory_gib(), logits


def count_flops(model, inputs: dict[str, torch.Tensor], path: str) -> float:
    """Floating-point operations of one forward on `path` (matmuls and convolutions, as `FlopCounterMode` counts)."""
    flags = [parameter.requires_grad for parameter in model.parameters()]
    model.requires_grad_(False)  # FlopCounterMode's module tracker fails under no_grad with trainable weights
    try:
        with path_context(model, path), FlopCounterMode(display=False) as counter:
            model(**inputs)
    finally:
        for parameter, flag in zip(model.parameters(), flags):
            parameter.requires_grad_(flag)
    return float(counter.get_total_flops())


def gemm_gflops(runs: int = 5) -> float:
    """This machine's fp32 matmul throughput now (GFLOP/s, median of `runs`): a [16384, 2048] × [2048, 2048]
    product, the shape of the mask MLP's largest layer, i.e. about the best any fp32 forward can sustain here."""
    left, right = torch.randn(16384, 2048), torch.randn(2048, 2048)
    left @ right
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        left @ right
        seconds.append(time.perf_counter() - start)
    return 2 * 16384 * 2048 * 2048 / statistics.median(seconds) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (each round runs every path once)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--paths", default=",".join(DEFAULT_PATHS), help=f"comma-separated subset of {PATHS}")
    args = parser.parse_args()
    paths = args.paths.split(",")
    if unknown := set(paths) - set(PATHS):
        parser.error(f"--paths: unknown {sorted(unknown)}; choose from {PATHS}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = AVSegFormerForAudioVisualSegmentation(AVSegFormerConfig()).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = {
        "pixel_values": torch.randn(args.frames, 3, args.size, args.size, generator=generator),
        "input_features": torch.randn(args.frames, 1, 96, 64, generator=generator),
    }
    print(
        f"AVSegFormer PVT-v2-b5, {args.frames}x3x{args.size}x{args.size}, {args.threads} threads, "
        f"load average {os.getloadavg()[0]:.1f} at start; paths interleaved round by round"
    )
    timings = {path: [] for path in paths}
    peaks = dict.fromkeys(paths, 0.0)
    logits = {}
    for round_index in range(args.warmup + args.runs):
        for path in paths:
            seconds, peak, logits[path] = run_path(model, inputs, path)
            if round_index >= args.warmup:
                timings[path].append(seconds)
                peaks[path] = max(peaks[path], peak)
    medians = {path: statistics.median(values) for path, values in timings.items()}
    for path in paths:
        runs = ", ".join(f"{t:.2f}" for t in timings[path])
        print(f"{path:>14}: median {medians[path]:6.2f} s/video (runs {runs}), peak RSS {peaks[path]:.2f} GiB")
    for path in paths[1:]:
        difference = (logits[path] - logits[paths[0]]).abs().max().item()
        print(f"max |logits({path}) - logits({paths[0]})| = {difference:.2e}")
    if "reference" in medians:
        for path in paths:
            if path != "reference":
                print(f"speed-up of {path} over reference (same run): {medians['reference'] / medians[path]:.2f}x")
    flops = {path: count_flops(model, inputs, path) for path in paths}
    peak = gemm_gflops()
    print(f"fp32 matmul throughput now, {args.threads} threads: {peak:.0f} GFLOP/s")
    for path in paths:
        achieved = flops[path] / medians[path] / 1e9
        print(
            f"{path:>14}: {flops[path] / 1e9:.0f} GFLOP/video, {achieved:.0f} GFLOP/s = {achieved / peak:.0%} of the "
            f"matmul throughput; lower bound at that throughput {flops[path] / 1e9 / peak:.1f} s/video"
        )
    if "reference" in flops and (args.size, args.frames) == (512, 5):
        print(
            f"the original's {ORIGINAL_SECONDS_PER_VIDEO} s/video for the reference order's "
            f"{flops['reference'] / 1e9:.0f} GFLOP means {flops['reference'] / 1e9 / ORIGINAL_SECONDS_PER_VIDEO:.0f} "
            "GFLOP/s sustained on the machine it was measured on"
        )
    load = os.getloadavg()[0]
    for path in paths:
        print(
            f"original {ORIGINAL_SECONDS_PER_VIDEO} s/video (quiet machine) / {path} = "
            f"{ORIGINAL_SECONDS_PER_VIDEO / medians[path]:.2f} (load average now {load:.1f})"
        )


if __name__ == "__main__":
    main()
