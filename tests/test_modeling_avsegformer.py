"""AVSegFormer: the shared model tester, plus its losses, mixer, mask MLP, position encoding and initialisation."""

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_avsegformer_config
from huggingface_hub.errors import StrictDataclassClassValidationError
from model_tester import SIZE, AudioVisualSegmentationTesterMixin, binary_cross_entropy

from modeling_avs import AVSegFormerForAudioVisualSegmentation
from modeling_avs.losses import dice_loss
from modeling_avs.modeling_avsegformer import (
    AVSegFormerCrossModalMixer,
    AVSegFormerMaskMLP,
    sine_position_embedding,
)


class TestAVSegFormerModel(AudioVisualSegmentationTesterMixin):
    model_class = AVSegFormerForAudioVisualSegmentation
    deterministic = {"dropout": 0.0}

    def get_config(self, **overrides):
        return tiny_avsegformer_config(**overrides)

    def check_outputs(self, outputs, inputs):
        super().check_outputs(outputs, inputs)
        assert outputs.mask_features.shape == (len(inputs["pixel_values"]), 32, SIZE // 4, SIZE // 4)


def reference_dice(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """AVSegFormer's Dice loss written out: `1 - 2Σpg / (Σp² + Σg² + 2·0.001)` per frame, averaged."""
    p, g = torch.sigmoid(logits).flatten(1), targets.flatten(1)
    return (1 - 2 * (p * g).sum(1) / (p.pow(2).sum(1) + g.pow(2).sum(1) + 0.002)).mean()


def test_dice_loss_against_hand_computed_values():
    logits = torch.zeros(2, 2, 2)  # p = 0.5 everywhere
    targets = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    # frame 0: Σpg = 0.5, Σp² = 1, Σg² = 1 → 1 - 1/2.002; frame 1 (empty target): exactly 1.
    assert dice_loss(logits[:1], targets[:1]).item() == pytest.approx(1 - 1 / 2.002, rel=1e-6)
    assert dice_loss(logits[1:], targets[1:]).item() == 1.0
    assert dice_loss(logits, targets).item() == pytest.approx((2 - 1 / 2.002) / 2, rel=1e-6)


def make_labels(frames: int = 4, empty: tuple[int, ...] = ()) -> torch.Tensor:
    labels = torch.zeros(frames, SIZE, SIZE)
    labels[:, 16:40, 8:48] = 1
    labels[list(empty)] = 0
    return labels


def test_losses_follow_the_recipe():
    tester = TestAVSegFormerModel()
    model = tester.make_model(similarity_loss_weight=0.5)
    labels, pair_labels = make_labels(empty=(2, 3)), torch.tensor([1, 1, 0, 0])
    output = model(**tester.get_inputs(), labels=labels, pair_labels=pair_labels)
    mix = F.interpolate(output.mask_features.mean(1, keepdim=True), size=(SIZE, SIZE), mode="bilinear")[:, 0]
    expected_segmentation = reference_dice(output.logits[:, 0], labels) + 0.1 * reference_dice(mix, labels)
    expected_similarity = binary_cross_entropy(torch.sigmoid(output.similarity), pair_labels)
    torch.testing.assert_close(output.segmentation_loss, expected_segmentation)
    torch.testing.assert_close(output.similarity_loss, expected_similarity)
    torch.testing.assert_close(output.loss, expected_segmentation + 0.5 * expected_similarity)


def logit_gradients(model, labels, pair_labels, label_mask=None):
    output = model(
        **TestAVSegFormerModel().get_inputs(), labels=labels, pair_labels=pair_labels, label_mask=label_mask
    )
    (gradient,) = torch.autograd.grad(output.segmentation_loss, output.logits)
    return gradient.flatten(1).abs().amax(dim=1)


def test_negatives_get_no_mask_gradient_by_default_and_bce_pushes_them_to_empty():
    tester = TestAVSegFormerModel()
    model = tester.make_model()
    labels, pair_labels = make_labels(empty=(2,)), torch.tensor([1, 1, 0, 1])
    gradients = logit_gradients(model, labels, pair_labels)
    assert (gradients[[0, 1, 3]] > 0).all() and gradients[2] == 0

    bce_model = tester.make_model(negative_segmentation_loss="bce")
    bce_gradients = logit_gradients(bce_model, labels, pair_labels)
    assert (bce_gradients > 0).all()
    torch.testing.assert_close(bce_gradients[[0, 1, 3]], gradients[[0, 1, 3]])
    with torch.no_grad():
        plain = model(**tester.get_inputs(), labels=labels, pair_labels=pair_labels)
        with_bce = bce_model(**tester.get_inputs(), labels=labels, pair_labels=pair_labels)
    expected_bce = binary_cross_entropy(torch.sigmoid(plain.logits[2, 0]), labels[2])
    torch.testing.assert_close(with_bce.segmentation_loss, plain.segmentation_loss + expected_bce)


def test_label_mask_selects_supervised_frames():
    tester = TestAVSegFormerModel()
    model = tester.make_model()
    labels, label_mask = make_labels(), torch.tensor([1, 0, 1, 0])
    gradients = logit_gradients(model, labels, None, label_mask)
    assert (gradients[[0, 2]] > 0).all() and (gradients[[1, 3]] == 0).all()
    inputs = tester.get_inputs()
    with torch.no_grad():
        masked = model(**inputs, labels=labels, label_mask=label_mask)
        supervised_only = model(**{name: value[[0, 2]] for name, value in inputs.items()}, labels=labels[[0, 2]])
    torch.testing.assert_close(masked.segmentation_loss, supervised_only.segmentation_loss, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # no supervised frame: no mask loss
        assert model(**inputs, labels=labels, label_mask=torch.zeros(4)).segmentation_loss.item() == 0.0


def test_mixer_equals_explicit_attention():
    torch.manual_seed(0)
    mixer = AVSegFormerCrossModalMixer(16, 4)
    features, audio = torch.randn(2, 16, 5, 7), torch.randn(2, 16)
    pixels = features.flatten(2).transpose(1, 2)  # [N, HW, C]
    query = mixer.q_proj(audio).view(2, 1, 4, 4).transpose(1, 2)
    keys, values = mixer.kv_proj(pixels).view(2, -1, 2, 4, 4).permute(2, 0, 3, 1, 4)
    attention = (query @ keys.transpose(-1, -2) * 4**-0.5).softmax(-1)
    gate = torch.sigmoid(mixer.proj((attention @ values).transpose(1, 2).reshape(2, 16)))
    torch.testing.assert_close(mixer(features, audio), features * gate[:, :, None, None])
    torch.testing.assert_close(mixer(features[:1], audio[:1]), (features * gate[:, :, None, None])[:1])


def test_mask_mlp_equals_einsum_and_conv_mlp():
    torch.manual_seed(0)
    mlp = AVSegFormerMaskMLP(num_queries=5, hidden_dim=12, out_channels=8)
    queries, features = torch.randn(2, 5, 8), torch.randn(2, 8, 3, 4)
    hidden = torch.einsum("bqc,bchw->bqhw", queries, features)
    for index, layer in enumerate(mlp.layers):
        hidden = F.conv2d(hidden, layer.weight[:, :, None, None], layer.bias)
        hidden = hidden.relu() if index < 2 else hidden
    pixels = features.flatten(2).transpose(1, 2)
    torch.testing.assert_close(mlp(queries, pixels), hidden.flatten(2).transpose(1, 2))


def test_sine_position_embedding_is_unnormalised():
    embedding = sine_position_embedding(3, 5, 8, 10000.0, "cpu").view(3, 5, 8)
    # Channel 0 is sin(y / 1), channel 1 cos(y / 1), channel 4 sin(x / 1) with y, x counted from 1.
    torch.testing.assert_close(embedding[2, 0, 0], torch.tensor(3.0).sin())
    torch.testing.assert_close(embedding[2, 0, 1], torch.tensor(3.0).cos())
    torch.testing.assert_close(embedding[0, 4, 4], torch.tensor(5.0).sin())
    torch.testing.assert_close(embedding[0, 4, 6], torch.tensor(5.0 / 100.0).sin())


def test_initialisation():
    model = TestAVSegFormerModel().make_model()
    attention = model.encoder.layers[0].self_attn
    assert attention.attention_weights.weight.abs().sum() == 0 and attention.sampling_offsets.weight.abs().sum() == 0
    offsets = attention.sampling_offsets.bias.view(2, 3, 2, 2)
    torch.testing.assert_close(offsets[0, :, 1], torch.tensor([[2.0, 0.0]] * 3))  # head 0 looks right, 2 px
    torch.testing.assert_close(offsets[1, 0, 0], torch.tensor([-1.0, 0.0]), atol=1e-6, rtol=0)
    assert model.level_embed.std() > 0.5


def test_avsegformer_config_contract():
    with pytest.raises(StrictDataclassClassValidationError, match="negative_segmentation_loss"):
        tiny_avsegformer_config(negative_segmentation_loss="dice")
    with pytest.raises(StrictDataclassClassValidationError, match="divisible by `decoder_attention_heads`"):
        tiny_avsegformer_config(decoder_attention_heads=3)
    model = AVSegFormerForAudioVisualSegmentation(tiny_avsegformer_config(deformable_attention_implementation="cuda"))
    with pytest.raises(ValueError, match="unknown deformable attention implementation 'cuda'"):
        model(**TestAVSegFormerModel().get_inputs())
