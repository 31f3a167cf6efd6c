"""`RobustAVSEvaluator`: streaming AVSBench-Robust evaluation (also a `transformers.Trainer` `compute_metrics`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ..data.schema import CONDITIONS
from ..similarity_head import gate_logits
from .frame_statistics import INPUT_TYPES, NUM_THRESHOLDS, FrameStatistics, compute_frame_statistics
from .report import results_to_markdown
from .scores import PROTOCOLS, robust_scores


class _ConditionState:
    """Statistics of one condition's frames and the video each frame belongs to, in buffers that double when full.

    A few large buffers instead of many small tensors per update: small long-lived allocations between the large
    temporaries of each update would fragment the heap and grow the process memory far beyond the statistics.
    """

    _COUNTS = ("num_pixels", "intersection", "predicted_positives", "ground_truth_positives")
    _CURVES = ("threshold_true_positives", "threshold_predicted_positives")

    def __init__(self) -> None:
        self.counts = torch.empty(0, len(self._COUNTS) + 1, dtype=torch.long)  # + the video ordinal
        self.curves = torch.empty(0, len(self._CURVES), NUM_THRESHOLDS, dtype=torch.int32)
        self.num_frames = 0
        self.num_videos = 0
        self.last_video_id: str | None = None

    def append(self, statistics: FrameStatistics, video_ordinals: list[int]) -> None:
        needed = self.num_frames + len(statistics)
        if needed > len(self.counts):
            capacity = max(needed, 2 * len(self.counts), 64)
            counts, curves = self.counts, self.curves
            self.counts = torch.empty(capacity, *counts.shape[1:], dtype=counts.dtype)
            self.curves = torch.empty(capacity, *curves.shape[1:], dtype=curves.dtype)
            self.counts[: self.num_frames] = counts[: self.num_frames]
            self.curves[: self.num_frames] = curves[: self.num_frames]
        rows = slice(self.num_frames, needed)
        for column, name in enumerate(self._COUNTS):
            self.counts[rows, column] = getattr(statistics, name)
        self.counts[rows, -1] = torch.tensor(video_ordinals, dtype=torch.long)
        for column, name in enumerate(self._CURVES):
            self.curves[rows, column] = getattr(statistics, name)
        self.num_frames = needed

    def statistics(self) -> FrameStatistics:
        counts, curves = self.counts[: self.num_frames], self.curves[: self.num_frames]
        values = {name: counts[:, column] for column, name in enumerate(self._COUNTS)}
        values.update({name: curves[:, column] for column, name in enumerate(self._CURVES)})
        return FrameStatistics(**values)

    def video_ordinals(self) -> torch.Tensor:
        return self.counts[: self.num_frames, -1]


class RobustAVSEvaluator:
    """Accumulates per-frame statistics batch by batch and reports the AVSBench-Robust scores.

    Only integer statistics are kept (about 2 KB per frame: 2 x 255 counts, see `memory_bytes`), never masks. See
    `modeling_avs.metrics.scores` for the definitions and the two reduction protocols.

    Args:
        protocol (`str`, *optional*, defaults to `"dataset"`): `"dataset"` (batch-independent) or `"legacy"`
            (mean over evaluation batches of `legacy_batch_videos` videos, as in the published numbers).
        input_type (`str`, *optional*, defaults to `"logits"`): what `update` receives as predictions:
            `"logits"`, `"probabilities"` or `"binary"`.
        legacy_batch_videos (`int`, *optional*, defaults to 1): videos per evaluation batch for `"legacy"`
            (the robust test scripts used 1; AVSBench's own test 4, AVSegFormer 2).
        frames_per_video (`int`, *optional*, defaults to 5): frames of one video, used to find video boundaries
            when `update` gets no `video_ids`.
        condition_names (`Sequence[str]`, *optional*): names of integer condition ids (`condition_names[i]` is
            the name of id i); needed when `update` or `compute_metrics` receive integer ids.
        gate_threshold (`float`, *optional*): `compute_metrics` empties the masks of the frames outside
            [`similarity_gate`] first (pass the model's `config.inference_gate_threshold`); off when None.

    Conditions: `"positive"` is the positive condition; every other name is a negative one, scored against the
    positive ground truth of the same frames. The G-metrics are over exactly the standard negatives `"silence"`,
    `"noise"` and `"offscreen"` (the means of their condition scores); any other name (`"unseen:<clip>"`, ...) is
    reported per condition and in the separate `unseen` summary. Results list the conditions as positive, silence,
    noise, offscreen, then the others in first-seen order.

    Example:
        ```python
        evaluator = RobustAVSEvaluator()
        for batch in loader:
            evaluator.update(model(batch).pred_masks, batch["masks"], batch["condition"])
        results = evaluator.compute()
        print(evaluator.to_markdown(results))
        ```
    """

    def __init__(
        self,
        protocol: str = "dataset",
        input_type: str = "logits",
        legacy_batch_videos: int = 1,
        frames_per_video: int = 5,
        condition_names: Sequence[str] | None = None,
        gate_threshold: float | None = None,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if input_type not in INPUT_TYPES:
            raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}")
        if legacy_batch_videos < 1 or frames_per_video < 1:
            raise ValueError(
                f"legacy_batch_videos and frames_per_video must be >= 1, got {legacy_batch_videos} and "
                f"{frames_per_video}"
            )
        self.protocol = protocol
        self.input_type = input_type
        self.legacy_batch_videos = legacy_batch_videos
        self.frames_per_video = frames_per_video
        self.condition_names = list(condition_names) if condition_names is not None else None
        self.gate_threshold = gate_threshold
        self.reset()

    def reset(self) -> None:
        """Forget every frame seen so far."""
        self._states: dict[str, _ConditionState] = {}
        self._with_video_ids: bool | None = None

    @property
    def num_frames(self) -> int:
        """Frames accumulated so far, over all conditions."""
        return sum(state.num_frames for state in self._states.values())

    @property
    def memory_bytes(self) -> int:
        """Bytes allocated for the accumulated statistics: per frame 2 x 255 int32 counts, 4 int64 counts and the
        int64 video number (2,080 bytes), in buffers of at least 64 frames per condition that double when full."""
        tensors = [tensor for state in self._states.values() for tensor in (state.counts, state.curves)]
        return sum(tensor.numel() * tensor.element_size() for tensor in tensors)

    def _condition_list(self, conditions: str | Sequence[str] | Sequence[int] | torch.Tensor, count: int) -> list[str]:
        if isinstance(conditions, str):
            return [conditions] * count
        if isinstance(conditions, torch.Tensor):
            conditions = conditions.reshape(-1).tolist()
        conditions = list(conditions)
        if len(conditions) != count:
            raise ValueError(f"conditions has {len(conditions)} entries for {count} frames")
        names = []
        for condition in conditions:
            if isinstance(condition, str):
                names.append(condition)
            elif self.condition_names is None:
                raise ValueError(f"integer condition id {condition} needs condition_names at construction")
            elif not 0 <= int(condition) < len(self.condition_names):
                raise ValueError(f"condition id {condition} outside condition_names {self.condition_names}")
            else:
                names.append(self.condition_names[int(condition)])
        return names

    def update(
        self,
        predictions: torch.Tensor,
        references: torch.Tensor,
        conditions: str | Sequence[str] | Sequence[int] | torch.Tensor,
        video_ids: Sequence[str] | None = None,
    ) -> None:
        """Add N frames.

        Args:
            predictions (`torch.Tensor` of shape `[N, H, W]` or `[N, 1, H, W]`): of the evaluator's `input_type`.
            references (`torch.Tensor` of the same shape): ground-truth masks (value > 0.5 is foreground); for a
                negative condition, the positive mask of the same frame.
            conditions (`str`, `Sequence[str]`, `Sequence[int]` or `torch.Tensor` of shape `[N]`): the condition of
                all frames (one name) or of each frame (names, or ids into `condition_names`).
            video_ids (`Sequence[str]`, *optional*): video of each frame. Consecutive frames of one condition with
                the same id form a video (for `"legacy"` batching); without ids, every `frames_per_video`
                consecutive frames of a condition form a video. Use ids in all updates or in none.
        """
        with torch.no_grad():
            statistics = compute_frame_statistics(predictions, references, self.input_type)
        names = self._condition_list(conditions, len(statistics))
        if video_ids is not None and len(video_ids) != len(statistics):
            raise ValueError(f"video_ids has {len(video_ids)} entries for {len(statistics)} frames")
        if len(statistics) and self._with_video_ids not in (None, video_ids is not None):
            raise ValueError("pass video_ids in every update or in none")
        if len(statistics):
            self._with_video_ids = video_ids is not None
        for name in dict.fromkeys(names):
            frames = [i for i, frame_name in enumerate(names) if frame_name == name]
            state = self._states.setdefault(name, _ConditionState())
            ordinals = []
            for i in frames:
                if video_ids is None:
                    ordinals.append((state.num_frames + len(ordinals)) // self.frames_per_video)
                else:
                    if str(video_ids[i]) != state.last_video_id:
                        state.num_videos += 1
                        state.last_video_id = str(video_ids[i])
                    ordinals.append(state.num_videos - 1)
            state.append(statistics.select(torch.tensor(frames, dtype=torch.long)), ordinals)

    def _ordered_conditions(self) -> list[str]:
        standard = [name for name in CONDITIONS if name in self._states]
        return standard + [name for name in self._states if name not in CONDITIONS]

    def compute(self) -> dict:
        """Scores of all frames seen so far (the state is kept; call `reset` to start over).

        Returns:
            `dict` with `protocol`, `conditions` (`{name: {miou, fscore, fpr, num_frames}}`), `global` (`miou_p`,
            `f_p`, `miou_n`, `f_n`, `g_miou`, `g_f`, `g_fpr`, over the standard negatives), `global_negatives` (the
            standard negatives seen) and `unseen` (`{miou, fscore, fpr, num_conditions}`, means over the other
            negative conditions); see `robust_scores`. Scores are fractions in [0, 1]. With `"legacy"` it also has
            `legacy_batch_videos`.
        """
        statistics, batch_index = {}, {}
        for name in self._ordered_conditions():
            state = self._states[name]
            statistics[name] = state.statistics()
            batch_index[name] = state.video_ordinals() // self.legacy_batch_videos
        results = robust_scores(statistics, self.protocol, batch_index)
        if self.protocol == "legacy":
            results["legacy_batch_videos"] = self.legacy_batch_videos
        return results

    def to_markdown(self, results: dict | None = None, method: str = "model") -> str:
        """Render `results` (default: `compute()`) as a Markdown table in the layout of the paper's Table 2."""
        return results_to_markdown(self.compute() if results is None else results, method)

    def plot(self, path: str | Path, results: dict | None = None, method: str = "model") -> Path:
        """Save bars of mIoU, F-score and FPR per condition of `results` (default: `compute()`) to `path`
        (`modeling_avs.figures.plot_results`; needs matplotlib)."""
        from ..figures import plot_results

        return plot_results({method: self.compute() if results is None else results}, path)

    def compute_metrics(self, eval_pred, compute_result: bool) -> dict[str, float]:
        """`transformers.Trainer` `compute_metrics` for `TrainingArguments(batch_eval_metrics=True)`.

        Contract: `eval_pred.predictions` is the mask logits `[N, 1, H, W]` (or `[N, H, W]`), or a tuple whose
        first element is (the model's outputs without the loss: `(logits, similarity, ...)`); with `gate_threshold`
        the tuple's second element, the similarities `[N]`, gates the logits first (`gate_logits`).
        `eval_pred.label_ids` is the tuple `(masks [N, H, W], condition_ids [N])` (so the model
        inputs carry both and `TrainingArguments.label_names` names both), with `condition_ids` indexing the
        `condition_names` given at construction. Each call adds the batch; the last one (`compute_result=True`)
        returns a flat `dict` of floats and resets the evaluator:
        `g_miou`, `g_f`, `g_fpr`, `miou_p`, `f_p`, `miou_n`, `f_n` (over silence, noise and off-screen),
        `<condition>_miou`, `<condition>_fscore`, `<condition>_fpr`, `<condition>_num_frames` for every condition
        seen and, when other negative conditions were seen (`unseen:<clip>`, ...), their means `unseen_miou`,
        `unseen_fscore`, `unseen_fpr` and `unseen_num_conditions` (Trainer prefixes every key with `eval_`).
        Frames are grouped into videos of `frames_per_video` for the `"legacy"` protocol.
        """
        predictions = eval_pred.predictions
        if self.gate_threshold is not None:
            if not isinstance(predictions, (tuple, list)) or len(predictions) < 2:
                raise ValueError(
                    "with gate_threshold, eval_pred.predictions must be the tuple (logits, similarity, ...)"
                )
            logits, similarity = torch.as_tensor(predictions[0]), torch.as_tensor(predictions[1])
            predictions = gate_logits(logits, similarity, self.gate_threshold)
        elif isinstance(predictions, (tuple, list)):
            predictions = predictions[0]
        labels = eval_pred.label_ids
        if not isinstance(labels, (tuple, list)) or len(labels) != 2:
            raise ValueError("eval_pred.label_ids must be the tuple (masks [N, H, W], condition_ids [N])")
        masks, condition_ids = labels
        self.update(torch.as_tensor(predictions), torch.as_tensor(masks), torch.as_tensor(condition_ids))
        if not compute_result:
            return {}
        results = self.compute()
        self.reset()
        return flatten_results(results)


def flatten_results(results: dict) -> dict[str, float]:
    """Flatten `compute()`'s nested results into `{g_miou, ..., <condition>_<score>: float}`, with
    `unseen_<score>` (the `unseen` summary) when there was an unseen condition."""
    flat = {name: float(value) for name, value in results["global"].items()}
    if results["unseen"]["num_conditions"]:
        flat.update({f"unseen_{name}": float(value) for name, value in results["unseen"].items()})
    for condition, scores in results["conditions"].items():
        for score, value in scores.items():
            flat[f"{condition}_{score}"] = float(value)
    return flat
