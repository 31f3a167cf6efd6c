"""Publishing a built AVSBench-Robust folder on the Hugging Face Hub.

AVSBench media are distributed by their authors under their own terms, so by default only what this
package generates is uploaded: the columns `frames`, `masks`, `audio` and `audio_offscreen` (AVSBench frames,
masks and sounds) are removed from every shard, and the card says how to rebuild them from a local AVSBench
copy. `include_media=True` (`--include-avsbench-media`) uploads the shards unchanged.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from modeling_avs.data.parquet_io import built_configs, write_dataset_card, write_table_atomic

from .avsbench_robust import CARD_METADATA, dataset_card

AVSBENCH_MEDIA_COLUMNS = ("frames", "masks", "audio", "audio_offscreen")


class HubAccessError(RuntimeError):
    """The Hub cannot be reached (offline mode) or no token is available."""


def check_hub_access(token: str | None = None) -> str:
    """Return the token to upload with, or raise `HubAccessError` explaining why an upload cannot work."""
    from huggingface_hub import constants, get_token

    if constants.HF_HUB_OFFLINE:
        raise HubAccessError("cannot push to the Hub: HF_HUB_OFFLINE is set (unset it and check network access)")
    token = token or get_token()
    if not token:
        raise HubAccessError("cannot push to the Hub: no token found (run `hf auth login` or set HF_TOKEN)")
    return token


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
    card = dataset_card(
        seed=min(seeds) if len(seeds) == 1 else json.dumps(sorted(seeds)), media_included=include_media
    )
    write_dataset_card(staging_dir, card, CARD_METADATA)
    return staging_dir


def push_to_hub(
    output_dir: str | Path, repo_id: str, include_media: bool = False, token: str | None = None, private: bool = False
) -> str:
    """Upload a built folder to the dataset repository `repo_id`; returns the commit URL."""
    from huggingface_hub import HfApi

    token = check_hub_access(token)
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="avs_robust_hub_") as staging:
        stage_for_hub(output_dir, staging, include_media)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=staging,
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="Upload AVSBench-Robust"
            + ("" if include_media else " (generated audio and metadata only)"),
        )
    return str(getattr(commit, "commit_url", commit))
