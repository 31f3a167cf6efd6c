import numpy as np
import pytest
import torch
from conftest import tiny_vggish_config

from modeling_avs import VGGishFeatureExtractor, VGGishModel
from modeling_avs.data import make_synthetic_dataset
from modeling_avs.data.loading import undecoded_audio
from modeling_avs.training.encoder_pretraining import (
    generated_object_frames,
    normalize_frames,
    object_class_examples,
    pretrain_classifier,
    sound_class_examples,
)


def test_sound_class_examples_label_every_second_of_every_video():
    split = undecoded_audio(make_synthetic_dataset("s4", num_videos={"train": 6}, image_size=32, seed=3)["train"])
    features, labels, names = sound_class_examples(split, VGGishFeatureExtractor())
    assert features.shape == (30, 1, 96, 64) and labels.shape == (30,)
    assert names == sorted(set(split["category"]))
    for video, category in enumerate(split["category"]):
        assert (labels[5 * video : 5 * video + 5] == names.index(category)).all()


def test_pretraining_trains_a_frozen_encoder_on_separable_classes():
    torch.manual_seed(0)
    # Two "sound classes" whose log-mels differ in which half of the mel bands carries the energy.
    features = torch.randn(64, 1, 96, 64) * 0.1
    labels = torch.arange(64) % 2
    features[labels == 0, :, :, :32] += 2.0
    features[labels == 1, :, :, 32:] += 2.0
    encoder = VGGishModel(tiny_vggish_config()).requires_grad_(False)  # frozen, as inside an AVS model
    before = encoder.features[0].weight.clone()
    accuracy = pretrain_classifier(
        encoder, lambda x: encoder(x).audio_embeds, 128, features, labels, 2, epochs=10, batch_size=16
    )
    assert accuracy == 1.0
    assert not encoder.training
    assert not torch.equal(encoder.features[0].weight, before)  # the encoder itself was trained ...
    assert not any(p.requires_grad for p in encoder.parameters())  # ... and is frozen again
    with torch.no_grad():
        embeddings = encoder(features).audio_embeds.numpy()
    centroids = np.stack([embeddings[labels.numpy() == k].mean(0) for k in (0, 1)])
    assert np.linalg.norm(centroids[0] - centroids[1]) > 0


def test_object_class_examples_label_every_frame():
    from modeling_avs import AVSImageProcessor

    split = make_synthetic_dataset("s4", num_videos={"train": 3}, image_size=32, seed=4)["train"]
    names = sorted(set(split["category"]))
    pixels, labels = object_class_examples(split, AVSImageProcessor(size={"height": 32, "width": 32}), names)
    assert pixels.shape == (15, 3, 32, 32)
    assert labels.tolist() == [names.index(category) for category in split["category"] for _ in range(5)]


def test_generated_object_frames_are_reproducible_labelled_single_object_frames():
    from PIL import Image

    from modeling_avs import AVSImageProcessor
    from modeling_avs.data.synthetic_visual import SYNTHETIC_CLASSES

    names = ["playing_piano", "race_car", "cat_meowing"]
    frames, labels = generated_object_frames(12, 32, names, seed=5)
    assert frames.shape == (12, 3, 32, 32) and frames.dtype == torch.uint8
    assert labels.shape == (12,) and set(labels.tolist()) <= {0, 1, 2}
    again, again_labels = generated_object_frames(12, 32, names, seed=5)
    assert torch.equal(frames, again) and torch.equal(labels, again_labels)
    assert not torch.equal(frames, generated_object_frames(12, 32, names, seed=6)[0])
    # Each frame shows its class: the class colour (within the per-object shift of +-20) covers some pixels.
    colors = {cls.s4_category: np.array(cls.color) for cls in SYNTHETIC_CLASSES}
    for frame, label in zip(frames.permute(0, 2, 3, 1).numpy().astype(int), labels.tolist()):
        assert (np.abs(frame - colors[names[label]]).max(axis=2) <= 20).sum() >= 10
    # The normalisation is the image processor's.
    processor = AVSImageProcessor(size={"height": 32, "width": 32})
    images = [Image.fromarray(frame) for frame in frames[:3].permute(0, 2, 3, 1).numpy()]
    expected = processor(images, return_tensors="pt")["pixel_values"]
    assert torch.allclose(normalize_frames(frames[:3], processor), expected, atol=1e-5)
    with pytest.raises(ValueError, match="unknown S4 categories"):
        generated_object_frames(2, 32, ["tuba"], seed=0)
