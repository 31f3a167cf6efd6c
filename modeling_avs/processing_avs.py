"""Processor of the AVS models: frames (+ masks) and audio of videos → model inputs."""

import numpy as np
from transformers import BatchFeature, ProcessorMixin


class AVSProcessor(ProcessorMixin):
    r"""
    Combines an [`AVSImageProcessor`] (frames, masks) and a [`VGGishFeatureExtractor`] (audio). A call takes the
    frames of B videos (N = B·T frames, video-major) and one audio clip per video, and returns `pixel_values`
    `[N, 3, h, w]`, `input_features` `[N, 1, 96, 64]` (T log-mel examples per clip, one per frame) and, with
    `segmentation_maps`, `labels` `[N, h, w]`.
    """

    def __init__(self, image_processor, feature_extractor):
        super().__init__(image_processor, feature_extractor)

    def __call__(
        self,
        images=None,
        audio: np.ndarray | list[np.ndarray] | None = None,
        sampling_rate: int | None = None,
        segmentation_maps=None,
        return_tensors: str | None = "pt",
        **kwargs,
    ) -> BatchFeature:
        """
        Args:
            images: N frames (list of PIL images / arrays / tensors), the frames of B videos one after another.
            audio: one waveform per video (`[samples]` or `[samples, channels]`), or a single waveform for B = 1.
            sampling_rate (`int`): sampling rate of `audio` (required with `audio`).
            segmentation_maps: optional N masks.
        """
        if images is None and audio is None:
            raise ValueError("pass `images` (frames), `audio`, or both")
        data = {}
        if images is not None:
            data.update(
                self.image_processor(images, segmentation_maps=segmentation_maps, return_tensors=return_tensors)
            )
        if audio is not None:
            clips = list(audio) if isinstance(audio, (list, tuple)) else [audio]
            num_examples = None
            if images is not None:
                num_frames = len(data["pixel_values"])
                if num_frames % len(clips):
                    raise ValueError(
                        f"got {num_frames} frames for {len(clips)} audio clips: each video needs the same number "
                        "of frames (N = B·T)"
                    )
                num_examples = num_frames // len(clips)
            data.update(
                self.feature_extractor(
                    clips, sampling_rate=sampling_rate, num_examples=num_examples, return_tensors=return_tensors
                )
            )
        return BatchFeature(data, tensor_type=return_tensors)

    def post_process_probabilities(self, *args, **kwargs):
        """Forwards to [`AVSImageProcessor.post_process_probabilities`]."""
        return self.image_processor.post_process_probabilities(*args, **kwargs)

    def post_process_segmentation(self, *args, **kwargs):
        """Forwards to [`AVSImageProcessor.post_process_segmentation`]."""
        return self.image_processor.post_process_segmentation(*args, **kwargs)


AVSProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["AVSProcessor"]
