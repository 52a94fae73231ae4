"""``siren2 fit-many`` and siren2.many: one sub-folder per input, an index, bad inputs recorded,
resume after a kill, workers, batches of same-grid inputs."""

import json

import numpy as np
import pytest
import soundfile as sf

from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2.errors import InputError
from siren2.many import expand_inputs, folder_names
from siren2.records import RecordStore

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


def records(out):
    """fit-many's index records (index.jsonl), in the order they were stored."""
    return RecordStore(out / "index.jsonl").records()


def test_a_bad_file_among_good_ones_is_recorded_and_the_others_finish(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "fit-many", inputs, "--out", out, *TINY)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error: 1 input(s) failed") and "c.wav" in err[0]
    assert OUTPUTS <= {p.name for p in (out / "a").iterdir()} and OUTPUTS <= {p.name for p in (out / "b").iterdir()}
    assert not (out / "c").exists()
    index = records(out)
    status = {f["folder"]: f["status"] for f in index}
    assert status == {"a": "ok", "b": "ok", "c": "failed"}
    bad = next(f for f in index if f["status"] == "failed")
    assert "c.wav" in bad["error"] and "\n" not in bad["error"] and not bad["complete"]
    assert "failed: " in (out / "index.md").read_text()
    assert all(f["settings"]["options"]["epochs"] == int(TINY[TINY.index("--epochs") + 1]) for f in index)


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
    status = {f["folder"]: f["status"] for f in records(out)}
    assert status == {"a": "kept", "b": "ok"}
    assert (out / "a" / "config.json").stat().st_mtime_ns == stamp  # not refitted
    assert OUTPUTS <= {p.name for p in (out / "b").iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".") and "tmp" in p.name]


def test_resume_with_other_settings_is_refused_before_any_work(inputs, tmp_path, capsys):
    (inputs / "c.wav").unlink()
    out = tmp_path / "out"
    assert run_cli(capsys, "fit-many", inputs, "--out", out, *TINY)[0] == 0
    before = (out / "index.jsonl").read_bytes()
    code, _, err = run_cli(capsys, "fit-many", inputs, "--out", out, "--resume", *TINY, "--seed", "3")
    assert code == 2 and len(err) == 1 and "other options" in err[0] and "--force" in err[0]
    assert (out / "index.jsonl").read_bytes() == before


def test_a_finished_folder_without_its_record_is_fitted_again_on_resume(inputs, tmp_path, capsys):
    (inputs / "c.wav").unlink()
    out = tmp_path / "out"
    assert run_cli(capsys, "fit-many", inputs, "--out", out, *TINY)[0] == 0
    (out / "index.jsonl").write_text("\n".join(line for line in (out / "index.jsonl").read_text().splitlines()
                                               if '"key":"a"' not in line) + "\n")  # a kill before a's record
    code, stdout, _ = run_cli(capsys, "fit-many", inputs, "--out", out, "--resume", *TINY)
    assert code == 0 and "2 of 2 fits done, 1 kept" in stdout
    assert {f["folder"]: f["status"] for f in records(out)} == {"a": "ok", "b": "kept"}


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
                            for f in records(out)}
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


def same_length_clips(folder, count=3, n=800, sr=16_000):
    """``count`` different clips of ``n`` samples: two tones each at clip-dependent frequencies."""
    folder.mkdir()
    t = np.arange(n) / sr
    for k in range(count):
        x = 0.5 * np.sin(2 * np.pi * (900 + 700 * k) * t) + 0.3 * np.sin(2 * np.pi * (2500 + 400 * k) * t + k)
        sf.write(str(folder / f"clip{k}.wav"), x, sr, subtype="PCM_16")
    return folder


def test_a_batch_of_same_grid_inputs_equals_one_fit_at_a_time(tmp_path, capsys):
    folder = same_length_clips(tmp_path / "in")
    write_hf_wav(folder / "other.wav", n=700)  # another grid: fitted alone
    (folder / "bad.wav").write_bytes(b"RIFF not really a wave file")
    fits = {}
    for batch in ("1", "4"):
        out = tmp_path / f"out{batch}"
        figures = ["--no-figures"] if batch == "4" else []
        code, _, err = run_cli(capsys, "fit-many", folder, "--out", out, "--batch", batch, "--epochs", "20",
                               "--width", "16", "--layers", "2", "--quiet", *figures)
        assert code == 2 and "bad.wav" in err[0]  # the bad input is recorded, the others finish
        fits[batch] = {f["folder"]: f for f in records(out)}
        assert {k: f["status"] for k, f in fits[batch].items()} == {
            "bad": "failed", "clip0": "ok", "clip1": "ok", "clip2": "ok", "other": "ok"}
        assert not [p for p in out.iterdir() if p.name.startswith(".") and "tmp" in p.name]
    for name in ("clip0", "clip1", "clip2", "other"):
        # equal up to float32 rounding, which vmapped GEMMs round otherwise (AVX-512: 0.003 dB in 20 epochs)
        assert fits["4"][name]["metrics"]["psnr_paper"] == pytest.approx(fits["1"][name]["metrics"]["psnr_paper"],
                                                                         abs=1e-2)
        assert fits["4"][name]["epochs_run"] == 20
    assert [fits["4"][f"clip{k}"].get("batch") for k in range(3)] == [3, 3, 3]
    assert "batch" not in fits["4"]["other"] and "batch" not in fits["1"]["clip0"]
    assert {p.name for p in (tmp_path / "out1" / "clip1").glob("*.png")} == {"psnr.png", "audio.png"}
    assert not list((tmp_path / "out4" / "clip1").glob("*.png"))  # --no-figures
    runtime = json.loads((tmp_path / "out4" / "clip1" / "config.json").read_text())["runtime"]
    assert runtime["engine"] == "batched" and runtime["batch"] == 3
    # the three clips really were different fits: distinct scores and WINNER scales of their own
    assert len({round(fits["4"][f"clip{k}"]["metrics"]["psnr_paper"], 3) for k in range(3)}) == 3


def test_resume_keeps_a_batch_s_finished_fits_with_their_numbers(tmp_path, capsys):
    folder = same_length_clips(tmp_path / "in")
    out = tmp_path / "out"
    args = ("fit-many", folder, "--out", out, *TINY)
    assert run_cli(capsys, *args)[0] == 0
    import shutil

    shutil.rmtree(out / "clip1")  # a kill before clip1's folder was renamed into place
    first = {f["folder"]: f for f in records(out)}
    code, stdout, _ = run_cli(capsys, *args, "--resume")
    assert code == 0 and "3 of 3 fits done, 2 kept" in stdout
    again = {f["folder"]: f for f in records(out)}
    assert [again[f"clip{k}"]["status"] for k in range(3)] == ["kept", "ok", "kept"]
    assert again["clip0"]["metrics"] == first["clip0"]["metrics"]  # read back from the folder
    assert "kept" in (out / "index.md").read_text() and "–" not in (out / "index.md").read_text().split("clip0")[1]


@pytest.mark.parametrize("argv, message", [
    (("--batch", "0"), "--batch must be at least 1"),
    (("--backend", "ray", "--workers", "2"), "--workers applies to the local backend"),
    (("--address", "auto"), "--address applies to --backend ray"),
])
def test_bad_many_options_are_one_line_errors(inputs, tmp_path, capsys, argv, message):
    code, _, err = run_cli(capsys, "fit-many", inputs, "--out", tmp_path / "out", *argv, *TINY)
    assert code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()


def test_ctrl_c_ends_the_run_writes_the_index_and_resume_fits_the_rest(tmp_path, capsys, monkeypatch):
    import siren2.many as many

    folder = same_length_clips(tmp_path / "in")
    real, calls = many.run_batch, []

    def interrupted_second(*args, **kwargs):  # Ctrl-C during the second fit: fit() returns it cut short
        runs = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            runs[0].result.stopped_by = "interrupted"
        return runs

    monkeypatch.setattr(many, "run_batch", interrupted_second)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "fit-many", folder, "--out", out, "--batch", "1", *TINY)
    assert code == 130 and "1 of 3 inputs done" in err[-1] and "--resume" in err[-1]
    assert len(calls) == 2  # the third fit never started
    assert (out / "clip0").is_dir() and not (out / "clip1").exists() and not (out / "clip2").exists()
    status = [f["status"] for f in records(out)]
    assert status == ["ok", "interrupted", "interrupted"] and "interrupted" in (out / "index.md").read_text()
    monkeypatch.setattr(many, "run_batch", real)
    code, stdout, _ = run_cli(capsys, "fit-many", folder, "--out", out, "--batch", "1", "--resume", *TINY)
    assert code == 0 and "3 of 3 fits done, 1 kept" in stdout
