"""The fast inference path of `avs-robust segment`, the pipeline and the Space, and the opt-in reduced precisions.

- `fp32` (default): the model's own forward (same function as the original code, see the parity tests) under
  `torch.inference_mode`; in processes the package owns (CLI, Space, benchmarks) also
  [`configure_cpu_allocator`], which keeps large freed blocks for reuse instead of paying first-touch page faults
  for every new activation.
- `int8` (opt-in, CPU): dynamic int8 quantisation of the `nn.Linear` layers (weights int8, activations quantised
  per batch); less exact, see `benchmarks/forward_speed.py` for its accuracy delta.
- `bf16` (opt-in): CPU (or CUDA) autocast to bfloat16; refused on a CPU without native bf16 arithmetic
  (`avx512_bf16` / `amx_bf16`), where it is emulated and slower than fp32.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import platform
import warnings
from collections.abc import Iterator

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "int8")

# Linear layers whose weights the models read directly (folded into other products), which int8 must leave alone.
DIRECTLY_READ_LINEAR_LAYERS = ("mixer.kv_proj", "mask_mlp.layers.0")

# glibc `mallopt` parameters (malloc.h) and the values `configure_cpu_allocator` sets.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
ALLOCATOR_SETTINGS = {M_MMAP_THRESHOLD: 2**30, M_TRIM_THRESHOLD: 2**31, M_TOP_PAD: 64 * 2**20}


@functools.cache
def configure_cpu_allocator() -> bool:
    """
    Make glibc's `malloc` serve allocations up to 1 GiB from its heap and keep up to 2 GiB of freed memory for
    reuse. By default every block above 32 MiB is a fresh `mmap` whose pages fault (and are zeroed) on first touch,
    for every activation of every forward: on the development VM that cost as much as the arithmetic of
    element-wise layers. Process-wide and permanent (the process keeps its peak heap), so it is called by
    programs of the package (`avs-robust segment`, the Space, the benchmarks), not by the library on import.

    Returns:
        `True` if the settings were applied (Linux with glibc), `False` otherwise.
    """
    if platform.system() != "Linux" or not (name := ctypes.util.find_library("c")):
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in ALLOCATOR_SETTINGS.items())


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (`avx512_bf16` or `amx_bf16` in `/proc/cpuinfo`)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def check_precision(precision: str, device: torch.device | str = "cpu") -> None:
    """Raise a `ValueError` naming the problem if `precision` is unknown or unavailable on `device`."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device_type = torch.device(device).type
    if precision == "int8" and device_type != "cpu":
        raise ValueError(f"precision 'int8' (dynamic quantisation) runs on CPU only, not on {device_type}")
    if precision == "bf16" and device_type == "cpu" and not cpu_supports_bf16():
        raise ValueError(
            "precision 'bf16' needs a CPU with native bfloat16 (avx512_bf16 or amx_bf16); this one would emulate "
            "it, slower than fp32"
        )


def prepare_for_inference(model: nn.Module, precision: str = "fp32") -> nn.Module:
    """
    `model` in eval mode for `precision`: itself for `fp32` and `bf16`, a dynamically int8-quantised copy for
    `int8` (every `nn.Linear` except those whose weights the forward reads directly).
    """
    check_precision(precision, next(model.parameters()).device)
    model.eval()
    if precision != "int8":
        return model
    layers = {
        name
        for name, module in model.named_modules()
        if type(module) is nn.Linear and not name.endswith(DIRECTLY_READ_LINEAR_LAYERS)
    }
    with (
        warnings.catch_warnings()
    ):  # torch.ao's quantised tensors are deprecated in favour of torchao (not a dependency)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, layers, dtype=torch.qint8)


@contextlib.contextmanager
def inference_context(precision: str = "fp32", device: torch.device | str = "cpu") -> Iterator[None]:
    """`torch.inference_mode`, plus bfloat16 autocast for `bf16`."""
    device_type = torch.device(device).type
    with torch.inference_mode(), torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16"):
        yield


__all__ = [
    "PRECISIONS",
    "check_precision",
    "configure_cpu_allocator",
    "cpu_supports_bf16",
    "inference_context",
    "prepare_for_inference",
]
