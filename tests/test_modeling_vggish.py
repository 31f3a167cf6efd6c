"""VGGish: the shared model tester, plus the original network's size, parity, flatten order and post-processing."""

import importlib.util

import pytest
import torch
from conftest import tiny_vggish_config
from model_tester import ModelTesterMixin
from safetensors.torch import load_file

from modeling_avs import VGGishConfig, VGGishModel
from modeling_avs.convert.checkpoint_io import load_converted_state_dict
from modeling_avs.convert.convert_vggish import convert_vggish_state_dict


class TestVGGishModel(ModelTesterMixin):
    model_class = VGGishModel

    def get_config(self, **overrides):
        return tiny_vggish_config(**overrides)

    def get_inputs(self, batch_size: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        return {"input_features": torch.randn(batch_size, 1, 96, 64, generator=generator)}

    def check_outputs(self, outputs, inputs):
        examples = len(inputs["input_features"])
        assert outputs.audio_embeds.shape == (examples, 128) and (outputs.audio_embeds >= 0).all()
        assert outputs.last_conv_features.shape == (examples, 8, 6, 4)


def load_synth_weights(parity_dir):
    spec = importlib.util.spec_from_file_location("synth_weights", parity_dir / "synth_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_config_matches_original_parameter_count():
    model = VGGishModel(VGGishConfig())
    assert sum(p.numel() for p in model.parameters()) == 72_141_184
    assert model(torch.zeros(2, 1, 96, 64)).audio_embeds.shape == (2, 128)


def test_embeddings_match_original(parity_dir):
    synth = load_synth_weights(parity_dir)
    original = synth.synth_state_dict(synth.load_spec(parity_dir / "vggish.keys.json"))
    model = VGGishModel(VGGishConfig()).eval()
    load_converted_state_dict(model, convert_vggish_state_dict(original))
    fixture = load_file(parity_dir / "vggish.safetensors")
    with torch.no_grad():
        embeddings = model(fixture["log_mel"]).audio_embeds
    assert (embeddings - fixture["embeddings"]).abs().max().item() <= 1e-4


def test_flatten_is_channels_last():
    config = VGGishConfig(conv_channels=[2, 2, 2, 2, 2, 3], hidden_sizes=[4, 4], embedding_size=4)
    model = VGGishModel(config).eval()
    features = torch.randn(1, 1, 96, 64)
    with torch.no_grad():
        conv = model.features(features)  # [1, 3, 6, 4]
        # TF order: flat index (h * 4 + w) * 3 + c holds conv[0, c, h, w].
        flat = torch.stack([conv[0, c, h, w] for h in range(6) for w in range(4) for c in range(3)])[None]
        torch.testing.assert_close(model(features).audio_embeds, model.embeddings(flat))


def test_pca_postprocess_quantises():
    pca = VGGishModel(tiny_vggish_config(postprocess=True))
    with torch.no_grad():
        quantised = pca(torch.randn(3, 1, 96, 64)).audio_embeds
    assert quantised.min() >= 0 and quantised.max() <= 255
    assert torch.equal(quantised, quantised.round())


def test_wrong_input_shape_is_a_clear_error():
    model = VGGishModel(tiny_vggish_config())
    with pytest.raises(ValueError, match=r"\[N, 1, 96, 64\]"):
        model(torch.zeros(2, 96, 64))


def test_invalid_config_is_rejected():
    with pytest.raises(Exception, match="`example_frames` \\(95\\)"):
        VGGishConfig(example_frames=95)
