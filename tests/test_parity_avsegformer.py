"""Numerical parity with the original `AVSegFormer_robust` (fixture produced with the original code)."""

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from modeling_avs.convert.convert_avsegformer import load_original_avsegformer

PARITY = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "parity"
NAME = "avsegformer_robust_pvt_s4"
TOLERANCE = 1e-4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PARITY / f"{NAME}.safetensors").is_file(), reason=f"{PARITY} not available"),
]


def load_synth_weights_module():
    spec = importlib.util.spec_from_file_location("synth_weights", PARITY / "synth_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converted_robust_avsegformer_matches_the_original():
    synth = load_synth_weights_module()
    original = synth.synth_state_dict(synth.load_spec(PARITY / f"{NAME}.keys.json"))
    model = load_original_avsegformer(original).eval()  # strict: every key used, every tensor filled
    del original
    fixture = load_file(PARITY / f"{NAME}.safetensors")
    with torch.no_grad():
        output = model(pixel_values=fixture["frames"], input_features=fixture["log_mel"])
    results = {
        "pred": output.logits,
        "mask_feature_mean": output.mask_features.mean(dim=1),
        "similarity": output.similarity,
    }
    for name, value in results.items():
        assert value.shape == fixture[name].shape, name
        error = (value - fixture[name]).abs().max().item()
        assert error <= TOLERANCE, f"{name}: max abs error {error:.3g} > {TOLERANCE}"
