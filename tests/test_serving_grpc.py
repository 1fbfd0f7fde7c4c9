"""TF Serving's gRPC side: PredictRequests, warm-up records, a local gRPC server, configs."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.config import model_server_config_pb2

from tf_infomax.serving import export_encoder, grpc_client
from tf_infomax.serving.rest import PredictError, SessionPredictor
from tf_infomax.serving.signatures import SIGNATURE_NAMES, request_inputs
from tf_infomax.serving.warmup import WARMUP_FILE, read_warmup

from conftest import IMAGE_SHAPE, LATENT, tiny_model

ROOT = Path(__file__).resolve().parents[1]
RAW = np.random.default_rng(2).integers(0, 256, (3, *IMAGE_SHAPE), dtype=np.uint8)
EXPECTED_DTYPES = {
    "serving_default": {"images": np.float32},
    "sample": {"images": np.float32, "seed": np.int64},
    "serving_uint8": {"images": np.uint8},
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny model and its export at .../encoder/1 (model name "encoder")."""
    model = tiny_model("vae", seed=3)
    return model, export_encoder(model, tmp_path_factory.mktemp("grpc") / "encoder")


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported[1]))


def expected_outputs(model, signature: str, inputs: dict) -> dict[str, np.ndarray]:
    """What the model itself computes for a request's inputs."""
    images = inputs["images"].astype(np.float32)
    images = images / 255 if signature == "serving_uint8" else images
    mean, log_var = (t.numpy() for t in model.encode(images))
    outputs = {"mean": mean, "log_var": log_var}
    if signature == "sample":
        eps = np.stack([tf.random.stateless_normal([LATENT], seed=[s, 0]) for s in inputs["seed"]])
        outputs["z"] = mean + np.exp(0.5 * log_var) * eps
    return outputs


def assert_outputs(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[key]), value, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- PredictRequest
@pytest.mark.parametrize("signature", SIGNATURE_NAMES)
def test_predict_requests_run_through_the_signature(exported, loaded, signature):
    """Each request's TensorProtos, read back with make_ndarray, give the model's outputs."""
    model, path = exported
    request = grpc_client.predict_request("encoder", request_inputs(RAW, signature, 5), signature)
    assert isinstance(request, predict_pb2.PredictRequest)
    assert request.model_spec.name == "encoder"
    assert request.model_spec.signature_name == signature
    assert not request.model_spec.HasField("version")  # the server's latest version
    arrays = grpc_client.request_arrays(request)
    assert {k: v.dtype for k, v in arrays.items()} == EXPECTED_DTYPES[signature]
    assert all(v.shape[0] == len(RAW) for v in arrays.values())
    expected = expected_outputs(model, signature, arrays)
    got = loaded.signatures[signature](**{k: tf.constant(v) for k, v in arrays.items()})
    assert_outputs({k: v.numpy() for k, v in got.items()}, expected)


def test_predict_request_equals_the_official_builders(exported):
    """Our bytes parse into exactly the message predict_pb2 and make_tensor_proto build."""
    inputs = request_inputs(RAW, "sample", seed=7)
    for version in (None, 0, 12):
        ours = grpc_client.predict_request("encoder", inputs, "sample", version=version)
        official = predict_pb2.PredictRequest()
        official.model_spec.name = "encoder"
        official.model_spec.signature_name = "sample"
        if version is not None:
            official.model_spec.version.value = version
        for key, value in inputs.items():
            official.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        assert ours == official
        assert ours.model_spec.HasField("version") == (version is not None)
    with pytest.raises(ValueError, match="non-negative integer"):
        grpc_client.predict_request("encoder", inputs, "sample", version=-1)


def test_answer_is_the_servers_reply(exported):
    """The session emulation answers PredictRequests as TF Serving does, refusals included."""
    model, path = exported
    predictor = SessionPredictor(path)
    try:
        request = grpc_client.predict_request("encoder", request_inputs(RAW, "serving_uint8"))
        request.model_spec.signature_name = ""  # empty: serving_default
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(RAW / np.float32(255)))
        response = grpc_client.answer(predictor, request)
        assert response.model_spec.signature_name == "serving_default"
        expected = expected_outputs(model, "serving_default", {"images": RAW / np.float32(255)})
        assert_outputs(grpc_client.response_arrays(response), expected)
        # sample without seed (its SignatureDef default: fresh noise), only z fetched
        request = grpc_client.predict_request(
            "encoder", {"images": RAW / np.float32(255)}, "sample"
        )
        request.output_filter.append("z")
        z = grpc_client.response_arrays(grpc_client.answer(predictor, request))
        assert list(z) == ["z"] and z["z"].shape == (len(RAW), LATENT)
        bad = grpc_client.predict_request("encoder", {"images": np.float32(RAW)})  # 0..255
        with pytest.raises(PredictError, match="in \\[0, 1\\]"):
            grpc_client.answer(predictor, bad)
        with pytest.raises(LookupError, match="Servable not found"):
            grpc_client.answer(predictor, request, model_name="other")
    finally:
        predictor.close()


def make_request_module():
    spec = importlib.util.spec_from_file_location("make_request", ROOT / "export/make_request.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_request_grpc_against_a_local_server(exported, capsys):
    """export/make_request.py --grpc sends a PredictRequest over gRPC and prints the answer."""
    model, path = exported
    make_request = make_request_module()
    emulator = grpc_client.start_emulator(str(path), "encoder")
    target = f"localhost:{emulator.port}"
    try:
        for signature in SIGNATURE_NAMES:
            args = ["--signature", signature, "-n", "2", "--seed", "4", "--grpc", target]
            make_request.main([str(path), *args])
            got = json.loads(capsys.readouterr().out)
            raw = make_request.raw_images(2, IMAGE_SHAPE)
            assert_outputs(
                got, expected_outputs(model, signature, request_inputs(raw, signature, 4))
            )
        with pytest.raises(grpc.RpcError) as error:
            make_request.main([str(path), "--grpc", target, "--model-name", "other"])
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        bad = grpc_client.predict_request("encoder", {"images": np.float32(RAW)})
        with pytest.raises(grpc.RpcError) as error:
            grpc_client.send(target, bad)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "without NaN" in error.value.details()
    finally:
        emulator.close()


# ---------------------------------------------------------------- warm-up
def test_warmup_records_replay_through_each_signature(exported, loaded):
    model, path = exported
    assert (path / WARMUP_FILE).is_file()
    logs = read_warmup(path)
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * 3
    requests = [log.predict_log.request for log in logs]
    assert [r.model_spec.name for r in requests] == ["encoder"] * 3  # TF Serving's model name
    assert [r.model_spec.signature_name for r in requests] == list(SIGNATURE_NAMES)
    for request in requests:
        signature = request.model_spec.signature_name
        arrays = grpc_client.request_arrays(request)
        assert {k: v.dtype for k, v in arrays.items()} == EXPECTED_DTYPES[signature]
        got = loaded.signatures[signature](**{k: tf.constant(v) for k, v in arrays.items()})
        expected = expected_outputs(model, signature, arrays)
        assert_outputs({k: v.numpy() for k, v in got.items()}, expected)
    meta = json.loads((path / "assets.extra" / "tf_infomax.json").read_text())
    assert meta["warmup_signatures"] == list(SIGNATURE_NAMES)


def test_warmup_is_written_without_the_serving_extra(tmp_path, monkeypatch):
    """Without tensorflow-serving-api the export still writes the same warm-up records."""
    model = tiny_model("vae", seed=3)
    for name in [m for m in sys.modules if m.split(".")[0] == "tensorflow_serving"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it now fails
    with pytest.raises(ImportError, match="tf-infomax\\[serving\\]"):
        grpc_client.predict_request("m", {})
    path = export_encoder(model, tmp_path / "m", verify=False)
    monkeypatch.undo()
    assert [log.predict_log.request.model_spec.signature_name for log in read_warmup(path)] == list(
        SIGNATURE_NAMES
    )


# ---------------------------------------------------------------- models.config, batching
def batching_parameters_class():
    """``tensorflow.serving.BatchingParameters``: from the serving protos when they are built
    (tensorflow-serving-api's wheel ships apis/ and config/ only), else from its schema in
    tensorflow_serving/servables/tensorflow/session_bundle_config.proto (TF Serving 2.21)."""
    try:
        from tensorflow_serving.servables.tensorflow import session_bundle_config_pb2
    except ImportError:
        pass
    else:
        return session_bundle_config_pb2.BatchingParameters
    field = descriptor_pb2.FieldDescriptorProto
    fields = [  # name, number, wrapper type (None: a plain field)
        ("max_batch_size", 1, "Int64Value"),
        ("batch_timeout_micros", 2, "Int64Value"),
        ("max_enqueued_batches", 3, "Int64Value"),
        ("num_batch_threads", 4, "Int64Value"),
        ("thread_pool_name", 5, "StringValue"),
        ("allowed_batch_sizes", 6, None),
        ("pad_variable_length_inputs", 7, None),
        ("enable_large_batch_splitting", 8, "BoolValue"),
        ("max_execution_batch_size", 9, "Int64Value"),
    ]
    proto = descriptor_pb2.FileDescriptorProto(
        name="session_bundle_config_subset.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    message = proto.message_type.add(name="BatchingParameters")
    for name, number, wrapper in fields:
        if wrapper:
            kind = {"type": field.TYPE_MESSAGE, "type_name": f".google.protobuf.{wrapper}"}
        else:
            kind = {"type": field.TYPE_INT64 if number == 6 else field.TYPE_BOOL}
        label = field.LABEL_REPEATED if number == 6 else field.LABEL_OPTIONAL
        message.field.add(name=name, number=number, label=label, **kind)
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


def readme_files() -> dict[str, str]:
    """The files export/README.md writes with ``cat > PATH <<'EOF' ... EOF``."""
    text = (ROOT / "export" / "README.md").read_text()
    return dict(re.findall(r"cat > (\S+) <<'EOF'\n(.*?)\nEOF\n", text, re.S))


def test_readme_models_config_and_batching_parameters_parse():
    files = readme_files()
    names = {Path(p).name: p for p in files}
    assert {"models.config", "batching.config"} <= set(names)
    config = text_format.Parse(
        files[names["models.config"]], model_server_config_pb2.ModelServerConfig()
    )
    models = config.model_config_list.config
    assert [m.name for m in models] == ["encoder", "decoder"]
    assert [m.base_path for m in models] == ["/models/encoder", "/models/decoder"]
    assert {m.model_platform for m in models} == {"tensorflow"}
    batching = text_format.Parse(files[names["batching.config"]], batching_parameters_class()())
    sizes = list(batching.allowed_batch_sizes)
    assert (
        sizes == sorted(sizes) and sizes[-1] == batching.max_batch_size.value
    )  # TF Serving's rule
    assert batching.num_batch_threads.value >= 1 and batching.batch_timeout_micros.value > 0
    readme = (ROOT / "export" / "README.md").read_text()
    flags = "--model_config_file=/models/models.config", "--enable_batching"
    for flag in (*flags, "--batching_parameters_file=/models/batching.config"):
        assert flag in readme, flag  # the Docker command uses the files
