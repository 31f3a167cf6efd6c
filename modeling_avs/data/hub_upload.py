"""Publishing a built AVSBench-Robust folder on the Hugging Face Hub.

AVSBench media are distributed by their authors under their own terms, so by default only what this package
generates is uploaded: the columns `AVSBENCH_MEDIA_COLUMNS` (AVSBench frames, masks and sounds) are removed from
every shard, and the card says how to rebuild them from a local AVSBench copy. `include_media=True`
(`--include-avsbench-media`) uploads the shards unchanged.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from ..hub import check_hub_access, upload_folder
from .avsbench_robust import AVSBENCH_MEDIA_COLUMNS, write_avsbench_robust_card
from .parquet_io import built_configs, write_table_atomic


def strip_media(table_path: Path, target: Path) -> list[str]:
    """Copy a shard without the AVSBench media columns (features metadata updated); returns the kept columns."""
    table = pq.read_table(table_path)
    features = datasets.Features.from_arrow_schema(table.schema)
    kept = [column for column in table.column_names if column not in AVSBENCH_MEDIA_COLUMNS]
    kept_features = datasets.Features({column: features[column] for column in kept})
    write_table_atomic(table.select(kept).replace_schema_metadata(kept_features.arrow_schema.metadata), target)
    return kept


def stage_for_hub(output_dir: str | Path, staging_dir: str | Path, include_media: bool) -> Path:
    """Copy the shards of `output_dir` (media stripped unless `include_media`) and a matching card to `staging_dir`."""
    output_dir, staging_dir = Path(output_dir), Path(staging_dir)
    configs = built_configs(output_dir)
    if not configs:
        raise FileNotFoundError(f"{output_dir} holds no complete Parquet shards to upload")
    seeds = set()
    for config in configs:
        for shard in sorted((output_dir / config).glob("*.parquet")):
            target = staging_dir / config / shard.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if include_media or config == "unseen":
                shutil.copyfile(shard, target)
            else:
                strip_media(shard, target)
            if config != "unseen":
                seeds.update(pq.read_table(shard, columns=["seed"]).column("seed").to_pylist())
    seed = min(seeds) if len(seeds) == 1 else json.dumps(sorted(seeds))
    write_avsbench_robust_card(staging_dir, seed, media_included=include_media)
    return staging_dir


def push_dataset_to_hub(
    output_dir: str | Path, repo_id: str, include_media: bool = False, token: str | None = None, private: bool = False
) -> str:
    """Upload a built folder to the dataset repository `repo_id` (access checked first); returns the commit URL."""
    token = check_hub_access(repo_id, token)
    with tempfile.TemporaryDirectory(prefix="avs_robust_hub_") as staging:
        stage_for_hub(output_dir, staging, include_media)
        message = "Upload AVSBench-Robust" + ("" if include_media else " (generated audio and metadata only)")
        return upload_folder(staging, repo_id, "dataset", message, token=token, private=private)


__all__ = ["AVSBENCH_MEDIA_COLUMNS", "push_dataset_to_hub", "stage_for_hub", "strip_media"]
