"""Gradio Space: see a robust audio-visual segmentation model listen.

Upload an image or a short video with its sound, then replace the sound by silence, noise or an off-screen
recording: the correct mask is then empty. A baseline AVS model keeps segmenting the object it sees (visual
bias); the AVSBench-Robust model's mask vanishes and its audio-visual correspondence score drops.

Models: `--model` / `AVS_MODEL` and `--baseline-model` / `AVS_BASELINE_MODEL` (folder or Hub id), defaulting to the
folders `avs-robust reproduce` writes. Without a model the app still starts and explains how to get one.
Run: `python spaces_app/app.py [--model DIR] [--baseline-model DIR] [--port 7860]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from modeling_avs.audio_conditions import AudioCondition  # noqa: E402
from modeling_avs.media import (  # noqa: E402
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    MediaError,
    MediaLimits,
    MediaWarning,
)
from modeling_avs.pipelines import DEFAULT_BASELINE_MODEL, DEFAULT_MODEL, model_location_problem  # noqa: E402
from modeling_avs.visualization import overlay_mask, write_mp4  # noqa: E402

logger = logging.getLogger("avs_space")

MODEL_ENV = "AVS_MODEL"
BASELINE_MODEL_ENV = "AVS_BASELINE_MODEL"
LIMITS = MediaLimits(max_seconds=10, max_pixels=1280 * 720, max_file_bytes=25 * 2**20)
MAX_UPLOAD = "25mb"
# show_error: exceptions reach the page as a message (never a traceback), also those of Gradio's own input checks.
LAUNCH_OPTIONS = {"max_file_size": MAX_UPLOAD, "ssr_mode": False, "show_error": True}
CONCURRENCY_LIMIT = 2
QUEUE_SIZE = 16
CONDITIONS = [
    ("Original audio", "original"),
    ("Silence", "silence"),
    ("Noise", "noise"),
    ("Off-screen sound", "offscreen"),
]
INTRO = """# Robust audio-visual segmentation
Upload an **image or a short video** (≤ {seconds} s) and its **sound** (file or microphone), then switch the
**audio condition**. Under *silence*, *noise* or an *off-screen* sound nothing in the picture is sounding, so the
correct mask is **empty**: a robust model's mask vanishes and its correspondence score drops, while a baseline
model keeps segmenting what it sees. One frame is analysed per second of the clip.
"""


@dataclass
class LoadedModel:
    """A model slot of the app: the pipeline, or why there is none."""

    name: str
    location: str
    segmenter: object | None
    problem: str | None


def load_model(name: str, location: str | Path | None) -> LoadedModel:
    """Load the pipeline of `location`; on failure keep the reason instead of raising."""
    if location is None:
        return LoadedModel(name, "", None, None)
    problem = model_location_problem(location)
    if problem is None:
        from transformers import pipeline

        try:
            segmenter = pipeline("audio-visual-segmentation", model=str(location), device="cpu")
            return LoadedModel(name, str(location), segmenter, None)
        except Exception as error:  # any loading failure is reported in the page, not raised
            problem = f"cannot load {location}: {error}"
    logger.warning("%s model unavailable: %s", name, problem)
    return LoadedModel(name, str(location), None, problem)


def make_examples(folder: Path) -> dict[str, Path]:
    """
    Write offline examples from the synthetic AVSBench-Robust benchmark: a frame (PNG), its sound (WAV), the
    5-s video with its sound (MP4) and the sound of another object class used as off-screen audio (WAV).
    """
    import soundfile as sf

    from modeling_avs.data import make_synthetic_dataset
    from modeling_avs.data.audio_io import decode_audio_cell

    folder.mkdir(parents=True, exist_ok=True)
    row = make_synthetic_dataset("s4", num_videos={"test": 2}, image_size=128)["test"][0]
    frames = [np.asarray(frame.convert("RGB")) for frame in row["frames"]]
    audio = decode_audio_cell(row["audio"])
    paths = {
        "image": folder / "example_frame.png",
        "audio": folder / "example_sound.wav",
        "video": folder / "example_video.mp4",
        "offscreen": folder / "offscreen_sound.wav",
    }
    from PIL import Image

    Image.fromarray(frames[0]).save(paths["image"])
    sf.write(paths["audio"], audio, 16000, subtype="PCM_16")
    write_mp4(frames, paths["video"], audio=audio)
    sf.write(paths["offscreen"], decode_audio_cell(row["audio_offscreen"]), 16000, subtype="PCM_16")
    return paths


def _check_extension(path: str | None, allowed: tuple[str, ...], what: str) -> None:
    if path is not None and Path(path).suffix.lower() not in allowed:
        raise gr.Error(f"unsupported {what} file type {Path(path).suffix or '(none)'}: use {', '.join(allowed)}")


def _gallery(results: list[dict]) -> list[tuple[np.ndarray, str]]:
    return [
        (
            overlay_mask(result["frame"], result["mask"]),
            f"t={result['time']:.1f}s · score {result['score']:.2f} · FPR {100 * result['foreground_ratio']:.1f}%",
        )
        for result in results
    ]


def _summary(model: LoadedModel, results: list[dict], condition: str) -> str:
    scores = [result["score"] for result in results]
    ratio = float(np.mean([result["foreground_ratio"] for result in results]))
    verdict = (
        "the correct mask is empty, so every foreground pixel is a false positive"
        if condition != "original"
        else "the object that makes the sound should be masked"
    )
    return (
        f"**{model.name}** ({len(results)} frames, audio: **{condition}**, {verdict}): correspondence score "
        f"mean **{np.mean(scores):.3f}** (min {min(scores):.3f}, max {max(scores):.3f}); "
        f"foreground ratio / FPR **{100 * ratio:.2f}%**"
    )


def build_demo(
    model: str | Path | None = None,
    baseline_model: str | Path | None = None,
    examples_dir: str | Path | None = None,
) -> gr.Blocks:
    """
    Build the app. `model` / `baseline_model` default to `AVS_MODEL` / `AVS_BASELINE_MODEL`, else to the folders
    of `avs-robust reproduce`; the baseline is optional (side-by-side comparison).
    """
    robust = load_model("Robust model", model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    baseline_location = baseline_model or os.environ.get(BASELINE_MODEL_ENV)
    if baseline_location is None and DEFAULT_BASELINE_MODEL.is_dir():
        baseline_location = DEFAULT_BASELINE_MODEL
    baseline = load_model("Baseline model", baseline_location)
    examples = make_examples(Path(examples_dir or tempfile.mkdtemp(prefix="avs_space_examples_")))

    def segment(image, video, audio, condition, compare):
        if robust.segmenter is None:
            raise gr.Error(f"No model is loaded: {robust.problem}")
        if (image is None) == (video is None):
            raise gr.Error("Upload either an image or a video (exactly one of them).")
        _check_extension(image, IMAGE_EXTENSIONS, "image")
        _check_extension(video, VIDEO_EXTENSIONS, "video")
        _check_extension(audio, AUDIO_EXTENSIONS, "audio")
        if condition not in dict(CONDITIONS).values():
            raise gr.Error(f"unknown audio condition {condition!r}")
        audio_condition = AudioCondition("offscreen", examples["offscreen"]) if condition == "offscreen" else None
        audio_condition = audio_condition or AudioCondition(condition)
        inputs = {"image": image} if image is not None else {"video": video}
        if audio is not None:
            inputs["audio"] = audio
        models = [robust] + ([baseline] if compare and baseline.segmenter is not None else [])
        outputs = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MediaWarning)
            for slot in models:
                try:
                    outputs[slot.name] = slot.segmenter(inputs, audio_condition=audio_condition, limits=LIMITS)
                except (MediaError, ValueError) as error:
                    raise gr.Error(str(error)) from error
        for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, MediaWarning)):
            gr.Warning(message)
        robust_results = outputs[robust.name]
        baseline_results = outputs.get(baseline.name)
        summary = "\n\n".join(_summary(slot, outputs[slot.name], condition) for slot in models)
        return (
            _gallery(robust_results),
            _gallery(baseline_results) if baseline_results else [],
            summary,
        )

    with gr.Blocks(title="Robust audio-visual segmentation") as demo:
        gr.Markdown(INTRO.format(seconds=LIMITS.max_seconds))
        status = [f"{slot.name}: `{slot.location}`" for slot in (robust, baseline) if slot.segmenter is not None]
        problems = [f"**{slot.name} unavailable**: {slot.problem}" for slot in (robust, baseline) if slot.problem]
        gr.Markdown("\n\n".join(status + problems) or "No model configured.", elem_id="model-status")
        with gr.Row():
            with gr.Column():
                image = gr.Image(type="filepath", label="Image", sources=["upload"], elem_id="input-image")
                video = gr.Video(label=f"or a video (≤ {LIMITS.max_seconds} s)", sources=["upload"])
                audio = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", label="Sound", elem_id="input-audio"
                )
                condition = gr.Radio(CONDITIONS, value="original", label="Audio condition", elem_id="condition")
                compare = gr.Checkbox(
                    value=baseline.segmenter is not None,
                    interactive=baseline.segmenter is not None,
                    label="Compare with the baseline model (side by side)",
                )
                run = gr.Button("Segment", variant="primary", elem_id="run")
            with gr.Column():
                robust_gallery = gr.Gallery(
                    label="Robust model: mask per frame", columns=5, elem_id="robust-gallery", format="png"
                )
                baseline_gallery = gr.Gallery(
                    label="Baseline model",
                    columns=5,
                    visible=baseline.segmenter is not None,
                    elem_id="baseline-gallery",
                    format="png",
                )
                summary = gr.Markdown(elem_id="summary")
        gr.Examples(
            [
                [str(examples["image"]), None, str(examples["audio"]), "original"],
                [str(examples["image"]), None, str(examples["audio"]), "offscreen"],
                [None, str(examples["video"]), None, "original"],
                [None, str(examples["video"]), None, "silence"],
            ],
            inputs=[image, video, audio, condition],
            label="Offline examples (synthetic AVSBench-Robust)",
        )
        run.click(
            segment,
            inputs=[image, video, audio, condition, compare],
            outputs=[robust_gallery, baseline_gallery, summary],
            api_name="segment",
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=f"robust model folder or Hub id (default: ${MODEL_ENV} or {DEFAULT_MODEL})")
    parser.add_argument("--baseline-model", help=f"baseline model for side-by-side (default: ${BASELINE_MODEL_ENV})")
    parser.add_argument("--host", help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    args = parser.parse_args()
    from modeling_avs.inference import configure_cpu_allocator

    configure_cpu_allocator()  # this process serves inference only: keep freed activation memory for reuse
    demo = build_demo(args.model, args.baseline_model)
    demo.launch(server_name=args.host, server_port=args.port, **LAUNCH_OPTIONS)


if __name__ == "__main__":
    main()
