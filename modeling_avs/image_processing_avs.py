"""Image processor of the AVS models: frames to normalised pixels, masks to binary labels, logits to masks."""

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as tvF
from PIL import Image
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_processing_utils import BatchFeature
from transformers.image_transforms import group_images_by_shape, reorder_images
from transformers.image_utils import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    ChannelDimension,
    ImageInput,
    PILImageResampling,
    SizeDict,
)
from transformers.utils import TensorType

from .image_conversion import channels_last, check_image_size, check_pixel_values, pil_to_rgb
from .similarity_head import gate_logits


def _checked_image(image, what: str, is_frame: bool):
    """
    One frame or mask after the checks of `modeling_avs.image_conversion` (size, finite values). PIL frames of other
    modes than RGB become 8-bit RGB arrays by its rules (16-bit and float images scaled, where `convert("RGB")` would
    clip) and uint16 arrays 8-bit arrays; other inputs are passed on unchanged.
    """
    if isinstance(image, Image.Image):
        if is_frame and image.mode != "RGB":
            return pil_to_rgb(image, what)
        check_image_size(image.height, image.width, what)
        return image
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    layout = channels_last(array, what)
    check_pixel_values(array, what)
    if is_frame and array.dtype == np.uint16:
        return np.rint(layout / 257.0).astype(np.uint8)
    return image


class AVSImageProcessor(TorchvisionBackend):
    r"""
    Resizes frames (bilinear) to `size` (224² for AVSBench-TPAVI, 512² for AVSegFormer), rescales to [0, 1] and
    normalises with the ImageNet mean/std, as every AVSBench dataloader does. Masks (`segmentation_maps`) are
    resized with nearest-exact interpolation and binarised with `> 0` (so 0/255 L, 1-bit and palette PNGs all give
    {0, 1}; the original's `convert("1")` dithering and palette-index quirks are not reproduced).

    `post_process_probabilities` / `post_process_segmentation` turn model outputs into foreground probabilities /
    binary masks at the requested sizes, optionally emptying the frames whose audio-visual correspondence score
    `sigmoid(similarity)` is below a gate threshold ([`similarity_gate`]).
    """

    resample = PILImageResampling.BILINEAR
    image_mean = IMAGENET_DEFAULT_MEAN
    image_std = IMAGENET_DEFAULT_STD
    size = {"height": 224, "width": 224}
    default_to_square = True
    do_resize = True
    do_rescale = True
    do_normalize = True
    rescale_factor = 1 / 255
    do_convert_rgb = True  # grey and RGBA arrays become RGB

    def preprocess(self, images: ImageInput, segmentation_maps: ImageInput | None = None, **kwargs) -> BatchFeature:
        r"""
        Args:
            images: frames (PIL images, `[H, W, 3]` arrays or `[3, H, W]` tensors), one per frame; N = B·T frames.
            segmentation_maps: optional masks, one per frame (any non-zero pixel is foreground).

        Frames are converted as `modeling_avs.image_conversion` describes: 16-bit and float images are scaled to 8
        bits (never clipped); a frame or mask with a side under 8 pixels, or with NaN values, is a `ValueError`.

        Returns:
            [`BatchFeature`] with `pixel_values` `[N, 3, h, w]` and, with masks, `labels` `[N, h, w]` (float 0/1).
        """
        return super().preprocess(images, segmentation_maps, **kwargs)

    def _checked_images(self, images: ImageInput, what: str, expected_ndims: int = 3) -> list:
        images = self._prepare_images_structure(images, expected_ndims=expected_ndims)
        if not images:
            raise ValueError(f"no {what}s were given")
        return [_checked_image(image, f"{what} {index}", what == "frame") for index, image in enumerate(images)]

    def _preprocess_image_like_inputs(
        self,
        images: ImageInput,
        segmentation_maps: ImageInput | None,
        do_convert_rgb: bool,
        input_data_format: ChannelDimension,
        return_tensors: str | TensorType | None,
        device: str | torch.device | None = None,
        **kwargs,
    ) -> BatchFeature:
        images = self._prepare_image_like_inputs(
            images=self._checked_images(images, "frame"),
            do_convert_rgb=do_convert_rgb,
            input_data_format=input_data_format,
            device=device,
        )
        data = {"pixel_values": self._preprocess(images, **kwargs)}
        if segmentation_maps is not None:
            masks = self._prepare_image_like_inputs(
                images=self._checked_images(segmentation_maps, "segmentation map", expected_ndims=2),
                expected_ndims=2,
                do_convert_rgb=False,
                input_data_format=None,
            )
            if len(masks) != len(images):
                raise ValueError(f"got {len(images)} frames but {len(masks)} segmentation maps; pass one per frame")
            # Colour masks (RGB PNGs) count a pixel as foreground if any channel is non-zero.
            masks = [mask.amax(dim=0, keepdim=True) for mask in masks]
            mask_kwargs = {
                **kwargs,
                "do_normalize": False,
                "do_rescale": False,
                "resample": tvF.InterpolationMode.NEAREST_EXACT,
            }
            data["labels"] = [(mask[0] > 0).float() for mask in self._preprocess(masks, **mask_kwargs)]
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _preprocess(
        self,
        images: list[torch.Tensor],
        resample: PILImageResampling | tvF.InterpolationMode | None,
        do_resize: bool,
        do_rescale: bool,
        do_normalize: bool,
        size: SizeDict,
        rescale_factor: float,
        image_mean: float | list[float],
        image_std: float | list[float],
        disable_grouping: bool | None = None,
        **kwargs,
    ) -> list[torch.Tensor]:
        grouped, index = group_images_by_shape(images, disable_grouping=disable_grouping)
        processed = {}
        for shape, stacked in grouped.items():
            if do_resize:
                stacked = self.resize(image=stacked, size=size, resample=resample)
            processed[shape] = self.rescale_and_normalize(
                stacked, do_rescale, rescale_factor, do_normalize, image_mean, image_std
            )
        return reorder_images(processed, index)

    def post_process_probabilities(
        self,
        outputs,
        target_sizes: list[tuple[int, int]] | None = None,
        gate_threshold: float | None = None,
    ) -> list[torch.Tensor]:
        """
        Args:
            outputs ([`AudioVisualSegmentationOutput`]): model outputs with `logits` `[N, 1, H, W]` and `similarity`.
            target_sizes (list of `(height, width)`, *optional*): size of each frame's map (bilinear on logits).
            gate_threshold (`float`, *optional*): the frames outside [`similarity_gate`] (correspondence score
                `sigmoid(similarity)` below it) get probability 0 everywhere (the model's
                `config.inference_gate_threshold`; off when None, as in the paper).

        Returns:
            list of N `torch.FloatTensor` foreground probabilities `[height, width]`.
        """
        logits = gate_logits(outputs.logits, outputs.similarity, gate_threshold)
        if target_sizes is not None and len(target_sizes) != len(logits):
            raise ValueError(f"got {len(target_sizes)} target sizes for {len(logits)} frames")
        probabilities = []
        for index, frame_logits in enumerate(logits):
            if target_sizes is not None:
                frame_logits = F.interpolate(
                    frame_logits[None], size=tuple(target_sizes[index]), mode="bilinear", align_corners=False
                )[0]
            probabilities.append(torch.sigmoid(frame_logits[0]))
        return probabilities

    def post_process_segmentation(
        self,
        outputs,
        target_sizes: list[tuple[int, int]] | None = None,
        threshold: float = 0.5,
        gate_threshold: float | None = None,
        return_probabilities: bool = False,
    ) -> list[torch.Tensor] | tuple[list[torch.Tensor], list[torch.Tensor]]:
        """
        Binary masks: `post_process_probabilities(outputs, target_sizes, gate_threshold) > threshold`.

            return_probabilities (`bool`): also return each frame's `sigmoid(logits)` at its target size (computed
                once for both, instead of resizing the logits again).

        Returns:
            list of N `torch.LongTensor` masks `[height, width]` with values in {0, 1}; with `return_probabilities`,
            `(masks, probabilities)` with N `torch.FloatTensor` `[height, width]`.
        """
        probabilities = self.post_process_probabilities(outputs, target_sizes, gate_threshold)
        masks = [(frame > threshold).long() for frame in probabilities]
        return (masks, probabilities) if return_probabilities else masks


AVSImageProcessor.register_for_auto_class("AutoImageProcessor")

__all__ = ["AVSImageProcessor"]
