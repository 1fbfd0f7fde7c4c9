"""Command line: ``python -m tf_infomax.data prepare NAME [--data_dir DIR]`` and ``info``.

``prepare`` makes a dataset available in the TFDS data dir (Fashion-MNIST from the local IDX
files when installed, otherwise a TFDS download); ``info`` lists the datasets and whether each is
prepared. This replaces ``tfds build``, which needs apache-beam with TFDS 4.9.10.
"""

from __future__ import annotations

import argparse
import sys

from tf_infomax.data.errors import DatasetNotFoundError, IDXFormatError
from tf_infomax.data.registry import DATASET_NAMES, dataset_info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tf_infomax.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="prepare a dataset in the TFDS data dir")
    prepare.add_argument("name", choices=DATASET_NAMES)
    prepare.add_argument("--data_dir", "--data-dir", default=None, help="TFDS data dir")
    prepare.add_argument(
        "--source_dir",
        "--source-dir",
        default=None,
        help="fashion_mnist only: directory of the IDX files",
    )
    info = commands.add_parser("info", help="list the datasets and where they are prepared")
    info.add_argument("--data_dir", "--data-dir", default=None, help="TFDS data dir")
    args = parser.parse_args(argv)

    import tensorflow_datasets as tfds

    from tf_infomax.data import fashion_mnist_local, sources

    if args.command == "info":
        for name in DATASET_NAMES:
            spec = dataset_info(name)
            if spec.tfds_name is None:
                where = "built in (scikit-learn)"
            else:
                builder = tfds.builder(spec.tfds_name, data_dir=args.data_dir)
                state = "prepared" if builder.is_prepared() else "not prepared"
                where = f"{state}: {builder.data_dir}"
            print(f"{name:16s} {str(spec.image_shape):13s} {where}")
        return 0

    spec = dataset_info(args.name)
    try:
        if spec.tfds_name is None:
            print(f"{spec.name} ships with scikit-learn; nothing to prepare.")
            return 0
        if spec.name == "fashion_mnist" and (
            args.source_dir is not None
            or not fashion_mnist_local.missing_files(fashion_mnist_local.default_source_dir())
        ):
            path = fashion_mnist_local.prepare_fashion_mnist_offline(args.source_dir, args.data_dir)
        else:
            builder = sources.tfds_builder(spec, data_dir=args.data_dir, download=True)
            path = builder.data_dir
    except (DatasetNotFoundError, IDXFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{spec.name} is prepared in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
