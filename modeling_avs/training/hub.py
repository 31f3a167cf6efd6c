"""Hub access for `push_to_hub`: a pre-flight check before training and the upload of a model folder."""

from __future__ import annotations

from pathlib import Path

UPLOAD_IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/**", "runs/**", "synthetic-data/**", ".*"]


class HubAccessError(RuntimeError):
    """The Hub cannot be reached or the token cannot write: raised before any training starts."""


def check_hub_access(repo_id: str, token: str | None = None) -> str:
    """
    Fail early when a model cannot be pushed: Hub offline mode (`HF_HUB_OFFLINE`), no network, or no valid token.
    Returns the user name the token belongs to.
    """
    from huggingface_hub import HfApi, constants

    if not repo_id:
        raise HubAccessError("push_to_hub needs a Hub model id (e.g. --hub-model-id user/avsbench-robust)")
    if constants.HF_HUB_OFFLINE:
        raise HubAccessError(
            f"cannot push to {repo_id}: the Hugging Face Hub is in offline mode (HF_HUB_OFFLINE=1). Unset it and log "
            "in (`hf auth login`), or train without push_to_hub and upload the output folder later."
        )
    try:
        return HfApi(token=token).whoami()["name"]
    except Exception as error:
        raise HubAccessError(
            f"cannot push to {repo_id}: the Hub is unreachable or the token is not valid "
            f"({type(error).__name__}: {error}). Check the network and `hf auth login`, or train without push_to_hub."
        ) from error


def push_model_folder(folder: str | Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Create `repo_id` if needed and upload `folder` (model, processor, README.md), without checkpoints. Returns
    the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="model",
        ignore_patterns=UPLOAD_IGNORE_PATTERNS,
        commit_message="Upload AVS model trained with modeling-avs",
    )
    return str(commit)


__all__ = ["HubAccessError", "UPLOAD_IGNORE_PATTERNS", "check_hub_access", "push_model_folder"]
