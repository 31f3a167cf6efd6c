"""`avs-robust segment`: masks, overlay GIF/MP4 and scores.json for an image + audio or a video; user errors."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from inference_media import write_png, write_video, write_wav
from PIL import Image

from modeling_avs.cli.main import main


def test_image_with_audio_writes_masks_gif_and_scores(tiny_avs_model_dir, tmp_path, capsys):
    image = write_png(tmp_path / "frame.png", 40, 60, value=(30, 140, 220))
    audio = write_wav(tmp_path / "sound.wav", 3.0)
    output = tmp_path / "out"
    code = main(
        ["segment", str(image), "--audio", str(audio), "--model", str(tiny_avs_model_dir)]
        + ["--output", str(output), "--device", "cpu"]
    )
    assert code == 0
    assert "3 frames" in capsys.readouterr().out
    report = json.loads((output / "scores.json").read_text())
    assert report["audio_condition"] == "original" and report["overlay"] == "overlay.gif"
    assert len(report["frames"]) == 3 and report["warnings"] == []
    for frame in report["frames"]:
        mask = np.asarray(Image.open(output / frame["mask"]))
        assert mask.shape == (40, 60) and set(np.unique(mask)) <= {0, 255}
        assert frame["foreground_ratio"] == pytest.approx((mask > 0).mean())
        assert 0.0 < frame["score"] < 1.0 and frame["sounding"] is None
    assert report["fpr"] == pytest.approx(np.mean([frame["foreground_ratio"] for frame in report["frames"]]))
    with Image.open(output / "overlay.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (60, 40)
    assert not [path.name for path in output.rglob(".*")]  # no temporary files left behind


def test_video_under_silence_with_gate_writes_an_mp4(tiny_avs_model_dir, tmp_path):
    video = write_video(tmp_path / "clip.mp4", num_frames=20, fps=8, size=(32, 48), audio_seconds=2.5)
    output = tmp_path / "out"
    code = main(
        ["segment", str(video), "--model", str(tiny_avs_model_dir), "--output", str(output)]
        + ["--audio-condition", "silence", "--gate-threshold", "1.0", "--overlay", "mp4"]
    )
    assert code == 0
    report = json.loads((output / "scores.json").read_text())
    assert report["audio_condition"] == "silence" and report["gate_threshold"] == 1.0
    assert [frame["sounding"] for frame in report["frames"]] == [False, False, False]
    assert report["fpr"] == 0.0
    with av.open(str(output / "overlay.mp4")) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 3 and (frames[0].height, frames[0].width) == (32, 48)


def test_missing_audio_is_a_warning_or_an_error_with_strict_audio(tiny_avs_model_dir, tmp_path, capsys):
    video = write_video(tmp_path / "mute.mp4", num_frames=8, fps=8)
    output = tmp_path / "out"
    assert main(["segment", str(video), "--model", str(tiny_avs_model_dir), "--output", str(output)]) == 0
    assert "warning: the clip has no audio" in capsys.readouterr().out
    assert json.loads((output / "scores.json").read_text())["warnings"] == [
        "the clip has no audio; running it with silence"
    ]
    code = main(["segment", str(video), "--model", str(tiny_avs_model_dir), "--output", str(output), "--strict-audio"])
    assert code == 2
    assert "error: the clip has no audio" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{missing}", "--model", "{model}"], "does not exist or is not a file"),
        (["{text}", "--model", "{model}"], "unsupported or corrupt"),
        (["{image}", "--model", "{model}", "--audio-condition", "loud"], "unknown audio condition 'loud'"),
        (["{image}", "--model", "{model}", "--audio-condition", "offscreen:{missing}"], "off-screen audio file"),
        (["{image}", "--model", "{tmp}/no-model-here"], "avs-robust reproduce"),
        (["{image}", "--model", "{tmp}"], "not a model folder"),
    ],
)
def test_user_errors_exit_2_with_a_message(tiny_avs_model_dir, tmp_path, capsys, arguments, message):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    paths = {
        "missing": tmp_path / "missing.wav",
        "text": text,
        "image": write_png(tmp_path / "frame.png", 32, 32),
        "model": tiny_avs_model_dir,
        "tmp": tmp_path,
    }
    arguments = [argument.format(**paths) for argument in arguments]
    assert main(["segment", *arguments, "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    error_lines = [line for line in error.splitlines() if line.startswith("avs-robust segment: error: ")]
    assert len(error_lines) == 1 and message in error_lines[0], error
    assert "Traceback" not in error
