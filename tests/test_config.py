"""The typed config: one name per option in flags, config.json, --config and --set."""

from __future__ import annotations

import json

import pytest

from tf_infomax.config import ModelConfig, TrainConfig
from tf_infomax.runs import RunDir
from trainers.cli import build_parser


def _train_args(*argv):
    return build_parser().parse_args(["train", *argv, "--out", "x"])


def test_flags_are_generated_from_the_fields_with_their_defaults():
    from tf_infomax.config import config_from_args

    assert config_from_args(_train_args()) == TrainConfig()
    config = config_from_args(
        _train_args(
            "--model", "vae", "--latent-dim", "7", "--critic-units", "8", "4",
            "--arch-option", "filters=16", "--clipnorm", "none", "--track-mi",
        )
    )  # fmt: skip
    assert config.model == ModelConfig(
        method="vae", latent_dim=7, critic_units=(8, 4), arch_options={"filters": 16},
        track_mi=True,
    )  # fmt: skip
    assert config.optimization.clipnorm is None
    for text, value in (("auto", "auto"), ("250", 250.0), ("None", None)):
        assert config_from_args(_train_args("--clipnorm", text)).optimization.clipnorm == value
    for text, value in (("auto", "auto"), ("16", 16), ("1", 1)):  # no "none": K >= 1
        assert config_from_args(_train_args("--marginal-samples", text)).model.marginal_samples == (
            value
        )
    with pytest.raises(SystemExit):
        config_from_args(_train_args("--marginal-samples", "none"))


def test_config_file_then_set_then_flags(tmp_path):
    from tf_infomax.config import config_from_args

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": {"latent_dim": 5}, "epochs": 3, "seed": 2}))
    args = _train_args("--config", str(path), "--set", "epochs=4", "--set", "data.limit=100")
    config = config_from_args(args)
    assert (config.model.latent_dim, config.optimization.epochs, config.seed) == (5, 4, 2)
    assert config.data.limit == 100
    args = _train_args("--config", str(path), "--set", "epochs=4", "--epochs", "9")
    assert config_from_args(args).optimization.epochs == 9


def test_yaml_config_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: vae\nlatent_dim: 3\noptimization:\n  epochs: 2\n")
    config = TrainConfig.load(path)
    assert (config.model.method, config.model.latent_dim, config.optimization.epochs) == (
        "vae", 3, 2,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"latent_dim": 3,', "not valid JSON"),
        ('{"latent_dims": 3}', "Unknown training option 'latent_dims'"),
        ("[1, 2]", "must hold a mapping"),
    ],
)
def test_bad_config_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        TrainConfig.load(path)
    assert str(path) in str(error.value)


def test_flat_round_trip_and_replace_by_name_or_path():
    config = TrainConfig.from_flat(model="beta-vae", beta=4.0, epochs=3, critic_units=[8])
    assert TrainConfig.from_dict(json.loads(json.dumps(config.flat()))) == config
    assert config.replace(**{"optimization.epochs": 5}).optimization.epochs == 5
    assert config.replace(epochs=5) == config.replace(**{"optimization.epochs": 5})
    with pytest.raises(ValueError, match="Unknown training option 'epoch'"):
        config.replace(epoch=5)


def test_a_run_directory_of_the_previous_version_still_loads(tmp_path):
    """config.json of 0.1 (flat, without the options added since) loads with what they meant."""
    old = {
        "model": "infomax-vae", "dataset": "fashion_mnist", "arch": "fc", "arch_options": {},
        "latent_dim": 20, "decoder_layers": 4, "estimator": "f-kl", "beta": None,
        "alpha": None, "infovae_alpha": 0.0, "infovae_lambda": 1000.0, "critic_units": None,
        "track_mi": False, "likelihood": "bernoulli", "binarize": False, "epochs": 10,
        "batch_size": 100, "limit": None, "validation_limit": 0, "learning_rate": 0.001,
        "critic_learning_rate": 0.0001, "clipnorm": 100.0, "critic_clipnorm": 10.0,
        "seed": 0, "data_dir": None, "extra": {},
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = RunDir(tmp_path).config()
    assert config.optimization.epochs == 10 and config.model.decoder_layers == 4
    # 0.1 paired marginal samples by a plain permutation; a file without the key meant that.
    assert config.model.marginal_pairs == "permutation"
    assert TrainConfig().model.marginal_pairs == "derangement"
    # ... and a critic bound of 20 and a log-variance floor of -10 (today: 6 and "auto", which
    # is none for the f-KL term).
    assert (config.model.critic_score_bound, config.model.min_log_var) == (20.0, -10.0)
    assert (TrainConfig().model.critic_score_bound, TrainConfig().model.min_log_var) == (
        6.0,
        "auto",
    )
    assert {k: config.flat()[k] for k in old} == old


def test_a_damaged_config_json_names_the_file(tmp_path):
    (tmp_path / "config.json").write_text('{"model": "vae",\n')
    with pytest.raises(ValueError, match="config.json is damaged"):
        RunDir(tmp_path).config()


def test_tuple_flags_of_the_evaluation_parse_their_item_type():
    args = build_parser().parse_args(["evaluate", "DIR", "--probe-units", "8", "4"])
    assert args.probe_units == [8, 4]  # ints, as the sklearn probe needs (not "8", "4")
