"""Entry script of the AVSBench-Robust dataset repository: build it from a local AVSBench v1 copy, and publish it.

    python dataset_scripts/build_avsbench_robust.py --avsbench-root AVSBench/ --config s4 --output avsbench-robust/ \
        [--push-to-hub USER/avsbench-robust]

The same as `avs-robust build-dataset` (every option of it works here): the builder is
`modeling_avs.data.build_avsbench_robust` and the dataset card is rendered from `model_cards/dataset_card.md.jinja`.
"""

import sys

from modeling_avs.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["build-dataset", *sys.argv[1:]]))
