"""Training recipes, stop rules and the divergence guard (siren2.recipes, siren2.train)."""

import json
import math

import pytest
import torch

from helpers import random_tones, run_cli, write_hf_wav
from siren2 import FitConfig, create_model, fit
from siren2.recipes import RECIPES, cosine_schedule, step_schedule
from siren2.train import evaluate_loss

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPE = dict(hidden_layers=2, width=32)


def tones(n=1024):
    return random_tones(n, (0.05, 0.3), 6, seed=3)


def test_step_schedule_is_the_papers_steplr():
    cfg = FitConfig(lr=1e-4, lr_step=20, lr_gamma=0.99)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
    ref = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.99)
    for epoch in range(200):
        assert cfg.lr_at(epoch, epoch / 200) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        ref.step()
    assert step_schedule(cfg, 45, 0.0) == pytest.approx(0.99**2)


def test_cosine_schedule_warms_up_peaks_and_decays_to_the_floor():
    cfg = FitConfig(epochs=100, lr=1e-3, schedule="cosine", warmup=0.1, lr_floor=0.01)
    lrs = [cfg.lr_at(e, e / 100) for e in range(100)]
    assert lrs[0] == pytest.approx(1e-4)  # 1/10 of the warm-up
    assert lrs[9] == pytest.approx(1e-3) and max(lrs) == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # non-increasing after the warm-up
    assert cosine_schedule(cfg, 100, 1.0) == pytest.approx(0.01)


def test_resolve_composes_preset_recipe_model_and_overrides():
    paper = FitConfig.resolve("paper_audio", "paper", 1, model="siren2")
    assert (paper.lr, paper.epochs, paper.schedule, paper.recipe) == (1e-4, 1000, "step", "paper")
    fast = FitConfig.resolve("paper_audio", "fast", 1, model="siren2")
    assert fast.recipe == "fast" and fast.schedule == RECIPES["fast"].fields(1, 222)["schedule"]
    assert fast.epochs < paper.epochs
    img = FitConfig.resolve("paper_image", "fast", 2, model="siren2")
    assert img.epochs == RECIPES["fast"].fields(2, 256)["epochs"]
    user = FitConfig.resolve("paper_audio", "fast", 1, model="finer", lr=5e-4, epochs=7)
    assert (user.lr, user.epochs, user.batch_size) == (5e-4, 7, 65_536)  # the user wins; FINER keeps its batch
    with pytest.raises(ValueError, match="unknown recipe"):
        FitConfig.resolve("paper_audio", "nope", 1)


def test_fast_peak_lr_scales_inversely_with_the_width():
    narrow = FitConfig.resolve("paper_audio", "fast", 1, model="siren2", width=100)
    wide = FitConfig.resolve("paper_audio", "fast", 1, model="siren2", width=200)
    default = FitConfig.resolve("paper_audio", "fast", 1, model="siren2")  # the preset's 222
    assert narrow.lr == pytest.approx(2 * wide.lr) and default.lr == pytest.approx(narrow.lr * 100 / 222)
    assert FitConfig.resolve("paper_audio", "paper", 1, width=100).lr == 1e-4  # the paper's does not scale


def test_a_models_lr_factor_scales_the_recipes_rate_only(monkeypatch):
    from dataclasses import replace

    from siren2 import recipes

    fast = recipes.RECIPES["fast"]
    monkeypatch.setitem(recipes.RECIPES, "fast", replace(fast, lr_factor={"finer": {1: 0.5}}))
    base = FitConfig.resolve("paper_audio", "fast", 1, width=100)
    assert FitConfig.resolve("paper_audio", "fast", 1, model="finer", width=100).lr == pytest.approx(base.lr / 2)
    assert FitConfig.resolve("paper_audio", "paper", 1, model="finer").lr == 1e-4  # not under another recipe
    assert FitConfig.resolve("paper_audio", "fast", 1, model="finer", lr=1e-3).lr == 1e-3  # the user wins
    image = FitConfig.resolve("paper_image", "fast", 2, width=64)
    assert FitConfig.resolve("paper_image", "fast", 2, model="finer", width=64).lr == image.lr  # audio's only


def test_the_registry_records_the_tuned_image_rates():
    """docs/studies/fast_lr.md: under fast on images SIREN is best at 2x SIREN²'s rate, WIRE at 8x,
    ReLU+PE at 16x; SIREN² and the rest at 1x; audio and the paper recipe untouched."""
    from siren2.recipes import RECIPES

    fast, paper = RECIPES["fast"], RECIPES["paper"]
    assert [fast.model_lr_factor(m, 2) for m in ("siren", "wire", "relu_pe", "finer++")] == [2.0, 8.0, 16.0, 1.0]
    assert fast.model_lr_factor("siren", 1) == 1.0
    assert fast.model_lr_factor("siren2", 2) == 1.0 and paper.model_lr_factor("siren", 2) == 1.0


@pytest.mark.parametrize("bad", [dict(target_psnr=math.nan), dict(time_budget=-1.0), dict(time_budget=math.inf),
                                 dict(lr=0.0), dict(schedule="linear"), dict(warmup=1.0)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        FitConfig(**bad)


def test_fast_reaches_the_paper_recipes_psnr_in_far_fewer_epochs():
    """Fails if the fast recipe stops being faster than the paper's on a small high-frequency signal."""
    sig = tones()
    paper_cfg = FitConfig.resolve("paper_audio", "paper", 1, model="siren2", epochs=600)
    paper = fit(create_model("siren2", sig, seed=0, **SHAPE), sig, paper_cfg)
    target = paper.best_psnr
    fast_cfg = FitConfig.resolve("paper_audio", "fast", 1, model="siren2", epochs=600, target_psnr=target)
    fast = fit(create_model("siren2", sig, seed=0, **SHAPE), sig, fast_cfg)
    assert fast.stopped_by == "target_psnr" and fast.best_psnr >= target
    assert fast.epochs_run <= paper.epochs_run / 3, (fast.epochs_run, target)


def test_target_psnr_stops_at_the_first_epoch_that_reaches_it():
    sig = tones(512)
    cfg = FitConfig(epochs=400, lr=1e-3, lr_gamma=1.0, target_psnr=30.0)
    res = fit(create_model("siren2", sig, seed=0, **SHAPE), sig, cfg)
    hist = res.psnr_history
    assert res.stopped_by == "target_psnr" and res.stopped_early
    assert hist[-1] >= 30.0 and all(p < 30.0 for p in hist[:-1])
    assert res.best_epoch == len(hist) - 1


def test_time_budget_stops_within_an_epoch_and_keeps_the_best_state():
    sig = tones(512)
    model = create_model("siren2", sig, seed=0, **SHAPE)
    res = fit(model, sig, FitConfig(epochs=100_000, lr=1e-4, lr_gamma=1.0, time_budget=0.5))
    assert res.stopped_by == "time_budget"
    assert res.seconds_at[-1] >= 0.5 > res.seconds_at[-2]
    assert evaluate_loss(model, sig.coords(), sig.tensor()) == pytest.approx(res.best_loss, rel=1e-4)


def test_time_budget_drives_the_cosine_schedule():
    """Under a time budget, the cosine decay follows the clock: the last epochs run near the floor."""
    sig = tones(512)
    cfg = FitConfig(epochs=100_000, lr=1e-3, schedule="cosine", warmup=0.0, lr_floor=0.01, time_budget=0.4)
    res = fit(create_model("siren2", sig, seed=0, **SHAPE), sig, cfg)
    assert res.stopped_by == "time_budget" and res.epochs_run > 10
    assert res.lr[0] == pytest.approx(1e-3) and res.lr[-1] < 1e-4  # near the 1e-5 floor at the deadline
    assert all(a >= b for a, b in zip(res.lr, res.lr[1:]))


def test_divergence_guard_fires_restores_the_best_state_and_warns():
    sig = tones(512)
    model = create_model("siren2", sig, seed=0, **SHAPE)
    with pytest.warns(RuntimeWarning, match="diverged"):
        res = fit(model, sig, FitConfig(epochs=200, lr=10.0, lr_gamma=1.0))
    assert res.guard_events, "a learning rate of 10 must trip the guard"
    ev = res.guard_events[0]
    assert ev["lr_scale"] == 0.5 and ("non-finite" in ev["cause"] or "above" in ev["cause"])
    assert evaluate_loss(model, sig.coords(), sig.tensor()) == pytest.approx(res.best_loss, rel=1e-4)
    assert math.isfinite(res.best_loss)


def test_guard_stays_quiet_on_a_healthy_fit(recwarn):
    sig = tones(512)
    res = fit(create_model("siren2", sig, seed=0, **SHAPE), sig, FitConfig(epochs=100, lr=1e-3))
    assert res.guard_events == [] and res.stopped_by == "epochs"
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_cli_fit_records_recipe_and_stop(tmp_path, capsys):
    wav = write_hf_wav(tmp_path / "a.wav", n=1000)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "fit", wav, "--out", out, "--width", 16, "--layers", 2, "--epochs", 400,
                                "--target-psnr", 12, "--quiet")
    assert code == 0, err
    cfg = json.loads((out / "config.json").read_text())
    met = json.loads((out / "metrics.json").read_text())
    assert cfg["spec"]["fit"]["recipe"] == "fast" and cfg["spec"]["fit"]["target_psnr"] == 12
    assert met["stopped_by"] == "target_psnr" and met["epochs_run"] < 400 and met["seconds"] > 0
    assert cfg["runtime"]["stopped_by"] == "target_psnr" and "reached the target PSNR" in stdout
    code, _, err = run_cli(capsys, "fit", wav, "--out", tmp_path / "p", "--width", 16, "--layers", 2,
                           "--epochs", 3, "--schedule", "paper", "--quiet")
    assert code == 0, err
    cfg = json.loads((tmp_path / "p" / "config.json").read_text())
    fit = cfg["spec"]["fit"]
    assert (fit["recipe"], fit["schedule"], fit["lr"]) == ("paper", "step", 1e-4)


def test_cli_time_budget_is_recorded_in_metrics(tmp_path, capsys):
    wav = write_hf_wav(tmp_path / "a.wav", n=1000)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "fit", wav, "--out", out, "--width", 16, "--layers", 2, "--epochs", 100_000,
                                "--time-budget", 0.5, "--quiet")
    assert code == 0, err
    met = json.loads((out / "metrics.json").read_text())
    assert met["stopped_by"] == "time_budget" and 0.5 <= met["seconds"] < 1.0 and 1 < met["epochs_run"] < 100_000
    assert "time budget spent" in stdout


def test_cli_guard_warning_is_one_line_and_recorded(tmp_path, capsys):
    wav = write_hf_wav(tmp_path / "a.wav", n=1000)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "fit", wav, "--out", out, "--width", 16, "--layers", 2, "--epochs", 60,
                           "--lr", 10, "--quiet")
    assert code == 0
    assert err and all(line.startswith("siren2: warning: training diverged") for line in err)
    events = json.loads((out / "config.json").read_text())["runtime"]["guard_events"]
    assert len(events) == len(err)


@pytest.mark.parametrize("args", [["--target-psnr", "nan"], ["--time-budget", "-1"], ["--schedule", "nope"],
                                  ["--time-budget", "inf"]])
def test_cli_bad_recipe_values_exit_2_with_one_line(tmp_path, capsys, args):
    wav = write_hf_wav(tmp_path / "a.wav", n=500)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "fit", wav, "--out", out, "--epochs", 2, *args)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:")
    assert not out.exists() and list(tmp_path.iterdir()) == [wav]


def test_compare_takes_the_recipe(tmp_path, capsys):
    wav = write_hf_wav(tmp_path / "a.wav", n=600)
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "compare", wav, "--models", "siren,siren2", "--out", out, "--epochs", 3,
                           "--width", 16, "--layers", 2, "--schedule", "paper", "--quiet")
    assert code == 0, err
    table = json.loads((out / "table.json").read_text())
    assert table["recipe"] == "paper" and all(r["lr"] == 1e-4 for r in table["rows"])
