"""fit_batched: K models of one architecture on K signals of one grid, trained as one step, equal to
K separate fit() calls."""

import copy
import dataclasses

import numpy as np
import pytest
import torch

from helpers import random_tones
from siren2 import FitConfig, Signal, create_model, fit
from siren2.engine import BatchedStep
from siren2.train import fit_batched
from siren2.signal import Samples
from siren2.train import evaluate_loss

pytestmark = pytest.mark.usefixtures("one_thread")

# The batched step rounds differently from fit()'s fused sine step (other summation orders), and Adam
# moves every weight by about the lr whatever its gradient's size, so a gradient that is zero up to
# rounding can step either way: at a moderate lr the histories agree to ~1e-5 and the weights to a
# small fraction of one step (lr 1e-3). At the fast recipe's full peak lr these differences grow
# epoch by epoch, as they do between fit()'s own two engines (see test_full_peak_lr_...).
LR = 1e-3
LOSS_RTOL, PARAM_ATOL = 1e-4, 1e-4


def audio(seed, n=512):
    return random_tones(n, (0.01, 0.2), 5, seed)


def image(seed, size=16, channels=2):
    """A smooth random image in [-1, 1]: a few random plane waves per channel."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    chans = [sum(np.sin(2 * np.pi * (rng.uniform(0, 4) * yy + rng.uniform(0, 4) * xx) + rng.uniform(0, 6))
                 for _ in range(3)) / 3 for _ in range(channels)]
    return Signal(values=np.stack(chans, axis=-1).reshape(-1, channels), grid=(size, size), kind="image")


def config(in_dim=1, **overrides):
    return FitConfig.resolve(None, "fast", in_dim, model="siren2", width=32, **({"epochs": 40, "lr": LR} | overrides))


def models_for(signals, name="siren2", seeds=None, **shape):
    shape = {"width": 32, "hidden_layers": 2} | shape
    seeds = seeds if seeds is not None else range(len(signals))
    return [create_model(name, s, seed=k, **shape) for s, k in zip(signals, seeds)]


def batched_and_separate(models, signals, cfg):
    """fit_batched on ``models``, and fit() one by one on copies of them."""
    copies = [copy.deepcopy(m) for m in models]
    return fit_batched(models, signals, cfg), [fit(m, s, cfg) for m, s in zip(copies, signals)], copies


def assert_same_fits(batched, separate, models, copies, loss_rtol=LOSS_RTOL, param_atol=PARAM_ATOL):
    for rb, rs, mb, ms in zip(batched, separate, models, copies):
        assert rb.model is mb and rb.engine == "batched" and rb.device == rs.device
        np.testing.assert_allclose(rb.loss, rs.loss, rtol=loss_rtol)
        assert rb.lr == rs.lr  # the same schedule, exactly
        assert (rb.best_epoch, rb.stopped_by, len(rb.seconds_at)) == (rs.best_epoch, rs.stopped_by, len(rs.loss))
        assert rb.best_loss == pytest.approx(rs.best_loss, rel=loss_rtol)
        for (name, pb), ps in zip(mb.named_parameters(), ms.parameters()):
            torch.testing.assert_close(pb, ps, rtol=0, atol=param_atol, msg=name)


def test_batched_equals_separate_fits_on_1d_signals():
    signals = [audio(k) for k in range(3)]
    models = models_for(signals)
    batched, separate, copies = batched_and_separate(models, signals, config())
    assert_same_fits(batched, separate, models, copies)
    assert all(r.best_psnr > r.psnr_history[0] + 3 for r in batched)  # they did learn
    for r, s in zip(batched, signals):  # each model holds its best state
        assert evaluate_loss(r.model, s.coords(), s.tensor()) == pytest.approx(r.best_loss, rel=1e-4)


@pytest.mark.parametrize("case", ["images", "chunks"])
def test_batched_equals_separate_fits_on_images_and_in_chunks(case):
    # 16 x 16 two-channel images; and 1-D clips whose step runs in chunks of 100 points that must sum
    # to the full-batch step
    images = case == "images"
    signals = [image(k) for k in range(3)] if images else [audio(k) for k in range(2)]
    cfg = config(in_dim=2, epochs=30) if images else config(epochs=10, chunk_size=100)
    models = models_for(signals)
    batched, separate, copies = batched_and_separate(models, signals, cfg)
    assert_same_fits(batched, separate, models, copies)


def off_grid(signal, count, seed):
    rng = np.random.default_rng(seed)
    return dataclasses.replace(signal, off_grid=Samples(rng.uniform(-1, 1, (count, 1)), rng.uniform(-0.5, 0.5, (count, 1))))


def test_batched_equals_separate_fits_with_off_grid_samples():
    signals = [off_grid(audio(k), 64, k) for k in range(2)]
    models = models_for(signals)
    batched, separate, copies = batched_and_separate(models, signals, config())
    assert_same_fits(batched, separate, models, copies)
    for r, s in zip(batched, signals):  # the loss counts the off-grid samples
        assert evaluate_loss(r.model, *s.training_data()) == pytest.approx(r.best_loss, rel=1e-4)


def test_batched_equals_separate_fits_for_seeds_of_one_signal():
    signal = audio(0)
    models = models_for([signal] * 4, seeds=[0, 1, 2, 3])
    batched, separate, copies = batched_and_separate(models, [signal] * 4, config())
    assert_same_fits(batched, separate, models, copies)
    assert len({r.best_loss for r in batched}) == 4  # four different fits, not one four times


def test_each_model_keeps_its_own_best_state():
    # a large constant lr makes the losses bounce (and the trajectories chaotic, so no comparison with fit())
    signal = audio(0)
    results = fit_batched(models_for([signal] * 3), [signal] * 3, FitConfig(epochs=40, lr=3e-2, lr_gamma=1.0))
    assert len({r.best_epoch for r in results}) > 1 and any(r.best_epoch < 39 for r in results)
    for r in results:
        assert r.best_loss == min(r.loss) and r.best_epoch == int(np.argmin(r.loss))
        assert evaluate_loss(r.model, signal.coords(), signal.tensor()) == pytest.approx(r.best_loss, rel=1e-4)


@pytest.mark.parametrize("name", ["finer", "siren_rff", "wire", "relu_pe"])
def test_any_registered_model_batches(name):
    # finer: another activation; siren_rff: a random buffer per model; wire: complex weights. A few
    # epochs at a low lr: SIREN+RFF amplifies rounding fast (in fit() alone, chunking the step moves
    # its loss by 1e-2 within 10 epochs at lr 1e-3)
    signals = [audio(k, n=256) for k in range(2)]
    models = models_for(signals, name)
    cfg = FitConfig.resolve(None, "fast", 1, model=name, width=32, epochs=6, lr=3e-4, batch_size=256)
    batched, separate, copies = batched_and_separate(models, signals, cfg)
    assert_same_fits(batched, separate, models, copies)


def test_full_peak_lr_drifts_no_more_than_fits_own_engines_do():
    # the fast recipe's peak lr (0.3/H): rounding differences grow over the epochs, in fit() as well
    signals = [audio(k) for k in range(2)]
    cfg = FitConfig.resolve(None, "fast", 1, model="siren2", width=32, epochs=40)
    models = models_for(signals)
    batched, separate, _ = batched_and_separate(models, signals, cfg)
    engines = [fit(m, s, dataclasses.replace(cfg, engine="autograd"))
               for m, s in zip(models_for(signals), signals)]
    for rb, rs, ra in zip(batched, separate, engines):
        # float32 rounding: vmapped and single GEMMs take other kernels (AVX-512: 1.6e-5 by epoch 5)
        np.testing.assert_allclose(rb.loss[:5], rs.loss[:5], rtol=1e-4)
        assert rb.best_psnr > 35 and abs(rb.best_psnr - rs.best_psnr) < 0.1
        assert abs(ra.best_psnr - rs.best_psnr) < 0.1  # fit()'s engines differ alike


def test_target_psnr_stops_each_model_on_its_own():
    signals = [audio(k) for k in range(3)]
    best = sorted(r.best_psnr for r in fit_batched(models_for(signals), signals, config()))
    target = (best[0] + best[1]) / 2  # the worst fit never reaches it, the others at different epochs
    models = models_for(signals)
    batched, separate, copies = batched_and_separate(models, signals, config(target_psnr=target))
    assert_same_fits(batched, separate, models, copies)
    assert sorted(r.stopped_by for r in batched) == ["epochs", "target_psnr", "target_psnr"]
    assert len({len(r.loss) for r in batched}) == 3


def test_a_model_the_guard_acts_on_is_refitted_alone_and_spares_the_others():
    signals = [audio(k) for k in range(3)]
    signals[1] = signals[1].with_values(np.where(np.arange(512)[:, None] == 7, np.nan, signals[1].values))
    models = models_for([signals[0], audio(1), signals[2]])
    with pytest.warns(RuntimeWarning, match="training diverged"):
        batched, separate, copies = batched_and_separate(models, signals, config())
    assert batched[1].stopped_by == separate[1].stopped_by == "diverged"
    assert batched[1].engine == separate[1].engine != "batched"  # fit()'s own run
    assert batched[1].guard_events == separate[1].guard_events
    keep = [0, 2]
    assert_same_fits(*([x[k] for k in keep] for x in (batched, separate, models, copies)))


def test_ctrl_c_keeps_every_best_state(monkeypatch):
    signals = [audio(k) for k in range(2)]
    calls, step = [], BatchedStep.__call__

    def interrupted(self):
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(BatchedStep, "__call__", interrupted)
    results = fit_batched(models_for(signals), signals, config())
    for r, s in zip(results, signals):
        assert r.interrupted and len(r.loss) == 7
        assert evaluate_loss(r.model, s.coords(), s.tensor()) == pytest.approx(r.best_loss, rel=1e-4)

    def at_once(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(BatchedStep, "__call__", at_once)
    with pytest.raises(KeyboardInterrupt):  # before the first epoch ends: a plain interrupt
        fit_batched(models_for(signals), signals, config())


def test_refusals_name_what_differs():
    a, b = audio(0), audio(1)
    ok = dict(models=models_for([a, b]), signals=[a, b], config=config())
    cases = [
        (dict(signals=[a, audio(1, n=256)]), "one grid: signal 1 is 256 with 1 channel"),
        (dict(signals=[image(0), image(1, channels=1)]), "signal 1 is 16x16 with 1 channel"),
        (dict(signals=[a, off_grid(b, 3, 0)]), r"signal 1 is 512 with 1 channel\(s\) and 3 off-grid samples"),
        (dict(models=[models_for([a])[0], models_for([b], width=16)[0]]), "model 1 has .*out_features=16"),
        (dict(models=[models_for([a])[0], create_model("finer", b, width=32, hidden_layers=2)]), "Finer"),
        (dict(models=models_for([a])), "one signal per model"),
        (dict(models=[ok["models"][0]] * 2), "distinct"),
        (dict(config=config(batch_size=128)), "full batch only: batch_size 128 is below the signals' 512 points"),
        (dict(config=config(time_budget=5.0)), "time_budget"),
        (dict(config=config(patience=5)), "patience"),
    ]
    for change, message in cases:
        args = ok | change
        with pytest.raises(ValueError, match=message):
            fit_batched(args["models"], args["signals"], args["config"])
    assert len(fit_batched(ok["models"], ok["signals"], config(epochs=1, batch_size=512))) == 2  # all N: full
