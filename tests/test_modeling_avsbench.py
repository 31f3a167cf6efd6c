import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_avsbench_config
from transformers import AutoModel

from modeling_avs import AVSBenchForAudioVisualSegmentation
from modeling_avs.modeling_avsbench import AVSBenchTPAVIBlock

SIZE = 64


def make_inputs(num_videos=2, frames=2, with_labels=False):
    n = num_videos * frames
    inputs = {"pixel_values": torch.randn(n, 3, SIZE, SIZE), "input_features": torch.randn(n, 1, 96, 64)}
    if with_labels:
        inputs["labels"] = (torch.rand(n, SIZE, SIZE) > 0.5).float()
        inputs["pair_labels"] = torch.ones(n)
    return inputs


@pytest.fixture
def model(seeded):
    return AVSBenchForAudioVisualSegmentation(tiny_avsbench_config()).eval()


def literal_tpavi(block: AVSBenchTPAVIBlock, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """The original TPAVI: materialise the [M, M] affinity of all tokens, divide by M, no softmax."""
    batch, channels, frames, height, width = visual.shape
    aligned = block.audio_proj(audio)  # [B, T, C]
    audio_map = aligned.permute(0, 2, 1)[..., None, None].expand(-1, -1, -1, height, width)
    theta = block.theta(visual).flatten(2).transpose(1, 2)  # [B, M, I]
    phi = block.phi(audio_map).flatten(2)  # [B, I, M]
    g = block.g(visual).flatten(2).transpose(1, 2)  # [B, M, I]
    affinity = theta @ phi / phi.shape[-1]
    y = (affinity @ g).transpose(1, 2).reshape(batch, -1, frames, height, width)
    z = block.output_norm(block.output_conv(y)) + visual
    return block.layer_norm(z.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


@pytest.mark.parametrize("training", [False, True])  # BatchNorm with running / batch statistics
def test_factorised_tpavi_equals_full_affinity(training):
    torch.manual_seed(0)
    block = AVSBenchTPAVIBlock(channels=16, inter_channels=8, audio_dim=12).train(training)
    torch.nn.init.normal_(block.output_norm.weight)  # non-zero so the attention term matters
    torch.nn.init.normal_(block.output_norm.bias)
    visual, audio = torch.randn(2, 16, 3, 5, 6), torch.randn(2, 3, 12)
    fused, aligned = block(visual, audio)
    torch.testing.assert_close(fused, literal_tpavi(block, visual, audio), rtol=1e-4, atol=1e-4)
    assert aligned.shape == (2, 3, 16)


def test_new_tpavi_block_is_identity_plus_layer_norm(model):
    block = model.tpavi_blocks["0"]
    visual = torch.randn(1, 16, 2, 4, 4)
    fused, _ = block(visual, torch.randn(1, 2, 128))
    expected = F.layer_norm(visual.permute(0, 2, 3, 4, 1), (16,)).permute(0, 4, 1, 2, 3)
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-5)


def test_forward_shapes_and_no_loss_without_targets(model):
    with torch.no_grad():
        out = model(**make_inputs(), output_hidden_states=True)
    assert out.logits.shape == (4, 1, SIZE, SIZE)
    assert out.similarity.shape == (4,)
    assert out.similarity.abs().max() <= 1 + 1e-6  # cosine
    assert out.loss is None and out.segmentation_loss is None and out.similarity_loss is None
    assert [h.shape[1] for h in out.hidden_states] == [8, 16, 32, 64]


def test_audio_embeds_path_equals_input_features_path(model):
    inputs = make_inputs()
    with torch.no_grad():
        from_features = model(**inputs)
        from_embeds = model(pixel_values=inputs["pixel_values"], audio_embeds=from_features.audio_embeds)
    torch.testing.assert_close(from_features.logits, from_embeds.logits)


def test_audio_changes_the_prediction(model):
    # A fresh TPAVI block is the identity (zero-initialised BatchNorm); give it trained-like weights.
    for block in model.tpavi_blocks.values():
        for parameter in block.parameters():
            torch.nn.init.normal_(parameter, std=0.5)
    inputs = make_inputs()
    with torch.no_grad():
        first = model(**inputs).logits
        inputs["input_features"] = torch.randn_like(inputs["input_features"])
        second = model(**inputs).logits
    assert (first - second).abs().max() > 1e-3 * first.abs().max()


def test_losses_follow_the_recipe(model):
    inputs = make_inputs(with_labels=True)
    inputs["pair_labels"] = torch.tensor([1.0, 1.0, 0.0, 0.0])
    inputs["labels"][2:] = 0  # negatives carry an empty mask
    out = model(**inputs)
    expected_seg = F.binary_cross_entropy_with_logits(out.logits[:, 0], inputs["labels"])
    expected_sim = F.binary_cross_entropy(torch.sigmoid(out.similarity), inputs["pair_labels"])
    torch.testing.assert_close(out.segmentation_loss, expected_seg)
    torch.testing.assert_close(out.similarity_loss, expected_sim)
    torch.testing.assert_close(out.loss, expected_seg + expected_sim)


def test_label_mask_selects_supervised_frames_and_weight_scales_similarity(seeded):
    model = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config(similarity_loss_weight=0.25)).eval()
    inputs = make_inputs(with_labels=True)
    label_mask = torch.tensor([True, False, True, False])  # S4 train: first frame of each video
    out = model(**inputs, label_mask=label_mask)
    expected = F.binary_cross_entropy_with_logits(out.logits[label_mask, 0], inputs["labels"][label_mask])
    torch.testing.assert_close(out.segmentation_loss, expected)
    torch.testing.assert_close(out.loss, expected + 0.25 * out.similarity_loss)


def test_gradients_reach_similarity_head_but_not_frozen_audio_encoder(model):
    model.train()
    out = model(**make_inputs(with_labels=True))
    out.loss.backward()
    assert model.similarity_head.audio_proj.weight.grad.abs().sum() > 0
    assert model.stage_projections[0].branches[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.audio_encoder.parameters())


def test_trainable_audio_encoder_gets_gradients(seeded):
    model = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config(freeze_audio_encoder=False))
    model(**make_inputs(with_labels=True)).loss.backward()
    assert model.audio_encoder.embeddings[-2].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("similarity_type", ["euclidean", "concat"])
def test_alternative_similarities(seeded, similarity_type):
    model = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config(similarity_type=similarity_type)).eval()
    out = model(**make_inputs(with_labels=True))
    assert out.similarity.shape == (4,) and torch.isfinite(out.loss)
    if similarity_type == "euclidean":
        assert (out.similarity <= 0).all()


def test_sa_loss_adds_a_positive_term(seeded):
    inputs = make_inputs(with_labels=True)
    plain = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config()).eval()
    with_sa = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config(sa_loss_weight=0.5)).eval()
    with_sa.load_state_dict(plain.state_dict())
    with torch.no_grad():
        assert with_sa(**inputs).segmentation_loss > plain(**inputs).segmentation_loss


def test_save_load_round_trip_and_auto_classes(model, tmp_path):
    inputs = make_inputs()
    model.save_pretrained(tmp_path)
    reloaded = AVSBenchForAudioVisualSegmentation.from_pretrained(tmp_path).eval()
    auto = AutoModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        expected = model(**inputs).logits
        torch.testing.assert_close(reloaded(**inputs).logits, expected)
        torch.testing.assert_close(auto(**inputs).logits, expected)
    assert isinstance(auto, AVSBenchForAudioVisualSegmentation)


REMOTE_SCRIPT = """
import sys, torch
from transformers import AutoModel
model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
assert "modeling_avs" not in sys.modules, "the package must not be needed"
inputs = torch.load(sys.argv[2])
with torch.no_grad():
    torch.save({"module": type(model).__module__, "logits": model(**inputs).logits}, sys.argv[3])
"""


def test_trust_remote_code_loads_without_the_package(model, tmp_path):
    model.save_pretrained(tmp_path / "model")
    assert (tmp_path / "model" / "modeling_avsbench.py").is_file()
    inputs = make_inputs()
    torch.save(inputs, tmp_path / "inputs.pt")
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    subprocess.run(
        [
            sys.executable,
            "-c",
            REMOTE_SCRIPT,
            str(tmp_path / "model"),
            str(tmp_path / "inputs.pt"),
            str(tmp_path / "out.pt"),
        ],
        check=True,
        env=env,
        cwd=tmp_path,
    )
    result = torch.load(tmp_path / "out.pt")
    assert result["module"].startswith("transformers_modules")
    with torch.no_grad():
        torch.testing.assert_close(result["logits"], model(**inputs).logits)


def test_gradient_checkpointing_gives_the_same_gradients(seeded):
    inputs = make_inputs(with_labels=True)
    model = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config()).train()
    model(**inputs).loss.backward()
    expected = model.stage_projections[0].branches[0].weight.grad.clone()
    model.zero_grad()
    model.activation_checkpointing_enable()
    assert model.fusion_blocks[0].gradient_checkpointing
    model(**inputs).loss.backward()
    torch.testing.assert_close(model.stage_projections[0].branches[0].weight.grad, expected)


def test_clear_errors(model):
    inputs = make_inputs()
    with pytest.raises(ValueError, match="multiple of `config.num_frames`"):
        model(pixel_values=inputs["pixel_values"][:3], input_features=inputs["input_features"][:3])
    with pytest.raises(ValueError, match="exactly one"):
        model(pixel_values=inputs["pixel_values"])
    with pytest.raises(ValueError, match="exactly one"):
        model(**inputs, audio_embeds=torch.zeros(4, 128))
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        model(pixel_values=torch.zeros(4, 1, SIZE, SIZE), input_features=inputs["input_features"])
    with pytest.raises(ValueError, match="one log-mel example per frame"):
        model(pixel_values=inputs["pixel_values"], input_features=inputs["input_features"][:2])
    with pytest.raises(ValueError, match="`audio_embeds` must have shape"):
        model(pixel_values=inputs["pixel_values"], audio_embeds=torch.zeros(4, 64))
    with pytest.raises(ValueError, match="`labels` must have shape"):
        model(**inputs, labels=torch.zeros(4, 32, 32))
    with pytest.raises(ValueError, match="`pair_labels` must have shape"):
        model(**inputs, pair_labels=torch.zeros(3))


def test_invalid_config_values_are_rejected():
    with pytest.raises(Exception, match="similarity_type"):
        tiny_avsbench_config(similarity_type="dot")
    with pytest.raises(Exception, match="tpavi_stages"):
        tiny_avsbench_config(tpavi_stages=[4])
    with pytest.raises(Exception, match="inference_gate_threshold"):
        tiny_avsbench_config(inference_gate_threshold=2.0)
    with pytest.raises(Exception, match="mask_head_channels"):
        tiny_avsbench_config(mask_head_channels=[8])


def test_mask_head_channels_set_the_head_width(seeded):
    model = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config(mask_head_channels=[12, 6])).eval()
    convs = [layer for layer in model.mask_head if isinstance(layer, torch.nn.Conv2d)]
    assert [(conv.in_channels, conv.out_channels) for conv in convs] == [(16, 12), (12, 6), (6, 1)]
    inputs = make_inputs()
    assert model(**inputs).logits.shape == (4, 1, *inputs["pixel_values"].shape[-2:])
    default = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config())
    assert default.mask_head[0].out_channels == 128 and default.mask_head[2].out_channels == 32  # the original's
