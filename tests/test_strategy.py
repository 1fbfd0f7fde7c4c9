"""--strategy/--devices parsing, what auto means, and the global batch's even split."""

from __future__ import annotations

import json

import pytest

from tf_infomax.config import TrainConfig
from tf_infomax.distributed.strategy import cluster_size, parse_devices, resolve_strategy_name
from tf_infomax.training import check_replicas

CLUSTER = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"index": 0}}


def test_devices_name_devices_and_extra_cpu_indices_make_logical_cpus():
    assert parse_devices(None) == ([], 0)
    assert parse_devices("gpu:0,GPU:1") == (["/gpu:0", "/gpu:1"], 0)
    assert parse_devices("cpu:0") == (["/cpu:0"], 0)
    assert parse_devices("cpu:0,cpu:1,cpu:2") == (["/cpu:0", "/cpu:1", "/cpu:2"], 3)


def test_auto_is_multi_worker_with_a_cluster_else_mirrored_for_several_devices(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert resolve_strategy_name("auto") == "default"  # no GPU on the test machines
    assert resolve_strategy_name("auto", "cpu:0,cpu:1") == "mirrored"
    assert resolve_strategy_name("mirrored") == "mirrored"
    monkeypatch.setenv("TF_CONFIG", json.dumps(CLUSTER))
    assert cluster_size() == 2
    assert resolve_strategy_name("auto") == "multi-worker"
    with pytest.raises(ValueError, match="one of auto, one-device, mirrored"):
        resolve_strategy_name("horovod")
    monkeypatch.setenv("TF_CONFIG", "not json")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        cluster_size()


def test_the_global_batch_must_split_evenly_across_replicas():
    check_replicas(TrainConfig.from_flat(batch_size=50), 2)
    with pytest.raises(ValueError, match="--batch-size 51 is the global batch"):
        check_replicas(TrainConfig.from_flat(batch_size=51), 2)


def test_execution_options_do_not_change_what_a_run_computes():
    base = TrainConfig.from_flat(batch_size=50)
    moved = base.replace(strategy="multi-worker", devices="gpu:0")
    assert moved.flat() != base.flat() and moved.computation() == base.computation()
    assert base.replace(dtype_policy="mixed_bfloat16").computation() != base.computation()
