"""`pipeline("audio-visual-segmentation")`: every input form, output shapes and ranges, windowing, gating,
audio conditions, media limits and errors, and loading a checkpoint's code (model, processor, pipeline) with
`trust_remote_code`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from inference_media import tone, write_png, write_video, write_wav
from transformers import pipeline
from transformers.pipelines import PIPELINE_REGISTRY
from without_package import run_without_package

from modeling_avs import AudioVisualSegmentationPipeline
from modeling_avs.audio_conditions import AudioCondition
from modeling_avs.media import MediaError, MediaLimits, MediaWarning, read_video, second_end_frame_indices

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def segmenter(tiny_avs_model_dir):
    return pipeline("audio-visual-segmentation", model=str(tiny_avs_model_dir), device="cpu")


def check_frame_outputs(results, height, width):
    for index, result in enumerate(results):
        assert result["index"] == index
        assert result["frame"].shape == (height, width, 3) and result["frame"].dtype == np.uint8
        assert result["mask"].shape == (height, width) and result["mask"].dtype == np.uint8
        assert set(np.unique(result["mask"])) <= {0, 1}
        probabilities = result["probabilities"]
        assert probabilities.shape == (height, width) and probabilities.dtype == np.float32
        assert probabilities.min() >= 0.0 and probabilities.max() <= 1.0
        np.testing.assert_array_equal(result["mask"], (probabilities > 0.5).astype(np.uint8))
        assert 0.0 < result["score"] < 1.0
        assert result["foreground_ratio"] == pytest.approx(result["mask"].mean())


def test_task_is_registered_on_import(segmenter):
    assert PIPELINE_REGISTRY.get_supported_tasks().count("audio-visual-segmentation") == 1
    assert isinstance(segmenter, AudioVisualSegmentationPipeline)


def test_image_file_with_audio_file_gives_one_frame_per_second(segmenter, tmp_path):
    image = write_png(tmp_path / "frame.png", 50, 70)
    audio = write_wav(tmp_path / "sound.wav", 3.2, sampling_rate=22050, channels=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MediaWarning)
        results = segmenter(str(image), audio=str(audio))
    assert len(results) == 3
    assert [result["time"] for result in results] == [0.9375, 1.9375, 2.9375]
    check_frame_outputs(results, 50, 70)
    assert all(result["sounding"] is None for result in results)


def test_frames_and_waveform_match_the_model_run_in_windows(segmenter):
    """7 frames are run as two 5-frame windows, the second padded with the last frame and audio example."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8) for _ in range(7)]
    waveform = tone(7.0, frequency=300.0) + 0.05 * rng.standard_normal(7 * 16000).astype(np.float32)
    results = segmenter(frames, audio=waveform, sampling_rate=16000)
    assert len(results) == 7
    check_frame_outputs(results, 40, 56)

    processor, model = segmenter.processor, segmenter.model
    inputs = processor(images=frames + [frames[-1]] * 3, audio=[waveform], sampling_rate=16000)
    with torch.no_grad():
        outputs = model(**inputs)
    np.testing.assert_allclose(
        [result["score"] for result in results], torch.sigmoid(outputs.similarity[:7]).numpy(), rtol=1e-5
    )
    expected = torch.sigmoid(
        torch.nn.functional.interpolate(outputs.logits[:7], size=(40, 56), mode="bilinear", align_corners=False)
    )
    np.testing.assert_allclose(results[6]["probabilities"], expected[6, 0].numpy(), atol=1e-5)


def test_dict_input_with_datasets_style_audio(segmenter):
    image = np.full((32, 32, 3), 200, np.uint8)
    results = segmenter({"image": image, "audio": {"array": tone(2.0, 8000), "sampling_rate": 8000}})
    assert len(results) == 2
    check_frame_outputs(results, 32, 32)


def test_video_file_samples_the_end_of_each_second(segmenter, tmp_path):
    video = write_video(tmp_path / "clip.mp4", num_frames=26, fps=8, audio_seconds=3.3)
    decoded = read_video(video)
    assert decoded.frame_indices == second_end_frame_indices(3, 8) == [7, 15, 23]
    assert decoded.audio.shape[1] == 1 and decoded.sampling_rate == 16000
    with warnings.catch_warnings():
        warnings.simplefilter("error", MediaWarning)
        results = segmenter(str(video))
    assert len(results) == 3
    check_frame_outputs(results, 32, 48)
    # frame k of the test video is a flat grey of value 8k (MPEG-4 is lossy: allow a few levels)
    assert [round(float(result["frame"].mean()) / 8) for result in results] == [7, 15, 23]
    assert [result["time"] for result in results] == pytest.approx([7 / 8, 15 / 8, 23 / 8])


def test_short_video_clamps_to_its_last_frame_and_long_video_is_truncated(segmenter, tmp_path):
    short = read_video(write_video(tmp_path / "short.mp4", num_frames=12, fps=8))  # 1.5 s -> 2 seconds
    assert short.frame_indices == [7, 11] and not short.truncated
    long_video = write_video(tmp_path / "long.mp4", num_frames=40, fps=8, audio_seconds=5.0)
    with pytest.warns(MediaWarning, match="only its first 3 s"):
        results = segmenter(str(long_video), max_seconds=3)
    assert len(results) == 3


def test_gate_defaults_to_the_config_threshold_and_empties_exactly_the_frames_scored_below_it(
    tiny_avs_model_factory,
):
    segmenter = pipeline("audio-visual-segmentation", model=str(tiny_avs_model_factory("full_mask", 20.0)))
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(5)]
    audio = 0.3 * rng.standard_normal(5 * 16000).astype(np.float32)
    ungated = segmenter(frames, audio=audio, sampling_rate=16000)
    assert all(result["mask"].all() and result["sounding"] is None for result in ungated)
    scores = [result["score"] for result in ungated]
    threshold = sorted(scores)[2]  # the middle score (inside sigmoid's range): two frames below, it and two above
    assert len(set(scores)) == 5 and 0.27 < threshold < 0.73
    kept = [score >= threshold for score in scores]
    segmenter.model.config.inference_gate_threshold = threshold
    gated = segmenter(frames, audio=audio, sampling_rate=16000)
    assert [result["sounding"] for result in gated] == kept and sum(kept) == 3
    assert [bool(result["mask"].any()) for result in gated] == kept
    assert all(not result["probabilities"].any() for result, keep in zip(gated, kept) if not keep)
    check_frame_outputs(gated, 32, 32)
    opened = segmenter(frames, audio=audio, sampling_rate=16000, gate_threshold=0.0)  # the argument wins
    assert all(result["sounding"] and result["mask"].all() for result in opened)


def test_missing_audio_uses_silence_with_a_warning_or_fails_when_strict(segmenter, tmp_path):
    video = write_video(tmp_path / "silent.mp4", num_frames=16, fps=8)
    with pytest.warns(MediaWarning, match="no audio"):
        results = segmenter(str(video))
    silence = segmenter(str(video), audio_condition="silence")
    assert [result["score"] for result in results] == pytest.approx([result["score"] for result in silence])
    with pytest.raises(MediaError, match="no audio"):
        segmenter(str(video), strict_audio=True)


def test_audio_shorter_than_the_frames_is_padded_with_a_warning_or_fails_when_strict(segmenter):
    frames = [np.full((32, 32, 3), 10 * k, np.uint8) for k in range(4)]
    with pytest.warns(MediaWarning, match="covers 2.00 s but the clip has 4 frames"):
        results = segmenter(frames, audio=tone(2.0), sampling_rate=16000)
    assert len(results) == 4
    with pytest.raises(MediaError, match="covers 2.00 s"):
        segmenter(frames, audio=tone(2.0), sampling_rate=16000, strict_audio=True)


def test_audio_conditions_replace_the_audio(segmenter, tmp_path):
    silence, rate = AudioCondition.parse("silence").apply(tone(1.0), 16000, num_seconds=3)
    assert rate == 16000 and silence.shape == (48000,) and not silence.any()
    noise, _ = AudioCondition.parse("noise").apply(None, None, num_seconds=2, seed=1)
    assert noise.shape == (32000,) and np.sqrt(np.mean(noise**2)) == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(noise, AudioCondition.parse("noise").apply(None, None, 2, seed=1)[0])
    other = write_wav(tmp_path / "other.wav", 1.5, sampling_rate=8000)
    offscreen, rate = AudioCondition.parse(f"offscreen:{other}").apply(tone(3.0), 16000, num_seconds=3)
    assert rate == 8000 and offscreen.shape == (24000,)
    np.testing.assert_array_equal(offscreen[12000:], offscreen[:12000])  # the 1.5-s clip is looped
    for bad in ("loud", "offscreen", "silence:x"):
        with pytest.raises(ValueError, match="condition"):
            AudioCondition.parse(bad)

    image = np.full((32, 32, 3), 120, np.uint8)
    scores = {
        condition: [r["score"] for r in segmenter(image, audio=tone(3.0), sampling_rate=16000, audio_condition=c)]
        for condition, c in (("original", None), ("silence", "silence"), ("offscreen", f"offscreen:{other}"))
    }
    assert scores["silence"] != scores["original"] and scores["offscreen"] != scores["original"]


def test_bad_inputs_raise_clear_errors(segmenter, tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        segmenter(str(tmp_path / "missing.mp4"))
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("this is not a video")
    with pytest.raises(MediaError, match=r"notes\.mp4 \(unsupported or corrupt\)"):
        segmenter(str(not_a_video))
    big = write_png(tmp_path / "big.png", 300, 400)
    with pytest.raises(MediaError, match="more than the limit of 10000"):
        segmenter(str(big), limits=MediaLimits(max_pixels=10_000))
    with pytest.raises(MediaError, match="MiB, more than the limit"):
        segmenter(str(big), limits=MediaLimits(max_file_bytes=100))
    with pytest.raises(MediaError, match="has no audio stream"):
        segmenter(str(big), audio=str(write_video(tmp_path / "mute.mp4", 8)))
    with pytest.raises(ValueError, match="sampling_rate"):
        segmenter(np.zeros((32, 32, 3), np.uint8), audio=tone(1.0))
    with pytest.raises(ValueError, match="exactly one of 'video', 'image' or 'frames'"):
        segmenter({"image": np.zeros((32, 32, 3), np.uint8), "frames": []})


def test_checkpoint_code_loaded_with_trust_remote_code_runs_in_the_pipeline(tiny_avs_model_dir, tmp_path):
    """Model and processor come from the code files saved with the checkpoint (`auto_map`), as for a Hub user."""
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from transformers import AutoModel, AutoProcessor

        model = AutoModel.from_pretrained({str(tiny_avs_model_dir)!r}, trust_remote_code=True)
        processor = AutoProcessor.from_pretrained({str(tiny_avs_model_dir)!r}, trust_remote_code=True)
        assert "modeling_avs" not in sys.modules, "the checkpoint code must not need the installed package"
        assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
        assert type(processor).__module__.startswith("transformers_modules."), type(processor).__module__

        import modeling_avs  # registers the pipeline task
        from transformers import pipeline

        segmenter = pipeline("audio-visual-segmentation", model=model, processor=processor, device="cpu")
        t = np.arange(32000) / 16000
        results = segmenter(np.full((32, 32, 3), 50, np.uint8), audio=np.sin(2 * np.pi * 440 * t), sampling_rate=16000)
        assert len(results) == 2 and results[0]["mask"].shape == (32, 32), results
        print("remote code ok")
        """
    )
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "remote code ok" in completed.stdout


def test_pipeline_from_a_saved_folder_runs_with_trust_remote_code_and_no_package(segmenter, tmp_path):
    """A saved model carries the pipeline's code and transformers' `custom_pipelines` entry: a Hub user without
    modeling_avs gets the same results from `pipeline(..., trust_remote_code=True)`."""
    folder = tmp_path / "saved"
    segmenter.save_pretrained(folder)  # the model (with the pipeline code) and the processor
    config = json.loads((folder / "config.json").read_text())
    implementation = config["custom_pipelines"]["audio-visual-segmentation"]["impl"]
    assert (folder / f"{implementation.partition('.')[0]}.py").is_file()
    assert segmenter.model.config.custom_pipelines == {}  # the registered pipeline serves the task here
    image = write_png(tmp_path / "frame.png", 40, 56, (30, 90, 150))
    audio = write_wav(tmp_path / "sound.wav", 2.0)
    expected = segmenter(str(image), audio=str(audio), audio_condition="noise")
    output = run_without_package(
        """
        import json, sys
        from transformers import pipeline

        segmenter = pipeline("audio-visual-segmentation", model=sys.argv[1], trust_remote_code=True, device="cpu")
        results = segmenter(sys.argv[2], audio=sys.argv[3], audio_condition="noise")
        print(json.dumps({
            "module": type(segmenter).__module__,
            "scores": [result["score"] for result in results],
            "masks": [result["mask"].tolist() for result in results],
        }))
        """,
        tmp_path,
        str(folder),
        str(image),
        str(audio),
    )
    remote = json.loads(output.strip().splitlines()[-1])
    assert remote["module"].startswith("transformers_modules.")
    assert remote["scores"] == pytest.approx([result["score"] for result in expected], abs=1e-6)
    assert remote["masks"] == [result["mask"].tolist() for result in expected]
