import numpy as np
import pytest
import torch
from PIL import Image

from modeling_avs import AudioVisualSegmentationOutput, AVSImageProcessor, AVSProcessor, VGGishFeatureExtractor


def frames(count, size=(40, 50)):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)) for _ in range(count)]


def test_frames_are_resized_and_imagenet_normalised():
    processor = AVSImageProcessor(size={"height": 32, "width": 32})
    image = Image.fromarray(np.full((40, 50, 3), 255, dtype=np.uint8))
    pixels = processor([image], return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 32, 32)
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(pixels[0, :, 0, 0], expected)


@pytest.mark.parametrize("mode", ["L", "1", "P", "RGB"])
def test_masks_are_binarised_whatever_the_png_mode(mode):
    array = np.zeros((40, 50), dtype=np.uint8)
    array[10:30, 5:20] = 255
    mask = Image.fromarray(array).convert(mode)
    labels = AVSImageProcessor(size={"height": 40, "width": 50})(
        frames(1), segmentation_maps=[mask], return_tensors="pt"
    )["labels"]
    assert labels.shape == (1, 40, 50)
    assert set(labels.unique().tolist()) == {0.0, 1.0}
    assert labels.sum().item() == 20 * 15


def test_mask_count_must_match_frames():
    with pytest.raises(ValueError, match="one per frame"):
        AVSImageProcessor()(frames(2), segmentation_maps=[Image.new("L", (50, 40))], return_tensors="pt")


def test_post_process_resizes_thresholds_and_gates():
    processor = AVSImageProcessor()
    logits = torch.full((2, 1, 8, 8), 3.0)
    logits[:, :, :4] = -3.0
    outputs = AudioVisualSegmentationOutput(logits=logits, similarity=torch.tensor([0.9, -0.9]))
    masks = processor.post_process_segmentation(outputs, target_sizes=[(16, 16), (4, 4)])
    assert masks[0].shape == (16, 16) and masks[1].shape == (4, 4)
    assert masks[0][:6].sum() == 0 and masks[0][10:].all()
    gated = processor.post_process_segmentation(outputs, gate_threshold=0.5)
    assert gated[0].sum() == 32 and gated[1].sum() == 0  # sigmoid(-0.9) < 0.5 empties frame 1


def test_processor_builds_model_inputs_and_round_trips(tmp_path):
    processor = AVSProcessor(AVSImageProcessor(size={"height": 32, "width": 32}), VGGishFeatureExtractor())
    rng = np.random.default_rng(1)
    masks = [Image.fromarray((rng.random((40, 50)) > 0.5).astype(np.uint8) * 255) for _ in range(6)]
    batch = processor(
        images=frames(6),
        audio=[rng.standard_normal(48000), rng.standard_normal((3 * 44100, 2))],
        sampling_rate=16000,
        segmentation_maps=masks,
    )
    assert batch["pixel_values"].shape == (6, 3, 32, 32)
    assert batch["input_features"].shape == (6, 1, 96, 64)  # T = 3 examples per clip
    assert batch["labels"].shape == (6, 32, 32)
    processor.save_pretrained(tmp_path)
    reloaded = AVSProcessor.from_pretrained(tmp_path)
    assert reloaded.image_processor.size.height == 32
    again = reloaded(images=frames(6), audio=[np.zeros(48000)] * 2, sampling_rate=16000)
    torch.testing.assert_close(again["pixel_values"], batch["pixel_values"])


def test_processor_rejects_uneven_videos():
    processor = AVSProcessor(AVSImageProcessor(), VGGishFeatureExtractor())
    with pytest.raises(ValueError, match="N = B·T"):
        processor(images=frames(5), audio=[np.zeros(16000), np.zeros(16000)], sampling_rate=16000)
