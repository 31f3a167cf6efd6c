"""`import modeling_avs` registers the Auto classes and the pipeline task without importing torch or transformers;
the registrations happen when transformers loads its Auto modules, whatever the import order."""

import subprocess
import sys

SAVE_AND_LOAD = """
import sys, tempfile
import numpy as np
import torch
from transformers import AutoConfig, AutoFeatureExtractor, AutoImageProcessor, AutoModel, AutoProcessor, pipeline

folder = tempfile.mkdtemp()
config = AutoConfig.for_model("avsbench", backbone_config={"model_type": "pvt_v2", "depths": [1, 1, 1, 1],
    "hidden_sizes": [8, 16, 32, 64], "num_attention_heads": [1, 1, 2, 2],
    "out_features": ["stage1", "stage2", "stage3", "stage4"]},
    audio_config={"conv_channels": [4, 4, 8, 8, 8, 8], "hidden_sizes": [16, 16]},
    hidden_size=16, tpavi_inter_channels=8, mask_head_channels=[8, 4], num_frames=1)
AutoModel.from_config(config).save_pretrained(folder)
from modeling_avs import AVSImageProcessor, AVSProcessor, VGGishFeatureExtractor
AVSProcessor(AVSImageProcessor(size={"height": 32, "width": 32}), VGGishFeatureExtractor()).save_pretrained(folder)
assert type(AutoModel.from_pretrained(folder)).__name__ == "AVSBenchForAudioVisualSegmentation"
assert type(AutoProcessor.from_pretrained(folder)).__name__ == "AVSProcessor"
assert type(AutoImageProcessor.from_pretrained(folder)).__name__ == "AVSImageProcessor"
assert type(AutoFeatureExtractor.from_pretrained(folder)).__name__ == "VGGishFeatureExtractor"
segmenter = pipeline("audio-visual-segmentation", model=folder)
results = segmenter(np.zeros((32, 32, 3), np.uint8), audio=np.zeros(16000), sampling_rate=16000)
assert len(results) == 1 and results[0]["mask"].shape == (32, 32)
import modeling_avs.auto_registration as registration
assert not registration._pending and registration._HOOK not in sys.meta_path  # all done, the hook removed itself
print("registered")
"""


def run(script: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", script], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_import_is_light_and_registers_once_transformers_loads():
    prelude = (
        "import sys\nimport modeling_avs\n"
        "assert not {'torch', 'transformers', 'datasets', 'numpy'} & set(sys.modules), sorted(sys.modules)\n"
    )
    assert "registered" in run(prelude + SAVE_AND_LOAD)


def test_registration_when_transformers_comes_first_and_a_class_module_is_imported_directly():
    prelude = "from transformers import AutoModel\nfrom modeling_avs.modeling_avsbench import AVSBenchForAudioVisualSegmentation\n"
    assert "registered" in run(prelude + SAVE_AND_LOAD)


def test_every_lazy_export_resolves():
    import modeling_avs
    import modeling_avs.data
    import modeling_avs.metrics
    import modeling_avs.pipelines
    import modeling_avs.training

    for package in (
        modeling_avs,
        modeling_avs.data,
        modeling_avs.metrics,
        modeling_avs.pipelines,
        modeling_avs.training,
    ):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        assert set(package.__all__) <= set(dir(package))
