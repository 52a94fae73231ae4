"""``siren2 fit --tensorboard DIR``: the scalars of every epoch and the result, readable by TensorBoard."""

from __future__ import annotations

import pytest

from helpers import run_cli, write_hf_wav, write_rgb_png

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (pip install 'siren2[tensorboard]')")


def events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "audio": 0, "images": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("kind", ["audio", "image"])
def test_fit_logs_loss_psnr_and_lr_per_epoch_then_the_result(tmp_path, capsys, kind):
    src = write_hf_wav(tmp_path / "a.wav", n=1500) if kind == "audio" else write_rgb_png(tmp_path / "a.png", 12, 12)
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--epochs", "12", "--width", "16",
                                "--layers", "2", "--tensorboard", tmp_path / "tb", "--quiet")
    assert code == 0, err
    acc = events(tmp_path / "tb" / "a")
    tags = acc.Tags()
    assert {"train/loss", "train/psnr_paper", "train/lr", "final/psnr_paper"} <= set(tags["scalars"])
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == list(range(12)) and all(e.value > 0 for e in loss)
    assert len(acc.Scalars("train/lr")) == 12
    assert (set(tags["audio"]) if kind == "audio" else set(tags["images"])) == {"target", "fit"}
    assert "tensorboard:" in stdout
