"""The Gradio Space (`spaces_app/app.py`) launched on 127.0.0.1 and called with `gradio_client`: every input type,
each audio condition, the side-by-side baseline, captions and the per-frame summary, the "About this model" box,
bad uploads named by file name, a burst of 20 users, starting without a model, and `avs-robust export-space`.

The "robust" test model has `inference_gate_threshold=1.0` (its masks are always empty) and the "baseline" one a
mask bias of +20 (every pixel foreground), so the rendered overlays are known exactly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import require_module
from inference_media import write_png, write_wav
from PIL import Image

from modeling_avs.data.synthetic import SYNTHETIC_DATASET_ID
from modeling_avs.visualization import MASK_COLOR

require_module("gradio")
gradio_client = require_module("gradio_client")

APP_FILE = Path(__file__).resolve().parents[1] / "spaces_app" / "app.py"
FRAME_COLOR = (40, 160, 90)


def load_app():
    spec = importlib.util.spec_from_file_location("avs_space_app", APP_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app_module():
    return load_app()


@pytest.fixture(scope="module")
def space(app_module, tiny_avs_model_factory, tmp_path_factory):
    robust = tiny_avs_model_factory("gated", gate_threshold=1.0)
    baseline = tiny_avs_model_factory("full_mask", mask_bias=20.0)
    examples = tmp_path_factory.mktemp("space_examples")
    demo = app_module.build_demo(robust, baseline, examples_dir=examples)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app_module.LAUNCH_OPTIONS)
    client = gradio_client.Client(url, verbose=False)
    yield client, examples, demo, url
    client.close()
    demo.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    corrupt_image = folder / "broken.png"
    corrupt_image.write_bytes(b"\x89PNG not really")
    corrupt_video = folder / "broken.mp4"
    corrupt_video.write_text("not a video")
    text = folder / "notes.txt"
    text.write_text("not audio")
    fake_wav = folder / "recording.wav"
    fake_wav.write_text("a text file renamed .wav")
    return {
        "image": write_png(folder / "frame.png", 48, 64, FRAME_COLOR),
        "audio": write_wav(folder / "sound.wav", 3.0, sampling_rate=44100, channels=2),
        "huge_image": write_png(folder / "huge.png", 800, 1400),
        "corrupt_image": corrupt_image,
        "corrupt_video": corrupt_video,
        "text": text,
        "fake_wav": fake_wav,
    }


def segment(client, image=None, video=None, audio=None, condition="original", compare=True):
    handle = gradio_client.handle_file
    return client.predict(
        handle(str(image)) if image else None,
        handle(str(video)) if video else None,
        handle(str(audio)) if audio else None,
        condition,
        compare,
        api_name="/segment",
    )


def gallery_images(gallery) -> list[np.ndarray]:
    return [np.asarray(Image.open(item["image"]).convert("RGB")).astype(int) for item in gallery]


def block_value(demo, elem_id: str):
    return next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == elem_id).value


@pytest.mark.parametrize("condition", ["original", "silence", "noise", "offscreen"])
def test_image_and_audio_under_each_condition(space, uploads, condition):
    client = space[0]
    robust, baseline, summary = segment(client, uploads["image"], audio=uploads["audio"], condition=condition)
    assert len(robust) == len(baseline) == 3  # 3 s of audio: one frame per second
    frame = np.array(FRAME_COLOR)
    for image in gallery_images(robust):  # empty masks: the overlay is the frame itself
        assert image.shape == (48, 64, 3) and (image == frame).all()
    tinted = np.round(0.5 * frame + 0.5 * np.array(MASK_COLOR))
    for image in gallery_images(baseline):  # full masks: every pixel tinted (no outline inside the frame)
        assert image.shape == (48, 64, 3) and (np.abs(image - tinted) <= 1).all()
    share = "FPR" if condition != "original" else "mask"  # "FPR" only where the correct mask is empty
    assert robust[0]["caption"].startswith("0.9 s · score 0.") and robust[0]["caption"].endswith(f"{share} 0.0%")
    assert baseline[0]["caption"].endswith(f"{share} 100.0%")
    label = {"original": "original audio", "offscreen": "off-screen sound"}.get(condition, condition)
    assert summary.count(f"audio: **{label}**") == 2
    share = "FPR" if condition != "original" else "foreground share"
    assert f"| frame | time | score | {share} |" in summary and ("FPR" in summary) == (condition != "original")
    assert f"mean {share} **0.00%**" in summary and f"mean {share} **100.00%**" in summary
    assert "kept by the gate: 0 of 3 frames" in summary  # the robust model's gate (threshold 1.0)
    for item, row in zip(robust, [line for line in summary.splitlines() if line.startswith("| 1 |")][:1]):
        assert f"| {item['caption'].split('score ')[1].split(' ')[0]} |" in row  # the caption's score, per frame


def test_outputs_are_files_of_their_own(space, uploads):
    """An empty mask's overlay equals the upload, but is served from its own file, never the upload's."""
    client = space[0]
    robust, _, _ = segment(client, uploads["image"], audio=uploads["audio"], compare=False)
    names = [Path(item["image"]).name for item in robust]
    assert names == ["robust_frame01.png", "robust_frame02.png", "robust_frame03.png"]


def test_output_folders_of_old_requests_are_deleted(app_module, tmp_path):
    outputs = app_module.OutputFiles(tmp_path, max_age_s=60)
    old = outputs.request_folder()
    os.utime(old, (0, 0))
    recent = outputs.request_folder()
    newest = outputs.request_folder()
    assert not old.exists() and recent.is_dir() and newest.is_dir() and recent != newest


def test_video_upload_without_baseline(space):
    client, examples = space[:2]
    robust, baseline, summary = segment(client, video=examples / "example_video.mp4", compare=False)
    assert len(robust) == 5 and baseline == []
    assert gallery_images(robust)[0].shape == (128, 128, 3)
    assert "Baseline" not in summary and "\n| 5 | " in summary and "\n| 6 | " not in summary


def test_image_without_audio_runs_as_a_clip_of_num_frames_seconds(space, uploads):
    robust, _, summary = segment(space[0], uploads["image"], compare=False)
    assert len(robust) == 5 and "audio: **original audio**" in summary


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ({}, "Upload either an image or a video"),
        ({"image": "image", "video": "corrupt_video"}, "Upload either an image or a video"),
        ({"video": "corrupt_video"}, "broken.mp4 could not be read as a video: the file is damaged, or it is"),
        (
            {"image": "corrupt_image"},
            "broken.png could not be used as the image: .*not an image in a supported format",
        ),
        ({"image": "huge_image"}, "huge.png could not be used as the image: .*more than the limit"),
        ({"image": "image", "audio": "text"}, "notes.txt cannot be used as the sound: its file type is not supported"),
        ({"image": "image", "audio": "fake_wav"}, "recording.wav could not be read as a sound: .*named .wav"),
    ],
)
def test_bad_uploads_are_named_with_a_plain_reason(space, uploads, upload, message):
    with pytest.raises(gradio_client.exceptions.AppError, match=message) as raised:
        segment(space[0], **{key: uploads[name] for key, name in upload.items()})
    shown = str(raised.value)
    assert "/" not in shown and "errno" not in shown.lower(), shown  # no server path, no raw error number


def test_a_burst_of_20_users_is_served(space, uploads, tmp_path):
    url = space[3]

    def user(index: int):
        client = gradio_client.Client(url, verbose=False, download_files=str(tmp_path / f"user{index}"))
        try:
            return segment(client, uploads["image"], audio=uploads["audio"], condition="silence", compare=False)
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(user, range(20)))
    assert [len(robust) for robust, _, _ in results] == [3] * 20


def test_about_box_states_data_size_gate_and_score(space):
    about = block_value(space[2], "about-model-text")
    robust, baseline = about.split("**Baseline model**")
    assert "**Gate threshold**: **1**: the mask of a frame whose score is below it is emptied" in robust
    assert "**Gate threshold**: **none**" in baseline
    assert "M parameters, frames resized to 64×64, windows of 5 frames" in robust
    assert "not stated (the model has no model card)" in robust and "sigmoid(similarity)" in robust
    assert "synthetic benchmark" not in about


def test_about_box_warns_about_a_model_trained_on_the_synthetic_benchmark(app_module, tiny_avs_model_dir, tmp_path):
    folder = tmp_path / "synthetic_model"
    shutil.copytree(tiny_avs_model_dir, folder)
    (folder / "README.md").write_text(f"---\ndatasets:\n- {SYNTHETIC_DATASET_ID} S4\n---\n# a model\n")
    slot = app_module.load_model("Robust model", folder)
    assert f"**Training data**: {SYNTHETIC_DATASET_ID} S4" in slot.about
    assert slot.about.startswith("> ⚠️ **Trained on the synthetic benchmark.**")
    assert "its masks are meaningless" in slot.about


def test_models_are_found_in_space_models_json(app_module, tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    (tmp_path / "space_models.json").write_text(json.dumps({"model": "model", "baseline_model": "me/baseline"}))
    monkeypatch.setattr(app_module, "APP_DIR", tmp_path)
    monkeypatch.setattr(app_module, "MODELS_FILE", tmp_path / "space_models.json")
    monkeypatch.delenv(app_module.MODEL_ENV, raising=False)
    monkeypatch.delenv(app_module.BASELINE_MODEL_ENV, raising=False)
    assert app_module.configured_models() == (tmp_path / "model", "me/baseline")
    monkeypatch.setenv(app_module.MODEL_ENV, "me/robust")
    assert app_module.configured_models()[0] == "me/robust"
    assert app_module.configured_models("elsewhere")[0] == "elsewhere"


def test_app_starts_without_a_model_and_says_how_to_get_one(app_module, tmp_path):
    demo = app_module.build_demo(tmp_path / "no-model", examples_dir=tmp_path / "examples")
    assert "avs-robust reproduce" in block_value(demo, "model-status")
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app_module.LAUNCH_OPTIONS)
    try:
        client = gradio_client.Client(url, verbose=False)
        with pytest.raises(gradio_client.exceptions.AppError, match="avs-robust reproduce"):
            segment(client, tmp_path / "examples" / "example_frame.png")
        client.close()
    finally:
        demo.close()


@pytest.fixture(scope="module")
def exported_space(tiny_avs_model_factory, tmp_path_factory):
    from modeling_avs.cli.main import main

    folder = tmp_path_factory.mktemp("space_export") / "space"
    model = tiny_avs_model_factory("gated", gate_threshold=1.0)
    assert (
        main(["export-space", "--model", str(model), "--baseline-model", "me/baseline", "--output", str(folder)]) == 0
    )
    return folder


def test_exported_space_folder_is_complete(exported_space, app_module):
    assert (exported_space / "app.py").read_text() == APP_FILE.read_text()
    header = yaml.safe_load((exported_space / "README.md").read_text().split("---")[1])
    assert header["sdk"] == "gradio" and header["app_file"] == "app.py" and header["models"] == ["me/baseline"]
    assert len(header["short_description"]) <= 60 and header["sdk_version"] == app_module.gr.__version__
    readme = (exported_space / "README.md").read_text()
    assert "AVS_MODEL" in readme and "Settings → Variables and secrets" in readme  # how to use a Hub model
    assert json.loads((exported_space / "space_models.json").read_text()) == {
        "model": "model",
        "baseline_model": "me/baseline",
    }
    assert (exported_space / "model" / "config.json").is_file() and not (exported_space / "baseline_model").exists()
    (wheel,) = (exported_space / "wheels").glob("modeling_avs-*-py3-none-any.whl")
    requirements = (exported_space / "requirements.txt").read_text().splitlines()
    assert requirements[-1] == f"./wheels/{wheel.name}[space]"
    assert [line.split("==")[0] for line in requirements if "==" in line] == ["torch", "torchvision"]


def test_a_space_id_names_the_wheel_by_its_url_in_the_space(monkeypatch):
    from modeling_avs.space_export import wheel_requirement

    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "https://huggingface.co")
    assert wheel_requirement("modeling_avs-0.1.0-py3-none-any.whl", "me/avs") == (
        "modeling-avs[space] @ https://huggingface.co/spaces/me/avs/resolve/main/wheels/modeling_avs-0.1.0-py3-none-any.whl"
    )


def test_export_space_fails_early(tiny_avs_model_dir, tmp_path, monkeypatch, capsys):
    from modeling_avs.cli.main import main

    assert main(["export-space", "--model", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 2
    assert "no model at" in capsys.readouterr().err
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    arguments = ["--model", str(tiny_avs_model_dir), "--output", str(tmp_path / "out"), "--push-to-hub", "me/avs"]
    assert main(["export-space", *arguments]) == 2
    assert "offline mode" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
