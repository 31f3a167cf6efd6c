"""`avs-robust convert ARCH --checkpoint X.pth --output DIR`: original checkpoints → transformers format."""

import argparse
from pathlib import Path

from .main import CLIError
from .output_paths import check_output_folder


def _convert_avsbench(args: argparse.Namespace) -> None:
    from ..convert.convert_avsbench import convert_avsbench_checkpoint

    convert_avsbench_checkpoint(args.checkpoint, args.vggish_checkpoint, args.output)


def _convert_avsegformer(args: argparse.Namespace) -> None:
    from ..convert.convert_avsegformer import convert_avsegformer_checkpoint

    convert_avsegformer_checkpoint(args.checkpoint, args.output, args.vggish_checkpoint)


def _convert_vggish(args: argparse.Namespace) -> None:
    from ..convert.convert_vggish import convert_vggish_checkpoint

    convert_vggish_checkpoint(args.checkpoint, args.output)


CONVERTERS = {
    "avsbench": (_convert_avsbench, "AVSBench TPAVI (PVT-v2-b5) checkpoint, e.g. S4/MS3 best models"),
    "avsegformer": (
        _convert_avsegformer,
        "AVSegFormer (PVT-v2-b5) or AVSBench-Robust AVSegFormer_robust checkpoint (VGGish included)",
    ),
    "vggish": (_convert_vggish, "torchvggish vggish-10086976.pth (standalone VGGishModel)"),
}


def run(args: argparse.Namespace) -> int:
    if not Path(args.checkpoint).is_file():
        raise CLIError(f"--checkpoint {args.checkpoint}: no such file")
    if args.vggish_checkpoint is not None and not Path(args.vggish_checkpoint).is_file():
        raise CLIError(f"--vggish-checkpoint {args.vggish_checkpoint}: no such file")
    check_output_folder(args.output, "--output")
    try:
        CONVERTERS[args.architecture][0](args)
    except ValueError as error:
        raise CLIError(str(error)) from error
    print(f"converted {args.checkpoint} ({args.architecture}) to {args.output}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Original checkpoints are read with torch.load(weights_only=True); keys are checked strictly."
    parser.add_argument(
        "architecture",
        choices=sorted(CONVERTERS),
        help="; ".join(f"{name}: {text}" for name, (_, text) in sorted(CONVERTERS.items())),
    )
    parser.add_argument("--checkpoint", required=True, help="original .pth file")
    parser.add_argument(
        "--vggish-checkpoint",
        default=None,
        help="torchvggish vggish-10086976.pth to embed as the audio encoder (AVSBench checkpoints do not contain it; "
        "AVSegFormer checkpoints do)",
    )
    parser.add_argument("--output", required=True, help="output folder for save_pretrained")
