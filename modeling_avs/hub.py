"""The Hugging Face Hub for uploads: one pre-flight check and one folder upload, for models, datasets and Spaces."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class HubAccessError(RuntimeError):
    """The Hub cannot be reached (offline mode, no network) or no valid token is available: raised before any work."""


def check_hub_access(repo_id: str, token: str | None = None) -> str:
    """
    Fail early when `repo_id` cannot be pushed to: Hub offline mode (`HF_HUB_OFFLINE`), no token, an invalid token or
    no network. Returns the token to upload with (`token`, or the one of `hf auth login` / `HF_TOKEN`).
    """
    import huggingface_hub
    from huggingface_hub import constants

    if not repo_id:
        raise HubAccessError("pushing to the Hub needs a repository id (e.g. user/avsbench-robust)")
    if constants.HF_HUB_OFFLINE:
        raise HubAccessError(
            f"cannot push to {repo_id}: the Hugging Face Hub is in offline mode (HF_HUB_OFFLINE=1). Unset it and log "
            "in (`hf auth login`), or run without pushing and upload the output folder later."
        )
    token = token or huggingface_hub.get_token()
    if not token:
        raise HubAccessError(f"cannot push to {repo_id}: no token found (run `hf auth login` or set HF_TOKEN)")
    try:
        huggingface_hub.HfApi(token=token).whoami()
    except Exception as error:
        raise HubAccessError(
            f"cannot push to {repo_id}: the Hub is unreachable or the token is not valid "
            f"({type(error).__name__}: {error}). Check the network and `hf auth login`."
        ) from error
    return token


def upload_folder(
    folder: str | Path,
    repo_id: str,
    repo_type: str,
    commit_message: str,
    token: str | None = None,
    ignore_patterns: Sequence[str] | None = None,
    private: bool = False,
    space_sdk: str | None = None,
) -> str:
    """
    Create the `repo_type` repository `repo_id` if needed (a Space with `space_sdk`, e.g. "gradio") and upload
    `folder` to it; returns the commit URL.
    """
    import huggingface_hub

    api = huggingface_hub.HfApi(token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
    arguments = {"ignore_patterns": list(ignore_patterns)} if ignore_patterns else {}
    commit = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, commit_message=commit_message, **arguments
    )
    return str(getattr(commit, "commit_url", commit))


__all__ = ["HubAccessError", "check_hub_access", "upload_folder"]
