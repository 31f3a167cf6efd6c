"""Run an AVSBench-TPAVI model on one synthetic video with the processor (random weights: shows the API).

python examples/forward_pass.py
"""

import numpy as np
import torch
from PIL import Image
from transformers import PvtV2Config

from modeling_avs import (
    AVSBenchConfig,
    AVSBenchForAudioVisualSegmentation,
    AVSImageProcessor,
    AVSProcessor,
    VGGishFeatureExtractor,
)

# A small configuration (the default is the full PVT-v2-b5 model of the paper).
config = AVSBenchConfig(
    backbone_config=PvtV2Config(
        depths=[2, 2, 2, 2], hidden_sizes=[32, 64, 160, 256], out_features=["stage1", "stage2", "stage3", "stage4"]
    ),
    hidden_size=64,
)
model = AVSBenchForAudioVisualSegmentation(config).eval()
processor = AVSProcessor(AVSImageProcessor(size={"height": 224, "width": 224}), VGGishFeatureExtractor())

rng = np.random.default_rng(0)
frames = [Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for _ in range(5)]
audio = rng.standard_normal(5 * 44100).astype(np.float32) * 0.1  # 5 s at 44.1 kHz, resampled to 16 kHz

inputs = processor(images=frames, audio=audio, sampling_rate=44100)
with torch.no_grad():
    outputs = model(**inputs)
masks = processor.post_process_segmentation(outputs, target_sizes=[(240, 320)] * 5)
print("logits", tuple(outputs.logits.shape), "masks", tuple(masks[0].shape))
print("audio-visual correspondence", torch.sigmoid(outputs.similarity).tolist())
