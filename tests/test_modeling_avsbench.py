"""AVSBench-TPAVI: the shared model tester, plus what is specific to TPAVI and its losses."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_avsbench_config
from model_tester import AudioVisualSegmentationTesterMixin, binary_cross_entropy

from modeling_avs import AVSBenchForAudioVisualSegmentation
from modeling_avs.losses import masked_av_kl_loss
from modeling_avs.modeling_avsbench import AVSBenchTPAVIBlock


class TestAVSBenchModel(AudioVisualSegmentationTesterMixin):
    model_class = AVSBenchForAudioVisualSegmentation

    def get_config(self, **overrides):
        return tiny_avsbench_config(**overrides)

    def check_outputs(self, outputs, inputs):
        super().check_outputs(outputs, inputs)
        assert outputs.mask_features is None


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


def test_factorised_tpavi_equals_full_affinity():
    torch.manual_seed(0)
    block = AVSBenchTPAVIBlock(channels=16, inter_channels=8, audio_dim=12).eval()
    torch.nn.init.normal_(block.output_norm.weight)  # non-zero so the attention term matters
    torch.nn.init.normal_(block.output_norm.bias)
    visual, audio = torch.randn(2, 16, 3, 5, 6), torch.randn(2, 3, 12)
    fused, aligned = block(visual, audio)
    torch.testing.assert_close(fused, literal_tpavi(block, visual, audio), rtol=1e-5, atol=1e-5)
    assert aligned.shape == (2, 3, 16)


def test_new_tpavi_block_is_identity_plus_layer_norm():
    model = TestAVSBenchModel().make_model()
    visual = torch.randn(1, 16, 2, 4, 4)
    fused, _ = model.tpavi_blocks["0"](visual, torch.randn(1, 2, 128))
    expected = F.layer_norm(visual.permute(0, 2, 3, 4, 1), (16,)).permute(0, 4, 1, 2, 3)
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-5)


def test_audio_changes_the_prediction():
    tester = TestAVSBenchModel()
    model = tester.make_model()
    # A fresh TPAVI block is the identity (zero-initialised BatchNorm); give it trained-like weights.
    for block in model.tpavi_blocks.values():
        for parameter in block.parameters():
            torch.nn.init.normal_(parameter, std=0.5)
    inputs = tester.get_inputs()
    with torch.no_grad():
        first = model(**inputs).logits
        inputs["input_features"] = torch.randn_like(inputs["input_features"])
        second = model(**inputs).logits
    assert (first - second).abs().max() > 1e-3 * first.abs().max()


def test_segmentation_loss_is_bce_on_the_supervised_frames():
    tester = TestAVSBenchModel()
    model = tester.make_model(similarity_loss_weight=0.25)
    labels = tester.get_labels()["labels"]
    labels[2:] = 0  # negatives carry an empty mask
    pair_labels = torch.tensor([1.0, 1.0, 0.0, 0.0])
    label_mask = torch.tensor([True, False, True, False])  # S4 train: first frame of each video
    output = model(**tester.get_inputs(), labels=labels, pair_labels=pair_labels, label_mask=label_mask)
    expected = binary_cross_entropy(torch.sigmoid(output.logits[label_mask, 0]), labels[label_mask])
    torch.testing.assert_close(output.segmentation_loss, expected)
    torch.testing.assert_close(output.loss, expected + 0.25 * output.similarity_loss)


def test_masked_av_kl_loss_against_a_hand_computed_value():
    logits = torch.zeros(1, 1, 4, 4)  # sigmoid(0) = 0.5 weights every pixel
    features = torch.tensor([[[[1.0, -1.0], [3.0, 1.0]], [[0.0, 2.0], [2.0, 0.0]]]])  # [1, 2, 2, 2]
    audio = torch.tensor([[2.0, 0.0]])
    # v = mean(relu(F) · 0.5) = (0.625, 0.5) and a = (2, 0), both L2-normalised; KL(softmax(a) || softmax(v)).
    norm = math.hypot(0.625, 0.5)
    v = (0.625 / norm, 0.5 / norm)
    p_audio = (math.e / (math.e + 1), 1 / (math.e + 1))
    p_visual = (1 / (1 + math.exp(v[1] - v[0])), 1 / (1 + math.exp(v[0] - v[1])))
    expected = sum(p * math.log(p / q) for p, q in zip(p_audio, p_visual))
    assert expected == pytest.approx(0.0779, abs=1e-4)
    loss = masked_av_kl_loss(logits, [features, 2 * features], [audio, audio])  # the scale cancels out
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_sa_loss_adds_the_weighted_map_matching_term():
    """MS3's audio-visual map matching: `L_seg = BCE + sa_loss_weight × KL`, on the TPAVI outputs of each stage."""
    tester = TestAVSBenchModel()
    model = tester.make_model(sa_loss_weight=0.5)
    captured = {}

    def capture(block, arguments, output):
        fused, audio = output  # [B, C, T, h, w], [B, T, C]
        captured[block] = (fused.transpose(1, 2).flatten(0, 1), audio.flatten(0, 1))

    hooks = [block.register_forward_hook(capture) for block in model.tpavi_blocks.values()]
    labels = tester.get_labels()["labels"]
    with torch.no_grad():
        output = model(**tester.get_inputs(), labels=labels)
    for hook in hooks:
        hook.remove()
    kl_terms = []
    for block in model.tpavi_blocks.values():
        stage_map, audio = captured[block]
        mask = torch.sigmoid(F.adaptive_avg_pool2d(output.logits, stage_map.shape[-2:]))
        visual = F.normalize((stage_map.clamp(min=0) * mask).mean(dim=(2, 3)), dim=1)
        p_audio = F.normalize(audio, dim=1).softmax(dim=1)
        kl_terms.append((p_audio * (p_audio.log() - visual.log_softmax(dim=1))).sum())
    expected = binary_cross_entropy(torch.sigmoid(output.logits[:, 0]), labels) + 0.5 * torch.stack(kl_terms).mean()
    torch.testing.assert_close(output.segmentation_loss, expected, atol=1e-5, rtol=1e-4)


def test_whole_videos_are_required():
    tester = TestAVSBenchModel()
    inputs = tester.get_inputs()
    with pytest.raises(ValueError, match="multiple of `config.num_frames`"):
        tester.make_model()(pixel_values=inputs["pixel_values"][:3], input_features=inputs["input_features"][:3])


def test_tpavi_config_contract():
    with pytest.raises(Exception, match="tpavi_stages"):
        tiny_avsbench_config(tpavi_stages=[4])
    with pytest.raises(Exception, match="audio_embed_dim"):
        tiny_avsbench_config(audio_embed_dim=64)  # the audio encoder outputs 128
    with pytest.raises(Exception, match="sa_loss_weight"):
        tiny_avsbench_config(sa_loss_weight=0.5, tpavi_stages=[])
