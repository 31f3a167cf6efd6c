"""AVSBench-Robust metrics (mIoU, F-score, FPR per condition; G-mIoU, G-F, G-FPR) as an `evaluate` module.

This script runs in a folder written by `modeling_avs.metrics.evaluate_module.export_metric_module` (`avs-robust
export-metric`), next to copies of the package's metric core (`evaluator.py` and the modules it imports), so it needs
no modeling-avs installation. The export adds, after the import of the evaluator, one import of every other core
file: `evaluate` copies into its module cache only the files that a metric script imports.
"""

import datasets
import evaluate
import numpy as np
import torch

from .evaluator import RobustAVSEvaluator

_CITATION = """\
@article{li2025robust,
  title   = {Do Audio-Visual Segmentation Models Truly Segment Sounding Objects?},
  author  = {Li, Jia and Zhao, Wenjie and Huang, Ziru and Guo, Yunhui and Tian, Yapeng},
  journal = {arXiv preprint arXiv:2502.00358},
  year    = {2025}
}
"""

_DESCRIPTION = """\
Robust audio-visual segmentation metrics of AVSBench-Robust. Each frame is evaluated under a condition: "positive"
(the video's own audio) or a negative one (silence, noise, off-screen audio, or any other name such as
"unseen:<clip>"). Negative frames are scored against the positive ground-truth mask (lower mIoU/F is better) and by
their FPR, the fraction of pixels predicted foreground. The global metrics are over exactly silence, noise and
off-screen: mIoU_N, F_N and G-FPR are the means of those conditions' scores (each condition weighs the same,
whatever its number of frames), and G-mIoU and G-F combine the positive score with one minus mIoU_N or F_N by a
harmonic mean. Other negative conditions are reported per condition and summarised apart ("unseen").
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of 2-D arrays `[H, W]`): one mask prediction per frame (logits, probabilities or binary,
        as declared by `input_type`).
    references (`list` of 2-D arrays `[H, W]`): the ground-truth mask of each frame (value > 0.5 is foreground);
        for negative conditions the positive mask of the same frame.
    conditions (`list` of `str`): the condition of each frame: "positive", "silence", "noise", "offscreen", ...
    video_ids (`list` of `str`, *optional*): the video of each frame, for all frames (pass it to `compute`, not to
        `add_batch`); consecutive frames of a condition with the same id form a video (used by the "legacy"
        protocol). Without it, videos are `frames_per_video` consecutive frames of a condition.
    protocol (`str`, *optional*, defaults to "dataset"): "dataset" (batch-independent) or "legacy" (mean over
        evaluation batches of `legacy_batch_videos` videos, reproduces the published numbers).
    input_type (`str`, *optional*, defaults to "logits"): "logits", "probabilities" or "binary".
    legacy_batch_videos (`int`, *optional*, defaults to 1): videos per evaluation batch for "legacy".
    frames_per_video (`int`, *optional*, defaults to 5): frames per video when `video_ids` is not given.
Returns:
    `dict` with `protocol`, `conditions` ({name: {miou, fscore, fpr, num_frames}}), `global` (miou_p, f_p, miou_n,
    f_n, g_miou, g_f, g_fpr: over the standard negatives silence, noise, offscreen; those present are listed in
    `global_negatives`, NaN with none) and `unseen` ({miou, fscore, fpr, num_conditions}: the means over every
    other negative condition, NaN and 0 without any); scores are fractions in [0, 1].
Examples:
    >>> import numpy as np
    >>> robust_avs = evaluate.load("path/to/robust_avs")  # the exported folder
    >>> mask = np.zeros((4, 4), dtype=np.float32); mask[1:3, 1:3] = 1
    >>> results = robust_avs.compute(
    ...     predictions=[mask, np.zeros_like(mask)], references=[mask, mask], conditions=["positive", "silence"],
    ...     input_type="binary")
    >>> round(results["global"]["g_miou"], 4), results["conditions"]["silence"]["miou"]
    (1.0, 0.0)
"""

_MASK = datasets.List(datasets.List(datasets.Value("float32")))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RobustAVS(evaluate.Metric):
    """AVSBench-Robust metrics; the computation is modeling-avs' `RobustAVSEvaluator` (`evaluator.py`)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": _MASK, "references": _MASK, "conditions": datasets.Value("string")}
            ),
            reference_urls=["https://github.com/jiali-home/AVSBench-Robust"],
        )

    def _compute(
        self,
        predictions,
        references,
        conditions,
        video_ids=None,
        protocol="dataset",
        input_type="logits",
        legacy_batch_videos=1,
        frames_per_video=5,
    ):
        if video_ids is not None and len(video_ids) != len(conditions):
            raise ValueError(f"video_ids has {len(video_ids)} entries for {len(conditions)} frames")
        evaluator = RobustAVSEvaluator(
            protocol=protocol,
            input_type=input_type,
            legacy_batch_videos=legacy_batch_videos,
            frames_per_video=frames_per_video,
        )
        for index, (prediction, reference, condition) in enumerate(zip(predictions, references, conditions)):
            evaluator.update(
                torch.from_numpy(np.asarray(prediction, dtype=np.float32))[None],
                torch.from_numpy(np.asarray(reference, dtype=np.float32))[None],
                condition,
                None if video_ids is None else [video_ids[index]],
            )
        return evaluator.compute()
