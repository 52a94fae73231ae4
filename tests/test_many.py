"""``siren2 fit-many`` and siren2.many: one sub-folder per input, an index, bad inputs recorded,
resume after a kill, workers."""

import json

import pytest

from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2.errors import InputError
from siren2.many import expand_inputs, folder_names

TINY = ["--epochs", "3", "--width", "8", "--layers", "2", "--quiet"]
OUTPUTS = {"metrics.json", "config.json", "model.safetensors"}


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_hf_wav(folder / "a.wav")
    write_rgb_png(folder / "b.png")
    (folder / "c.wav").write_bytes(b"RIFF not really a wave file")
    return folder


def test_a_bad_file_among_good_ones_is_recorded_and_the_others_finish(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "fit-many", inputs, "--out", out, *TINY)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error: 1 input(s) failed") and "c.wav" in err[0]
    assert OUTPUTS <= {p.name for p in (out / "a").iterdir()} and OUTPUTS <= {p.name for p in (out / "b").iterdir()}
    assert not (out / "c").exists()
    index = json.loads((out / "index.json").read_text())
    status = {f["folder"]: f["status"] for f in index["fits"]}
    assert status == {"a": "ok", "b": "ok", "c": "failed"}
    bad = next(f for f in index["fits"] if f["status"] == "failed")
    assert "c.wav" in bad["error"] and "\n" not in bad["error"]
    assert "failed: " in (out / "index.md").read_text()
    assert index["settings"]["model"] == "siren2"


def test_resume_keeps_finished_fits_and_redoes_what_a_kill_left(inputs, tmp_path, capsys):
    (inputs / "c.wav").unlink()
    out = tmp_path / "out"
    assert run_cli(capsys, "fit-many", inputs, "--out", out, *TINY)[0] == 0
    # as if killed while writing b: its folder never appeared (atomic rename), its staging stayed
    stamp = (out / "a" / "config.json").stat().st_mtime_ns
    import shutil

    shutil.rmtree(out / "b")
    (out / ".b.tmp-deadbeef0000").mkdir()
    code, stdout, _ = run_cli(capsys, "fit-many", inputs, "--out", out, *TINY)
    assert code == 2  # without --resume an existing sub-folder is refused
    code, stdout, _ = run_cli(capsys, "fit-many", inputs, "--out", out, "--resume", *TINY)
    assert code == 0 and "2 of 2 fits done, 1 kept" in stdout
    status = {f["folder"]: f["status"] for f in json.loads((out / "index.json").read_text())["fits"]}
    assert status == {"a": "kept", "b": "ok"}
    assert (out / "a" / "config.json").stat().st_mtime_ns == stamp  # not refitted
    assert OUTPUTS <= {p.name for p in (out / "b").iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".") and "tmp" in p.name]


def test_workers_give_the_same_metrics_as_one_process(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(3):
        write_hf_wav(folder / f"clip{k}.wav", n=1000 + 200 * k)
    results = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        assert run_cli(capsys, "fit-many", folder, "--out", out, "--workers", str(workers), *TINY)[0] == 0
        results[workers] = {f["folder"]: f["metrics"]["psnr_paper"]
                            for f in json.loads((out / "index.json").read_text())["fits"]}
    assert results[1] == pytest.approx(results[2], abs=1e-4)


def test_inputs_expand_from_files_folders_and_globs(inputs, tmp_path):
    (inputs / "notes.txt").write_text("not a signal\n")
    assert [p.name for p in expand_inputs([str(inputs)])] == ["a.wav", "b.png", "c.wav"]
    assert [p.name for p in expand_inputs([str(inputs / "*.wav"), str(inputs / "a.wav")])] == ["a.wav", "c.wav"]
    with pytest.raises(InputError, match="matches no file"):
        expand_inputs([str(inputs / "*.flac")])
    with pytest.raises(InputError, match="no such file or folder"):
        expand_inputs([str(tmp_path / "missing.wav")])
    assert folder_names([tmp_path / "x" / "a.wav", tmp_path / "a.png", tmp_path / "b.wav"]) == ["a_wav", "a_png", "b"]
