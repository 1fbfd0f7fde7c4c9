"""The run configuration: one typed tree, the single source of every training option.

A :class:`TrainConfig` has five sections, :class:`ModelConfig`, :class:`DataConfig`,
:class:`OptimizationConfig`, :class:`TensorBoardConfig` and :class:`DistributionConfig`,
plus the run's ``seed``; evaluation settings are ``tf_infomax.metrics.EvaluationConfig``. Every
leaf option has one name, unique across the sections, used everywhere: the ``tf-infomax train``
flag (``--latent-dim``), the key of ``config.json`` and of results rows (``latent_dim``) and
``--set latent_dim=32``. The CLI flags are generated from the fields (:func:`add_arguments`), so
an option is added in one place.

Example:
    >>> config = TrainConfig.from_flat(model="vae", epochs=10, latent_dim=32)
    >>> config.model.latent_dim, config.optimization.epochs
    (32, 10)
    >>> config.replace(epochs=20).flat()["epochs"]
    20
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Gradient-norm clipping of the default optimizers without the f-KL term: none since 0.2 (0.1
# clipped at 100 and 10, which throttled InfoMax-VAE; docs/results/fashion_mnist_ablation_notes.md).
# With it, the VAE's clip is ``models.methods.clipnorm_by_default`` (``--clipnorm auto``).
VAE_CLIPNORM, CRITIC_CLIPNORM = None, None
AUTO = "auto"
# Soft bound of the critic's scores: about 1 + log(100), the batch. exp(t - 1) of a marginal
# pair then stays below e^5 (docs/results/fashion_mnist_ablation_notes.md).
CRITIC_SCORE_BOUND = 6.0


def option(
    default: Any = None,
    help: str = "",
    *,
    key: str | None = None,
    flag: str | None = None,
    choices=None,
):
    """A config field: its default, help text, flat name (``key``, default the field's name),
    CLI flag (default the key) and choices (a sequence, or a callable returning one)."""
    metadata = {"help": help, "key": key, "flag": flag, "choices": choices}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _methods():
    from tf_infomax.models.methods import METHODS

    return METHODS


def _architectures():
    from tf_infomax.networks import ARCHITECTURES

    return sorted(ARCHITECTURES)


def _estimators():
    from tf_infomax.objectives import ESTIMATORS

    return sorted(ESTIMATORS)


@dataclass
class ModelConfig:
    """What ``build_model`` builds: method, networks, critic, likelihood, safeguards."""

    method: str = option("infomax-vae", "method", key="model", choices=_methods)
    arch: str = option("fc", "network family (Table 5-8)", choices=_architectures)
    arch_options: dict = option(
        {}, "architecture option KEY=VALUE, repeatable (e.g. filters=16)", flag="arch_option"
    )
    latent_dim: int = option(20, "size of z")
    decoder_layers: int | None = option(None, "fc decoder depth (Tables 2-3)")
    estimator: str = option("f-kl", "MI bound of the critic", choices=_estimators)
    beta: float | None = option(None, "KL weight (beta-vae: 4)")
    alpha: float | None = option(None, "MI weight (infomax-vae: 10)")
    infovae_alpha: float = option(0.0, "InfoVAE's a")
    infovae_lambda: float = option(1000.0, "InfoVAE's lambda")
    critic_units: tuple[int, ...] | None = option(None, "hidden widths of the critic MLP")
    track_mi: bool = option(False, "log MI for methods without MI term")
    likelihood: str = option("bernoulli", "p(x|z)", choices=("bernoulli", "gaussian"))
    critic_score_bound: float | None = option(
        CRITIC_SCORE_BOUND, "soft bound B of the critic, t = B tanh(t_raw / B); none: unbounded"
    )
    min_log_var: float | str | None = option(
        AUTO,
        "floor of the posterior log-variance; none: none; auto: none for the f-kl MI term "
        "(infomax-vae), -10 otherwise",
    )
    diagnostics: bool = option(
        False, "log gradient norms per term, clip rates, critic scores, smallest log-variance"
    )
    marginal_pairs: str = option(
        "derangement",
        "partners of the critic's marginal pairs (permutation: before 0.2, has fixed points)",
        choices=("derangement", "permutation"),
    )
    marginal_scope: str = option(
        "global",
        "where marginal partners come from under several replicas: the global batch "
        "(all-gathered z, as on one device) or each replica's own (older runs)",
        choices=("global", "replica"),
    )
    marginal_samples: int | str = option(
        AUTO,
        "K, marginal partners per example in the critic's bound (K derangements of the batch; "
        "divides the variance of E_marginal[exp(t - 1)] by about K); auto: 16 for the f-kl MI "
        "term (infomax-vae), 1 otherwise",
    )


@dataclass
class DataConfig:
    """Which examples the run trains and validates on."""

    dataset: str = option(
        "fashion_mnist",
        "a registered name (`python -m tf_infomax.data info` lists them), or dir:PATH (a folder "
        "of images), npz:PATH (arrays x [and y]) or tfds:NAME[:CONFIG] (docs/data.md)",
    )
    train_split: str = option("train", "training split (TFDS slicing too, e.g. train[:55000])")
    validation_split: str = option(
        "test",
        "split of the per-epoch validation (e.g. train[55000:]), or a fraction such as 0.1: that "
        "share of the training split held out, chosen by --seed",
    )
    image_size: tuple[int, ...] | None = option(
        None, "resize every image to H W (one number: square); none: as stored"
    )
    channels: int | None = option(
        None, "convert every image to 1 (grey) or 3 (RGB) channels; none: as stored"
    )
    skip_unreadable: bool = option(
        False, "dir: sources: leave out files that cannot be decoded (counted) instead of stopping"
    )
    binarize: bool = option(False, "dynamic binarization")
    limit: int | None = option(None, "use the first N training examples")
    validation_limit: int | None = option(None, "validation examples; 0 disables validation")
    data_dir: str | None = option(None, "TFDS data directory")

    def source_options(self) -> dict:
        """How to read the source: keyword arguments of ``data.load`` and ``data.dataset_info``."""
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "skip_unreadable": self.skip_unreadable,
            "data_dir": self.data_dir,
        }


@dataclass
class OptimizationConfig:
    """How the two optimizers of Algorithm 1 train the model."""

    epochs: int = option(1, "training epochs")
    batch_size: int = option(100, "global batch size")
    learning_rate: float = option(1e-3, "Adam learning rate of q(z|x) and p(x|z)")
    critic_learning_rate: float = option(1e-4, "Adam learning rate of the critic")
    clipnorm: float | str | None = option(
        AUTO,
        "global grad-norm clip (VAE); none: off; auto: 1000 for the f-kl MI term (infomax-vae), "
        "300 otherwise",
    )
    critic_clipnorm: float | None = option(CRITIC_CLIPNORM, "same, critic; none: off")
    mi_clipnorm: float | str | None = option(
        AUTO,
        "clip only the MI term's gradient (alpha dI/dw) to this norm; none: off; auto: 300 for "
        "the f-kl MI term (infomax-vae), off otherwise",
    )
    lr_schedule: str = option(
        "constant", "learning-rate schedule of both optimizers", choices=("constant", "cosine")
    )
    use_ema: bool | None = option(
        None,
        "keep a moving average of the VAE's weights (Keras use_ema), validate and end with it; "
        "none: on for the f-kl MI term (infomax-vae), off otherwise",
    )
    ema_momentum: float = option(0.99, "momentum of that moving average")
    keep_best: bool = option(
        False, "end with the weights of the epoch of lowest validation -ELBO (best_epoch)"
    )
    early_stopping_patience: int | None = option(
        None, "stop once the validation -ELBO has not improved for N epochs; none: never"
    )


@dataclass
class TensorBoardConfig:
    """What training writes to TensorBoard (``logs/``) besides Keras' scalar curves."""

    tensorboard_images: bool = option(
        True,
        "write reconstructions, prior samples, a latent traversal and histograms of the "
        "posterior log-variances and critic scores to logs/summaries",
    )
    tensorboard_every: int = option(1, "epochs between those summaries")
    tensorboard_examples: int = option(16, "validation images of their fixed batch")
    projector_points: int = option(
        2000, "held-out codes in the TensorBoard projector written at the end (0: none)"
    )


def _strategies():
    from tf_infomax.distributed.strategy import STRATEGIES

    return STRATEGIES


DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclass
class DistributionConfig:
    """Where the run trains (strategy, devices) and in which precision (docs/distributed.md)."""

    strategy: str = option(
        "auto",
        "tf.distribute strategy; auto: multi-worker if TF_CONFIG names a cluster, mirrored if "
        "several GPUs are visible, else one device",
        choices=_strategies,
    )
    devices: str | None = option(
        None,
        "devices of the replicas, comma-separated (gpu:0,gpu:1; cpu:0,cpu:1 makes logical CPU "
        "devices); none: all visible GPUs, else the CPU (hide GPUs with CUDA_VISIBLE_DEVICES)",
    )
    dtype_policy: str = option(
        "float32",
        "Keras dtype policy; mixed_*: layers compute in 16 bits, variables, KL, log-variance "
        "and the critic's scores stay float32 (float16 adds loss scaling)",
        choices=DTYPE_POLICIES,
    )


SECTIONS = {
    "model": ModelConfig,
    "data": DataConfig,
    "optimization": OptimizationConfig,
    "tensorboard": TensorBoardConfig,
    "distribution": DistributionConfig,
}
# Options that say where a run trains, not what it computes: a run may resume with others.
EXECUTION_OPTIONS = ("strategy", "devices")
# What a config.json that lacks an option meant when it was written: the behaviour of the
# versions before the option existed, where that differs from today's default.
LEGACY_DEFAULTS = {
    "marginal_pairs": "permutation",
    "critic_score_bound": 20.0,
    "min_log_var": -10.0,
    "marginal_scope": "replica",
    "marginal_samples": 1,
    "mi_clipnorm": None,
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (``config.json``, flat by leaf name)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimization: OptimizationConfig = field(default_factory=OptimizationConfig)
    tensorboard: TensorBoardConfig = field(default_factory=TensorBoardConfig)
    distribution: DistributionConfig = field(default_factory=DistributionConfig)
    seed: int = option(0, "seed of initialisation, noise and data order")
    extra: dict = option({}, "free-form notes kept with the run")

    @classmethod
    def from_flat(cls, **values) -> TrainConfig:
        """A config from leaf names (``model="vae", epochs=10``); unknown names are an error."""
        return cls().replace(**values)

    @classmethod
    def from_dict(cls, values: dict, *, stored: bool = False) -> TrainConfig:
        """From a mapping of flat leaf names (any version) or nested sections.

        ``stored``: the mapping is a run's ``config.json``; options it lacks take
        ``LEGACY_DEFAULTS`` (what the version that wrote it did), others today's defaults.
        """
        flat = dict(LEGACY_DEFAULTS) if stored else {}
        for key, value in values.items():
            if key in SECTIONS and isinstance(value, dict):
                for leaf, leaf_value in value.items():
                    flat[_flat_name(SECTIONS[key], leaf)] = leaf_value
            else:
                flat[key] = value
        return cls.from_flat(**flat)

    def replace(self, **changes) -> TrainConfig:
        """A copy with options changed, by leaf name (``epochs=10``) or path (``data.limit``)."""
        sections = {name: getattr(self, name) for name in SECTIONS}
        top = {}
        for key, value in changes.items():
            section, leaf = _locate(key)
            if section is None:
                top[leaf] = value
            else:
                sections[section] = dataclasses.replace(sections[section], **{leaf: value})
        config = dataclasses.replace(self, **sections, **top)
        config._normalise()
        return config

    def _normalise(self) -> None:
        """JSON gives lists where the fields hold tuples: store tuples, so configs compare."""
        units = self.model.critic_units
        if units is not None:
            self.model.critic_units = tuple(int(u) for u in units)
        size = self.data.image_size
        if size is not None:
            self.data.image_size = tuple(int(s) for s in size)
        if isinstance(self.data.validation_split, (int, float)):  # 0.1 from JSON or --set
            self.data.validation_split = str(self.data.validation_split)

    def flat(self) -> dict:
        """Leaf name -> value, the form of ``config.json`` and of results rows."""
        out = {}
        for section, cls in SECTIONS.items():
            for f in dataclasses.fields(cls):
                value = getattr(getattr(self, section), f.name)
                out[_flat_name(cls, f.name)] = list(value) if isinstance(value, tuple) else value
        out.update(seed=self.seed, extra=self.extra)
        return out

    to_dict = flat

    def computation(self) -> dict:
        """``flat()`` without ``EXECUTION_OPTIONS``: what must match to resume or to join a run."""
        return {k: v for k, v in self.flat().items() if k not in EXECUTION_OPTIONS}

    def save(self, path: str | Path) -> None:
        from tf_infomax.runs import write_json

        write_json(Path(path), self.flat())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a JSON or YAML config file (flat or nested), with errors naming the file."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise FileNotFoundError(f"Cannot read config file {path}: {error.strerror}.") from None
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                values = yaml.safe_load(text)
            else:
                values = json.loads(text)
        except Exception as error:  # json and yaml raise different types
            raise ValueError(
                f"{path} is not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'} "
                f"({error}); fix or delete the file."
            ) from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a mapping of option names to values.")
        try:
            return cls.from_dict(values)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None


def _flat_name(cls, name: str) -> str:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.metadata.get("key") or name


def _leaves() -> dict[str, tuple[str | None, dataclasses.Field]]:
    """Flat name -> (section, field), for every option; top-level ones have section None."""
    leaves = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            leaves[f.metadata.get("key") or f.name] = (section, f)
    for f in dataclasses.fields(TrainConfig):
        if f.name not in SECTIONS:
            leaves[f.name] = (None, f)
    return leaves


def _locate(key: str) -> tuple[str | None, str]:
    """(section, field name) of a leaf name or ``section.field`` path."""
    leaves = _leaves()
    if "." in key:
        section, _, name = key.partition(".")
        if section in SECTIONS and name in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            return section, name
    elif key in leaves:
        section, f = leaves[key]
        return section, f.name
    raise ValueError(
        f"Unknown training option {key!r}; valid names: {sorted(leaves)} "
        "(or section.field, e.g. optimization.epochs)."
    )


# ------------------------------------------------------------------------------- CLI flags
def _parse_none(
    parse: Callable[[str], Any], auto: bool = False, none: bool = True
) -> Callable[[str], Any]:
    def parse_or_none(text: str):
        if auto and text.lower() == AUTO:
            return AUTO
        return None if none and text.lower() == "none" else parse(text)

    parse_or_none.__name__ = getattr(parse, "__name__", "value")
    return parse_or_none


def parse_value(text: str) -> Any:
    """A ``--set``/``--arch-option`` value: JSON if it parses (numbers, lists, null), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None if text.lower() == "none" else text


def key_values(pairs: list[str], flag: str) -> dict[str, Any]:
    """``["filters=16"]`` -> ``{"filters": 16}``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {flag} filters=16.")
        options[key] = parse_value(value)
    return options


def fields_of(cls) -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """(flat name, field, resolved type) of a dataclass's option fields, sections expanded."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in SECTIONS and cls is TrainConfig:
            yield from fields_of(SECTIONS[f.name])
        else:
            yield f.metadata.get("key") or f.name, f, hints[f.name]


def add_arguments(
    parser: argparse.ArgumentParser,
    cls,
    *,
    skip: tuple[str, ...] = (),
    renames: dict[str, str] | None = None,
) -> None:
    """Add one flag per option of ``cls`` (a config dataclass), defaults from the fields.

    ``renames`` maps option names to other flag names (``{"limit": "eval_limit"}``). Flags
    default to ``argparse.SUPPRESS`` so that :func:`given_options` returns only what the user
    typed, and ``--config``/``--set`` layers below them keep their values.
    """
    for option_name, f, kind in fields_of(cls):
        if option_name in skip:
            continue
        name = (renames or {}).get(option_name, option_name)
        flag = "--" + (f.metadata.get("flag") or name).replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        choices = f.metadata.get("choices")
        choices = choices() if callable(choices) else choices
        shown = "none" if default is None else default
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "dest": name}
        kwargs["help"] = f"{f.metadata.get('help', '')} (default: {shown})".strip()
        args = typing.get_args(kind)
        optional = type(None) in args
        # float | str | None: a number, none or auto; int | str: a number or auto.
        auto = str in args and len([a for a in args if a is not type(None)]) > 1
        base = next((a for a in args if a is not type(None)), kind) if args else kind
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif kind is dict:
            kwargs.update(action="append", metavar="KEY=VALUE")
        elif typing.get_origin(base) is tuple or typing.get_origin(kind) is tuple:
            tuple_type = base if typing.get_origin(base) is tuple else kind
            item = (typing.get_args(tuple_type) or (str,))[0]
            kwargs.update(nargs="+", type=item)
        else:
            parse = {int: int, float: float, str: str}.get(base, str)
            kwargs["type"] = _parse_none(parse, auto, optional) if optional or auto else parse
        if choices is not None and base is not bool and kind is not dict:
            kwargs["choices"] = list(choices)
            if kwargs.get("nargs"):
                kwargs["metavar"] = "NAME"
        parser.add_argument(flag, **kwargs)


def given_options(
    args: argparse.Namespace, cls, renames: dict[str, str] | None = None
) -> dict[str, Any]:
    """The options of ``cls`` the user gave on the command line, by option name."""
    given = {}
    for option_name, _, kind in fields_of(cls):
        name = (renames or {}).get(option_name, option_name)
        if hasattr(args, name):
            value = getattr(args, name)
            if kind is dict:
                value = key_values(value, "--" + name.replace("_", "-"))
            elif isinstance(value, list):
                value = tuple(value)
            given[option_name] = value
    return given


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and repeatable ``--set KEY=VALUE`` (applied in that order, then flags)."""
    parser.add_argument("--config", default=None, metavar="FILE", help="JSON or YAML config file")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any option by name, repeatable (e.g. --set latent_dim=32)",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then ``--config``, then ``--set``, then explicit flags."""
    config = TrainConfig.load(args.config) if args.config else TrainConfig()
    config = config.replace(**key_values(args.set, "--set"))
    return config.replace(**given_options(args, TrainConfig))


__all__ = [
    "CRITIC_CLIPNORM",
    "CRITIC_SCORE_BOUND",
    "VAE_CLIPNORM",
    "DataConfig",
    "DistributionConfig",
    "ModelConfig",
    "OptimizationConfig",
    "TensorBoardConfig",
    "TrainConfig",
    "add_arguments",
    "add_config_arguments",
    "config_from_args",
]
