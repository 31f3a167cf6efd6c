import numpy as np
import pytest
import torch
from PIL import Image

from modeling_avs import AudioVisualSegmentationOutput, AVSImageProcessor, AVSProcessor, VGGishFeatureExtractor
from modeling_avs.similarity_head import similarity_gate


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


def scores_around(threshold: float, deltas: list[float]) -> tuple[torch.Tensor, float]:
    """Similarities whose correspondence scores `sigmoid(s)` lie `deltas` away from `threshold` (a score of delta 0
    equals the threshold exactly), and the threshold as `float(sigmoid(s_0))`."""
    similarity = torch.logit(torch.tensor([threshold + delta for delta in deltas]))
    exact = float(torch.sigmoid(similarity[deltas.index(0.0)])) if 0.0 in deltas else threshold
    return similarity, exact


def test_post_process_resizes_and_thresholds():
    processor = AVSImageProcessor()
    logits = torch.full((2, 1, 8, 8), 3.0)
    logits[:, :, :4] = -3.0
    outputs = AudioVisualSegmentationOutput(logits=logits, similarity=torch.zeros(2))
    masks = processor.post_process_segmentation(outputs, target_sizes=[(16, 16), (4, 4)])
    assert masks[0].shape == (16, 16) and masks[1].shape == (4, 4)
    assert masks[0][:6].sum() == 0 and masks[0][10:].all()
    probabilities = processor.post_process_probabilities(outputs, target_sizes=[(16, 16), (4, 4)])
    assert torch.equal(masks[1], (probabilities[1] > 0.5).long())


def test_gate_keeps_scores_at_or_above_the_threshold_and_empties_exactly_the_others():
    # Scores inside the range of sigmoid(cosine) [0.27, 0.73], on both sides of 0.55 and equal to it; as raw
    # cosines every one of them would be below 0.55, so a gate on the raw similarity would empty them all.
    similarity, threshold = scores_around(0.55, [0.02, -0.02, 0.0, -0.1, 0.08])
    assert similarity.abs().max() < 0.55
    outputs = AudioVisualSegmentationOutput(logits=torch.full((5, 1, 4, 4), 2.0), similarity=similarity)
    processor = AVSImageProcessor()
    masks = processor.post_process_segmentation(outputs, gate_threshold=threshold)
    assert [bool(mask.any()) for mask in masks] == [True, False, True, False, True]
    assert all(bool(mask.all()) for mask in masks[::2])  # kept frames keep their whole mask
    probabilities = processor.post_process_probabilities(outputs, gate_threshold=threshold)
    assert [float(p.max()) for p in probabilities][1::2] == [0.0, 0.0]
    ungated = processor.post_process_segmentation(outputs)
    assert all(bool(mask.all()) for mask in ungated)
    torch.testing.assert_close(similarity_gate(similarity, threshold), torch.tensor([1, 0, 1, 0, 1]).bool())


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
