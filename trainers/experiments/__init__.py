"""Experiment definitions: one module per paper experiment, each with get_config(smoke)."""
