"""Numerical parity with the original `AVSegFormer_robust` (fixture produced with the original code)."""

import importlib.util

import pytest
import torch
from safetensors.torch import load_file

from modeling_avs.convert.convert_avsegformer import load_original_avsegformer

NAME = "avsegformer_robust_pvt_s4"
TOLERANCE = 1e-4

pytestmark = pytest.mark.slow


def load_synth_weights_module(parity_dir):
    spec = importlib.util.spec_from_file_location("synth_weights", parity_dir / "synth_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converted_robust_avsegformer_matches_the_original(parity_dir):
    synth = load_synth_weights_module(parity_dir)
    original = synth.synth_state_dict(synth.load_spec(parity_dir / f"{NAME}.keys.json"))
    model = load_original_avsegformer(original).eval()  # strict: every key used, every tensor filled
    del original
    fixture = load_file(parity_dir / f"{NAME}.safetensors")
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
