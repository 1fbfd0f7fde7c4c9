"""SavedModel warm-up for TF Serving: ``assets.extra/tf_serving_warmup_requests``.

TF Serving replays the records of this file (a TFRecord of ``PredictionLog``s, at most 1000)
when it loads a version, before the version serves, so the first real request does not pay for
lazy initialisation (TF Serving's "SavedModel Warmup" guide). A record that fails makes the
load fail, so the export replays them itself before moving the version into place.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_infomax.serving.predict_proto import encode_predict_request, encode_prediction_log

WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TF Serving's limit


def write_warmup(
    export_dir: str | Path, model_name: str, requests: Mapping[str, Mapping[str, np.ndarray]]
) -> Path:
    """Write one Predict record per ``{signature name: named inputs}`` into ``export_dir``."""
    if len(requests) > MAX_RECORDS:
        raise ValueError(f"TF Serving reads at most {MAX_RECORDS} warm-up records.")
    path = Path(export_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in requests.items():
            writer.write(
                encode_prediction_log(encode_predict_request(model_name, inputs, signature))
            )
    return path


def read_warmup(export_dir: str | Path) -> list:
    """The ``PredictionLog`` messages of ``export_dir``'s warm-up file (needs the serving extra)."""
    from tf_infomax.serving.grpc_client import serving_apis

    prediction_log_pb2 = serving_apis().prediction_log_pb2
    path = str(Path(export_dir) / WARMUP_FILE)
    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(path)
    ]
