"""siren2.tuning and ``siren2 tune`` / ``compare --tune``: the search finds a known best knob, keeps what is
given, and its best run replays. Tiny networks on generated tones."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from helpers import run_cli
from siren2 import Signal, tune
from siren2.models import REGISTRY, get_entry
from siren2.spec import resolve
from siren2.tuning import LR_FACTORS, candidates, knob_values
from siren2.winner import nyquist

N = 400
TINY = {"width": 16, "hidden_layers": 1, "epochs": 200}


def tone(fraction: float) -> tuple[Signal, float]:
    """A sine at ``fraction`` of the grid's Nyquist Ω (radians per coordinate unit), and that frequency."""
    x = np.linspace(-1, 1, N)
    omega = math.pi * (N - 1) / 2 * fraction
    sig = Signal(values=0.6 * np.sin(omega * x + 0.3)[:, None], grid=(N,), kind="audio", sample_rate=8000,
                 source="tone")
    return sig, omega


def test_every_model_declares_knobs_in_the_registry_and_their_values_follow_the_grid():
    sig, _ = tone(0.1)
    for name, entry in REGISTRY.items():
        assert entry.knobs, f"{name} declares no knob"
    grid = knob_values(get_entry("siren").knobs[0], sig, 16)
    assert grid[-1] == pytest.approx(nyquist(sig)) and grid[0] == pytest.approx(nyquist(sig) / 1000)
    assert all(b > a for a, b in zip(grid, grid[1:]))
    octaves = knob_values(get_entry("relu_pe").knobs[0], sig, 16)
    assert octaves == sorted(set(octaves)) and all(isinstance(v, int) for v in octaves)
    assert octaves[-1] == round(math.log2(N))


def test_the_candidates_are_the_grid_times_the_rates_with_the_defaults():
    sig, _ = tone(0.1)
    spec = resolve(sig, {"model": "siren", **TINY})
    cands, default = candidates(spec, sig)
    assert default == {"omega_first": 3000.0, "lr": spec.fit.lr}  # the audio preset's SIREN
    assert len(cands) == (9 + 1) * len(LR_FACTORS)
    assert default in cands and sorted({round(c["lr"] / spec.fit.lr, 9) for c in cands}) == sorted(LR_FACTORS)
    spec2 = resolve(sig, {"model": "siren2", **TINY, "hidden_layers": 2})
    cands2, default2 = candidates(spec2, sig)  # the valley's three points and the ψ rule's
    assert set(default2) == {"s0", "s1", "lr"} and len(cands2) == 4 * len(LR_FACTORS)


@pytest.mark.parametrize("fraction", [0.02, 0.1])
def test_tune_finds_the_bandwidth_a_tone_needs(fraction):
    sig, omega = tone(fraction)
    t = tune(sig, "siren", TINY)
    assert omega <= t.best["omega_first"] <= 3 * omega  # the first grid value above the tone's frequency
    assert t.default["omega_first"] == 3000.0
    assert t.run.metrics["psnr_paper"] > 40  # at the default ω_first (3000 ≈ 5 Ω) the held-out error is the floor's
    default = [c for c in t.candidates if c["omega_first"] == 3000.0 and c["round"] == 0]
    assert max(c["heldout_psnr_paper"] for c in default) < 15
    assert t.cost > 1 and t.search_seconds > 0
    assert t.run.config["tuning"]["best"] == t.best
    # the playoff: the pick and the defaults at full length, the better kept (here the pick, by far)
    assert set(t.playoff) == {"pick", "default"} and t.best == t.pick
    assert t.run.metrics["psnr_paper"] == max(t.playoff.values()) and t.playoff["default"] < 30
    assert {c["round"] for c in t.candidates} == {0, 1}
    assert len([c for c in t.candidates if c["round"] == 1]) == math.ceil(30 / 3)


def test_what_is_given_is_not_searched():
    sig, omega = tone(0.1)
    t = tune(sig, "siren", TINY | {"omega_first": 111.0}, final=False)
    assert t.run is None and {c["omega_first"] for c in t.candidates} == {111.0}
    assert t.best["omega_first"] == 111.0 and len({c["lr"] for c in t.candidates}) == len(LR_FACTORS)


def test_with_nothing_to_search_the_defaults_are_fitted_once():
    sig, _ = tone(0.1)
    spec = resolve(sig, {"model": "siren", **TINY})
    t = tune(sig, "siren", TINY | {"omega_first": 3000.0, "lr": spec.fit.lr})
    assert t.pick == t.best == t.default and set(t.playoff) == {"pick"}
    assert not t.candidates and t.cost == pytest.approx(1.0, abs=0.05)  # one candidate: no search, one full fit


def test_cli_tune_writes_its_files_and_the_best_run_replays(tmp_path, capsys):
    sig, _ = tone(0.1)
    src = tmp_path / "tone.wav"
    sf.write(str(src), sig.values[:, 0], 8000, subtype="FLOAT")
    out = tmp_path / "tuned"
    code, stdout, err = run_cli(capsys, "tune", src, "--model", "siren", "--out", out, "--width", "16", "--layers",
                                "1", "--epochs", "200", "--quiet")
    assert code == 0, err
    record = json.loads((out / "tune.json").read_text())
    assert record["model"] == "siren" and len(record["candidates"]) == 40 and record["best"]["omega_first"] < 3000
    assert "best" in (out / "tune.md").read_text() and (out / "tune.png").stat().st_size > 0
    best = json.loads((out / "best" / "metrics.json").read_text())["metrics"]["psnr_paper"]
    assert "best:" in stdout and "omega_first" in stdout
    code, _, err = run_cli(capsys, "fit", "--config", out / "best" / "config.json", "--out", tmp_path / "again",
                           "--quiet")
    assert code == 0, err
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())["metrics"]["psnr_paper"]
    assert again == pytest.approx(best, abs=1e-6)
    code, _, err = run_cli(capsys, "tune", src, "--out", tmp_path / "b", "--budget", "0")
    assert code == 2 and len(err) == 1 and "--budget" in err[0]


def test_compare_tune_compares_each_model_at_its_tuned_setting(tmp_path, capsys):
    sig, _ = tone(0.1)
    src = tmp_path / "tone.wav"
    sf.write(str(src), sig.values[:, 0], 8000, subtype="FLOAT")
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(capsys, "compare", src, "--models", "siren,finer", "--tune", "--out", out, "--width",
                                "16", "--layers", "1", "--epochs", "100", "--quiet")
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    tuned = config["settings"]["per_model"]
    assert set(tuned) == {"siren", "finer"} and all("omega_first" in v and "lr" in v for v in tuned.values())
    fit = json.loads((out / "fits" / "siren__seed0" / "config.json").read_text())
    assert fit["spec"]["options"]["omega_first"] == tuned["siren"]["omega_first"]
    assert (out / "tuning" / "finer" / "tune.json").exists() and "tuned siren" in stdout
