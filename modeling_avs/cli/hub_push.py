"""What the commands that publish their output share: the Hub access check before any work, the Space upload."""

from __future__ import annotations

from pathlib import Path

from .main import CLIError


def hub_token(repo_id: str | None) -> str | None:
    """None without `repo_id`; otherwise the token to push with, checked before any work is done (`CLIError` when
    the Hub is offline or unreachable, or no valid token is available)."""
    if not repo_id:
        return None
    from ..hub import HubAccessError, check_hub_access

    try:
        return check_hub_access(repo_id)
    except HubAccessError as error:
        raise CLIError(str(error)) from error


def push_space(folder: str | Path, repo_id: str, token: str | None, private: bool, command: str) -> None:
    """Upload `folder` to the Gradio Space `repo_id` (created if needed) and print the commit URL."""
    from ..hub import upload_folder

    url = upload_folder(
        folder,
        repo_id,
        repo_type="space",
        commit_message=f"Uploaded by avs-robust {command}",
        token=token,
        private=private,
        space_sdk="gradio",
    )
    print(f"pushed to {url}")
