"""The shared model tester every architecture runs, in the spirit of transformers' `ModelTesterMixin` (whose common
tests transformers does not ship in its wheel: the installed package has `testing_utils.py` only, so the relevant
checks are written here).

`ModelTesterMixin` holds what every model of the package must do (configs, shapes, `return_dict`, batch-size
independence, save/load, Auto classes, `base_model_prefix`, `trust_remote_code`); `AudioVisualSegmentationTesterMixin`
adds the forward contract of the audio-visual segmentation models (losses, label masks, frozen encoder, gradient
checkpointing, hidden states, config checks). A test class sets `model_class` and implements `get_config`,
`get_inputs` and `check_outputs`.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel

SIZE = 64  # frames are SIZE × SIZE

REMOTE_SCRIPT = """
import sys, torch
from transformers import AutoModel
results = {}
for folder in sys.argv[2:]:
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    with torch.no_grad():
        output = model(**torch.load(f"{folder}/inputs.pt"))
    results[folder] = {"module": type(model).__module__, "outputs": output.to_tuple()}
assert "modeling_avs" not in sys.modules, "the checkpoint code must not need the installed package"
torch.save(results, sys.argv[1])
"""


class ModelTesterMixin:
    """Checks shared by every model class of the package; `TESTERS` lists the collected test classes."""

    TESTERS: list[type] = []
    model_class: type | None = None
    deterministic: dict = {}  # config overrides that make training deterministic (e.g. no dropout)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.model_class is not None:
            ModelTesterMixin.TESTERS.append(cls)

    def get_config(self, **overrides):
        """A tiny config of the architecture with `overrides`."""
        raise NotImplementedError

    def get_inputs(self, batch_size: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
        """Model inputs of `batch_size` items (videos of `config.num_frames` frames, or audio examples)."""
        raise NotImplementedError

    def check_outputs(self, outputs, inputs: dict[str, torch.Tensor]) -> None:
        """Assert the shapes and ranges of the outputs of `inputs`."""
        raise NotImplementedError

    def item_slice(self, index: int) -> slice:
        """The rows of the inputs and outputs that belong to item `index` of a batch."""
        return slice(index, index + 1)

    def make_model(self, **overrides):
        torch.manual_seed(0)
        return self.model_class(self.get_config(**overrides)).eval()

    @pytest.fixture(scope="class")
    def model(self):
        return self.make_model()

    def test_config_round_trip_and_auto_config(self, tmp_path):
        config = self.get_config()
        config.save_pretrained(tmp_path)
        reloaded = AutoConfig.from_pretrained(tmp_path)
        assert type(reloaded) is type(config) and comparable_config(reloaded) == comparable_config(config)
        assert type(AutoConfig.for_model(config.model_type)) is type(config)

    def test_forward_shapes(self, model):
        inputs = self.get_inputs()
        with torch.no_grad():
            self.check_outputs(model(**inputs), inputs)

    def test_return_dict_false_gives_the_same_tuple(self, model):
        inputs = self.get_inputs()
        with torch.no_grad():
            as_dict, as_tuple = model(**inputs), model(**inputs, return_dict=False)
        assert isinstance(as_tuple, tuple) and len(as_tuple) == len(as_dict.to_tuple())
        for expected, actual in zip(as_dict.to_tuple(), as_tuple):
            torch.testing.assert_close(actual, expected)

    def test_eval_outputs_do_not_depend_on_the_batch(self, model):
        inputs = self.get_inputs(batch_size=2)
        rows = self.item_slice(1)
        single = {name: value[rows] for name, value in inputs.items()}
        with torch.no_grad():
            batched, alone = model(**inputs), model(**single)
        for name, value in alone.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                torch.testing.assert_close(value, batched[name][rows], atol=1e-5, rtol=1e-4, msg=name)

    def test_save_load_round_trip_and_auto_model(self, model, tmp_path):
        model.save_pretrained(tmp_path)
        inputs = self.get_inputs()
        with torch.no_grad():
            expected = model(**inputs).to_tuple()
            for loaded in (self.model_class.from_pretrained(tmp_path), AutoModel.from_pretrained(tmp_path)):
                assert type(loaded) is self.model_class
                for actual, reference in zip(loaded.eval()(**inputs).to_tuple(), expected):
                    torch.testing.assert_close(actual, reference, atol=0, rtol=0)

    def test_base_model_prefix_matches_checkpoints(self, model, tmp_path):
        """transformers adds or strips `base_model_prefix` from checkpoint keys: a model containing the base model
        loads the base model's own checkpoint, and the base model loads it out of the bigger model's."""
        prefix = model.base_model_prefix
        state = model.state_dict()
        base = getattr(model, prefix, model)
        if base is not model:  # the base model is a sub-module: its checkpoint's keys lack the prefix
            weights = {key.removeprefix(f"{prefix}."): value for key, value in state.items() if key.startswith(prefix)}
        else:  # this is the base model: a bigger model's checkpoint holds it under the prefix
            weights = {f"{prefix}.{key}": value for key, value in state.items()}
        save_file({key: value.contiguous() for key, value in weights.items()}, tmp_path / "model.safetensors")
        model.config.save_pretrained(tmp_path)
        loaded = self.model_class.from_pretrained(tmp_path)
        loaded_base = getattr(loaded, prefix, loaded)
        for key, value in base.state_dict().items():
            torch.testing.assert_close(loaded_base.state_dict()[key], value, atol=0, rtol=0, msg=key)

    def test_trust_remote_code_loads_without_the_package(self, model, remote_code_results):
        module, outputs = remote_code_results[self.model_class.__name__]
        assert module.startswith("transformers_modules.")
        inputs = self.get_inputs(batch_size=1)
        with torch.no_grad():
            expected = model(**inputs).to_tuple()
        assert len(outputs) == len(expected)
        for actual, reference in zip(outputs, expected):
            torch.testing.assert_close(actual, reference)


class AudioVisualSegmentationTesterMixin(ModelTesterMixin):
    """The forward contract of every `*ForAudioVisualSegmentation` model: N = B·T frames, video-major."""

    def frames(self, batch_size: int) -> int:
        return batch_size * self.get_config().num_frames

    def item_slice(self, index: int) -> slice:
        frames = self.get_config().num_frames
        return slice(index * frames, (index + 1) * frames)

    def get_inputs(self, batch_size: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        frames = self.frames(batch_size)
        return {
            "pixel_values": torch.randn(frames, 3, SIZE, SIZE, generator=generator),
            "input_features": torch.randn(frames, 1, 96, 64, generator=generator),
        }

    def get_labels(self, batch_size: int = 2) -> dict[str, torch.Tensor]:
        """Targets: a rectangle mask on every frame, aligned pairs."""
        frames = self.frames(batch_size)
        labels = torch.zeros(frames, SIZE, SIZE)
        labels[:, 16:40, 8:48] = 1
        return {"labels": labels, "pair_labels": torch.ones(frames)}

    def check_outputs(self, outputs, inputs):
        frames = len(inputs["pixel_values"])
        assert outputs.logits.shape == (frames, 1, SIZE, SIZE)
        assert outputs.similarity.shape == (frames,) and outputs.similarity.abs().max() <= 1 + 1e-6  # cosine
        assert outputs.audio_embeds.shape == (frames, 128)
        assert torch.isfinite(outputs.logits).all()
        assert outputs.loss is None and outputs.segmentation_loss is None and outputs.similarity_loss is None
        assert outputs.hidden_states is None

    def test_loss_with_targets(self, model):
        output = model(**self.get_inputs(), **self.get_labels())
        assert output.loss.dim() == 0 and torch.isfinite(output.loss)
        weight = model.config.similarity_loss_weight
        torch.testing.assert_close(output.loss, output.segmentation_loss + weight * output.similarity_loss)
        pairs_only = model(**self.get_inputs(), pair_labels=self.get_labels()["pair_labels"])
        assert pairs_only.segmentation_loss is None
        torch.testing.assert_close(pairs_only.loss, weight * pairs_only.similarity_loss)

    def test_similarity_loss_is_the_bce_of_the_sigmoid(self, model):
        pair_labels = torch.tensor([1.0, 0.0] * (self.frames(2) // 2))
        output = model(**self.get_inputs(), pair_labels=pair_labels)
        expected = binary_cross_entropy(torch.sigmoid(output.similarity), pair_labels)
        torch.testing.assert_close(output.similarity_loss, expected)

    def test_positive_weight_weights_the_positive_pairs_of_the_similarity_bce(self):
        weighted = self.make_model(similarity_positive_weight=0.25)
        pair_labels = torch.tensor([1.0, 0.0] * (self.frames(2) // 2))
        output = weighted(**self.get_inputs(), pair_labels=pair_labels)
        probability = torch.sigmoid(output.similarity)
        terms = [-(0.25 * math.log(q) if y else math.log(1 - q)) for q, y in zip(probability.tolist(), pair_labels)]
        torch.testing.assert_close(output.similarity_loss.item(), sum(terms) / len(terms))

    def test_learnable_scale_makes_the_similarity_a_calibrated_logit(self, tmp_path):
        paper = self.make_model()
        calibrated = self.make_model(similarity_learnable_scale=True)
        head = calibrated.similarity_head
        assert head.logit_scale.exp().item() == pytest.approx(10.0) and head.logit_bias.item() == 0.0
        with torch.no_grad():
            head.logit_bias.fill_(-0.5)
            inputs = self.get_inputs()
            cosine, logit = paper(**inputs).similarity, calibrated(**inputs).similarity
        torch.testing.assert_close(logit, 10.0 * cosine - 0.5)
        calibrated.save_pretrained(tmp_path)
        reloaded = AutoModel.from_pretrained(tmp_path).eval()
        assert reloaded.similarity_head.logit_bias.item() == -0.5
        assert "logit_scale" not in dict(paper.similarity_head.named_parameters())  # the paper's head has none

    def test_presence_gating_scales_the_mask_probabilities_by_the_presence_score(self):
        ungated = self.make_model(similarity_learnable_scale=True)
        gated = self.make_model(similarity_learnable_scale=True, presence_gating=True)
        gated.load_state_dict(ungated.state_dict())
        inputs, labels = self.get_inputs(), self.get_labels()
        with torch.no_grad():
            plain, output = ungated(**inputs), gated(**inputs, **labels)
        probability = torch.sigmoid(plain.logits) * torch.sigmoid(plain.similarity)[:, None, None, None]
        torch.testing.assert_close(torch.sigmoid(output.logits), probability)
        torch.testing.assert_close(output.similarity, plain.similarity)
        # The loss sees the gated masks.
        with torch.no_grad():
            ungated.config.presence_gating = True
            torch.testing.assert_close(ungated(**inputs, **labels).segmentation_loss, output.segmentation_loss)

    def test_presence_gating_empties_the_frames_the_presence_score_rejects(self):
        model = self.make_model(similarity_learnable_scale=True, presence_gating=True)
        inputs = self.get_inputs()
        with torch.no_grad():
            model.config.presence_gating = False
            plain = model(**inputs).logits
            assert (plain > 0).any()  # the ungated masks are not empty
            model.config.presence_gating = True
            model.similarity_head.logit_scale.fill_(0.0)  # t = 1: the pair logit is cos + b, below 0 for b < -1
            model.similarity_head.logit_bias.fill_(-1.0001)
            assert (torch.sigmoid(model(**inputs).logits) < 0.5).all()
            model.similarity_head.logit_bias.fill_(30.0)  # a certain presence leaves the masks as they were
            torch.testing.assert_close(model(**inputs).logits, plain, atol=1e-4, rtol=0)

    def test_negatives_can_be_left_out_of_the_mask_loss(self):
        model = self.make_model(segmentation_loss_on_negatives=False)
        inputs, labels = self.get_inputs(), self.get_labels()
        frames = self.frames(2)
        pairs = torch.tensor([1.0, 0.0] * (frames // 2))
        with torch.no_grad():
            mixed = model(**inputs, labels=labels["labels"], pair_labels=pairs)
            model.config.segmentation_loss_on_negatives = True
            positives_only = model(**inputs, labels=labels["labels"], pair_labels=pairs, label_mask=pairs.bool())
            with_negatives = model(**inputs, labels=labels["labels"], pair_labels=pairs)
            model.config.segmentation_loss_on_negatives = False
            negatives = model(**inputs, labels=labels["labels"], pair_labels=torch.zeros(frames))
        torch.testing.assert_close(mixed.segmentation_loss, positives_only.segmentation_loss)
        assert not torch.allclose(mixed.segmentation_loss, with_negatives.segmentation_loss)
        assert negatives.segmentation_loss.item() == 0.0 and negatives.similarity_loss > 0

    def test_audio_embeds_path_equals_input_features_path(self, model):
        inputs = self.get_inputs()
        with torch.no_grad():
            from_features = model(**inputs)
            from_embeds = model(pixel_values=inputs["pixel_values"], audio_embeds=from_features.audio_embeds)
        torch.testing.assert_close(from_embeds.logits, from_features.logits)
        torch.testing.assert_close(from_embeds.similarity, from_features.similarity)

    def test_output_hidden_states_from_the_argument_or_the_config(self, model):
        inputs = self.get_inputs()
        channels = self.get_config().backbone_config.hidden_sizes
        with torch.no_grad():
            by_argument = model(**inputs, output_hidden_states=True).hidden_states
            configured = self.make_model(output_hidden_states=True)
            by_config = configured(**inputs).hidden_states
            overridden = configured(**inputs, output_hidden_states=False).hidden_states
        assert [state.shape[1] for state in by_argument] == list(channels)
        assert [state.shape[-1] for state in by_argument] == [SIZE // 4, SIZE // 8, SIZE // 16, SIZE // 32]
        assert len(by_config) == 4 and overridden is None

    def test_frozen_audio_encoder_gets_no_gradient_and_the_heads_do(self):
        model = self.make_model().train()
        model(**self.get_inputs(), **self.get_labels()).loss.backward()
        assert all(parameter.grad is None for parameter in model.audio_encoder.parameters())
        assert model.similarity_head.audio_proj.weight.grad.abs().sum() > 0
        assert model.mask_head[0].weight.grad.abs().sum() > 0

    def test_trainable_audio_encoder_gets_gradients(self):
        model = self.make_model(freeze_audio_encoder=False).train()
        model(**self.get_inputs(), **self.get_labels()).loss.backward()
        assert model.audio_encoder.embeddings[-2].weight.grad.abs().sum() > 0

    def test_gradient_checkpointing_gives_the_same_gradients(self):
        inputs, labels = self.get_inputs(), self.get_labels()
        gradients = []
        for checkpointing in (False, True):
            model = self.make_model(**self.deterministic)
            if checkpointing:
                model.activation_checkpointing_enable()
                assert any(getattr(module, "gradient_checkpointing", False) for module in model.modules())
            model.train()(**inputs, **labels).loss.backward()
            gradients.append({name: p.grad for name, p in model.named_parameters() if p.grad is not None})
        assert gradients[0].keys() == gradients[1].keys()
        for name, gradient in gradients[0].items():
            torch.testing.assert_close(gradients[1][name], gradient, atol=1e-5, rtol=1e-4, msg=name)

    def test_backbone_freezing(self):
        model = self.make_model()
        model.freeze_backbone()
        assert not any(parameter.requires_grad for parameter in model.backbone.parameters())
        model.unfreeze_backbone()
        assert all(parameter.requires_grad for parameter in model.backbone.parameters())
        assert model.base_model is model.backbone

    @pytest.mark.parametrize("similarity_type", ["euclidean", "concat"])
    def test_alternative_similarities(self, similarity_type):
        output = self.make_model(similarity_type=similarity_type)(**self.get_inputs(), **self.get_labels())
        assert output.similarity.shape == (self.frames(2),) and torch.isfinite(output.loss)
        if similarity_type == "euclidean":
            assert (output.similarity <= 0).all()

    def test_mask_head_channels_set_the_head_width(self):
        model = self.make_model(mask_head_channels=[12, 6])
        convolutions = [layer for layer in model.mask_head if isinstance(layer, torch.nn.Conv2d)]
        hidden = model.config.hidden_size
        assert [(conv.in_channels, conv.out_channels) for conv in convolutions] == [(hidden, 12), (12, 6), (6, 1)]
        inputs = self.get_inputs()
        with torch.no_grad():
            assert model(**inputs).logits.shape == (self.frames(2), 1, SIZE, SIZE)
        assert list(self.model_class.config_class().mask_head_channels) == [128, 32]  # the original's by default

    def test_invalid_configs_are_rejected_with_the_field_named(self):
        bad_values = {
            "similarity_type": "dot",
            "inference_gate_threshold": 2.0,
            "mask_head_channels": [8],
            "num_frames": 0,
            "similarity_loss_weight": -1.0,
        }
        for field, value in bad_values.items():
            with pytest.raises(Exception, match=field):
                self.get_config(**{field: value})
        three_stages = self.get_config().backbone_config
        three_stages.out_features = ["stage1", "stage2", "stage3"]
        with pytest.raises(Exception, match="4 feature maps"):
            self.get_config(backbone_config=three_stages)

    def test_forward_contract_errors(self, model):
        inputs = self.get_inputs()
        frames = self.frames(2)
        with pytest.raises(ValueError, match="exactly one"):
            model(pixel_values=inputs["pixel_values"])
        with pytest.raises(ValueError, match="exactly one"):
            model(**inputs, audio_embeds=torch.zeros(frames, 128))
        with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
            model(pixel_values=torch.zeros(frames, 1, SIZE, SIZE), input_features=inputs["input_features"])
        with pytest.raises(ValueError, match="one log-mel example per frame"):
            model(pixel_values=inputs["pixel_values"], input_features=inputs["input_features"][:1])
        with pytest.raises(ValueError, match="`audio_embeds` must have shape"):
            model(pixel_values=inputs["pixel_values"], audio_embeds=torch.zeros(frames, 64))
        with pytest.raises(ValueError, match="`labels` must have shape"):
            model(**inputs, labels=torch.zeros(frames, 32, 32))
        with pytest.raises(ValueError, match="`pair_labels` must have shape"):
            model(**inputs, pair_labels=torch.zeros(frames - 1))


def binary_cross_entropy(probabilities: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy, written out (the expected values of the loss tests are not the package's code)."""
    probabilities, targets = probabilities.double(), targets.double()
    return -(targets * probabilities.log() + (1 - targets) * (1 - probabilities).log()).mean().float()


def remote_code_outputs(root: Path) -> dict[str, tuple[str, tuple]]:
    """Every collected architecture saved with its code in `root` and run in one subprocess that loads it with
    `trust_remote_code=True` and no `modeling_avs` package: `{model class name: (module of the loaded class, outputs)}`."""
    folders = {}
    for tester_class in ModelTesterMixin.TESTERS:
        tester = tester_class()
        folder = root / tester_class.model_class.__name__
        tester.make_model().save_pretrained(folder)
        torch.save(tester.get_inputs(batch_size=1), folder / "inputs.pt")
        folders[tester_class.model_class.__name__] = folder
    environment = {**os.environ, "HF_MODULES_CACHE": str(root / "modules"), "PYTHONPATH": "", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", REMOTE_SCRIPT, str(root / "outputs.pt"), *map(str, folders.values())]
    completed = subprocess.run(command, env=environment, cwd=root, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = torch.load(root / "outputs.pt")
    return {
        name: (results[str(folder)]["module"], results[str(folder)]["outputs"]) for name, folder in folders.items()
    }


def comparable_config(config) -> dict:
    """`config.to_dict()` without what saving and loading add (`auto_map`, `transformers_version`, `_name_or_path`)."""
    return {
        key: value
        for key, value in config.to_dict().items()
        if key not in ("auto_map", "transformers_version", "_name_or_path")
    }
