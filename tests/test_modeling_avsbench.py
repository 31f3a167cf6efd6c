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


def released_av_map_loss(logits, stage_maps, stage_audio, norm_fea):
    """The MS3 `A_MaskedV_SimmLoss` (KL variant) as restated in architecture.md §2.5, written out plainly. Per stage:
    m = sigmoid(AdaptiveAvgPool2d((h_s, w_s))(logits)) (block means, the sizes divide), v_s = mean over (h, w) of
    (F_s · m) with F_s after the decoder's in-place ReLU, a_s the audio feature; L2-normalised only with
    `norm_fea`; loss_s = sum over frames and channels of softmax(a_s) (log softmax(a_s) - log softmax(v_s)); the
    mean over stages."""
    total = 0.0
    for stage_map, audio in zip(stage_maps, stage_audio):
        frames, channels, height, width = stage_map.shape
        blocks = logits.reshape(frames, 1, height, logits.shape[2] // height, width, logits.shape[3] // width)
        mask = torch.sigmoid(blocks.mean(dim=(3, 5)))
        loss = 0.0
        for n in range(frames):
            visual = [(stage_map[n, c].clamp(min=0) * mask[n, 0]).sum() / (height * width) for c in range(channels)]
            visual, sound = torch.stack(visual), audio[n]
            if norm_fea:
                visual, sound = visual / visual.norm().clamp(min=1e-12), sound / sound.norm().clamp(min=1e-12)
            p_audio = torch.exp(sound) / torch.exp(sound).sum()
            p_visual = torch.exp(visual) / torch.exp(visual).sum()
            loss += sum(p_audio[c] * (torch.log(p_audio[c]) - torch.log(p_visual[c])) for c in range(channels))
        total += loss
    return total / len(stage_maps)


def test_masked_av_kl_loss_against_a_hand_computed_value():
    logits = torch.zeros(1, 1, 4, 4)  # sigmoid(0) = 0.5 weights every pixel
    features = torch.tensor([[[[1.0, -1.0], [3.0, 1.0]], [[0.0, 2.0], [2.0, 0.0]]]])  # [1, 2, 2, 2]
    audio = torch.tensor([[2.0, 0.0]])

    def kl(a, v):  # KL(softmax(a) || softmax(v)) of two 2-vectors
        p_audio = (1 / (1 + math.exp(a[1] - a[0])), 1 / (1 + math.exp(a[0] - a[1])))
        p_visual = (1 / (1 + math.exp(v[1] - v[0])), 1 / (1 + math.exp(v[0] - v[1])))
        return sum(p * math.log(p / q) for p, q in zip(p_audio, p_visual))

    # v = mean(relu(F) · 0.5) = (0.625, 0.5), and (1.25, 1) for 2F; a = (2, 0).
    released = (kl((2, 0), (0.625, 0.5)) + kl((2, 0), (1.25, 1.0))) / 2
    assert released == pytest.approx(0.2613, abs=1e-4)
    loss = masked_av_kl_loss(logits, [features, 2 * features], [audio, audio])
    assert loss.item() == pytest.approx(released, rel=1e-5)
    norm = math.hypot(0.625, 0.5)
    normalised = kl((1, 0), (0.625 / norm, 0.5 / norm))  # both stages alike: the scale cancels out
    assert normalised == pytest.approx(0.0779, abs=1e-4)
    loss = masked_av_kl_loss(logits, [features, 2 * features], [audio, audio], normalize_features=True)
    assert loss.item() == pytest.approx(normalised, rel=1e-5)


@pytest.mark.parametrize("normalize_features", [False, True])
def test_masked_av_kl_loss_matches_the_released_formula(normalize_features):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 8, 8, generator=generator) * 2
    stage_maps = [torch.randn(3, 5, size, size, generator=generator) * 3 for size in (8, 4, 2)]
    stage_audio = [torch.randn(3, 5, generator=generator) * 3 for _ in stage_maps]
    expected = released_av_map_loss(logits, stage_maps, stage_audio, normalize_features)
    loss = masked_av_kl_loss(logits, stage_maps, stage_audio, normalize_features)
    torch.testing.assert_close(loss, expected.float(), rtol=1e-5, atol=1e-6)
    other = released_av_map_loss(logits, stage_maps, stage_audio, not normalize_features)
    assert not torch.isclose(loss, other.float(), rtol=1e-2)  # the two settings really differ


@pytest.mark.parametrize("normalize_features", [False, True])
def test_sa_loss_adds_the_weighted_map_matching_term(normalize_features):
    """MS3's audio-visual map matching: `L_seg = BCE + sa_loss_weight × KL`, on the TPAVI outputs of each stage,
    with the features L2-normalised only when `sa_loss_normalize_features` (default: not, as released)."""
    tester = TestAVSBenchModel()
    overrides = {"sa_loss_normalize_features": True} if normalize_features else {}
    model = tester.make_model(sa_loss_weight=0.5, **overrides)
    assert model.config.sa_loss_normalize_features is normalize_features
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
    stage_maps, stage_audio = zip(*(captured[block] for block in model.tpavi_blocks.values()))
    map_loss = released_av_map_loss(output.logits, stage_maps, stage_audio, normalize_features)
    expected = binary_cross_entropy(torch.sigmoid(output.logits[:, 0]), labels) + 0.5 * map_loss
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
    with pytest.raises(Exception, match="sa_loss_normalize_features"):
        tiny_avsbench_config(sa_loss_normalize_features="yes")
