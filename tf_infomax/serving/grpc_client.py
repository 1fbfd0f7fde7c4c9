"""TF Serving's gRPC Predict API: requests for the exported signatures, and a server-less answer.

Needs the ``serving`` extra (``pip install "tf-infomax[serving]"``: tensorflow-serving-api).

    request = predict_request("encoder", request_inputs(raw_uint8, "serving_uint8"),
                              "serving_uint8")
    outputs = response_arrays(send("localhost:8500", request))  # {"mean": ..., "log_var": ...}

:func:`answer` runs a request through a :class:`~tf_infomax.serving.rest.SessionPredictor` the
way the model server does (tensors fed by name, TF Serving's status codes), and
:func:`start_emulator` serves that on a local port, so clients can be tried without Docker
(TF Serving itself is not on PyPI).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from concurrent import futures

import numpy as np
import tensorflow as tf

from tf_infomax.serving.predict_proto import encode_predict_request
from tf_infomax.serving.rest import PredictError, SessionPredictor

DEFAULT_TIMEOUT_S = 10.0


def serving_apis() -> types.SimpleNamespace:
    """tensorflow-serving-api's modules, or an ImportError that says how to install them."""
    try:
        from tensorflow_serving.apis import (
            predict_pb2,
            prediction_log_pb2,
            prediction_service_pb2_grpc,
        )
    except ImportError as error:
        raise ImportError(
            "TF Serving's gRPC API is not installed: pip install 'tf-infomax[serving]' "
            "(or pip install tensorflow-serving-api)."
        ) from error
    return types.SimpleNamespace(
        predict_pb2=predict_pb2,
        prediction_log_pb2=prediction_log_pb2,
        prediction_service_pb2_grpc=prediction_service_pb2_grpc,
    )


def predict_request(
    model_name: str,
    inputs: Mapping[str, np.ndarray],
    signature_name: str = "serving_default",
    version: int | None = None,
):
    """A ``predict_pb2.PredictRequest`` (inputs via ``tf.make_tensor_proto``, dtypes kept).

    ``inputs`` must have the signature's dtypes: build them with
    ``signatures.request_inputs`` (encoder) or ``decoder_signatures.request_inputs``.
    ``version`` pins ``model_spec.version`` (default: the latest version the server holds).
    """
    request = encode_predict_request(model_name, inputs, signature_name, version)
    return serving_apis().predict_pb2.PredictRequest.FromString(request)


def request_arrays(request) -> dict[str, np.ndarray]:
    """The input arrays of a ``PredictRequest`` (``tf.make_ndarray`` of each TensorProto)."""
    return {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}


def response_arrays(response) -> dict[str, np.ndarray]:
    """The output arrays of a ``PredictResponse``."""
    return {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}


def send(target: str, request, timeout: float = DEFAULT_TIMEOUT_S):
    """Send ``request`` to the model server at ``target`` (``host:port``, TF Serving's
    ``--port``, 8500 in its Docker image) over an insecure channel; the ``PredictResponse``."""
    import grpc

    with grpc.insecure_channel(target) as channel:
        stub = serving_apis().prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return stub.Predict(request, timeout=timeout)


def answer(predictor: SessionPredictor, request, model_name: str | None = None):
    """The ``PredictResponse`` the model server gives ``request`` (PredictError if it refuses).

    Like TF Serving, an empty signature name means ``serving_default``, inputs with defaults
    (``sample``'s ``seed``) may be left out, and ``output_filter`` selects outputs.
    """
    if model_name is not None and request.model_spec.name != model_name:
        raise LookupError(f"Servable not found for request: Latest({request.model_spec.name})")
    signature = request.model_spec.signature_name or "serving_default"
    if signature not in predictor.signatures:
        raise PredictError(f'Serving signature key "{signature}" not found.')
    try:
        outputs = predictor.run(signature, request_arrays(request))
    except tf.errors.InvalidArgumentError as error:
        raise PredictError(error.message) from error
    unknown = sorted(set(request.output_filter) - set(outputs))
    if unknown:
        raise PredictError(f"output tensor alias not found in signature: {unknown[0]}")
    response = serving_apis().predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    response.model_spec.signature_name = signature
    for key in request.output_filter or outputs:
        response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key]))
    return response


class Emulator:
    """A local gRPC PredictionService answering with :func:`answer` (see :func:`start_emulator`)."""

    def __init__(self, server, port: int, predictor: SessionPredictor):
        self.server, self.port, self.predictor = server, port, predictor

    def close(self) -> None:
        self.server.stop(None)
        self.predictor.close()


def start_emulator(
    export_dir: str, model_name: str, port: int = 0, host: str = "localhost"
) -> Emulator:
    """Serve ``export_dir`` as ``model_name`` on ``host:port`` (0: a free port, see
    ``.port``), refusing requests with TF Serving's status codes (NOT_FOUND for another model
    name, INVALID_ARGUMENT for bad input). A stand-in for tests and trials, not a server.
    """
    import grpc

    apis = serving_apis()
    predictor = SessionPredictor(export_dir)

    class Servicer(apis.prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (the gRPC method's name)
            try:
                return answer(predictor, request, model_name)
            except LookupError as error:
                context.abort(grpc.StatusCode.NOT_FOUND, str(error))
            except PredictError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    apis.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return Emulator(server, port, predictor)
