"""Fuzz cases for the ``siren2`` command line, shared by tests/test_fuzz.py (Hypothesis, bounded)
and benchmarks/fuzz.py (the long run).

A case is drawn from a seed: a damaged input file (random bytes, or a valid wav/flac/ogg/png/jpeg/
bmp/tiff mutated: bytes flipped, cut, inserted, size fields set to 0 or 2³²−1), a damaged mask for
``inpaint``, a damaged checkpoint for ``render``, or random option values for ``fit``, ``compare``,
``denoise`` and ``restore-eval`` on a valid file. :func:`run_case` runs it in-process and returns
what a user would see; :func:`violations` lists what breaks the contract: an exception escaping
``main`` (a traceback), an exit code other than 0 or 2, an error of more than one line, output
left behind by a failed run, or a successful run with its outputs incomplete.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from siren2.cli import main

TINY = ["--epochs", "2", "--width", "8", "--layers", "2", "--quiet"]
KINDS = ("file", "mask", "checkpoint", "options")
FORMATS = ("wav", "flac", "ogg", "png", "jpg", "bmp", "tif", "npy")
RUN_FILES = {"reconstruction", "metrics.json", "config.json", "model.safetensors"}


@lru_cache(maxsize=None)
def valid_bytes(fmt: str) -> bytes:
    """A small valid file of format ``fmt`` (for ``npy``: a 0/1 mask of 200 values)."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"x.{fmt}"
        if fmt in ("wav", "flac", "ogg"):
            x = 0.5 * np.sin(np.arange(200) * 0.7) + 0.1 * rng.standard_normal(200)
            subtype = {"wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS"}[fmt]
            sf.write(str(p), x, 8000, subtype=subtype)
        elif fmt == "npy":
            np.save(p, (rng.random(200) > 0.3).astype(np.float32))
        elif fmt == "tif":
            Image.fromarray(rng.integers(0, 65535, size=(10, 12), dtype=np.uint16)).save(p)
        else:
            mode_shape = (10, 12, 3) if fmt in ("jpg", "bmp") else (10, 12)
            Image.fromarray(rng.integers(0, 256, size=mode_shape, dtype=np.uint8)).save(p)
        return p.read_bytes()


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to four random edits: flip bytes, cut, insert, delete, scramble the header, set a
    32-bit field near the start to 0 or 2³²−1 (sizes, counts, dimensions)."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        op = rng.integers(0, 6)
        n = len(b)
        if n == 0:
            b += bytes(rng.integers(0, 256, size=16, dtype=np.uint8))
            continue
        i = int(rng.integers(0, n))
        if op == 0:  # flip a few bytes
            for j in rng.integers(0, n, size=int(rng.integers(1, 9))):
                b[j] ^= int(rng.integers(1, 256))
        elif op == 1:  # cut
            del b[i:]
        elif op == 2:  # insert
            b[i:i] = bytes(rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8))
        elif op == 3:  # delete a range
            del b[i:i + int(rng.integers(1, 64))]
        elif op == 4:  # scramble the header
            k = min(n, 64)
            b[:k] = bytes(rng.integers(0, 256, size=k, dtype=np.uint8))
        else:  # a size field at 0 or 2³²−1
            j = int(rng.integers(0, max(1, min(n - 4, 96))))
            b[j:j + 4] = (b"\xff\xff\xff\xff" if rng.random() < 0.5 else b"\x00\x00\x00\x00")[: max(0, n - j)]
    return bytes(b)


def damaged_file(rng: np.random.Generator) -> tuple[str, bytes]:
    """(file name, bytes): random bytes (a fifth of the time) or a mutated valid file."""
    fmt = str(rng.choice(FORMATS[:-1]))
    suffix = fmt if rng.random() < 0.9 else str(rng.choice(FORMATS + ("txt", "")))
    name = f"input.{suffix}" if suffix else "input"
    if rng.random() < 0.2:
        return name, bytes(rng.integers(0, 256, size=int(rng.integers(0, 4096)), dtype=np.uint8))
    return name, mutate(valid_bytes(fmt), rng)


# option -> values a user might type, good and bad
OPTION_VALUES = {
    "--epochs": ["-1", "0", "1", "3", "x", "1e3"],
    "--width": ["-4", "0", "1", "3", "8", "10000000", "2.5"],
    "--layers": ["-1", "0", "1", "2", "3"],
    "--lr": ["-1", "0", "nan", "inf", "1e-3", "10", "1e30"],
    "--target-psnr": ["nan", "-inf", "-5", "0", "30", "500"],
    "--time-budget": ["-1", "0", "nan", "0.001", "5"],
    "--max-samples": ["-3", "0", "1", "7", "100"],
    "--max-points": ["-1", "0", "1", "50", "1000"],
    "--batch-size": ["-1", "0", "1", "13", "100000"],
    "--chunk-size": ["-1", "0", "1", "17"],
    "--seed": ["-1", "0", "7", "99999999999999999999"],
    "--lr-gamma": ["-0.5", "0", "0.9", "nan"],
    "--omega0": ["-30", "0", "nan", "30", "1e9"],
    "--omega-first": ["0", "3000", "-1", "inf"],
    "--s0": ["-1", "0", "nan", "50", "1e12"],
    "--s1": ["-1", "0", "inf", "0.5"],
    "--schedule": ["paper", "fast", "cosine", ""],
    "--rule": ["code", "text", "sqrtc", "auto", "none"],
    "--centroid": ["flattened", "grid", "x"],
    "--model": ["siren", "siren2", "finer", "finer++", "finer2", "wire", "gauss", "relu_pe", "siren_rff", "nope"],
    "--preset": ["paper_audio", "paper_image", "nope"],
    "--device": ["cpu", "cuda", "mps", "tpu"],
}
COMMAND_OPTIONS = {  # what each command takes, beyond its file and --out
    "fit": list(OPTION_VALUES),
    "compare": ["--epochs", "--width", "--layers", "--max-samples", "--max-points", "--target-psnr", "--time-budget",
                "--schedule", "--preset", "--device"],
    "denoise": ["--epochs", "--width", "--layers", "--max-points", "--lr", "--schedule", "--preset", "--model",
                "--seed", "--device"],
    "restore-eval": ["--epochs", "--width", "--layers", "--max-samples", "--max-points", "--schedule", "--preset",
                     "--device"],
}


@dataclass
class Case:
    kind: str
    seed: int
    argv: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # name -> bytes, written before the run
    out: str = "out"  # what the command writes (a folder, or for render a file)
    writes_folder: bool = True


def make_case(seed: int, kind: str | None = None) -> Case:
    """The fuzz case of ``seed`` (its kind drawn too, unless given)."""
    rng = np.random.default_rng(seed)
    kind = kind or str(rng.choice(KINDS))
    case = Case(kind, seed)
    if kind == "file":
        name, data = damaged_file(rng)
        case.files[name] = data
        case.argv = ["fit", name, "--out", "out", *TINY]
    elif kind == "mask":
        audio = rng.random() < 0.5
        signal = "clip.wav" if audio else "img.png"
        case.files[signal] = valid_bytes("wav" if audio else "png")
        fmt = str(rng.choice(["npy", "wav"] if audio else ["npy", "png"]))
        mask = valid_bytes("npy") if fmt == "npy" else valid_bytes(fmt)
        case.files[f"mask.{fmt}"] = mutate(mask, rng) if rng.random() < 0.8 else mask
        case.argv = ["inpaint", signal, "--mask", f"mask.{fmt}", "--out", "out", *TINY]
    elif kind == "checkpoint":
        target = str(rng.choice(["model.safetensors", "config.json"]))
        for name, data in checkpoint_files().items():
            case.files[f"run/{name}"] = mutate(data, rng) if name == target else data
        case.out, case.writes_folder = "x.wav", False
        case.argv = ["render", "run", "--out", "x.wav"] + (["--sample-rate", str(rng.choice(
            ["8000", "16000", "0", "-5", "99999999999"]))] if rng.random() < 0.5 else [])
    else:
        command = str(rng.choice(list(COMMAND_OPTIONS)))
        audio = rng.random() < 0.7
        signal = "clip.wav" if audio else "img.png"
        case.files[signal] = valid_bytes("wav" if audio else "png")
        argv = [command, signal, "--out", "out", "--quiet", "--epochs", "2", "--width", "8"]
        if command == "compare":
            argv += ["--models", str(rng.choice(["siren,siren2", "siren2", "siren,siren", "nope", ""]))]
        if command == "restore-eval":
            argv += [str(rng.choice(["--noise-std", "--missing", "--noise-snr"])),
                     str(rng.choice(["0.1", "0", "-1", "1.5", "nan"])), "--seeds", "0"]
        options = COMMAND_OPTIONS[command]
        for opt in rng.choice(options, size=int(rng.integers(1, 5)), replace=False):
            argv += [str(opt), str(rng.choice(OPTION_VALUES[str(opt)]))]
        case.argv = argv
    return case


@lru_cache(maxsize=None)
def _checkpoint() -> tuple[tuple[str, bytes], ...]:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "clip.wav"
        src.write_bytes(valid_bytes("wav"))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["fit", str(src), "--out", str(Path(d) / "run"), *TINY]) == 0
        return tuple((n, (Path(d) / "run" / n).read_bytes()) for n in ("config.json", "model.safetensors"))


def checkpoint_files() -> dict[str, bytes]:
    """config.json and model.safetensors of a tiny valid ``siren2 fit`` run."""
    return dict(_checkpoint())


@dataclass
class Outcome:
    code: int | None
    stderr: str
    escaped: str | None  # the traceback of an exception that escaped main()
    out_exists: bool
    out_names: set[str]
    litter: list[str]  # hidden staging or temporary files left in the working folder


def run_case(case: Case, root: Path | None = None) -> Outcome:
    """Write the case's files into a fresh folder and run ``siren2`` on them there."""
    with tempfile.TemporaryDirectory(dir=root) as d:
        d = Path(d)
        for name, data in case.files.items():
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(data)
        argv = [str(d / a) if (d / a).exists() or a in ("out", "x.wav") else a for a in case.argv]
        err, escaped, code = io.StringIO(), None, None
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse: a usage error
                code = e.code if isinstance(e.code, int) else 2
            except BaseException:  # noqa: BLE001 - the point: nothing may escape
                escaped = traceback.format_exc()
        out = d / case.out
        names = {p.name for p in out.iterdir()} if out.is_dir() else set()
        litter = [p.name for p in d.rglob(".*")]
        return Outcome(code, err.getvalue(), escaped, out.exists(), names, litter)


def violations(case: Case, o: Outcome) -> list[str]:
    """What in ``o`` breaks the command line's contract (empty: none)."""
    bad = []
    if o.escaped is not None:
        bad.append("exception escaped main(): " + o.escaped.strip().splitlines()[-1])
    elif o.code not in (0, 2):
        bad.append(f"exit code {o.code}")
    if "Traceback" in o.stderr:
        bad.append("traceback on stderr")
    lines = [ln for ln in o.stderr.splitlines() if ln.strip() and not ln.startswith("siren2: warning:")]
    if o.code == 2:
        usage = lines and lines[0].startswith("usage:")  # argparse: usage line(s), then one error line
        if not lines or not (lines[-1].startswith("siren2: error:") or (usage and ": error:" in lines[-1])):
            bad.append(f"exit 2 without an error line: {lines[-1:]}")
        elif not usage and len(lines) != 1:
            bad.append(f"error of {len(lines)} lines")
        if o.out_exists:
            bad.append("a failed run left output behind")
    if o.code == 0 and case.writes_folder and case.argv[0] in ("fit", "inpaint", "denoise"):
        missing = {"metrics.json", "config.json", "model.safetensors"} - o.out_names
        if missing:
            bad.append(f"outputs missing: {sorted(missing)}")
    if o.code == 0 and not case.writes_folder and not o.out_exists:
        bad.append("render exited 0 without its file")
    if o.litter:
        bad.append(f"litter left: {o.litter}")
    return bad


def check(seed: int, kind: str | None = None, root: Path | None = None) -> list[str]:
    case = make_case(seed, kind)
    return violations(case, run_case(case, root))
