"""The Gradio Space (`spaces_app/app.py`) launched on 127.0.0.1 and called with `gradio_client`: every input type,
each audio condition, the side-by-side baseline, bad uploads, and starting without a model.

The "robust" test model has `inference_gate_threshold=1.0` (its masks are always empty) and the "baseline" one a
mask bias of +20 (every pixel foreground), so the rendered overlays are known exactly.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module
from inference_media import write_png, write_wav
from PIL import Image

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
    yield client, examples, demo
    client.close()
    demo.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    corrupt_image = folder / "broken.png"
    corrupt_image.write_bytes(b"\x89PNG not really")
    corrupt_video = folder / "broken.mp4"
    corrupt_video.write_text("not a video")
    text = folder / "sound.txt"
    text.write_text("not audio")
    return {
        "image": write_png(folder / "frame.png", 48, 64, FRAME_COLOR),
        "audio": write_wav(folder / "sound.wav", 3.0, sampling_rate=44100, channels=2),
        "huge_image": write_png(folder / "huge.png", 800, 1400),
        "corrupt_image": corrupt_image,
        "corrupt_video": corrupt_video,
        "text": text,
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


@pytest.mark.parametrize("condition", ["original", "silence", "noise", "offscreen"])
def test_image_and_audio_under_each_condition(space, uploads, condition):
    client, _, _ = space
    robust, baseline, summary = segment(client, uploads["image"], audio=uploads["audio"], condition=condition)
    assert len(robust) == len(baseline) == 3  # 3 s of audio: one frame per second
    frame = np.array(FRAME_COLOR)
    for image in gallery_images(robust):  # empty masks: the overlay is the frame itself
        assert image.shape == (48, 64, 3) and (image == frame).all()
    tinted = np.round(0.5 * frame + 0.5 * np.array(MASK_COLOR))
    for image in gallery_images(baseline):  # full masks: every pixel tinted (no outline inside the frame)
        assert image.shape == (48, 64, 3) and (np.abs(image - tinted) <= 1).all()
    assert "FPR 0.0%" in robust[0]["caption"] and "FPR 100.0%" in baseline[0]["caption"]
    assert summary.count(f"audio: **{condition}**") == 2
    assert "foreground ratio / FPR **0.00%**" in summary and "foreground ratio / FPR **100.00%**" in summary


def test_video_upload_without_baseline(space):
    client, examples, _ = space
    robust, baseline, summary = segment(client, video=examples / "example_video.mp4", compare=False)
    assert len(robust) == 5 and baseline == []
    assert gallery_images(robust)[0].shape == (128, 128, 3)
    assert "Baseline" not in summary and "5 frames" in summary


def test_image_without_audio_runs_as_a_clip_of_num_frames_seconds(space, uploads):
    client, _, _ = space
    robust, _, summary = segment(client, uploads["image"], compare=False)
    assert len(robust) == 5 and "audio: **original**" in summary


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ({}, "Upload either an image or a video"),
        ({"image": "image", "video": "corrupt_video"}, "Upload either an image or a video"),
        ({"video": "corrupt_video"}, "unsupported or corrupt"),
        ({"image": "corrupt_image"}, "image file broken.png is not an image in a supported format"),
        ({"image": "huge_image"}, "more than the limit"),
        ({"image": "image", "audio": "text"}, "unsupported audio file type .txt"),
    ],
)
def test_bad_uploads_show_a_message(space, uploads, upload, message):
    client, _, _ = space
    with pytest.raises(gradio_client.exceptions.AppError, match=message):
        segment(client, **{key: uploads[name] for key, name in upload.items()})


@pytest.mark.parametrize("upload", [{"image": "corrupt_image"}, {"video": "corrupt_video"}])
def test_upload_errors_name_the_file_not_the_server_folder(space, uploads, upload):
    client, _, _ = space
    with pytest.raises(gradio_client.exceptions.AppError) as error:
        segment(client, **{key: uploads[name] for key, name in upload.items()})
    message = str(error.value)
    assert "broken." in message and "/" not in message and "Errno" not in message


def test_app_starts_without_a_model_and_says_how_to_get_one(app_module, tmp_path):
    demo = app_module.build_demo(tmp_path / "no-model", examples_dir=tmp_path / "examples")
    status = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "model-status")
    assert "avs-robust reproduce" in status.value
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app_module.LAUNCH_OPTIONS)
    try:
        client = gradio_client.Client(url, verbose=False)
        with pytest.raises(gradio_client.exceptions.AppError, match="avs-robust reproduce"):
            segment(client, tmp_path / "examples" / "example_frame.png")
        client.close()
    finally:
        demo.close()
