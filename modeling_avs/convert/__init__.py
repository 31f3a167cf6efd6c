"""Converters from the original AVS checkpoints (PyTorch `.pth`) to this package's safetensors format."""
