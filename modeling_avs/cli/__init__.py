"""The `avs-robust` command line interface."""
