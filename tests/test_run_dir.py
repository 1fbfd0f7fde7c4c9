"""The run directory: bad --out and option values are refused before anything is written,
--overwrite replaces only what a run writes, and writes are atomic."""

from __future__ import annotations

import json
import os

import pytest

from tf_infomax.runs import RunDir, atomic_path, write_json
from trainers.cli import main

TINY = ["--dataset", "sklearn_digits", "--latent-dim", "3", "--limit", "100", "--batch-size", "50"]
TINY += ["--arch-option", "units=32", "--critic-units", "16", "8"]  # small networks: fast steps


def _train(out, *args):
    return main(
        ["train", "--model", "vae", *TINY, "--validation-limit", "0", *args, "--out", str(out)]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "--epochs must be > 0"),
        (["--limit", "0"], "--limit must be > 0"),
        (["--batch-size", "0"], "--batch-size must be > 0"),
        (["--learning-rate", "-1"], "--learning-rate must be > 0"),
        (["--validation-limit", "-2"], "--validation-limit must be >= 0"),
        (["--keep-best", "--validation-limit", "0"], "need validation"),
        (["--model", "infomax-vae", "--batch-size", "1"], "Batch size 1 is too small"),
        (["--model", "infomax-vae", "--alpha", "-1"], "alpha must be >= 0"),
        (["--model", "infomax-vae", "--marginal-samples", "0"], "--marginal-samples must be > 0"),
        (
            ["--model", "infomax-vae", "--estimator", "infonce", "--marginal-samples", "2"],
            "scores every pair of the batch already",
        ),
        (["--arch-option", "width=3"], "unexpected keyword argument 'width'"),
    ],
)
def test_bad_values_leave_out_untouched(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["train", "--model", "vae", *TINY, *args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    # The corrected command then runs in the same --out (nothing blocks it).
    assert _train(out) == 0


def test_a_folder_that_is_not_a_run_is_refused_and_its_files_kept(tmp_path, capsys):
    (tmp_path / "history.json").write_text('{"mine": 1}')
    (tmp_path / "notes.txt").write_text("mine")
    assert _train(tmp_path) == 2
    assert "holds no tf-infomax run" in capsys.readouterr().err
    assert _train(tmp_path, "--overwrite") == 2  # never replace a file we did not write
    assert json.loads((tmp_path / "history.json").read_text()) == {"mine": 1}


def test_a_read_only_out_gives_one_line(tmp_path, capsys):
    if os.geteuid() == 0:
        out = "/proc/tf-infomax-run"  # not writable even for root
    else:
        tmp_path.chmod(0o500)
        out = tmp_path / "run"
    assert _train(out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tf-infomax train: error: cannot write the run directory")
    assert len(err.splitlines()) == 1


def test_overwrite_replaces_an_unfinished_run_and_says_what_it_removed(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    RunDir(out).write_config(__import__("tf_infomax.config").config.TrainConfig())
    (out / "backup").mkdir()
    assert _train(out) == 2  # a different config: refused
    assert "unfinished run with a different config" in capsys.readouterr().err
    assert _train(out, "--overwrite") == 0
    assert "--overwrite: removed the unfinished run" in capsys.readouterr().out
    assert RunDir(out).is_finished


def test_a_diverged_run_says_so_and_overwrite_restarts_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, "--learning-rate", "1e30", "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert "diverged: the loss became NaN/inf at epoch 1" in err
    assert "no epoch had completed" in err and "backup" not in err.split("completed")[0][-40:]
    assert json.loads((out / "diverged.json").read_text())["epoch"] == 1
    assert _train(out, "--learning-rate", "1e30", "--epochs", "2") == 2
    assert "diverged at epoch 1; pass --overwrite" in capsys.readouterr().err
    assert _train(out, "--overwrite") == 0
    assert RunDir(out).is_finished and not (out / "diverged.json").exists()


def test_history_is_json_with_null_for_non_finite_values(tmp_path):
    path = tmp_path / "h.json"
    write_json(path, {"loss": [1.0, float("nan"), float("inf")]})
    assert json.loads(path.read_text()) == {"loss": [1.0, None, None]}
    assert "NaN" not in path.read_text()


def test_an_interrupted_atomic_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"old": 1})
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text('{"new": ')
        raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"old": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_keep_best_ends_with_the_best_epochs_weights(tmp_path):
    import keras
    import numpy as np

    out = tmp_path / "run"
    args = ["--epochs", "4", "--validation-limit", "100", "--keep-best"]
    assert (
        main(
            ["train", "--model", "vae", *TINY, *args, "--learning-rate", "0.003", "--out", str(out)]
        )
        == 0
    )
    history = json.loads((out / "history.json").read_text())
    losses = history["val_neg_elbo"]
    assert history["best_epoch"] == 1 + losses.index(min(losses))
    model = keras.models.load_model(out / "model.keras")
    best = keras.models.load_model(out / "model.keras")
    best.load_weights(out / "best.weights.h5")
    for got, want in zip(model.get_weights(), best.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_continues_its_count_after_a_resume():
    from tf_infomax.training import _EarlyStopping

    stopper = _EarlyStopping(2, {"val_neg_elbo": [5.0, 3.0, 4.0]})
    stopper.set_model(__import__("keras").Sequential())
    stopper.on_train_begin()
    assert (stopper.best, stopper.wait) == (3.0, 1)


def test_use_ema_validates_keeps_and_ends_with_the_moving_average(tmp_path):
    import keras
    import numpy as np

    from tf_infomax.config import TrainConfig
    from tf_infomax.training import train

    def close(a, b):  # Keras swaps weights by adds and subtracts: exact up to rounding
        return all(np.allclose(x, y, rtol=1e-5, atol=1e-6) for x, y in zip(a, b, strict=True))

    class Probe(keras.callbacks.Callback):
        def weights(self):
            opt = self.model.optimizer
            return [v.numpy() for v in opt._trainable_variables]

        def on_train_batch_end(self, batch, logs=None):  # the last one: before validation
            opt = self.model.optimizer
            self.raw = self.weights()
            self.ema = [v.numpy() for v in opt._model_variables_moving_average]

        def on_test_begin(self, logs=None):
            self.validated_on_ema = close(self.weights(), self.ema)

        def on_epoch_end(self, epoch, logs=None):
            self.raw_after_epoch = self.weights()
            self.critic = [v.numpy() for v in self.model.critic.trainable_variables]

    config = TrainConfig.from_flat(
        model="infomax-vae", dataset="sklearn_digits", limit=200, batch_size=50, epochs=1,
        arch_options={"units": 32}, critic_units=(16,), validation_limit=100, use_ema=True,
        ema_momentum=0.5, keep_best=True,
    )  # fmt: skip
    probe = Probe()
    model, history = train(config, tmp_path / "run", verbose=0, callbacks=[probe])
    assert not close(probe.raw, probe.ema)
    assert probe.validated_on_ema  # val_* (and so the best epoch) score the moving average
    assert close(probe.raw_after_epoch, probe.raw)  # the backup holds the optimizer's weights
    final = [v.numpy() for v in model.optimizer._trainable_variables]
    # keep_best ended with best.weights.h5 (epoch 1): it holds the average validation scored.
    assert history["best_epoch"] == 1 and close(final, probe.ema)
    for got, want in zip(model.critic.trainable_variables, probe.critic, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)  # the critic is not averaged
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    for got, want in zip(saved.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_run_started_before_marginal_scope_existed_resumes(tmp_path):
    # A run interrupted under 0.2.0 (config.json without marginal_scope and the TensorBoard
    # options) resumes with today's code on one device instead of being refused.
    import keras

    from tf_infomax.config import TrainConfig
    from tf_infomax.training import train

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    config = TrainConfig.from_flat(
        model="infomax-vae", dataset="sklearn_digits", limit=200, batch_size=50, epochs=2,
        arch_options={"units": 32}, critic_units=(16,), validation_limit=100,
    )  # fmt: skip
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config, out, verbose=0, callbacks=[Interrupt()])
    written = json.loads((out / "config.json").read_text())
    for key in ("marginal_scope", "tensorboard_images", "tensorboard_every", "projector_points"):
        written.pop(key)
    assert written.pop("marginal_samples") == 16  # the f-KL defaults, recorded as resolved
    assert written.pop("mi_clipnorm") == 300.0
    (out / "config.json").write_text(json.dumps(written))
    # Started before 16 marginal pairs and the MI clip became defaults: it ran with 1 and
    # none, which it names.
    with pytest.raises(FileExistsError, match=r"marginal_samples: 1 in the run, 16 now; "
                       r"mi_clipnorm: none in the run, 300.0 now.*--marginal-samples 1, "
                       r"--mi-clipnorm none"):  # fmt: skip
        train(config, out, verbose=0)
    config = config.replace(marginal_samples=1, mi_clipnorm=None)
    _, history = train(config, out, verbose=0)
    assert history["epoch"] == [1, 2]
    changed = config.replace(latent_dim=3)  # a real difference is still refused
    (out / "model.keras").unlink()
    with pytest.raises(FileExistsError, match=r"different config \(latent_dim: \d+ in the run, 3"):
        train(changed, out, verbose=0)


def test_a_baseline_run_started_before_its_clip_became_a_default_names_clipnorm_none(tmp_path):
    import keras

    from tf_infomax.config import TrainConfig
    from tf_infomax.training import train

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    config = TrainConfig.from_flat(
        model="vae", dataset="sklearn_digits", limit=100, batch_size=50, epochs=2,
        arch_options={"units": 16}, validation_limit=0,
    )  # fmt: skip
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config, out, verbose=0, callbacks=[Interrupt()])
    written = json.loads((out / "config.json").read_text())
    assert written["clipnorm"] == 300.0  # today's default without the f-KL term, resolved
    assert written["min_log_var"] == -10.0
    written["clipnorm"] = written["min_log_var"] = None  # as 0.2 wrote them
    (out / "config.json").write_text(json.dumps(written))
    with pytest.raises(
        FileExistsError,
        match=r"clipnorm: none in the run, 300.0 now.*min_log_var: none in the run, -10.0 now"
        r".*--clipnorm none --min-log-var none",
    ):
        train(config, out, verbose=0)
    _, history = train(config.replace(clipnorm=None, min_log_var=None), out, verbose=0)
    assert history["epoch"] == [1, 2]


def test_the_f_kl_term_has_its_own_defaults_of_moving_average_and_clips(tmp_path):
    import keras
    import numpy as np

    from tf_infomax import build_model
    from tf_infomax.config import TrainConfig
    from tf_infomax.models.infomax_vae import uses_ema
    from tf_infomax.training import make_model

    small = dict(
        dataset="sklearn_digits", latent_dim=3, arch_options={"units": 16}, critic_units=(8,)
    )

    def cli_default(**options):
        config = TrainConfig.from_flat(**small, **options)
        return uses_ema(make_model(config, (8, 8, 1)).optimizer)

    assert cli_default(model="infomax-vae")
    assert not cli_default(model="infomax-vae", use_ema=False)
    assert not cli_default(model="infomax-vae", estimator="js")
    assert not cli_default(model="vae") and not cli_default(model="infovae")
    assert cli_default(model="vae", use_ema=True)

    def clip(**options):
        config = TrainConfig.from_flat(**small, **options)
        return make_model(config, (8, 8, 1)).optimizer.global_clipnorm

    assert clip(model="infomax-vae") == 1000.0  # the f-KL default, --clipnorm auto
    assert clip(model="infomax-vae", clipnorm=None) is None  # --clipnorm none: off
    assert clip(model="infomax-vae", clipnorm=5.0) == 5.0
    # Without the f-KL term: 300, which stops a deep decoder's exploding gradient (0.2: none).
    assert clip(model="infomax-vae", estimator="js") == 300.0
    assert clip(model="vae") == 300.0 and clip(model="infomax-vae", alpha=0.0) == 300.0
    assert clip(model="beta-vae", clipnorm=None) is None

    # min_log_var auto: no floor for the f-KL MI term, -10 otherwise (with the clip at 300).
    def floor(method="infomax-vae", **options):
        config = TrainConfig.from_flat(model=method, **small, **options)
        return make_model(config, (8, 8, 1)).min_log_var

    assert floor() is None and floor(estimator="js") == -10.0
    assert floor("vae") == -10.0 and floor("infovae", min_log_var=None) is None
    assert floor("beta-vae", min_log_var=-5.0) == -5.0
    assert build_model("vae", image_shape=(8, 8, 1), latent_dim=2).min_log_var == -10.0
    with pytest.raises(ValueError, match="--clipnorm must be a number, none or auto"):
        clip(model="vae", clipnorm="off")

    # train() records what ran: config.json holds the resolved value, so a resume compares it.
    from tf_infomax.runs import RunDir
    from tf_infomax.training import train

    tiny = dict(small, limit=100, batch_size=50, epochs=1, validation_limit=0)
    for method, expected in (("infomax-vae", True), ("vae", False)):
        train(TrainConfig.from_flat(model=method, **tiny), tmp_path / method, verbose=0)
        recorded = RunDir(tmp_path / method).config().optimization
        assert recorded.use_ema is expected
        assert recorded.clipnorm == (1000.0 if expected else 300.0)
        assert RunDir(tmp_path / method).config().model.min_log_var == (None if expected else -10.0)
        assert recorded.mi_clipnorm == (300.0 if expected else None)
        assert RunDir(tmp_path / method).config().model.marginal_samples == (16 if expected else 1)

    # mi_clipnorm auto: the MI term's own clip at 300 for the f-KL MI term, off otherwise.
    def mi_clip(**options):
        return make_model(TrainConfig.from_flat(**small, **options), (8, 8, 1)).mi_clipnorm

    assert mi_clip(model="infomax-vae") == 300.0
    assert mi_clip(model="infomax-vae", mi_clipnorm=5.0) == 5.0
    assert mi_clip(model="infomax-vae", mi_clipnorm=None) is None
    assert mi_clip(model="infomax-vae", estimator="js") is None and mi_clip(model="vae") is None
    with pytest.raises(ValueError, match="--mi-clipnorm must be a number, none or auto"):
        mi_clip(model="vae", mi_clipnorm="off")

    # marginal_samples auto: 16 marginal pairs per example for the f-KL MI term, 1 otherwise.
    def pairs(method="infomax-vae", **options):
        return build_model(method, image_shape=(8, 8, 1), latent_dim=2, **options).marginal_samples

    assert pairs() == 16 and pairs(marginal_samples="auto") == 16
    assert pairs(marginal_samples=4) == 4 and pairs(marginal_samples=1) == 1
    assert pairs(estimator="js") == 1 and pairs(estimator="infonce") == 1
    assert pairs("vae") == 1 and pairs(alpha=0.0) == 1
    with pytest.raises(ValueError, match="--marginal-samples must be an integer or auto"):
        make_model(TrainConfig.from_flat(**small, marginal_samples="many"), (8, 8, 1))

    # The API: compile()'s default optimizer averages, fit validates on the average and ends
    # with it.
    model = build_model("infomax-vae", image_shape=(8, 8, 1), latent_dim=2, critic_units=(8,))
    model.compile()
    assert uses_ema(model.optimizer) and model.optimizer.global_clipnorm == 1000.0
    assert model.mi_clipnorm == 300.0 and model.marginal_samples == 16
    js = build_model("infomax-vae", image_shape=(8, 8, 1), latent_dim=2, estimator="js")
    js.compile()
    assert js.mi_clipnorm is None and js.marginal_samples == 1
    x = np.random.default_rng(0).uniform(size=(40, 8, 8, 1)).astype("float32")

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):  # the last one: before validation
            opt = self.model.optimizer
            self.average = [v.numpy() for v in opt._model_variables_moving_average]

        def on_test_begin(self, logs=None):
            self.validated = [v.numpy() for v in self.model.optimizer._trainable_variables]

    probe = Probe()
    model.fit(x, batch_size=20, epochs=1, validation_data=(x,), verbose=0, callbacks=[probe])
    for got, want in zip(probe.validated, probe.average, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    final = [v.numpy() for v in model.optimizer._trainable_variables]
    for got, want in zip(final, probe.average, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
