"""`pipeline("audio-visual-segmentation")`: segment the sounding object of a video, frames or an image + audio."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import Pipeline

from ..audio_conditions import AudioCondition
from ..audio_conversion import check_sampling_rate
from ..configuration_audio_visual_segmentation import AUDIO_VISUAL_SEGMENTATION_TASK
from ..image_conversion import to_rgb_frame
from ..inference import check_precision, inference_context, prepare_for_inference
from ..media import MediaError, MediaLimits, MediaWarning, clip_seconds, media_kind, read_audio, read_image, read_video
from ..modeling_outputs import AudioVisualSegmentationOutput
from ..similarity_head import similarity_gate

FRAME_TIME_OFFSET = 15 / 16  # frames of images and frame lists are placed near the end of each second, as AVSBench


def _is_frame(value: Any) -> bool:
    return isinstance(value, (Image.Image, np.ndarray, torch.Tensor))


class AudioVisualSegmentationPipeline(Pipeline):
    r"""
    Audio-visual segmentation of the sounding object, for any `*ForAudioVisualSegmentation` model of the package.

    Inputs (`pipe(inputs, audio=None, sampling_rate=None, ...)`):

    - a video file path (mp4/webm/mkv/...): one frame at the end of each second (AVSBench sampling) and the
      audio track; T = clip length in seconds (rounded), at most `max_seconds` (longer videos are truncated);
    - an image (path, PIL image or array) plus `audio` (file path, waveform with `sampling_rate`, or a
      `{"array", "sampling_rate"}` dict): the image is shown for every second of the audio, T = its length in
      seconds (an image without audio counts as a `config.num_frames`-second clip);
    - a list of frames (PIL images or arrays, one per second) plus `audio`: T = the number of frames;
      frames are converted to 8-bit RGB by the rules of `modeling_avs.image_conversion` (16-bit scaled, floats in
      [0, 1] scaled, values outside [0, 255] or NaN an error, at least 8 pixels per side);
    - a dict `{"video" | "image" | "frames": ..., "audio": ..., "sampling_rate": ...}`.

    A list of paths or dicts is a batch of inputs. The model sees the clip in windows of `config.num_frames`
    consecutive seconds (AVSBench-TPAVI attends over the frames of a window); the last window is padded by
    repeating the last frame and its audio example, and the padding is dropped from the outputs. A model whose
    frames are independent (`model.independent_frames`, AVSegFormer) gets no padding.

    `precision` (`"fp32"` by default, the model's exact function; `"int8"`: dynamic int8 Linear layers on CPU;
    `"bf16"`: bfloat16 autocast, on a CPU only with native bf16) selects the inference path, see
    [`modeling_avs.inference`]; the forward runs under `torch.inference_mode`.

    Audio handling: `audio_condition` (`"original"`, `"silence"`, `"noise"`, `"offscreen:FILE"`, see
    [`AudioCondition`]) replaces the audio by a negative. A clip without audio is run with silence and audio
    shorter than the clip is padded by repeating its last second (the AVSBench rule), each with a
    [`MediaWarning`]; `strict_audio=True` turns both into errors.

    Returns, per input, a list with one dict per frame:

    - `"frame"`: the RGB frame, uint8 `[H, W, 3]`;
    - `"mask"`: the binary mask at the frame's resolution, uint8 `[H, W]` in {0, 1}: `probabilities > threshold`;
    - `"probabilities"`: `sigmoid(logits)` resized to the frame, float32 `[H, W]` in [0, 1], zero where the gate
      empties the frame (the processor's `post_process_probabilities`);
    - `"score"`: the audio-visual correspondence score `sigmoid(similarity)` in [0, 1];
    - `"foreground_ratio"`: fraction of mask pixels (the FPR of the frame under a negative condition);
    - `"sounding"`: whether the similarity gate keeps the frame (`score >= gate_threshold`, [`similarity_gate`])
      when a gate threshold is set (`gate_threshold`, by default the model's `config.inference_gate_threshold`),
      otherwise None;
    - `"time"` (seconds) and `"index"` (frame number in the clip).
    """

    _load_processor = True
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def save_pretrained(self, save_directory: str | Path, **kwargs):
        """Save the model (with this pipeline's code, see the models' `save_pretrained`) and the processor."""
        self.model.save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory, **kwargs)

    def __call__(self, inputs, **kwargs):
        """Run on one input or a batch (list of paths/dicts); a list of frames is one clip, not a batch."""
        if isinstance(inputs, (list, tuple)) and not inputs:
            raise ValueError("`inputs` is an empty list: pass a video or image, a list of frames, or a batch of them")
        if isinstance(inputs, (list, tuple)) and all(_is_frame(item) for item in inputs):
            inputs = {"frames": list(inputs)}
        return super().__call__(inputs, **kwargs)

    def _sanitize_parameters(
        self,
        audio=None,
        sampling_rate: int | None = None,
        audio_condition: str | AudioCondition | None = None,
        strict_audio: bool | None = None,
        max_seconds: int | None = None,
        limits: MediaLimits | None = None,
        seed: int | None = None,
        threshold: float | None = None,
        gate_threshold: float | None = None,
        precision: str | None = None,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(f"unexpected arguments for the audio-visual-segmentation pipeline: {sorted(kwargs)}")
        preprocess: dict[str, Any] = {}
        for name, value in (("audio", audio), ("sampling_rate", sampling_rate), ("seed", seed)):
            if value is not None:
                preprocess[name] = value
        if audio_condition is not None:
            preprocess["audio_condition"] = AudioCondition.parse(audio_condition)
        if strict_audio is not None:
            preprocess["strict_audio"] = bool(strict_audio)
        if limits is not None or max_seconds is not None:
            limits = limits or MediaLimits()
            if max_seconds is not None:
                limits = MediaLimits(max_seconds, limits.max_pixels, limits.max_file_bytes)
            preprocess["limits"] = limits
        postprocess: dict[str, Any] = {}
        if threshold is not None:
            if not 0.0 <= threshold < 1.0:
                raise ValueError(f"`threshold` must be in [0, 1), got {threshold}")
            postprocess["threshold"] = threshold
        if gate_threshold is not None:
            if not 0.0 <= gate_threshold <= 1.0:
                raise ValueError(f"`gate_threshold` must be in [0, 1], got {gate_threshold}")
            postprocess["gate_threshold"] = gate_threshold
        forward: dict[str, Any] = {}
        if precision is not None:
            check_precision(precision, self.device)
            forward["precision"] = precision
        return preprocess, forward, postprocess

    # ----------------------------------------------------------------------------------------------- inputs

    def _load_audio(
        self, audio, sampling_rate: int | None, limits: MediaLimits
    ) -> tuple[np.ndarray | None, int | None, bool]:
        """
        User audio (path, array + `sampling_rate`, or `{"array", "sampling_rate"}`) → `[samples(, channels)]` cut
        to `limits.max_seconds`, its rate, and whether it was longer.
        """
        if audio is None:
            return None, None, False
        if isinstance(audio, (str, Path)):
            waveform, sampling_rate = read_audio(audio, limits)
        else:
            if isinstance(audio, dict):
                if "array" not in audio or "sampling_rate" not in audio:
                    raise ValueError("an audio dict needs the keys 'array' and 'sampling_rate'")
                audio, sampling_rate = audio["array"], audio["sampling_rate"]
            if sampling_rate is None:
                raise ValueError("`sampling_rate` is required when `audio` is given as a waveform")
            sampling_rate = check_sampling_rate(sampling_rate)
            waveform = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
            if waveform.ndim not in (1, 2) or waveform.shape[0] == 0:
                raise ValueError(
                    f"`audio` must be a non-empty [samples] or [samples, channels] array, got {waveform.shape}"
                )
        max_samples = limits.max_seconds * sampling_rate
        return waveform[:max_samples], sampling_rate, len(waveform) > max_samples

    def _read_visual(self, inputs, limits: MediaLimits) -> dict[str, Any]:
        """Normalise the visual input → `{"frames", "times", "audio", "sampling_rate", "truncated", "still"}`."""
        if isinstance(inputs, (str, Path)):
            if media_kind(inputs) == "image":
                return {"frames": [read_image(inputs, limits)], "still": True}
            video = read_video(inputs, limits)
            return {
                "frames": video.frames,
                "times": video.frame_times,
                "audio": video.audio,
                "sampling_rate": video.sampling_rate,
                "truncated": video.truncated,
                "source": str(inputs),
            }
        if _is_frame(inputs):
            return {"frames": [to_rgb_frame(inputs, "the image")], "still": True}
        raise ValueError(
            "inputs must be a video or image path, an image, a list of frames or a dict with 'video', 'image' or "
            f"'frames'; got {type(inputs).__name__}"
        )

    def preprocess(
        self,
        inputs,
        audio=None,
        sampling_rate: int | None = None,
        audio_condition: AudioCondition | None = None,
        strict_audio: bool = False,
        limits: MediaLimits | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        limits = limits or MediaLimits()
        audio_condition = audio_condition or AudioCondition()
        if isinstance(inputs, dict):
            inputs = dict(inputs)
            audio = inputs.pop("audio", audio)
            sampling_rate = inputs.pop("sampling_rate", sampling_rate)
            keys = [key for key in ("video", "image", "frames") if key in inputs]
            if len(keys) != 1 or inputs.keys() - {keys[0]}:
                raise ValueError(
                    "an input dict needs exactly one of 'video', 'image' or 'frames' (plus optional 'audio' and "
                    f"'sampling_rate'); got keys {sorted(inputs)}"
                )
            visual = inputs[keys[0]]
            if keys[0] == "frames":
                if not isinstance(visual, (list, tuple)) or not visual:
                    raise ValueError("'frames' must be a non-empty list of images")
                clip = {"frames": [to_rgb_frame(frame, f"frame {k}") for k, frame in enumerate(visual)]}
            else:
                clip = self._read_visual(visual, limits)
        else:
            clip = self._read_visual(inputs, limits)

        user_audio, user_rate, audio_truncated = self._load_audio(audio, sampling_rate, limits)
        if user_audio is not None:
            clip["audio"], clip["sampling_rate"] = user_audio, user_rate
        waveform, rate = clip.get("audio"), clip.get("sampling_rate")

        frames = clip["frames"]
        if clip.get("still"):  # the audio sets the clip's length, so audio cut to `max_seconds` truncates the clip
            seconds = clip_seconds(len(waveform) / rate) if waveform is not None else self.model.config.num_frames
            frames = frames * min(seconds, limits.max_seconds)
            clip["truncated"] = seconds > limits.max_seconds or (user_audio is not None and audio_truncated)
        elif len(frames) > limits.max_seconds:
            frames = frames[: limits.max_seconds]
            clip["truncated"] = True
        num_seconds = len(frames)
        if clip.get("truncated"):
            warnings.warn(
                f"the clip is longer than {limits.max_seconds} s; only its first {limits.max_seconds} s are used",
                MediaWarning,
                stacklevel=2,
            )
        times = clip.get("times") or [second + FRAME_TIME_OFFSET for second in range(num_seconds)]

        if audio_condition.kind == "original":
            self._check_original_audio(waveform, rate, num_seconds, strict_audio)
        waveform, rate = audio_condition.apply(waveform, rate, num_seconds, seed=seed, limits=limits)
        if waveform is None:  # no audio at all: silence, after the warning above
            waveform, rate = AudioCondition("silence").apply(None, None, num_seconds)
        waveform = waveform[: num_seconds * rate]

        window = 1 if getattr(self.model, "independent_frames", False) else self.model.config.num_frames
        padded = -(-num_seconds // window) * window
        padded_frames = frames + [frames[-1]] * (padded - num_seconds)
        model_inputs = self.processor(images=padded_frames, audio=[waveform], sampling_rate=rate)
        return {
            "pixel_values": model_inputs["pixel_values"],
            "input_features": model_inputs["input_features"],
            "frames": frames,
            "times": times,
        }

    def _check_original_audio(self, waveform: np.ndarray | None, rate: int | None, seconds: int, strict: bool):
        """Warn (or raise with `strict`) when the clip has no audio or less audio than frames."""
        if waveform is None:
            message = "the clip has no audio"
            if strict:
                raise MediaError(f"{message} (pass audio, or an audio condition such as silence)")
            warnings.warn(f"{message}; running it with silence", MediaWarning, stacklevel=3)
            return
        extractor = self.processor.feature_extractor
        samples = int(len(waveform) * extractor.sampling_rate / rate)
        complete = max(0, (samples - extractor.window_length) // extractor.hop_length + 1) // extractor.example_frames
        if complete < seconds:
            message = f"the audio covers {len(waveform) / rate:.2f} s but the clip has {seconds} frames (seconds)"
            if strict:
                raise MediaError(message)
            warnings.warn(f"{message}; its last second is repeated", MediaWarning, stacklevel=3)

    # ---------------------------------------------------------------------------------------------- forward

    def get_inference_context(self):
        return torch.inference_mode

    def _inference_model(self, precision: str) -> torch.nn.Module:
        """The model prepared for `precision` (the int8 copy is made once and kept)."""
        if precision != "int8":
            return self.model
        if not hasattr(self, "_int8_model"):
            self._int8_model = prepare_for_inference(self.model, "int8")
        return self._int8_model

    def _forward(self, model_inputs: dict[str, Any], precision: str = "fp32") -> dict[str, Any]:
        """Run the model on windows of `config.num_frames` frames → logits `[T, 1, h, w]`, similarity `[T]`."""
        window = self.model.config.num_frames
        model = self._inference_model(precision)
        pixel_values = model_inputs.pop("pixel_values").to(self.model.dtype)
        input_features = model_inputs.pop("input_features").to(self.model.dtype)
        logits, similarity = [], []
        for start in range(0, len(pixel_values), window):
            with inference_context(precision, self.device):
                outputs = model(
                    pixel_values=pixel_values[start : start + window],
                    input_features=input_features[start : start + window],
                )
            logits.append(outputs.logits.float())
            similarity.append(outputs.similarity.float())
        num_frames = len(model_inputs["frames"])
        model_inputs["logits"] = torch.cat(logits)[:num_frames]
        model_inputs["similarity"] = torch.cat(similarity)[:num_frames]
        return model_inputs

    # ------------------------------------------------------------------------------------------------ outputs

    def postprocess(
        self, model_outputs: dict[str, Any], threshold: float = 0.5, gate_threshold: float | None = None
    ) -> list[dict[str, Any]]:
        if gate_threshold is None:
            gate_threshold = self.model.config.inference_gate_threshold
        frames = model_outputs["frames"]
        similarity = model_outputs["similarity"].cpu()
        probabilities = self.processor.post_process_probabilities(
            AudioVisualSegmentationOutput(logits=model_outputs["logits"].cpu(), similarity=similarity),
            target_sizes=[frame.shape[:2] for frame in frames],
            gate_threshold=gate_threshold,
        )
        kept = similarity_gate(similarity, gate_threshold).tolist()
        scores = torch.sigmoid(similarity).tolist()
        results = []
        for index, (frame, frame_probabilities) in enumerate(zip(frames, probabilities)):
            mask = (frame_probabilities > threshold).numpy().astype(np.uint8)
            results.append(
                {
                    "index": index,
                    "time": float(model_outputs["times"][index]),
                    "frame": frame,
                    "mask": mask,
                    "probabilities": frame_probabilities.numpy().astype(np.float32),
                    "score": scores[index],
                    "foreground_ratio": float(mask.mean()),
                    "sounding": None if gate_threshold is None else kept[index],
                }
            )
        return results


__all__ = ["AUDIO_VISUAL_SEGMENTATION_TASK", "AudioVisualSegmentationPipeline"]
