"""Parquet shards and dataset card of an AVSBench-Robust output folder.

Layout: `<output>/<config>/<split>-XXXXX-of-YYYYY.parquet` plus `<output>/README.md` whose YAML `configs:`
lets `datasets.load_dataset(output, config)` find the shards (offline, or after upload to the Hub). Every file is
written atomically (`modeling_avs.atomic_files`), so a killed build leaves only complete shards; a rerun with the
same settings skips them. `<output>/<config>/.build_state.json` records the settings of the build
so that a rerun with different settings fails instead of mixing shards.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ..atomic_files import atomic_path, write_json_atomic, write_text_atomic
from ..model_cards import render_card
from .schema import SPLITS

STATE_FILE = ".build_state.json"
ROW_GROUP_SIZE = 16
SHARD_PATTERN = re.compile(r"^(?P<split>[a-z_]+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.parquet$")


def shard_path(output_dir: str | Path, config: str, split: str, index: int, num_shards: int) -> Path:
    """Path of shard `index` (0-based) of `num_shards` of one config/split."""
    return Path(output_dir) / config / f"{split}-{index:05d}-of-{num_shards:05d}.parquet"


def holds_binary(data_type: pa.DataType) -> bool:
    """Whether values of `data_type` contain binary data (images, audio), possibly nested in structs and lists."""
    if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
        return True
    return any(holds_binary(data_type.field(index).type) for index in range(data_type.num_fields))


def write_table_atomic(table: pa.Table, path: Path) -> None:
    """Write `table` to `path` atomically.

    Media columns (binary PNG/WAV/FLAC bytes, already compressed or incompressible PCM) are stored without
    dictionary encoding, min/max statistics or snappy compression: those would hash, compare and scan every
    value of such a column and save nothing. The small metadata columns keep all three.
    """
    metadata = [field.name for field in table.schema if not holds_binary(field.type)]
    with atomic_path(path) as temporary:
        pq.write_table(
            table,
            temporary,
            row_group_size=ROW_GROUP_SIZE,
            use_dictionary=metadata,
            write_statistics=metadata,
            compression={name: "snappy" if name in metadata else "none" for name in table.column_names},
        )


def check_build_state(output_dir: str | Path, config: str, state: dict[str, Any]) -> None:
    """Record `state` for `config`, or raise `ValueError` if the folder holds a build with other settings."""
    state_path = Path(output_dir) / config / STATE_FILE
    if state_path.exists():
        previous = json.loads(state_path.read_text(encoding="utf-8"))
        if previous != state:
            changed = sorted(key for key in set(previous) | set(state) if previous.get(key) != state.get(key))
            raise ValueError(
                f"{state_path.parent} already holds a {config} build made with other settings ({', '.join(changed)} "
                "differ); use another output folder or delete that one"
            )
        return
    write_json_atomic(state_path, state, indent=1, sort_keys=True)


def write_split_shards(
    output_dir: str | Path,
    config: str,
    split: str,
    items: Sequence[Any],
    make_rows: Callable[[Sequence[Any]], list[dict[str, Any]]],
    features: datasets.Features,
    rows_per_shard: int,
) -> list[Path]:
    """Write `make_rows(items)` as Parquet shards, skipping shards that already exist.

    `make_rows` is called once per missing shard with that shard's items and must return the Arrow storage of
    their rows (images and audio as `{"bytes", "path"}` dicts).
    Returns the paths of all shards of the split.
    """
    if rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    num_shards = max(1, math.ceil(len(items) / rows_per_shard))
    paths = []
    for index in range(num_shards):
        path = shard_path(output_dir, config, split, index, num_shards)
        paths.append(path)
        if path.exists():
            continue
        rows = make_rows(items[index * rows_per_shard : (index + 1) * rows_per_shard])
        write_table_atomic(pa.Table.from_pylist(rows, schema=features.arrow_schema), path)
    return paths


def built_configs(output_dir: str | Path) -> dict[str, list[str]]:
    """`{config: [splits]}` of the complete shard sets found in `output_dir`."""
    found: dict[str, list[str]] = {}
    for config_dir in sorted(path for path in Path(output_dir).iterdir() if path.is_dir()):
        shards: dict[str, set[int]] = {}
        totals: dict[str, int] = {}
        for path in config_dir.glob("*.parquet"):
            match = SHARD_PATTERN.match(path.name)
            if match:
                shards.setdefault(match["split"], set()).add(int(match["index"]))
                totals[match["split"]] = int(match["total"])
        complete = [split for split in shards if len(shards[split]) == totals[split]]
        if complete:
            order = {split: position for position, split in enumerate(SPLITS)}
            found[config_dir.name] = sorted(complete, key=lambda split: (order.get(split, len(order)), split))
    return found


def write_dataset_card(output_dir: str | Path, template: str, metadata: dict[str, Any], **values) -> Path:
    """Write `<output_dir>/README.md` from the card template `template` (see `modeling_avs.model_cards`): its YAML
    `card_data` is `metadata` (license, pretty_name, ...) plus `configs:` for every complete config/split on disk."""
    configs = [
        {
            "config_name": config,
            "data_files": [{"split": split, "path": f"{config}/{split}-*.parquet"} for split in splits],
        }
        for config, splits in built_configs(output_dir).items()
    ]
    card_data = yaml.safe_dump({**metadata, "configs": configs}, sort_keys=False).rstrip("\n")
    return write_text_atomic(Path(output_dir) / "README.md", render_card(template, card_data=card_data, **values))
