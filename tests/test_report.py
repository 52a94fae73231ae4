"""siren2.report and ``siren2 report`` / ``--report``: every run kind becomes a page; the page is escaped and
self-contained; in a real browser (headless Chromium, where installed) its players load, its images
decode and its console stays clean. Tiny fits on generated files."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2 import InputError
from siren2 import report as report_module
from siren2.report import detect, report

TINY = ["--epochs", "15", "--width", "16", "--layers", "2", "--quiet"]
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One output of every kind the commands write: name -> path."""
    import _pytest.capture  # noqa: F401  (run_cli needs a capsys; a module fixture builds its own)
    from siren2.cli import main

    root = tmp_path_factory.mktemp("runs")
    wav = write_hf_wav(root / "hf.wav", n=3000)
    png = write_rgb_png(root / "rgb.png", 24, 24)
    evil = root / f"{XSS}.wav"  # the slash makes it a folder "<script>alert(1)<" holding "script>.wav"
    evil.parent.mkdir()
    shutil.copy(wav, evil)
    cwd = os.getcwd()
    os.chdir(root)  # the runs record their inputs as given, relative to here
    try:
        commands = {
            "fit": ["fit", "hf.wav", "--out", "fit", *TINY],
            "image": ["fit", "rgb.png", "--out", "image", *TINY],
            "cut": ["fit", "hf.wav", "--out", "cut", "--max-samples", "2000", *TINY],
            "compare": ["compare", "hf.wav", "--models", "siren,siren2", "--out", "compare", *TINY],
            "many": ["fit-many", "hf.wav", "rgb.png", "--out", "many", *TINY],
            "denoise": ["denoise", "hf.wav", "--out", "denoise", "--bandwidths", "1", "--prior-weights", "0", *TINY],
            "restore-eval": ["restore-eval", "hf.wav", "--noise-std", "0.05", "--models", "siren2", "--seeds", "0",
                             "--out", "eval", *TINY],
            "tune": ["tune", "hf.wav", "--model", "siren", "--out", "tune", *TINY],
            "compress": ["compress", "hf.wav", "--out", "hf.s2", "--bitrate", "96", "--epochs", "15", "--layers", "2",
                         "--quiet"],
            "xss": ["fit", f"{XSS}.wav", "--out", "xss", *TINY],
        }
        for name, argv in commands.items():
            assert main(argv + ["--report"]) == 0, name
    finally:
        os.chdir(cwd)
    out = {name: root / argv[argv.index("--out") + 1] for name, argv in commands.items()}
    return out


def page_of(path: Path) -> Path:
    return path.with_name(path.name + ".html") if path.is_file() else path / "report.html"


def test_every_kind_is_recognised_and_gets_its_page(runs):
    kinds = {name: detect(p if not p.is_file() else p.with_name(p.name + ".json")) for name, p in runs.items()}
    assert kinds == {"fit": "fit", "image": "fit", "compare": "compare", "many": "many", "denoise": "fit",
                     "restore-eval": "restore-eval", "tune": "tune", "compress": "compress", "xss": "fit",
                     "cut": "fit"}
    for name, path in runs.items():
        html = page_of(path).read_text()
        assert html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in html, name
        assert not re.search(r"""(src|href)=["']?(https?:|//)""", html), f"{name}: the page fetches something"


def test_the_page_shows_the_models_and_their_metrics(runs):
    fit = json.loads((runs["fit"] / "metrics.json").read_text())["metrics"]
    html = page_of(runs["fit"]).read_text()
    assert "siren2" in html and f"{fit['psnr_paper']:.2f}" in html and html.count("<audio") == 3  # target, fit, residual
    cmp = page_of(runs["compare"]).read_text()
    assert 'class="sortable"' in cmp and ">siren<" in cmp and ">siren2<" in cmp and cmp.count("<audio") == 5
    image = page_of(runs["image"]).read_text()
    assert image.count("<img") == 6 and "<audio" not in image  # target, fit, 2 crops, error map, curve
    assert "tuning siren" in page_of(runs["tune"]).read_text()
    assert "decoded" in page_of(runs["compress"]).read_text()


def test_the_target_is_read_as_the_run_read_it(runs):
    """A fit of the first 2,000 of 3,000 samples: the page's target, fit and residual are all 2,000 long."""
    html = page_of(runs["cut"]).read_text()
    lengths = {len(m) for m in re.findall(r'audio/wav;base64,([^"]+)', html)}
    assert html.count("<audio") == 3 and len(lengths) == 1
    assert lengths.pop() < 4 * (2000 * 2 + 100) / 3 + 8  # 16-bit samples, base64: not the whole file


def test_names_from_a_run_are_escaped_and_nothing_of_a_run_runs(runs):
    html = page_of(runs["xss"]).read_text()
    assert XSS not in html and html.count("<script>") == 1  # the page's own script only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.wav" in html
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy.split("script-src")[1]


def test_long_audio_is_capped_with_a_note(runs, monkeypatch):
    monkeypatch.setattr(report_module, "MAX_AUDIO_SECONDS", 0.05)  # the 3,000-sample clip lasts 0.19 s
    html = report([runs["fit"]])
    assert "the first 0.05 s of 0.2 s" in html
    lengths = [len(m) for m in re.findall(r'audio/wav;base64,([^"]+)', html)]
    assert lengths and max(lengths) < 4 * (0.05 * 16_000 * 2 + 100) / 3 + 8  # 16-bit samples, base64


def test_a_folder_that_is_not_a_run_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(InputError, match="not a siren2 output"):
        report([tmp_path])
    code, _, err = run_cli(capsys, "report", tmp_path, "--out", tmp_path / "page.html")
    assert code == 2 and len(err) == 1 and str(tmp_path) in err[0] and not (tmp_path / "page.html").exists()
    code, _, err = run_cli(capsys, "report", tmp_path / "missing", "--out", tmp_path / "page.html")
    assert code == 2 and "not found" in err[0]


def test_report_command_puts_runs_side_by_side(runs, tmp_path, capsys):
    out = tmp_path / "both.html"
    code, stdout, err = run_cli(capsys, "report", runs["fit"], runs["compare"], "--out", out)
    assert code == 0, err
    html = out.read_text()
    assert html.count('<div class="run">') == 2 and "comparison" in html and str(out) in stdout


# ---------------------------------------------------------------------------- in a real browser

def browser():
    """Headless Chromium through Selenium, or a skip with the reason."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chrome or not driver:
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1800",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(options=options, service=Service(driver))
    except Exception as e:  # noqa: BLE001 - a browser that cannot start here: say why
        pytest.skip(f"Chromium does not start here: {str(e).splitlines()[0]}")


@pytest.fixture(scope="module")
def chrome():
    driver = browser()
    yield driver
    driver.quit()


def loaded(driver, path: Path) -> dict:
    """Open ``path``; wait until every audio element has its metadata; what the page holds."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1 || a.error)"))
    return driver.execute_script("""
        return {audio: Array.from(document.querySelectorAll('audio')).map(a => [a.duration, a.error && a.error.code]),
                images: Array.from(document.querySelectorAll('img')).map(i => i.complete && i.naturalWidth > 0),
                text: document.body.innerText, xss: window.__xss === undefined};""")


@pytest.mark.parametrize("name", ["fit", "image", "compare", "many", "denoise", "restore-eval", "tune", "compress"])
def test_in_chromium_players_load_images_decode_and_the_console_is_clean(chrome, runs, name):
    page = page_of(runs[name])
    state = loaded(chrome, page)
    assert all(d > 0 and err is None for d, err in state["audio"]), state["audio"]
    assert state["images"] and all(state["images"])
    assert "psnr_paper" in state["text"]
    errors = [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    shots = Path(os.environ.get("SIREN2_ARTIFACTS", page.parent))
    shots.mkdir(parents=True, exist_ok=True)
    assert chrome.save_screenshot(str(shots / f"report_{name}.png"))  # kept for a person to look at


def test_in_chromium_an_evil_file_name_is_text_and_tables_sort(chrome, runs):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    state = loaded(chrome, page_of(runs["xss"]))
    assert XSS in state["text"] and state["xss"]
    with pytest.raises(NoAlertPresentException):
        chrome.switch_to.alert.text  # noqa: B018
    loaded(chrome, page_of(runs["compare"]))
    header = chrome.find_elements(By.CSS_SELECTOR, "table.sortable th")[1]  # psnr_paper
    firsts = []
    for _ in range(2):
        header.click()
        firsts.append(chrome.find_element(By.CSS_SELECTOR, "table.sortable tbody tr td").text)
    values = json.loads((runs["compare"] / "table.json").read_text())["rows"]
    ranked = sorted(values, key=lambda r: r["psnr_paper"]["mean"])
    assert firsts == [ranked[-1]["model"], ranked[0]["model"]]  # descending, then ascending
