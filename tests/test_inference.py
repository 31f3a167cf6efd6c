"""The fast inference path: exact rewrites of the forward (upsampled convolutions, ASPP without padding-only taps,
fused PVT-v2 attention), the pipeline's default path (exact) and the opt-in reduced precisions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_avsbench_config, tiny_backbone_config, tiny_vggish_config
from inference_media import tone
from transformers import pipeline
from transformers.backbone_utils import load_backbone

from modeling_avs import inference
from modeling_avs.cli.main import main as cli_main
from modeling_avs.inference import check_precision, configure_cpu_allocator, prepare_for_inference
from modeling_avs.modeling_avsbench import AVSBenchDilatedProjection
from modeling_avs.pvt_v2_attention import PvtV2FusedSelfAttention, use_fused_pvt_v2_attention
from modeling_avs.upsampled_convolution import UpsamplingMaskHead, upsampled_conv3x3


@pytest.mark.parametrize(
    ("size", "scale_factor", "align_corners"), [(7, 2, True), (6, 2, False), (5, 4, False), (1, 3, False)]
)
def test_upsampled_conv3x3_is_the_convolution_of_the_upsampled_map(size, scale_factor, align_corners):
    torch.manual_seed(0)
    features = torch.randn(2, 6, size, size + 1, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(5, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(5, dtype=torch.float64, requires_grad=True)
    upsampled = F.interpolate(features, scale_factor=scale_factor, mode="bilinear", align_corners=align_corners)
    expected = F.conv2d(upsampled, weight, bias, padding=1)
    result = upsampled_conv3x3(features.transpose(0, 1).contiguous(), weight, bias, scale_factor, align_corners)
    torch.testing.assert_close(result.transpose(0, 1), expected, rtol=1e-10, atol=1e-10)
    gradient = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, (features, weight, bias), gradient)
    grads = torch.autograd.grad(result.transpose(0, 1), (features, weight, bias), gradient)
    for value, reference in zip(grads, expected_grads):
        torch.testing.assert_close(value, reference, rtol=1e-10, atol=1e-10)


def test_upsampled_conv3x3_after_inference_mode_still_trains():
    features, weight = torch.randn(3, 1, 4, 4), torch.randn(2, 3, 3, 3, requires_grad=True)
    with torch.inference_mode():
        upsampled_conv3x3(features, weight.detach(), None, 2, False)  # caches the interpolation matrices
    upsampled_conv3x3(features, weight, None, 2, False).sum().backward()
    assert weight.grad is not None


@pytest.mark.parametrize("input_upsampling", [None, (2, True)])
def test_mask_head_equals_its_layers_at_full_resolution(input_upsampling):
    torch.manual_seed(0)
    head = UpsamplingMaskHead(8, 6, 4, scale_factor=2).eval()
    features = torch.randn(3, 8, 5, 6)
    expected = features
    if input_upsampling is not None:
        expected = F.interpolate(features, scale_factor=2, mode="bilinear", align_corners=True)
    for layer in head:
        expected = layer(expected)
    torch.testing.assert_close(head(features, input_upsampling), expected, rtol=1e-5, atol=1e-5)


def test_dilated_projection_skipping_padding_only_taps_is_the_sum_of_its_branches():
    torch.manual_seed(0)
    projection = AVSBenchDilatedProjection(4, 6, (1, 3, 6, 12))
    for features in (torch.randn(2, 4, 7, 7), torch.randn(2, 4, 5, 13), torch.randn(2, 4, 2, 2)):
        expected = sum(branch(features) for branch in projection.branches)
        torch.testing.assert_close(projection(features), expected, rtol=1e-5, atol=1e-5)


def test_fused_pvt_v2_attention_equals_the_eager_attention():
    torch.manual_seed(0)
    backbone = load_backbone(tiny_avsbench_config()).eval()
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        eager = backbone(pixels).feature_maps
        use_fused_pvt_v2_attention(backbone)
        assert any(isinstance(module, PvtV2FusedSelfAttention) for module in backbone.modules())
        fused = backbone(pixels).feature_maps
        attention = next(module for module in backbone.modules() if isinstance(module, PvtV2FusedSelfAttention))
        outputs = attention(torch.randn(1, 16 * 16, attention.hidden_size), 16, 16, output_attentions=True)
    for value, reference in zip(fused, eager):
        torch.testing.assert_close(value, reference, rtol=1e-5, atol=1e-5)
    assert len(outputs) == 2  # asked-for probabilities still come from the eager path


def test_check_precision_names_the_problem(monkeypatch):
    check_precision("fp32")
    with pytest.raises(ValueError, match="one of"):
        check_precision("fp16")
    with pytest.raises(ValueError, match="CPU only"):
        check_precision("int8", "cuda")
    monkeypatch.setattr(inference, "cpu_supports_bf16", lambda: False)
    with pytest.raises(ValueError, match="avx512_bf16"):
        check_precision("bf16")
    monkeypatch.setattr(inference, "cpu_supports_bf16", lambda: True)
    check_precision("bf16")


def test_reduced_precision_is_only_used_when_asked(seeded):
    from modeling_avs import AVSBenchForAudioVisualSegmentation

    model = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config())
    assert prepare_for_inference(model, "fp32") is model and not model.training
    quantized = prepare_for_inference(model, "int8")
    assert quantized is not model
    assert type(model.audio_encoder.embeddings[0]) is torch.nn.Linear  # the exact model is left untouched
    assert type(quantized.audio_encoder.embeddings[0]) is not torch.nn.Linear


def test_allocator_configuration_is_applied_once():
    first = configure_cpu_allocator()
    assert configure_cpu_allocator() is first
    assert isinstance(first, bool)


@pytest.fixture(scope="module")
def segmenter(tiny_avs_model_dir):
    return pipeline("audio-visual-segmentation", model=str(tiny_avs_model_dir), device="cpu")


def clip_inputs():
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (48, 40, 3), dtype=np.uint8) for _ in range(7)]
    return {"frames": frames, "audio": tone(7.0), "sampling_rate": 16000}


def test_pipeline_default_path_gives_the_models_own_logits(segmenter):
    inputs = segmenter.preprocess(clip_inputs())
    pixel_values, input_features = inputs["pixel_values"].clone(), inputs["input_features"].clone()
    outputs = segmenter.forward(inputs)
    with torch.no_grad():
        expected = torch.cat(
            [
                segmenter.model(
                    pixel_values=pixel_values[start : start + 5], input_features=input_features[start : start + 5]
                ).logits
                for start in range(0, len(pixel_values), 5)
            ]
        )[:7]
    torch.testing.assert_close(outputs["logits"], expected, rtol=1e-5, atol=1e-5)
    assert not hasattr(segmenter, "_int8_model")  # nothing quantised unless asked


def test_pipeline_int8_is_opt_in_and_close(segmenter):
    exact = segmenter(clip_inputs())
    reduced = segmenter(clip_inputs(), precision="int8")
    assert hasattr(segmenter, "_int8_model")
    assert type(segmenter.model.audio_encoder.embeddings[0]) is torch.nn.Linear
    for fp32_frame, int8_frame in zip(exact, reduced):
        assert np.abs(fp32_frame["probabilities"] - int8_frame["probabilities"]).max() < 0.1
    with pytest.raises(ValueError, match="precision"):
        segmenter(clip_inputs(), precision="fp16")


def test_per_frame_model_gets_no_padding_frames(seeded, tmp_path):
    from modeling_avs import (
        AVSegFormerConfig,
        AVSegFormerForAudioVisualSegmentation,
        AVSImageProcessor,
        AVSProcessor,
        VGGishFeatureExtractor,
    )

    config = AVSegFormerConfig(
        backbone_config=tiny_backbone_config(),
        audio_config=tiny_vggish_config(),
        hidden_size=16,
        num_queries=4,
        encoder_layers=1,
        encoder_attention_heads=2,
        encoder_ffn_dim=16,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=16,
        query_generator_layers=1,
        query_generator_attention_heads=2,
        query_generator_ffn_dim=16,
        mixer_attention_heads=2,
        mask_mlp_dim=16,
        num_groups=4,
        num_frames=5,
    )
    model = AVSegFormerForAudioVisualSegmentation(config).eval()
    processor = AVSProcessor(AVSImageProcessor(size={"height": 64, "width": 64}), VGGishFeatureExtractor())
    segmenter = pipeline("audio-visual-segmentation", model=model, processor=processor, device="cpu")
    inputs = segmenter.preprocess(clip_inputs())
    assert len(inputs["pixel_values"]) == 7  # not padded to 10
    assert len(segmenter(clip_inputs())) == 7


def test_segment_cli_records_the_precision_and_rejects_unknown_ones(tiny_avs_model_dir, tmp_path, capsys):
    from inference_media import write_png, write_wav

    image, audio = write_png(tmp_path / "frame.png", 32, 32), write_wav(tmp_path / "sound.wav", 2.0)
    arguments = ["segment", str(image), "--audio", str(audio), "--model", str(tiny_avs_model_dir), "--device", "cpu"]
    assert cli_main([*arguments, "--output", str(tmp_path / "out"), "--overlay", "none"]) == 0
    assert json.loads((tmp_path / "out" / "scores.json").read_text())["precision"] == "fp32"
    assert cli_main([*arguments, "--output", str(tmp_path / "bad"), "--precision", "fp16"]) == 2
    assert "--precision" in capsys.readouterr().err
