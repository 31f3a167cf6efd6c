"""Literal reference of the AVSBench(-Robust) metrics, for the tests of the fast path.

Written from the definitions (AVSBench `mask_iou`, `Eval_Fmeasure`, robust `calculate_FPR`, paper Table 2) as
plainly as possible: loops over frames and over the 255 thresholds, per-batch reduction. Inputs are float32
probabilities p `[M, H, W]` (sigmoid already applied) and binary ground truth `[M, H, W]`.
"""

import math

import torch


def mask_iou(p, target):
    """Mean over the M frames of the batch of the frame IoU at p > 0.5."""
    predicted = (p > 0.5).int()
    target = target.int()
    total = 0.0
    for i in range(p.shape[0]):
        if target[i].sum() == 0:
            intersection = ((1 - target[i]) * (1 - predicted[i])).sum().item()
            union = target.shape[1] * target.shape[2]
        else:
            intersection = (predicted[i] * target[i]).sum().item()
            union = torch.max(predicted[i], target[i]).sum().item()
        total += intersection / (union + 1e-7)
    return total / p.shape[0]


def fmeasure(p, target):
    """Max over the 255 thresholds of the F-curve averaged over the frames with a non-empty ground truth; 0 if none."""
    thresholds = torch.linspace(0, 1 - 1e-10, 255)
    target = target.float()
    mean_curve = torch.zeros(255, dtype=torch.float64)
    counted = 0
    for i in range(p.shape[0]):
        if torch.mean(target[i]) == 0:
            continue
        curve = torch.zeros(255, dtype=torch.float64)
        for t, threshold in enumerate(thresholds):
            predicted = (p[i] >= threshold).float()
            true_positives = (predicted * target[i]).sum().item()
            precision = true_positives / (predicted.sum().item() + 1e-20)
            recall = true_positives / (target[i].sum().item() + 1e-20)
            denominator = 0.3 * precision + recall
            curve[t] = 0.0 if denominator == 0 else 1.3 * precision * recall / denominator
        mean_curve += curve
        counted += 1
    if counted == 0:
        return 0.0
    return (mean_curve / counted).max().item()


def fpr(p):
    """Mean over the frames of the fraction of pixels with p > 0.5."""
    total = 0.0
    for i in range(p.shape[0]):
        total += (p[i] > 0.5).sum().item() / (p.shape[1] * p.shape[2] + 1e-7)
    return total / p.shape[0]


def legacy_condition_scores(batches):
    """`batches`: list of (p, target) evaluation batches of one condition; mean over batches of batch scores."""
    return {
        "miou": sum(mask_iou(p, t) for p, t in batches) / len(batches),
        "fscore": sum(fmeasure(p, t) for p, t in batches) / len(batches),
        "fpr": sum(fpr(p) for p, _ in batches) / len(batches),
    }


def dataset_condition_scores(p, target):
    """All frames of one condition as one set (F is NaN without any non-empty ground truth)."""
    non_empty = sum(1 for i in range(p.shape[0]) if target[i].sum() > 0)
    return {
        "miou": mask_iou(p, target),
        "fscore": fmeasure(p, target) if non_empty else math.nan,
        "fpr": fpr(p),
    }


def g_metric(positive, negatives):
    """Table 2 combination with the mean of the negative conditions."""
    negative = sum(negatives) / len(negatives)
    return 2 * positive * (1 - negative) / (positive + 1 - negative)


# Paper Table 2, AVSBench (TPAVI) on S4 (data_and_metrics.md §3.5): mIoU_P and the three negatives' mIoU; G-mIoU with
# mIoU_N the mean of the three is 35.035 (the paper prints 35.032, within its inputs' display rounding).
TABLE2_S4_MIOU = {"positive": 0.787, "silence": 0.766, "noise": 0.776, "offscreen": 0.782}
TABLE2_S4_G_MIOU = 0.35035
TABLE2_PIXELS, TABLE2_OBJECT_PIXELS = (40, 50), 1000


def table2_s4_frames(frame_counts):
    """Binary predictions and masks `[n, 40, 50]` per condition of `frame_counts` (`{condition: n}`): the mask is the
    first 1000 pixels; a condition of `TABLE2_S4_MIOU` predicts the first 1000·mIoU of them (IoU = its mIoU, FPR =
    half of it); any other condition predicts every pixel (IoU 0.5, FPR 1)."""
    frames = {}
    for name, count in frame_counts.items():
        predicted = round(TABLE2_OBJECT_PIXELS * TABLE2_S4_MIOU.get(name, 2.0))
        flat_mask = torch.arange(TABLE2_PIXELS[0] * TABLE2_PIXELS[1]) < TABLE2_OBJECT_PIXELS
        flat_prediction = torch.arange(TABLE2_PIXELS[0] * TABLE2_PIXELS[1]) < predicted
        frames[name] = (
            flat_prediction.reshape(TABLE2_PIXELS).float().expand(count, *TABLE2_PIXELS),
            flat_mask.reshape(TABLE2_PIXELS).expand(count, *TABLE2_PIXELS),
        )
    return frames
