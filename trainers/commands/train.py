"""`tf-infomax train`: train one model and write a run directory.

Every option of ``tf_infomax.config.TrainConfig`` is a flag (generated from its fields);
``--config FILE`` and ``--set KEY=VALUE`` set any of them, explicit flags win.
"""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    from tf_infomax.config import TrainConfig, add_arguments, add_config_arguments

    p = subparsers.add_parser("train", help="train a model (writes DIR/model.keras etc.)")
    add_arguments(p, TrainConfig, skip=("extra",))
    add_config_arguments(p)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished, unfinished or diverged run in --out",
    )
    p.add_argument("--out", required=True, help="run directory")
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.config import config_from_args
    from tf_infomax.distributed.workers import is_chief_process
    from tf_infomax.training import train

    config = config_from_args(args)
    _, history = train(config, args.out, overwrite=args.overwrite)
    final = {k: v[-1] for k, v in history.items() if isinstance(v, list) and v and k != "epoch"}
    print("final:", json.dumps({k: round(v, 4) for k, v in final.items() if v is not None}))
    if is_chief_process():
        print(f"wrote {args.out}/model.keras, config.json, history.json")
    else:  # the chief writes the run directory; this worker's copies were scratch
        print(f"trained as a worker; the chief wrote {args.out}")
    return 0
