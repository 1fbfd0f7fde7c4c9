"""Find a TFDS dataset: prepared locally, else built from local files, else downloaded.

Downloading is attempted last, only when allowed (not ``TF_INFOMAX_OFFLINE=1``) and after a quick
reachability probe, because TFDS retries unreachable hosts for minutes before failing.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import urllib.parse

import tensorflow_datasets as tfds

from tf_infomax.data import fashion_mnist_local
from tf_infomax.data.errors import DatasetNotFoundError, not_found_message
from tf_infomax.data.registry import DatasetSpec

OFFLINE_ENV = "TF_INFOMAX_OFFLINE"
PROBE_TIMEOUT_S = 5.0
_PROXY_ENVS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def offline() -> bool:
    """Whether ``$TF_INFOMAX_OFFLINE`` forbids downloads."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def prepare_command(name: str, data_dir: str) -> str:
    """The shell command that prepares ``name`` into ``data_dir`` (works offline for local data)."""
    return f"python -m tf_infomax.data prepare {name} --data_dir {data_dir}"


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Return ``None`` if ``url``'s host accepts a TCP connection within ``timeout``, else why not.

    Runs in a daemon thread so a hanging DNS lookup cannot block the caller (or interpreter exit).
    Behind a proxy (``*_PROXY`` set) the host is assumed reachable.
    """
    if any(os.environ.get(var) for var in _PROXY_ENVS):
        return None
    parsed = urllib.parse.urlparse(url)
    host = parsed.hostname or url
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    answer: queue.Queue[str | None] = queue.Queue()

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answer.put(None)
        except OSError as e:
            answer.put(f"{host}:{port} is unreachable ({e})")

    threading.Thread(target=connect, daemon=True).start()
    try:
        return answer.get(timeout=timeout + 1)
    except queue.Empty:
        return f"{host}:{port} did not answer within {timeout:.0f} s"


def _probe_builder(builder: tfds.core.DatasetBuilder) -> str | None:
    urls = list(builder.url_infos or {}) or ["https://storage.googleapis.com"]
    return probe(urls[0])


def tfds_builder(
    spec: DatasetSpec,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool | None = None,
) -> tfds.core.DatasetBuilder:
    """Return a builder of ``spec``'s TFDS dataset whose data is prepared in ``data_dir``.

    Order: data already prepared; for ``fashion_mnist``, the local IDX files; a download
    (``download=None``: allowed unless ``$TF_INFOMAX_OFFLINE``, after a reachability probe;
    ``True``: attempted without a probe; ``False``: never).

    Raises:
        DatasetNotFoundError: none of these worked; the message says where it looked and the
            command that fixes it.
        IDXFormatError: the local Fashion-MNIST IDX files are corrupt.
    """
    assert spec.tfds_name is not None, spec
    builder = tfds.builder(spec.tfds_name, data_dir=data_dir)
    if builder.is_prepared():
        return builder
    root = os.fspath(builder.data_dir_root)
    looked_in = [f"prepared TFDS data: {builder.data_dir} (not found)"]
    fixes = [prepare_command(spec.name, root)]
    note = ""
    failure: Exception | None = None

    if spec.name == "fashion_mnist":
        source_dir = fashion_mnist_local.default_source_dir()
        missing = fashion_mnist_local.missing_files(source_dir)
        if not missing:
            fashion_mnist_local.prepare_fashion_mnist_offline(source_dir, root)
            return tfds.builder(spec.tfds_name, data_dir=root)
        looked_in.append(f"Debian IDX files: {source_dir} (missing {', '.join(missing)})")
        fixes = [fashion_mnist_local.APT_COMMAND, f"{fixes[0]}   # with internet access"]
        note = fashion_mnist_local.source_dir_note(source_dir)

    if download is None and offline():
        status = f"not attempted ({OFFLINE_ENV}={os.environ[OFFLINE_ENV]})."
    elif download is False:
        status = "not attempted (download=False)."
    elif download is None and (unreachable := _probe_builder(builder)):
        status = f"not attempted: {unreachable}."
    else:
        try:
            builder.download_and_prepare()
            return builder
        except Exception as e:  # noqa: BLE001 - any download failure gets the same advice
            status = f"failed: {type(e).__name__}: {str(e)[:300]}"
            failure = e
    if spec.name != "fashion_mnist":
        note = f"Run it where the download works, or copy {builder.data_dir} from such a machine."
    error = DatasetNotFoundError(
        spec.name,
        not_found_message(spec.name, looked_in=looked_in, download=status, fixes=fixes, note=note),
    )
    raise error from failure
