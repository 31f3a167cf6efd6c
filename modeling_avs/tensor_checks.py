"""Checks of the tensors a model's forward receives: one `ValueError` naming the argument, before any layer runs."""

from __future__ import annotations

import torch


def check_tensor(name: str, value, floating_dtype: torch.dtype | None = None) -> torch.Tensor:
    """
    Return `value` after checking that it is a `torch.Tensor` with at least one element along its first (batch) axis.
    With `floating_dtype`, the tensor must also have that dtype (the model's; under autocast any floating dtype).
    """
    if not isinstance(value, torch.Tensor):
        raise ValueError(
            f"`{name}` must be a torch.Tensor, got {type(value).__module__}.{type(value).__name__} (call the "
            "processor with return_tensors='pt', or convert it with torch.as_tensor)."
        )
    if value.dim() == 0 or value.shape[0] == 0:
        raise ValueError(f"`{name}` holds no frames (shape {list(value.shape)}): pass at least one (N >= 1).")
    if floating_dtype is not None:
        if not value.is_floating_point():
            raise ValueError(
                f"`{name}` has dtype {value.dtype}; the model takes normalised floating-point values (use the "
                "processor's output)."
            )
        if value.dtype != floating_dtype and not torch.is_autocast_enabled(value.device.type):
            raise ValueError(
                f"`{name}` has dtype {value.dtype} but the model runs in {floating_dtype}: cast it with "
                "`.to(model.dtype)`."
            )
    return value


__all__ = ["check_tensor"]
