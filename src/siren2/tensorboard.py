"""TensorBoard logging of a fit (``--tensorboard DIR``; the ``tensorboard`` extra).

    board = TensorBoard("runs/tb")                 # one event file per fit, under DIR
    run = fit_file(options, out, callbacks=[board])
    board.finish(run, target)                      # the learning rate per epoch; audio or images of the result

During training: the loss (MSE) and psnr_paper of every epoch. At the end: the scheduled learning rate
of every epoch (with the divergence guard's cuts), and the target and the fit as audio (at most a
minute) or images.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["TensorBoard", "MAX_AUDIO_SECONDS"]

MAX_AUDIO_SECONDS = 60.0


class TensorBoard:
    """A fit callback ``cb(epoch, model, loss)`` that writes TensorBoard scalars, then the results.

    Parameters
    ----------
    logdir : str or os.PathLike
        The folder TensorBoard reads (``tensorboard --logdir DIR``).
    name : str
        The run's name under it (a sub-folder).

    Raises
    ------
    InputError
        Without the ``tensorboard`` package (``pip install 'siren2[tensorboard]'``).
    """

    def __init__(self, logdir, name: str = "fit") -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise InputError("--tensorboard needs the tensorboard package: pip install 'siren2[tensorboard]'") from None
        self.path = Path(logdir) / name
        self.writer = SummaryWriter(log_dir=str(self.path))

    def __call__(self, epoch: int, model, loss: float) -> None:
        self.writer.add_scalar("train/loss", loss, epoch)
        self.writer.add_scalar("train/psnr_paper", 10 * math.log10(1 / loss) if loss > 0 else math.inf, epoch)

    def finish(self, run, target=None) -> Path:
        """Log the run's learning rate per epoch and its output (and ``target``'s); close the writer.

        Parameters
        ----------
        run : siren2.runs.Run
            The finished run.
        target : Signal, optional
            The input, logged beside the fit.

        Returns
        -------
        Path
            The run's event folder.
        """
        if run.result is not None:
            for epoch, lr in enumerate(run.result.lr):
                self.writer.add_scalar("train/lr", lr, epoch)
        for key, value in run.metrics.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(f"final/{key}", value, 0)
        for label, sig in (("target", target), ("fit", run.reconstruction)):
            if sig is None:
                continue
            if sig.kind == "audio":
                n = min(sig.num_points, int(MAX_AUDIO_SECONDS * sig.sample_rate))
                x = sig.values[:n].mean(axis=1) * (sig.peak or 1.0)
                self.writer.add_audio(label, np.clip(x, -1, 1)[None].astype(np.float32), 0, sample_rate=sig.sample_rate)
            elif sig.kind == "image":
                h, w = sig.grid
                img = (np.clip(sig.values.reshape(h, w, -1), -1, 1) + 1) / 2
                self.writer.add_image(label, img if img.shape[2] != 2 else img[:, :, :1], 0, dataformats="HWC")
        self.writer.flush()
        self.writer.close()
        return self.path
