"""Accuracy of the opt-in reduced-precision inference paths (`int8`, `bf16`) against the exact `fp32` path.

1. Parity fixtures (`../shared/reference/parity`, the original implementations' outputs on synthetic weights):
   max |Δlogit| to the original's logits and the share of mask pixels (`logit > 0`) that differ, per path.
2. The synthetic test split with a trained model (`MODEL_DIR`, e.g. `models/robust` of `avs-robust reproduce
   --size small`): mIoU on positive audio and G-FPR over the negative conditions, per path, and their change.

    python benchmarks/precision_accuracy.py [--model-dir MODEL_DIR] [--precisions int8 bf16] [--threads 2]

A precision this machine cannot run (bf16 without native CPU support) is reported as such.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import torch

from modeling_avs.inference import check_precision, inference_context, prepare_for_inference

PARITY_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "parity"
REDUCED_PRECISIONS = ("int8", "bf16")


def available(precision: str) -> str | None:
    """None if `precision` runs here, else why not."""
    try:
        check_precision(precision)
    except ValueError as error:
        return str(error)
    return None


def parity_cases(parity_dir: Path):
    """Yield `(name, fp32 model, inputs, the original's logits)` for both architectures."""
    from safetensors.torch import load_file

    from modeling_avs import AVSBenchForAudioVisualSegmentation
    from modeling_avs.convert.checkpoint_io import load_converted_state_dict
    from modeling_avs.convert.convert_avsbench import config_for_original, convert_avsbench_state_dict
    from modeling_avs.convert.convert_avsegformer import load_original_avsegformer

    spec = importlib.util.spec_from_file_location("synth_weights", parity_dir / "synth_weights.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    original = synth.synth_state_dict(synth.load_spec(parity_dir / "avsbench_pvt_s4.keys.json"))
    vggish = synth.synth_state_dict(synth.load_spec(parity_dir / "vggish.keys.json"))
    model = AVSBenchForAudioVisualSegmentation(config_for_original(original))
    load_converted_state_dict(model, convert_avsbench_state_dict(original, vggish), ("similarity_head.",))
    fixture = load_file(parity_dir / "avsbench_pvt_s4.safetensors")
    yield (
        "avsbench",
        model.eval(),
        {"pixel_values": fixture["frames"], "audio_embeds": fixture["audio_embeds"]},
        fixture["pred"],
    )
    del model, original
    model = load_original_avsegformer(
        synth.synth_state_dict(synth.load_spec(parity_dir / "avsegformer_robust_pvt_s4.keys.json"))
    )
    fixture = load_file(parity_dir / "avsegformer_robust_pvt_s4.safetensors")
    yield (
        "avsegformer",
        model.eval(),
        {"pixel_values": fixture["frames"], "input_features": fixture["log_mel"]},
        fixture["pred"],
    )


def parity_report(parity_dir: Path, precisions: list[str]) -> None:
    print(f"\nparity fixtures ({parity_dir}): max |Δlogit| to the original's logits, share of mask pixels that differ")
    for name, model, inputs, expected in parity_cases(parity_dir):
        for precision in ["fp32", *precisions]:
            if reason := available(precision):
                print(f"{name:<12}{precision:<6} not run: {reason}")
                continue
            prepared = prepare_for_inference(model, precision)
            with inference_context(precision):
                logits = prepared(**inputs).logits.float()
            difference = (logits - expected).abs().max().item()
            flipped = ((logits > 0) != (expected > 0)).float().mean().item()
            print(f"{name:<12}{precision:<6} max |Δlogit| {difference:9.2e}   mask pixels changed {flipped:8.4%}")


def synthetic_report(model_dir: Path, precisions: list[str], size: str, seed: int) -> None:
    from transformers import AutoModel

    from modeling_avs.data import ConditionSamples, make_synthetic_dataset
    from modeling_avs.data.schema import CONDITIONS
    from modeling_avs.processing_avs import AVSProcessor
    from modeling_avs.training.collator import AVSDataCollator, AVSFeaturizer, FeaturizedSamples
    from modeling_avs.training.evaluation import evaluate_model
    from modeling_avs.training.reproduce import SIZES

    scale = SIZES[size]
    model = AutoModel.from_pretrained(model_dir).eval()
    processor = AVSProcessor.from_pretrained(model_dir)
    dataset = make_synthetic_dataset(
        "s4",
        num_videos={"train": scale.train_videos, "validation": scale.validation_videos, "test": scale.test_videos},
        image_size=scale.image_size,
        seed=seed,
    )  # the test split `avs-robust reproduce --size {size} --seed {seed}` evaluates on
    featurizer = AVSFeaturizer(processor, cache=True)
    samples = FeaturizedSamples(ConditionSamples(dataset["test"], CONDITIONS), featurizer, cache=True)
    collator = AVSDataCollator(list(samples.conditions), featurizer, "all", return_references=True)
    print(f"\nsynthetic test split ({scale.test_videos} videos × {len(CONDITIONS)} conditions), model {model_dir}")
    scores = {}
    for precision in ["fp32", *precisions]:
        if reason := available(precision):
            print(f"{precision:<6} not run: {reason}")
            continue
        with inference_context(precision):
            results = evaluate_model(prepare_for_inference(model, precision), samples, collator, 32).results
        scores[precision] = (results["conditions"]["positive"]["miou"], results["global"]["g_fpr"])
        miou, g_fpr = scores[precision]
        change = ""
        if precision != "fp32":
            change = f"   change: mIoU {miou - scores['fp32'][0]:+.4f}, G-FPR {g_fpr - scores['fp32'][1]:+.4%}"
        print(f"{precision:<6} mIoU (positive) {miou:.4f}   G-FPR {g_fpr:.4%}{change}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="trained model folder for the synthetic test split")
    parser.add_argument("--size", default="small", help="reproduction size the model was trained at")
    parser.add_argument("--seed", type=int, default=42, help="seed of the reproduction that trained it")
    parser.add_argument("--precisions", nargs="+", default=list(REDUCED_PRECISIONS), choices=REDUCED_PRECISIONS)
    parser.add_argument("--parity-dir", type=Path, default=PARITY_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.parity_dir.is_dir():
        parity_report(args.parity_dir, args.precisions)
    else:
        print(f"parity fixtures not found at {args.parity_dir}: skipped")
    if args.model_dir is not None:
        synthetic_report(args.model_dir, args.precisions, args.size, args.seed)


if __name__ == "__main__":
    main()
