"""Gradio Space: see a robust audio-visual segmentation model listen.

Upload an image or a short video with its sound, then replace the sound by silence, noise or an off-screen
recording: the correct mask is then empty. A baseline AVS model keeps segmenting the object it sees (visual
bias); the AVSBench-Robust model's mask vanishes and its audio-visual correspondence score drops.

Models (folder or Hub id), first found: `--model` / `--baseline-model`, the variables `AVS_MODEL` /
`AVS_BASELINE_MODEL`, the file `space_models.json` next to this file (written by `avs-robust export-space`), the
folders `avs-robust reproduce` writes. Without a model the app still starts and explains how to get one.
Run: `python spaces_app/app.py [--model DIR_OR_HUB_ID] [--baseline-model DIR_OR_HUB_ID] [--port 7860]`. Deploy it
with `avs-robust export-space`, which writes a Space folder with this file, the package as a wheel, its
requirements, the model and the Space card.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from modeling_avs.audio_conditions import AUDIO_CONDITION_KINDS, AudioCondition  # noqa: E402
from modeling_avs.media import (  # noqa: E402
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    MediaError,
    MediaLimits,
    MediaWarning,
)
from modeling_avs.pipelines import (  # noqa: E402
    DEFAULT_BASELINE_MODEL,
    DEFAULT_MODEL,
    load_segmenter,
    model_location_problem,
)
from modeling_avs.visualization import overlay_mask, write_mp4  # noqa: E402

logger = logging.getLogger("avs_space")

APP_DIR = Path(__file__).resolve().parent
MODELS_FILE = APP_DIR / "space_models.json"  # {"model": ..., "baseline_model": ...}; folders relative to APP_DIR
MODEL_ENV = "AVS_MODEL"
BASELINE_MODEL_ENV = "AVS_BASELINE_MODEL"
LIMITS = MediaLimits(max_seconds=10, max_pixels=1280 * 720, max_file_bytes=25 * 2**20)
MAX_UPLOAD = "25mb"
# Gallery captions wrap instead of ending in "…": the score and the foreground share are read without a click.
CSS = ".avs-gallery .caption-label { white-space: normal; max-width: calc(100% - 8px); }"
# show_error: an unexpected exception reaches the page as its message (never a traceback).
LAUNCH_OPTIONS = {"max_file_size": MAX_UPLOAD, "ssr_mode": False, "show_error": True, "css": CSS}
# A free CPU Space has 2 cores: 2 requests run at once (torch gets the cores shared between them) and up to
# QUEUE_SIZE wait for their turn, so a burst of 20 users is served; past that Gradio asks to try again later.
CONCURRENCY_LIMIT = 2
QUEUE_SIZE = 64
OUTPUT_MAX_AGE_S = 15 * 60  # request output folders older than this are deleted (Gradio has copied them by then)
CONDITION_LABELS = {
    "original": "Original audio",
    "silence": "Silence",
    "noise": "Noise",
    "offscreen": "Off-screen sound",
}
CONDITIONS = [(CONDITION_LABELS[kind], kind) for kind in AUDIO_CONDITION_KINDS]
UPLOAD_TYPES = {"image": IMAGE_EXTENSIONS, "video": VIDEO_EXTENSIONS, "sound": AUDIO_EXTENSIONS}
INTRO = """# Robust audio-visual segmentation
Upload an **image or a short video** (≤ {seconds} s) and its **sound** (file or microphone), then switch the
**audio condition**. Under *silence*, *noise* or an *off-screen* sound nothing in the picture is sounding, so the
correct mask is **empty**: a robust model's mask vanishes and its correspondence score drops, while a baseline
model keeps segmenting what it sees. One frame is analysed per second of the clip.
"""
SCORE_MEANING = (
    "the audio-visual correspondence score `sigmoid(similarity)` in [0, 1] of the model's similarity head: how "
    "strongly the model finds that the sound belongs to the frame. The robust recipe trains it to drop under "
    "silence, noise and off-screen sound."
)
SYNTHETIC_NOTICE = (
    "**Trained on the synthetic benchmark.** This model learned from modeling-avs' synthetic AVSBench-Robust "
    "(coloured shapes on plain backgrounds, {size} pixels, with synthetic sounds), not from real videos: on a real "
    "photo or video its masks are meaningless. Use the offline examples below to see how the mask and the score "
    "react to the audio."
)
# Decoder wordings of a file that is not what its name says (or is damaged), and what the page says instead.
_UNREADABLE_HINTS = ("invalid data found", "cannot identify image", "unsupported or corrupt", "format not recognised")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*|\berrno -?\d+:?\s*", re.IGNORECASE)
_SERVER_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"/:]+/)+[^\s'\":,;)]+")


@dataclass
class LoadedModel:
    """A model slot of the app: the pipeline and its "About this model" text, or why there is none."""

    name: str
    location: str
    segmenter: object | None
    problem: str | None
    about: str = ""


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its `role` ("image", "video" or "sound"), path on the server and the user's file name."""

    role: str
    path: str
    name: str

    @classmethod
    def from_payload(cls, role: str, payload: dict | str) -> Upload:
        """From Gradio's raw file data (`{"path", "orig_name", ...}`; the event runs without preprocessing)."""
        if isinstance(payload, str):
            return cls(role, payload, Path(payload).name)
        path = payload["path"]
        return cls(role, path, Path(payload.get("orig_name") or path).name)


def model_card_datasets(location: str | Path) -> list[str]:
    """The training datasets named by the model card (README.md) of `location`, [] without a card."""
    from huggingface_hub import ModelCard

    path = Path(location)
    try:
        card = ModelCard.load(path / "README.md" if path.is_dir() else str(location))
    except Exception:  # no card, or a Hub model that cannot be reached: the box says the data is not stated
        return []
    return [str(dataset) for dataset in (card.data.datasets or [])]


def describe_model(name: str, location: str | Path, segmenter) -> str:
    """The "About this model" Markdown: training data, size, input resolution, gate threshold, what the score means,
    and a notice when the model was trained on the synthetic benchmark."""
    from modeling_avs.data.synthetic import SYNTHETIC_DATASET_ID

    model, config = segmenter.model, segmenter.model.config
    size = segmenter.processor.image_processor.size
    resolution = f"{size['width']}×{size['height']}"
    parameters = sum(parameter.numel() for parameter in model.parameters())
    datasets = model_card_datasets(location)
    threshold = config.inference_gate_threshold
    gate = (
        f"**{threshold:.4g}**: the mask of a frame whose score is below it is emptied"
        if threshold is not None
        else "**none**: the score is reported but does not empty any mask"
    )
    lines = [
        f"**{name}**: `{type(model).__name__}`, {parameters / 1e6:.2f} M parameters, frames resized to "
        f"{resolution}, windows of {config.num_frames} frames.",
        f"- **Training data**: {', '.join(datasets) if datasets else 'not stated (the model has no model card)'}",
        f"- **Score**: {SCORE_MEANING}",
        f"- **Gate threshold**: {gate}.",
    ]
    if any(dataset.startswith(SYNTHETIC_DATASET_ID) for dataset in datasets):
        lines.insert(0, f"> ⚠️ {SYNTHETIC_NOTICE.format(size=resolution)}\n")
    return "\n".join(lines)


def shown_location(location: str | Path) -> str:
    """How the page names a model: a Hub id, or a folder relative to the app's folder when it is inside it."""
    path = Path(location)
    return path.relative_to(APP_DIR).as_posix() if path.is_absolute() and path.is_relative_to(APP_DIR) else str(path)


def load_model(name: str, location: str | Path | None) -> LoadedModel:
    """Load the pipeline of `location`; on failure keep the reason instead of raising."""
    if location is None:
        return LoadedModel(name, "", None, None)
    problem = model_location_problem(location)
    if problem is None:
        try:
            segmenter = load_segmenter(location, device="cpu")
            about = describe_model(name, location, segmenter)
            return LoadedModel(name, shown_location(location), segmenter, None, about)
        except Exception as error:  # any loading failure is reported in the page, not raised
            problem = f"cannot load {shown_location(location)}: {error}"
    logger.warning("%s model unavailable: %s", name, problem)
    return LoadedModel(name, shown_location(location), None, problem)


def configured_models(
    model: str | Path | None = None, baseline_model: str | Path | None = None
) -> tuple[str | Path, str | Path | None]:
    """The robust and the (optional) baseline model location, in the order of the module docstring."""
    settings = json.loads(MODELS_FILE.read_text(encoding="utf-8")) if MODELS_FILE.is_file() else {}

    def from_settings(key: str) -> str | Path | None:
        value = settings.get(key)
        return APP_DIR / value if value and (APP_DIR / value).is_dir() else value

    robust = model or os.environ.get(MODEL_ENV) or from_settings("model") or DEFAULT_MODEL
    baseline = baseline_model or os.environ.get(BASELINE_MODEL_ENV) or from_settings("baseline_model")
    if baseline is None and DEFAULT_BASELINE_MODEL.is_dir():
        baseline = DEFAULT_BASELINE_MODEL
    return robust, baseline


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
    Image.fromarray(frames[0]).save(paths["image"])
    sf.write(paths["audio"], audio, 16000, subtype="PCM_16")
    write_mp4(frames, paths["video"], audio=audio)
    sf.write(paths["offscreen"], decode_audio_cell(row["audio_offscreen"]), 16000, subtype="PCM_16")
    return paths


def without_server_paths(text: str, uploads: list[Upload]) -> str:
    """`text` with every upload's path replaced by its file name, any other path by its last part, no errno."""
    for upload in uploads:
        text = text.replace(upload.path, upload.name)
    return _SERVER_PATH.sub(lambda match: Path(match[0]).name, _ERRNO.sub("", text))


def media_error_message(error: Exception, uploads: list[Upload]) -> str:
    """What the page says about a file that cannot be used: its name and why, in plain words."""
    raw = str(error)
    culprit = next((upload for upload in uploads if upload.path in raw), None)
    culprit = culprit or next((upload for upload in uploads if upload.name in raw), None)
    detail = without_server_paths(raw, uploads)
    if culprit is None:
        return f"Your upload could not be used: {detail}"
    if any(hint in raw.lower() for hint in _UNREADABLE_HINTS):
        suffix = Path(culprit.name).suffix or "(no extension)"
        return (
            f"{culprit.name} could not be read as {'an' if culprit.role == 'image' else 'a'} {culprit.role}: the file "
            f"is damaged, or it is another kind of file named {suffix}. Please try another file."
        )
    return f"{culprit.name} could not be used as the {culprit.role}: {detail}"


def check_upload_type(upload: Upload) -> None:
    """Refuse a file whose extension is not one the app reads for its role, by name."""
    allowed = UPLOAD_TYPES[upload.role]
    if Path(upload.name).suffix.lower() not in allowed:
        raise gr.Error(
            f"{upload.name} cannot be used as the {upload.role}: its file type is not supported. "
            f"Use one of {', '.join(allowed)}."
        )


def frame_caption(result: dict, negative: bool) -> str:
    """A short caption (it must fit under a gallery image): time, score and the foreground share (FPR if negative)."""
    share = "FPR" if negative else "mask"
    return f"{result['time']:.1f} s · score {result['score']:.3f} · {share} {100 * result['foreground_ratio']:.1f}%"


def summarize(model: LoadedModel, results: list[dict], condition: str) -> str:
    """A model's Markdown summary: the condition, mean scores and a table of every frame."""
    scores = [result["score"] for result in results]
    share = float(np.mean([result["foreground_ratio"] for result in results]))
    if condition != "original":
        verdict = (
            "nothing in the picture makes this sound, so the correct mask is empty and every foreground pixel is a "
            "false positive (FPR)"
        )
        share_name = "FPR"
    else:
        verdict = "the object that makes the sound should be masked"
        share_name = "foreground share"
    gated = [result["sounding"] for result in results if result["sounding"] is not None]
    gate = f" · kept by the gate: {sum(gated)} of {len(gated)} frames" if gated else ""
    rows = [
        f"| {result['index'] + 1} | {result['time']:.1f} s | {result['score']:.3f} | "
        f"{100 * result['foreground_ratio']:.2f}% |"
        for result in results
    ]
    return "\n".join(
        [
            f"**{model.name}** · audio: **{CONDITION_LABELS[condition].lower()}** ({verdict}).",
            "",
            f"Mean score **{np.mean(scores):.3f}** (min {min(scores):.3f}, max {max(scores):.3f}) · mean "
            f"{share_name} **{100 * share:.2f}%**{gate}",
            "",
            f"| frame | time | score | {share_name} |",
            "|---|---|---|---|",
            *rows,
        ]
    )


class OutputFiles:
    """The app's own folder of output images: one subfolder per request, old ones deleted.

    Outputs are written to new files, never returned as arrays: Gradio caches an array under the hash of its bytes,
    so an overlay identical to the upload (an empty mask) would share, and rewrite, the file of the upload while
    another response is still reading it.
    """

    def __init__(self, root: Path | None = None, max_age_s: float = OUTPUT_MAX_AGE_S) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="avs_space_outputs_"))
        self.max_age_s = max_age_s

    def request_folder(self) -> Path:
        now = time.time()
        for folder in self.root.iterdir():
            with contextlib.suppress(FileNotFoundError):  # another request may be deleting it too
                if now - folder.stat().st_mtime > self.max_age_s:
                    shutil.rmtree(folder, ignore_errors=True)
        folder = self.root / uuid.uuid4().hex
        folder.mkdir(parents=True)
        return folder

    def gallery(self, folder: Path, prefix: str, results: list[dict], negative: bool) -> list[tuple[str, str]]:
        """Write the overlay of every frame as PNG; the gallery value (path, caption) of each."""
        items = []
        for result in results:
            path = folder / f"{prefix}_frame{result['index'] + 1:02d}.png"
            Image.fromarray(overlay_mask(result["frame"], result["mask"])).save(path, format="PNG")
            items.append((str(path), frame_caption(result, negative)))
        return items


def build_demo(
    model: str | Path | None = None,
    baseline_model: str | Path | None = None,
    examples_dir: str | Path | None = None,
) -> gr.Blocks:
    """
    Build the app. `model` / `baseline_model`: see the module docstring for where they are looked up otherwise; the
    baseline is optional (side-by-side comparison).
    """
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // CONCURRENCY_LIMIT))
    robust_location, baseline_location = configured_models(model, baseline_model)
    robust = load_model("Robust model", robust_location)
    baseline = load_model("Baseline model", baseline_location)
    examples = make_examples(Path(examples_dir or tempfile.mkdtemp(prefix="avs_space_examples_")))
    outputs_folder = OutputFiles()

    def segment(image, video, audio, condition, compare):
        # The event runs without Gradio's preprocessing (which opens images itself and would show its own error,
        # with the server path): the inputs are Gradio's file data, checked here.
        uploads = [
            Upload.from_payload(role, payload)
            for role, payload in (("image", image), ("video", video), ("sound", audio))
            if payload
        ]
        if robust.segmenter is None:
            raise gr.Error(f"No model is loaded: {robust.problem}")
        if (image is None) == (video is None):
            raise gr.Error("Upload either an image or a video (exactly one of them).")
        for upload in uploads:
            check_upload_type(upload)
        if condition not in dict(CONDITIONS).values():
            raise gr.Error(f"unknown audio condition {condition!r}")
        audio_condition = AudioCondition("offscreen", examples["offscreen"]) if condition == "offscreen" else None
        audio_condition = audio_condition or AudioCondition(condition)
        inputs = {upload.role if upload.role != "sound" else "audio": upload.path for upload in uploads}
        models = [robust] + ([baseline] if compare and baseline.segmenter is not None else [])
        outputs = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MediaWarning)
            for slot in models:
                try:
                    outputs[slot.name] = slot.segmenter(inputs, audio_condition=audio_condition, limits=LIMITS)
                except (MediaError, ValueError) as error:
                    raise gr.Error(media_error_message(error, uploads)) from error
                except Exception as error:  # a failure of ours: logged with its traceback, named plainly
                    logger.exception("segmentation failed")
                    names = ", ".join(upload.name for upload in uploads)
                    raise gr.Error(f"The model could not process {names}. Please try other files.") from error
        for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, MediaWarning)):
            gr.Warning(without_server_paths(message, uploads))
        folder = outputs_folder.request_folder()
        galleries = {
            slot.name: outputs_folder.gallery(folder, prefix, outputs[slot.name], condition != "original")
            for slot, prefix in ((robust, "robust"), (baseline, "baseline"))
            if slot.name in outputs
        }
        summary = "\n\n".join(summarize(slot, outputs[slot.name], condition) for slot in models)
        return galleries[robust.name], galleries.get(baseline.name, []), summary

    with gr.Blocks(title="Robust audio-visual segmentation") as demo:
        gr.Markdown(INTRO.format(seconds=LIMITS.max_seconds))
        status = [f"{slot.name}: `{slot.location}`" for slot in (robust, baseline) if slot.segmenter is not None]
        problems = [f"**{slot.name} unavailable**: {slot.problem}" for slot in (robust, baseline) if slot.problem]
        gr.Markdown("\n\n".join(status + problems) or "No model configured.", elem_id="model-status")
        about = [slot.about for slot in (robust, baseline) if slot.about]
        if about:
            with gr.Accordion("About this model", open=True, elem_id="about-model"):
                gr.Markdown("\n\n".join(about), elem_id="about-model-text")
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
                    label="Robust model: mask per frame",
                    columns=3,
                    height="auto",
                    elem_id="robust-gallery",
                    elem_classes="avs-gallery",
                    format="png",
                )
                baseline_gallery = gr.Gallery(
                    label="Baseline model",
                    columns=3,
                    height="auto",
                    visible=baseline.segmenter is not None,
                    elem_id="baseline-gallery",
                    elem_classes="avs-gallery",
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
            preprocess=False,
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=f"robust model folder or Hub id (default: ${MODEL_ENV}, {MODELS_FILE.name})")
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
