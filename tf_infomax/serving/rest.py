"""TF Serving's REST ``:predict`` semantics, without a server: for tests and local trials.

:func:`parse_predict_request` maps a JSON body to named input arrays by the rules of TF
Serving's ``json_tensor.cc`` (row format ``{"instances": [...]}``, columnar format
``{"inputs": ...}``); :class:`SessionPredictor` runs them the way the model server does, in a
TF1-style session fed by the signature's tensor names (so signature shapes are *not* checked
on the way in, as in TF Serving), and formats the response like the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2

DEFAULT_SIGNATURE = "serving_default"


class PredictError(ValueError):
    """A request TF Serving would answer with HTTP 400 ``{"error": ...}``."""


def _to_array(value, dtype: tf.DType, what: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object:
        raise PredictError(f"{what}: ragged or mixed-type JSON list.")
    if dtype.is_integer:
        if array.dtype.kind not in "iub":
            raise PredictError(f"{what}: expected integers for {dtype.name}, got {array.dtype}.")
        if array.size and (array.min() < dtype.min or array.max() > dtype.max):
            raise PredictError(f"{what}: value out of range for {dtype.name}.")
    elif array.dtype.kind not in "iuf":
        raise PredictError(f"{what}: expected numbers for {dtype.name}, got {array.dtype}.")
    return array.astype(dtype.as_numpy_dtype)


def parse_predict_request(
    body: str | Mapping, signatures: Mapping[str, meta_graph_pb2.SignatureDef]
) -> tuple[str, dict[str, np.ndarray], str]:
    """(signature name, named input arrays, ``"row"`` or ``"columnar"``) of a JSON body."""
    if isinstance(body, str):
        body = json.loads(body)
    if not isinstance(body, Mapping):
        raise PredictError("The request body must be a JSON object.")
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if name not in signatures:
        raise PredictError(f'Serving signature key "{name}" not found.')
    specs = {k: tf.as_dtype(v.dtype) for k, v in signatures[name].inputs.items()}
    if ("instances" in body) == ("inputs" in body):
        raise PredictError("Expecting exactly one of 'instances' or 'inputs' keys.")
    if "inputs" in body:
        return name, _columnar(body["inputs"], specs), "columnar"
    return name, _rows(body["instances"], specs), "row"


def _rows(instances, specs: dict[str, tf.DType]) -> dict[str, np.ndarray]:
    if not isinstance(instances, list) or not instances:
        raise PredictError("'instances' must be a non-empty list.")
    named = isinstance(instances[0], dict)
    if not named and len(specs) > 1:
        raise PredictError(
            "instances is a plain list, but expecting list of objects as multiple input "
            f"tensors required as per tensorinfo_map ({sorted(specs)})."
        )
    columns: dict[str, list] = {k: [] for k in specs} if named else {next(iter(specs)): []}
    for i, instance in enumerate(instances):
        if isinstance(instance, dict) != named:
            raise PredictError(f"Item {i} of 'instances' mixes objects and plain values.")
        item = instance if named else {next(iter(specs)): instance}
        if set(item) != set(columns):
            raise PredictError(
                f"Failed to process element: {i} of 'instances' list: its keys must be "
                f"{sorted(columns)}."
            )
        for key, value in item.items():
            columns[key].append(_to_array(value, specs[key], f"instances[{i}][{key!r}]"))
    for key, values in columns.items():
        if any(v.shape != values[0].shape for v in values):
            raise PredictError(f"Input {key!r}: instances have different shapes.")
    return {key: np.stack(values) for key, values in columns.items()}


def _columnar(inputs, specs: dict[str, tf.DType]) -> dict[str, np.ndarray]:
    if not isinstance(inputs, dict):
        if len(specs) > 1:
            raise PredictError(
                "inputs is a plain value/list, but expecting an object as multiple input "
                f"tensors required as per tensorinfo_map ({sorted(specs)})."
            )
        key = next(iter(specs))
        return {key: _to_array(inputs, specs[key], f"inputs[{key!r}]")}
    missing = sorted(set(specs) - set(inputs))
    if missing:
        raise PredictError(f"Missing named input: {missing[0]} in 'inputs' object.")
    return {key: _to_array(inputs[key], specs[key], f"inputs[{key!r}]") for key in specs}


def format_response(outputs: Mapping[str, np.ndarray], fmt: str) -> dict:
    """The JSON TF Serving returns: ``predictions`` (row) or ``outputs`` (columnar)."""
    lists = {k: np.asarray(v).tolist() for k, v in outputs.items()}
    if fmt == "columnar":
        return {"outputs": next(iter(lists.values())) if len(lists) == 1 else lists}
    if len(lists) == 1:
        return {"predictions": next(iter(lists.values()))}
    batch = len(next(iter(lists.values())))
    return {"predictions": [{k: v[i] for k, v in lists.items()} for i in range(batch)]}


class SessionPredictor:
    """A SavedModel loaded in a session and run by tensor names, as TF Serving does."""

    def __init__(self, export_dir: str | Path, tags: Sequence[str] = ("serve",)):
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(self.session, list(tags), str(export_dir))
        self.signatures = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}
        self._callables: dict[tuple[str, tuple[str, ...]], Callable] = {}

    def run(self, signature: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feed ``inputs`` by name (inputs with defaults may be left out); fetch all outputs."""
        sig = self.signatures[signature]
        extra = sorted(set(inputs) - set(sig.inputs))
        missing = sorted(set(sig.inputs) - set(inputs) - set(sig.defaults))
        if extra or missing:
            raise PredictError(f"Sent extra: {extra}. Missing but required: {missing}.")
        names = tuple(sorted(inputs))
        outputs = sorted(sig.outputs)
        call = self._callables.get((signature, names))
        if call is None:  # one per feed set, as the server caches an executor per feeds/fetches
            options = config_pb2.CallableOptions(
                feed=[sig.inputs[k].name for k in names],
                fetch=[sig.outputs[k].name for k in outputs],
            )
            # The C++ callable skips session.run's Python-side feed shape check, as the server
            # does.
            call = self.session._make_callable_from_options(options)
            self._callables[(signature, names)] = call
        return dict(zip(outputs, call(*(inputs[k] for k in names)), strict=True))

    def predict(self, body: str | Mapping) -> dict:
        """Answer a REST ``:predict`` body like TF Serving (errors raise :class:`PredictError`)."""
        name, inputs, fmt = parse_predict_request(body, self.signatures)
        try:
            outputs = self.run(name, inputs)
        except tf.errors.InvalidArgumentError as error:
            raise PredictError(error.message) from error
        return format_response(outputs, fmt)

    def close(self) -> None:
        self.session.close()
