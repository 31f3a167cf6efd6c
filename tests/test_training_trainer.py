"""RobustAVSTrainer on tiny data: learning, resuming, evaluation metrics, recipes and the Hub pre-flight check."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from training_helpers import TINY_IMAGE_SIZE, tiny_dataset, tiny_model_config

from modeling_avs.cli.main import main
from modeling_avs.hub import HubAccessError, check_hub_access
from modeling_avs.training import build_model, build_processor, build_trainer, get_recipe, training_arguments

REPOSITORY = Path(__file__).resolve().parents[1]


def _recipe(**overrides):
    settings = {"image_size": TINY_IMAGE_SIZE, "batch_size": 2, "learning_rate": 1e-3, "negative_ratio": 0.2}
    return get_recipe("avsbench-s4", **{**settings, **overrides})


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset(train_videos=8, evaluation_videos=2)


def _trainer(recipe, dataset, output_dir, eval_split=None, **argument_overrides):
    torch.manual_seed(0)
    model = build_model(recipe, tiny_model_config())
    settings = {"eval_strategy": "no", "save_strategy": "no", "disable_tqdm": True, "logging_steps": 1}
    args = training_arguments(recipe, output_dir, **{**settings, **argument_overrides})
    return build_trainer(recipe, model, build_processor(TINY_IMAGE_SIZE), dataset["train"], eval_split, args)


def test_loss_goes_down(dataset, tmp_path):
    trainer = _trainer(_recipe(num_epochs=6, negative_ratio=0.0), dataset, tmp_path)
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 24
    assert sum(losses[-4:]) / 4 < 0.8 * sum(losses[:4]) / 4


def test_frozen_audio_encoder_embeds_each_waveform_once_with_the_same_training(dataset, tmp_path):
    """With a frozen encoder and cached features, batches carry the cached embeddings (the encoder never runs in a
    training step) and the run is the one the log-mel features give."""
    recipe = _recipe(num_epochs=2)
    cached = _trainer(recipe, dataset, tmp_path / "cached")
    plain = _trainer(recipe, dataset, tmp_path / "plain")
    plain.data_collator.featurizer = None
    plain.train_dataset.samples.featurizer.audio_encoder = None  # log-mel features, the encoder in every step
    calls = []
    cached.model.audio_encoder.register_forward_hook(lambda *args: calls.append(1))
    batch = cached.data_collator([cached.train_dataset[0], cached.train_dataset[1]])
    assert "audio_embeds" in batch and "input_features" not in batch and batch["audio_embeds"].shape[1] == 128
    cached.train()
    plain.train()
    featurizer = cached.train_dataset.samples.featurizer
    assert len(calls) == len(featurizer._embeddings)  # once per distinct waveform, never in a step
    for (name, expected), actual in zip(plain.model.state_dict().items(), cached.model.state_dict().values()):
        torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4, msg=f"parameter {name} differs")


def test_resume_continues_the_same_run(dataset, tmp_path):
    recipe = _recipe(num_epochs=2)
    full = _trainer(recipe, dataset, tmp_path / "full", save_strategy="epoch")
    full.train()
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    shutil.copytree(tmp_path / "full" / "checkpoint-5", resumed_dir / "checkpoint-5")
    resumed = _trainer(recipe, dataset, resumed_dir)
    resumed.train(resume_from_checkpoint=str(resumed_dir / "checkpoint-5"))
    assert resumed.state.global_step == full.state.global_step == 10
    assert resumed.train_dataset.epoch == 1  # the second epoch's negatives were drawn after resuming
    for (name, expected), actual in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(actual, expected, msg=f"parameter {name} differs after resuming")


def test_evaluation_logs_per_condition_robust_metrics(dataset, tmp_path):
    trainer = _trainer(_recipe(num_epochs=1), dataset, tmp_path, eval_split=dataset["validation"])
    metrics = trainer.evaluate()
    for key in ("eval_g_miou", "eval_g_f", "eval_g_fpr", "eval_positive_miou", "eval_silence_fpr"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["eval_offscreen_num_frames"] == 10
    assert metrics["eval_loss"] > 0


def test_evaluation_applies_the_configured_similarity_gate(dataset, tmp_path):
    recipe = _recipe(num_epochs=1)
    trainer = _trainer(recipe, dataset, tmp_path, eval_split=dataset["validation"])
    assert trainer.compute_metrics.__self__.gate_threshold is None
    trainer.model.config.inference_gate_threshold = 1.0  # no sigmoid(similarity) reaches 1: every mask is emptied
    gated = build_trainer(
        recipe, trainer.model, build_processor(TINY_IMAGE_SIZE), dataset["train"], dataset["validation"], trainer.args
    )
    metrics = gated.evaluate()
    assert all(metrics[f"eval_{condition}_fpr"] == 0.0 for condition in ("positive", "silence", "noise", "offscreen"))
    assert metrics["eval_positive_miou"] == 0.0  # the masks are empty, the references are not


def test_recipes_and_overrides():
    recipe = get_recipe("avsegformer-ms3", num_epochs=2)
    assert (recipe.num_epochs, recipe.freeze_backbone_epochs, recipe.image_size) == (2, 10, 512)
    assert get_recipe("avsbench-s4").supervised_frames == "first"
    assert get_recipe("avsbench-ms3").supervised_frames == "all"
    with pytest.raises(ValueError, match="unknown recipe field"):
        get_recipe("avsbench-s4", epochs=3)
    with pytest.raises(ValueError, match="multiple of 32"):
        get_recipe("avsbench-s4", image_size=100)
    with pytest.raises(ValueError, match="train_negative_conditions"):
        get_recipe("avsbench-s4", train_negative_conditions=("thunder",))
    with pytest.raises(ValueError, match="lr_scheduler_type"):
        get_recipe("avsbench-s4", lr_scheduler_type="exponential")


def test_training_arguments_follow_the_recipe(tmp_path):
    constant = training_arguments(get_recipe("avsbench-s4"), tmp_path)
    assert (constant.lr_scheduler_type, constant.learning_rate, constant.num_train_epochs) == ("constant", 1e-4, 15)
    linear = training_arguments(get_recipe("avsbench-s4", lr_scheduler_type="linear"), tmp_path)
    assert linear.lr_scheduler_type == "linear"
    assert linear.optim == "adamw_torch_fused"


def test_linear_schedule_decays_the_learning_rate_over_the_run(dataset, tmp_path):
    trainer = _trainer(_recipe(num_epochs=2, lr_scheduler_type="linear"), dataset, tmp_path)
    trainer.train()
    rates = [entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry]
    assert rates == pytest.approx([1e-3 * (1 - step / 10) for step in range(10)])  # 10 steps, from 1e-3 towards 0


def test_push_to_hub_offline_fails_before_training(tmp_path, monkeypatch, capsys):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubAccessError, match="offline mode"):
        check_hub_access("user/model")
    output_dir = tmp_path / "run"
    code = main(["train", "--recipe", "avsbench-s4", "--output-dir", str(output_dir), "--push-to-hub"])
    assert code == 2
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err
    assert not output_dir.exists()  # nothing was generated or trained


def test_two_process_torchrun_on_cpu(tmp_path):
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(tiny_model_config()), encoding="utf-8")
    output_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
        "-m", "modeling_avs.cli.main", "train", "--recipe", "avsbench-s4", "--output-dir", str(output_dir),
        "--model-config", str(config_path), "--synthetic-videos", "8", "--image-size", str(TINY_IMAGE_SIZE),
        "--batch-size", "2", "--epochs", "1", "--no-eval",
    ]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPOSITORY)}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    state = json.loads((output_dir / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2  # 10 pairs (8 + 2 negatives) / (2 processes x 2 videos) = 3 → 2 full steps
    assert (output_dir / "model.safetensors").is_file() and (output_dir / "README.md").is_file()
