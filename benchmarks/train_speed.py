"""Training throughput of the small models of both architectures, positive-only vs the robust recipe.

The paper reports that 10% negatives cost about 10% more training time. For AVSBench-TPAVI (the `small` size of
`avs-robust reproduce`) and the small AVSegFormer (same backbone and VGGish, a few queries and layers), both recipes train the same model on the same synthetic videos at 32² in one
process, with features cached beforehand so that only training is timed; each run is repeated `--repeats` times,
alternating, and the fastest counts. Printed per architecture and recipe: pairs/s, seconds per epoch, operations
per training pair (forward + backward, `FlopCounterMode`) and the share of this machine's fp32 matmul throughput
(measured in the same run) they sustain; then the robust / positive-only epoch-time ratio (target ≤ 1.12).

    python benchmarks/train_speed.py [--models avsbench avsegformer] [--videos 160] [--epochs 3] [--repeats 3]
        [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from modeling_avs.data import make_synthetic_dataset
from modeling_avs.reproduction import SIZES, small_model_config
from modeling_avs.training import build_model, build_processor, build_trainer, get_recipe, training_arguments

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forward_speed import gemm_gflops  # noqa: E402

SMALL = SIZES["small"]
ARCHITECTURES = {
    "avsbench": ("avsbench-s4", small_model_config("avsbench"), {}),
    "avsegformer": ("avsegformer-s4", small_model_config("avsegformer"), {"freeze_backbone_epochs": 0}),
}


def train_step_flops(trainer) -> float:
    """Operations of one training step (forward + backward) per training pair, on the trainer's first batch."""
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model
    with FlopCounterMode(display=False) as counter:
        trainer.compute_loss(model, batch).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(batch["pixel_values"])


def timed_run(recipe, dataset, model_config, processor) -> dict[str, float]:
    """Pairs per second, seconds per epoch and operations per pair of one training run with warm feature caches."""
    torch.manual_seed(0)
    model = build_model(recipe, model_config)
    args = training_arguments(
        recipe, "/tmp/train-speed", eval_strategy="no", save_strategy="no", disable_tqdm=True, logging_steps=10**6
    )
    trainer = build_trainer(recipe, model, processor, dataset["train"], args=args, drop_unsupervised_frames=True)
    samples = trainer.train_dataset.samples
    for index in range(len(samples)):  # featurise every pair once, outside the timed region
        samples[index]
    start = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - start
    pairs = len(trainer.train_dataset) * recipe.num_epochs
    return {"rate": pairs / elapsed, "epoch": elapsed / recipe.num_epochs, "flops": train_step_flops(trainer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    parser.add_argument("--videos", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    dataset = make_synthetic_dataset("s4", num_videos=options.videos, image_size=SMALL.image_size, seed=0)
    processor = build_processor(SMALL.image_size)
    common = {
        "image_size": SMALL.image_size,
        "num_epochs": options.epochs,
        "learning_rate": SMALL.learning_rate,
        "batch_size": SMALL.batch_size,
    }
    for name in options.models:
        preset, model_config, overrides = ARCHITECTURES[name]
        recipes = {
            "positive-only": get_recipe(preset, negative_ratio=0.0, similarity_loss_weight=0.0, **common, **overrides),
            "robust": get_recipe(preset, **common, **overrides),
        }
        best = {recipe: {"rate": 0.0, "epoch": float("inf"), "flops": 0.0} for recipe in recipes}
        for _ in range(options.repeats):
            for recipe_name, recipe in recipes.items():
                run = timed_run(recipe, dataset, model_config, processor)
                best[recipe_name] = {
                    "rate": max(best[recipe_name]["rate"], run["rate"]),
                    "epoch": min(best[recipe_name]["epoch"], run["epoch"]),
                    "flops": run["flops"],
                }
        peak = gemm_gflops(options.threads)[0]
        print(f"\n{name} (small, 32², batch {SMALL.batch_size}, {options.threads} threads, matmul {peak:.0f} GFLOP/s)")
        for recipe_name, result in best.items():
            sustained = result["flops"] * result["rate"] / 1e9
            print(
                f"{recipe_name:14s} {result['rate']:7.1f} pairs/s  {result['epoch']:6.2f} s/epoch  "
                f"{result['flops'] / 1e6:7.1f} MFLOP/pair  {sustained / peak:6.1%} of the matmul throughput"
            )
        base, robust = best["positive-only"], best["robust"]
        print(
            f"robust / positive-only: throughput ratio {robust['rate'] / base['rate']:.3f}, epoch-time ratio "
            f"{robust['epoch'] / base['epoch']:.3f} (target ≤ 1.12; paper: about 1.1 for 10% negatives)"
        )


if __name__ == "__main__":
    main()
