"""TF Serving's ``PredictRequest`` and ``PredictionLog`` as bytes, without tensorflow-serving-api.

Both are protobuf messages whose only non-trivial part is the ``TensorProto`` of each input,
which TensorFlow itself builds (``tf.make_tensor_proto``); the rest is a model name, a signature
name and a map, written here in the protobuf wire format (field numbers of
``tensorflow_serving/apis/{predict,model,prediction_log}.proto``). So ``tf-infomax export``
writes warm-up records whether or not the ``serving`` extra is installed, and
:func:`tf_infomax.serving.grpc_client.predict_request` parses these same bytes into the official
message: one encoding, checked against the official parser in ``tests/test_serving_grpc.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from tf_infomax.serving.versions import check_version

# message PredictRequest { ModelSpec model_spec = 1; map<string, TensorProto> inputs = 2; }
# message ModelSpec { string name = 1; Int64Value version = 2; string signature_name = 3; }
# message PredictionLog { ...; PredictLog predict_log = 6; }  message PredictLog { request = 1; }
_REQUEST_MODEL_SPEC, _REQUEST_INPUTS = 1, 2
_SPEC_NAME, _SPEC_VERSION, _SPEC_SIGNATURE = 1, 2, 3
_LOG_PREDICT, _PREDICT_LOG_REQUEST = 6, 1
_VARINT, _LENGTH_DELIMITED = 0, 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or message)."""
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def tensor_proto(value) -> bytes:
    """``tf.make_tensor_proto`` of ``value`` as bytes, its dtype kept (never cast: a cast to
    uint8 would wrap 300 to 44 silently)."""
    return tf.make_tensor_proto(np.asarray(value)).SerializeToString()


def encode_predict_request(
    model_name: str,
    inputs: Mapping[str, np.ndarray],
    signature_name: str = "serving_default",
    version: int | None = None,
) -> bytes:
    """A serialized ``tensorflow.serving.PredictRequest`` for ``signature_name``."""
    spec = _field(_SPEC_NAME, model_name.encode())
    if version is not None:
        version = check_version(version)
        wrapper = _varint(1 << 3 | _VARINT) + _varint(version) if version else b""
        spec += _field(_SPEC_VERSION, wrapper)  # google.protobuf.Int64Value {int64 value = 1;}
    spec += _field(_SPEC_SIGNATURE, signature_name.encode())
    entries = b"".join(
        _field(_REQUEST_INPUTS, _field(1, key.encode()) + _field(2, tensor_proto(value)))
        for key, value in inputs.items()
    )
    return _field(_REQUEST_MODEL_SPEC, spec) + entries


def encode_prediction_log(request: bytes) -> bytes:
    """A serialized ``PredictionLog`` holding ``predict_log.request`` (TF Serving warm-up)."""
    return _field(_LOG_PREDICT, _field(_PREDICT_LOG_REQUEST, request))
