import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from huggingface_hub.errors import StrictDataclassClassValidationError
from transformers import AutoModel, PvtV2Config

from modeling_avs import AVSegFormerConfig, AVSegFormerForAudioVisualSegmentation, VGGishConfig
from modeling_avs.losses import dice_loss
from modeling_avs.modeling_avsegformer import (
    AVSegFormerCrossModalMixer,
    AVSegFormerMaskMLP,
    sine_position_embedding,
)

SIZE = 64


def tiny_config(**overrides) -> AVSegFormerConfig:
    fields = dict(
        backbone_config=PvtV2Config(
            depths=[1, 1, 1, 1],
            hidden_sizes=[8, 16, 32, 64],
            num_attention_heads=[1, 1, 2, 2],
            out_features=["stage1", "stage2", "stage3", "stage4"],
        ),
        audio_config=VGGishConfig(conv_channels=[4, 4, 8, 8, 8, 8], hidden_sizes=[16, 16]),
        hidden_size=32,
        num_queries=6,
        encoder_layers=2,
        encoder_attention_heads=2,
        encoder_n_points=2,
        encoder_ffn_dim=16,
        decoder_layers=2,
        decoder_attention_heads=2,
        decoder_ffn_dim=16,
        query_generator_layers=2,
        query_generator_attention_heads=2,
        query_generator_ffn_dim=16,
        mixer_attention_heads=2,
        mask_mlp_dim=16,
        num_groups=4,
    )
    fields.update(overrides)
    return AVSegFormerConfig(**fields)


@pytest.fixture(scope="module")
def model() -> AVSegFormerForAudioVisualSegmentation:
    torch.manual_seed(0)
    return AVSegFormerForAudioVisualSegmentation(tiny_config()).eval()


def make_inputs(num_frames: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "pixel_values": torch.randn(num_frames, 3, SIZE, SIZE, generator=generator),
        "input_features": torch.randn(num_frames, 1, 96, 64, generator=generator),
    }


def make_labels(num_frames: int = 3, empty: tuple[int, ...] = ()) -> torch.Tensor:
    labels = torch.zeros(num_frames, SIZE, SIZE)
    labels[:, 16:40, 8:48] = 1
    labels[list(empty)] = 0
    return labels


def test_output_shapes(model):
    with torch.no_grad():
        output = model(**make_inputs(), output_hidden_states=True)
    assert output.logits.shape == (3, 1, SIZE, SIZE)
    assert output.similarity.shape == (3,)
    assert output.mask_features.shape == (3, 32, SIZE // 4, SIZE // 4)
    assert output.audio_embeds.shape == (3, 128)
    assert [tuple(m.shape[1:]) for m in output.hidden_states] == [(8, 16, 16), (16, 8, 8), (32, 4, 4), (64, 2, 2)]
    assert output.loss is None and output.similarity.abs().max() <= 1
    assert torch.isfinite(output.logits).all()


def test_single_frame_matches_batched_frames(model):
    inputs = make_inputs()
    with torch.no_grad():
        batched = model(**inputs)
        single = model(pixel_values=inputs["pixel_values"][1:2], input_features=inputs["input_features"][1:2])
    torch.testing.assert_close(single.logits, batched.logits[1:2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(single.mask_features, batched.mask_features[1:2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(single.similarity, batched.similarity[1:2], atol=1e-6, rtol=1e-6)


def test_audio_embeds_input_equals_input_features(model):
    inputs = make_inputs()
    with torch.no_grad():
        from_features = model(**inputs)
        from_embeds = model(pixel_values=inputs["pixel_values"], audio_embeds=from_features.audio_embeds)
    torch.testing.assert_close(from_embeds.logits, from_features.logits)


def test_losses_follow_the_recipe(model):
    labels = make_labels(empty=(2,))
    pair_labels = torch.tensor([1, 1, 0])
    output = model(**make_inputs(), labels=labels, pair_labels=pair_labels)
    mix = F.interpolate(output.mask_features.mean(1, keepdim=True), size=(SIZE, SIZE), mode="bilinear")[:, 0]
    expected_segmentation = dice_loss(output.logits[:, 0], labels) + 0.1 * dice_loss(mix, labels)
    expected_similarity = F.binary_cross_entropy(torch.sigmoid(output.similarity), pair_labels.float())
    torch.testing.assert_close(output.segmentation_loss, expected_segmentation)
    torch.testing.assert_close(output.similarity_loss, expected_similarity)
    torch.testing.assert_close(output.loss, expected_segmentation + expected_similarity)

    weighted = AVSegFormerForAudioVisualSegmentation(tiny_config(similarity_loss_weight=0.5)).eval()
    weighted.load_state_dict(model.state_dict())
    output = weighted(**make_inputs(), labels=labels, pair_labels=pair_labels)
    torch.testing.assert_close(output.loss, output.segmentation_loss + 0.5 * output.similarity_loss)


def logit_gradients(model, labels, pair_labels, label_mask=None):
    output = model(**make_inputs(), labels=labels, pair_labels=pair_labels, label_mask=label_mask)
    (gradient,) = torch.autograd.grad(output.segmentation_loss, output.logits)
    return gradient.flatten(1).abs().amax(dim=1)


def test_negatives_get_no_mask_gradient_by_default_and_bce_pushes_them_to_empty(model):
    labels = make_labels(empty=(2,))
    pair_labels = torch.tensor([1, 1, 0])
    gradients = logit_gradients(model, labels, pair_labels)
    assert (gradients[:2] > 0).all() and gradients[2] == 0

    bce_model = AVSegFormerForAudioVisualSegmentation(tiny_config(negative_segmentation_loss="bce")).eval()
    bce_model.load_state_dict(model.state_dict())
    bce_gradients = logit_gradients(bce_model, labels, pair_labels)
    assert (bce_gradients > 0).all()
    torch.testing.assert_close(bce_gradients[:2], gradients[:2])
    with torch.no_grad():
        plain = model(**make_inputs(), labels=labels, pair_labels=pair_labels)
        with_bce = bce_model(**make_inputs(), labels=labels, pair_labels=pair_labels)
    expected_bce = F.binary_cross_entropy_with_logits(plain.logits[2, 0], labels[2])
    torch.testing.assert_close(with_bce.segmentation_loss, plain.segmentation_loss + expected_bce)


def test_label_mask_selects_supervised_frames(model):
    labels = make_labels()
    label_mask = torch.tensor([1, 0, 0])
    gradients = logit_gradients(model, labels, None, label_mask)
    assert gradients[0] > 0 and (gradients[1:] == 0).all()
    with torch.no_grad():
        masked = model(**make_inputs(), labels=labels, label_mask=label_mask)
        other_labels = labels.clone()
        other_labels[1:] = 0
        changed = model(**make_inputs(), labels=other_labels, label_mask=label_mask)
        first_only = model(
            pixel_values=make_inputs()["pixel_values"][:1],
            input_features=make_inputs()["input_features"][:1],
            labels=labels[:1],
        )
    torch.testing.assert_close(masked.segmentation_loss, changed.segmentation_loss)
    torch.testing.assert_close(masked.segmentation_loss, first_only.segmentation_loss, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="`label_mask` selects no frame"):
        model(**make_inputs(), labels=labels, label_mask=torch.zeros(3))


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
    model = AVSegFormerForAudioVisualSegmentation(tiny_config())
    attention = model.encoder.layers[0].self_attn
    assert attention.attention_weights.weight.abs().sum() == 0 and attention.sampling_offsets.weight.abs().sum() == 0
    offsets = attention.sampling_offsets.bias.view(2, 3, 2, 2)
    torch.testing.assert_close(offsets[0, :, 1], torch.tensor([[2.0, 0.0]] * 3))  # head 0 looks right, 2 px
    torch.testing.assert_close(offsets[1, 0, 0], torch.tensor([-1.0, 0.0]), atol=1e-6, rtol=0)
    assert model.level_embed.std() > 0.5
    assert not any(p.requires_grad for p in model.audio_encoder.parameters())
    model.freeze_backbone()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    model.unfreeze_backbone()
    assert all(p.requires_grad for p in model.backbone.parameters())


def test_save_load_round_trip_and_auto_model(model, tmp_path):
    model.save_pretrained(tmp_path)
    inputs = make_inputs(num_frames=2)
    with torch.no_grad():
        expected = model(**inputs)
        reloaded = AVSegFormerForAudioVisualSegmentation.from_pretrained(tmp_path).eval()
        auto = AutoModel.from_pretrained(tmp_path).eval()
        for loaded in (reloaded, auto):
            output = loaded(**inputs)
            torch.testing.assert_close(output.logits, expected.logits, atol=0, rtol=0)
            torch.testing.assert_close(output.similarity, expected.similarity, atol=0, rtol=0)
    assert isinstance(auto, AVSegFormerForAudioVisualSegmentation) and auto.config.num_queries == 6


REMOTE_SCRIPT = """
import sys, torch
from transformers import AutoModel
model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
assert "modeling_avs" not in sys.modules, "the package must not be needed"
with torch.no_grad():
    output = model(**torch.load(sys.argv[2]))
torch.save({"module": type(model).__module__, "logits": output.logits, "similarity": output.similarity}, sys.argv[3])
"""


def test_trust_remote_code_loads_without_the_package(model, tmp_path):
    model.save_pretrained(tmp_path / "model")
    assert (tmp_path / "model" / "deformable_attention.py").is_file()
    inputs = make_inputs(num_frames=2)
    torch.save(inputs, tmp_path / "inputs.pt")
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": "", "HF_HUB_OFFLINE": "1"}
    arguments = [str(tmp_path / name) for name in ("model", "inputs.pt", "out.pt")]
    subprocess.run([sys.executable, "-c", REMOTE_SCRIPT, *arguments], check=True, env=env, cwd=tmp_path)
    result = torch.load(tmp_path / "out.pt")
    assert result["module"].startswith("transformers_modules")
    with torch.no_grad():
        expected = model(**inputs)
    torch.testing.assert_close(result["logits"], expected.logits)
    torch.testing.assert_close(result["similarity"], expected.similarity)


def test_gradient_checkpointing_gives_the_same_gradients(model):
    labels, pair_labels = make_labels(), torch.tensor([1, 0, 1])
    reference = AVSegFormerForAudioVisualSegmentation(tiny_config(dropout=0.0))
    reference.load_state_dict(model.state_dict())
    checkpointed = AVSegFormerForAudioVisualSegmentation(tiny_config(dropout=0.0))
    checkpointed.load_state_dict(model.state_dict())
    checkpointed.activation_checkpointing_enable()
    assert checkpointed.encoder.layers[0].gradient_checkpointing
    results = []
    for candidate in (reference.train(), checkpointed.train()):
        loss = candidate(**make_inputs(), labels=labels, pair_labels=pair_labels).loss
        loss.backward()
        results.append((loss, {n: p.grad for n, p in candidate.named_parameters() if p.grad is not None}))
    torch.testing.assert_close(results[0][0], results[1][0])
    assert results[0][1].keys() == results[1][1].keys()
    assert "encoder.layers.0.self_attn.sampling_offsets.weight" in results[0][1]
    for name, grad in results[0][1].items():
        torch.testing.assert_close(results[1][1][name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_clear_errors(model):
    inputs = make_inputs()
    with pytest.raises(ValueError, match="`pixel_values` must have shape"):
        model(pixel_values=inputs["pixel_values"][0], input_features=inputs["input_features"])
    with pytest.raises(ValueError, match="exactly one of"):
        model(pixel_values=inputs["pixel_values"])
    with pytest.raises(ValueError, match="`labels` must have shape"):
        model(**inputs, labels=torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="`pair_labels` must have shape"):
        model(**inputs, pair_labels=torch.ones(2))
    with pytest.raises(StrictDataclassClassValidationError, match="negative_segmentation_loss"):
        tiny_config(negative_segmentation_loss="dice")
    with pytest.raises(StrictDataclassClassValidationError, match="divisible by `decoder_attention_heads`"):
        tiny_config(decoder_attention_heads=3)
    with pytest.raises(ValueError, match="unknown deformable attention implementation 'cuda'"):
        AVSegFormerForAudioVisualSegmentation(tiny_config(deformable_attention_implementation="cuda"))(**inputs)
