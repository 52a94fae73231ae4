"""siren2 as a codec against the codecs users have: psnr_paper against rate, per signal.

    python benchmarks/codec.py --resume                 # every signal, model and rate not yet recorded
    python benchmarks/codec.py --models siren2,siren --signals relay.wav,camera.png --resume
    python benchmarks/codec.py --from-records           # the table and figures again, encoding nothing

Signals: each shared clip, mono, its first 2 s after the leading silence (from the first sample above 1% of
the file's peak), resampled to 24 kHz (48,000 samples: 64 kbps is 2.67 bits per sample); each shared image
and three RGB images of scikit-image (astronaut, chelsea, coffee), their central 128 x 128 pixels. Each is a
signal of its own (coordinates linspace(-1, 1)), as a user's file would be.

siren2 (:func:`siren2.codec.encode`): SIREN², SIREN, FINER++ and FINER² at 16, 32, 64, 96 and 128 kbps (audio)
and 0.25, 0.5, 1, 2 and 4 bpp (images), seed 0, the ``fast`` recipe's epochs. The codecs compared, each
over its own quality settings: MP3, Opus and Vorbis through libsndfile (soundfile), each aligned on the
clip by cross-correlation first (MP3's decoder adds a delay); JPEG, WebP and AVIF through Pillow. FLAC and
PNG give the lossless sizes. BD-rate (Bjøntegaard): the average difference in rate at equal psnr_paper,
from cubic fits of log-rate against psnr_paper over the range both curves cover.

Writes benchmarks/results/codec.md, codec.jsonl (one record per encoding) and codec_<signal>.png.
"""

from __future__ import annotations

import argparse
import io
import math
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from common import DATA, add_record_options, compact_png, machine, machine_line, opened_records, results_of, \
    save_invocation, write_table

import siren2
from siren2 import Signal, load_signal, plots
from siren2 import codec as s2
from siren2.metrics import metrics
from siren2.records import RecordStore, fingerprint

NAME = "codec"
CLIPS = ("arch.wav", "gt_bach.wav", "radiation.wav", "relay.wav", "shattered.wav", "tap.wav", "tetris.wav",
         "whoosh.wav")
IMAGES = ("camera.png", "noise1.png", "rock_512.jpg", "astronaut", "chelsea", "coffee")  # the last three: skimage
MODELS = ("siren2", "siren", "finer++", "finer2")
AUDIO_RATES = (64, 32, 128, 16, 96)  # kbps at 24 kHz, in the order they run (the target rate first)
IMAGE_RATES = (0.5, 0.25, 1.0, 2.0, 4.0)  # bpp
RATE = 24_000  # the clips' rate here
SECONDS = 2.0
SIDE = 128  # the images' central crop
LEVELS = tuple(round(x, 3) for x in np.linspace(0.0, 0.9, 10))  # libsndfile's compression levels (1.0: MP3 fails)
QUALITIES = (1, 3, 5, 15, 25, 35, 50, 65, 80, 90, 95)  # Pillow's quality settings (1 and 3: the lowest rates, for 0.5 bpp)
TARGET_KBPS, TARGET_BPP = 64, 0.5
MATCH = "mp3"  # siren2's setting "mp3": the bytes MP3 takes at TARGET_KBPS, on each clip


# --------------------------------------------------------------------------------------- signals

def clip(name: str) -> Signal:
    """2 s of a shared clip after its leading silence, mono, at 24 kHz, on linspace(-1, 1)."""
    from scipy.signal import resample_poly

    full = load_signal(DATA / "audio" / name)
    x = full.values[:, 0].astype(np.float64)
    start = int(np.argmax(np.abs(x) > 0.01))
    n = int(SECONDS * full.sample_rate)
    window = x[start:start + n]
    g = math.gcd(RATE, full.sample_rate)
    y = resample_poly(window, RATE // g, full.sample_rate // g)[: int(SECONDS * RATE)]
    return Signal(values=np.clip(y, -1, 1)[:, None], grid=(len(y),), kind="audio", sample_rate=RATE, subtype="PCM_16",
                  source=name)


def image(name: str) -> Signal:
    """The central 128 x 128 pixels of a shared image or of a scikit-image one, 8-bit, on linspace(-1, 1)."""
    if "." in name:
        full = load_signal(DATA / "images" / name)
        arr = ((full.values + 1) * 127.5).reshape(*full.grid, full.channels)
    else:
        import skimage.data

        arr = getattr(skimage.data, name)().astype(np.float64)
        arr = arr if arr.ndim == 3 else arr[:, :, None]
    h, w = arr.shape[:2]
    top, left = (h - SIDE) // 2, (w - SIDE) // 2
    arr = np.round(arr[top:top + SIDE, left:left + SIDE])
    return Signal(values=(arr / 127.5 - 1).reshape(SIDE * SIDE, -1), grid=(SIDE, SIDE), kind="image", source=name)


def signals(names: list[str]) -> dict[str, callable]:
    return {n: (lambda n=n: clip(n) if n.endswith(".wav") else image(n)) for n in names}


# ---------------------------------------------------------------------------------- the codecs

def per_sample(signal: Signal, nbytes: int) -> float:
    return 8 * nbytes / signal.num_points


def scores(signal: Signal, values: np.ndarray) -> dict:
    m = metrics(signal, values)
    return {k: m[k] for k in ("psnr_paper", "psnr", "ssim", "snr", "lsd") if k in m}


def aligned(x: np.ndarray, y: np.ndarray, most: int = 4096) -> np.ndarray:
    """``y`` shifted by the lag (0 to ``most`` samples) that best matches ``x``, cut or padded to its length."""
    n = len(x)
    spectrum = np.fft.rfft(np.pad(y, (0, max(0, n + most - len(y))))[: n + most], 2 * (n + most))
    corr = np.fft.irfft(spectrum * np.conj(np.fft.rfft(x, 2 * (n + most))))[: most + 1]
    lag = int(np.argmax(corr))
    out = y[lag:lag + n]
    return np.pad(out, (0, n - len(out)))


def sound(signal: Signal, codec: str, level: float) -> tuple[int, np.ndarray]:
    """Bytes and decoded samples of ``signal`` through libsndfile's ``codec`` at compression ``level``."""
    import soundfile as sf

    fmt, subtype, extra = {"mp3": ("MP3", "MPEG_LAYER_III", {"bitrate_mode": "CONSTANT"}),
                           "opus": ("OGG", "OPUS", {}), "vorbis": ("OGG", "VORBIS", {}),
                           "flac": ("FLAC", "PCM_16", {})}[codec]
    x = signal.values[:, 0].astype(np.float64)
    buf = io.BytesIO()
    options = {} if codec == "flac" else {"compression_level": level} | extra
    sf.write(buf, x, signal.sample_rate, format=fmt, subtype=subtype, **options)
    nbytes = len(buf.getvalue())  # (the writer seeks back to finish a header)
    buf.seek(0)
    y, rate = sf.read(buf, dtype="float64", always_2d=True)
    if rate != signal.sample_rate:
        raise RuntimeError(f"{codec} decoded at {rate} Hz")
    return nbytes, aligned(x, y[:, 0])[:, None]


def picture(signal: Signal, codec: str, quality: int) -> tuple[int, np.ndarray]:
    """Bytes and decoded pixels of ``signal`` through Pillow's ``codec`` at ``quality``."""
    from PIL import Image

    h, w = signal.grid
    arr = np.round((signal.values.reshape(h, w, -1) + 1) * 127.5).astype(np.uint8)
    im = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    buf = io.BytesIO()
    fmt = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "png": "PNG"}[codec]
    im.save(buf, format=fmt, **({} if codec == "png" else {"quality": quality}))
    nbytes = len(buf.getvalue())
    buf.seek(0)
    back = np.asarray(Image.open(buf).convert(im.mode), dtype=np.float64).reshape(h * w, -1)
    return nbytes, back / 127.5 - 1


def classical_record(name: str, signal: Signal, codec: str, setting: float) -> dict:
    nbytes, values = (sound if signal.kind == "audio" else picture)(signal, codec, setting)
    return {"signal": name, "codec": codec, "setting": setting, "bytes": nbytes,
            "bits_per_sample": per_sample(signal, nbytes), "metrics": scores(signal, values)}


def mp3_at_target(records: list[dict], name: str) -> dict | None:
    """MP3 "at 64 kbps": its encoding of ``name`` with the highest rate at most TARGET_KBPS (libsndfile's
    levels give 66.8 or 57.8 kbps on a 2 s clip; the issue's "MP3 at 64 kbps" is the 14,448-byte one)."""
    bits = TARGET_KBPS * 1000 / RATE
    rows = [r for r in records if r["signal"] == name and r["codec"] == "mp3" and r["bits_per_sample"] <= bits + 1e-9]
    return max(rows, key=lambda r: r["bits_per_sample"], default=None)


def inr_record(name: str, signal: Signal, model: str, rate, store: RecordStore) -> dict:
    """One siren2 encoding at ``rate`` (kbps or bpp), or, ``rate`` "mp3", at the bytes of MP3 at 64 kbps."""
    if rate == MATCH:
        mp3 = mp3_at_target(results_of(store), name)
        if mp3 is None:
            raise SystemExit(f"codec.py: {name}: no MP3 encoding at most {TARGET_KBPS} kbps to match (run mp3 first)")
        unit = {"size": mp3["bytes"]}
    else:
        unit = {"bitrate": rate} if signal.kind == "audio" else {"bpp": rate}
    e = s2.encode(signal, model=model, seed=0, **unit)
    r = e.record
    return {"signal": name, "codec": model, "setting": rate, "bytes": r["bytes"],
            "bits_per_sample": per_sample(signal, r["bytes"]), "metrics": scores(signal, e.reconstruction.values),
            "parameters": r["parameters"], "width": r["width"], "hidden_layers": r["hidden_layers"],
            "epochs": r["epochs"], "encode_seconds": r["encode_seconds"], "notes": r["notes"]}


def settings_of(codec: str) -> dict:
    """What an encoding's record must have been made with to be kept."""
    if codec in MODELS:
        return {"siren2": siren2.__version__, "container": s2.VERSION, "bits_per_parameter": s2.BITS_PER_PARAMETER,
                "qat": [s2.QAT_FRACTION, s2.QAT_MIN_EPOCHS, s2.QAT_LR], "seconds": SECONDS, "rate": RATE,
                "side": SIDE}
    import PIL
    import soundfile

    return {"libsndfile": soundfile.__libsndfile_version__, "pillow": PIL.__version__, "seconds": SECONDS,
            "rate": RATE, "side": SIDE}


# ---------------------------------------------------------------------------------------- tables

def bd_rate(ref: list[tuple[float, float]], test: list[tuple[float, float]]) -> float | None:
    """Bjøntegaard delta rate of ``test`` against ``ref`` (points (rate, psnr)), in percent: negative where
    ``test`` needs less rate for the same psnr_paper; None where the curves share no psnr range or have
    fewer than 4 points."""
    if len(ref) < 4 or len(test) < 4:
        return None
    lo = max(min(p for _, p in ref), min(p for _, p in test))
    hi = min(max(p for _, p in ref), max(p for _, p in test))
    if hi <= lo:
        return None
    fits = [np.polyfit([p for _, p in pts], [math.log10(r) for r, _ in pts], 3) for pts in (ref, test)]
    integral = [np.polyval(np.polyint(f), hi) - np.polyval(np.polyint(f), lo) for f in fits]
    return (10 ** ((integral[1] - integral[0]) / (hi - lo)) - 1) * 100


def curve(records: list[dict], name: str, codec: str) -> list[tuple[float, float]]:
    """(bits per sample, psnr_paper) of one codec on one signal, in rate order, the monotone hull (a
    setting that costs more and scores less is dropped)."""
    pts = sorted((r["bits_per_sample"], r["metrics"]["psnr_paper"]) for r in records
                 if r["signal"] == name and r["codec"] == codec and math.isfinite(r["metrics"]["psnr_paper"]))
    hull, best = [], -math.inf
    for rate, psnr in pts:
        if psnr > best:
            hull.append((rate, psnr))
            best = psnr
    return hull


def at_most(records: list[dict], name: str, codec: str, bits: float) -> dict | None:
    """The best-scoring record of ``codec`` on ``name`` within ``bits`` bits per sample (a network: its
    encodings at numeric rates only, so the one at MP3's bytes is not a second try at the target)."""
    rows = [r for r in records if r["signal"] == name and r["codec"] == codec and r["bits_per_sample"] <= bits + 1e-9
            and r["setting"] != MATCH]
    return max(rows, key=lambda r: r["metrics"]["psnr_paper"], default=None)


def cell(rec: dict | None, unit: str) -> str:
    if rec is None:
        return "–"
    rate = rec["bits_per_sample"] * (RATE / 1000 if unit == "kbps" else 1)
    return f"{rec['metrics']['psnr_paper']:.2f} ({rate:.3g})"


def tables(store: RecordStore) -> str:
    records = results_of(store)
    run = invocation_of(store)
    audio = [n for n in CLIPS if any(r["signal"] == n for r in records)]
    imgs = [n for n in IMAGES if any(r["signal"] == n for r in records)]
    inr = [m for m in MODELS if any(r["codec"] == m for r in records)]
    lines = [
        "# siren2 as a codec: psnr_paper against rate", "",
        f"Audio: each shared clip's first {SECONDS:g} s after its leading silence, mono, resampled to {RATE // 1000} kHz "
        f"({int(SECONDS * RATE):,} samples; {TARGET_KBPS} kbps is {TARGET_KBPS * 1000 / RATE:.2f} bits per sample). "
        f"Images: the central {SIDE} x {SIDE} pixels, 8-bit (three RGB images from scikit-image). Each is its own "
        "signal on linspace(-1, 1). siren2: `siren2.codec.encode` (the network sized for the rate, fitted under the "
        "`fast` recipe, quantized with each tensor's step set by its measured sensitivity, fine-tuned with the "
        "quantization in the loop, range-coded), seed 0, one seed. MP3, Opus, Vorbis: libsndfile, each decoded and "
        "aligned on the clip by cross-correlation; JPEG, WebP, AVIF: Pillow. psnr_paper = 10·log10(1/MSE) on "
        "[-1, 1] data (images: 6.02 dB below the usual PSNR). Cells: psnr_paper (rate in kbps or bpp).", ""]
    if inr:
        params = [r["parameters"] / (SIDE * SIDE if r["signal"] in imgs else SECONDS * RATE) for r in records
                  if r["codec"] in inr]
        lines += [f"Parameters per sample: {min(params):.2f} to {max(params):.2f}, over the rates and models "
                  f"({statistics.median([r['epochs'] for r in records if r['codec'] in inr]):g} epochs).", ""]
    verdicts = []
    if audio:
        cols = inr + ["mp3", "opus", "vorbis"]
        lines += [f"## Audio at {TARGET_KBPS} kbps (at most {TARGET_KBPS * 1000 / RATE:.2f} bits per sample)", "",
                  "The last two columns: MP3 \"at 64 kbps\" (libsndfile's setting with the highest rate at most 64 "
                  "kbps: 57.8 kbps, 14,448 bytes) and SIREN² encoded into at most the same bytes.", "",
                  "| clip | " + " | ".join(cols) + " | FLAC (lossless) | MP3 at 64 kbps | SIREN² at MP3's bytes |",
                  "|---|" + "---:|" * (len(cols) + 3)]
        bits = TARGET_KBPS * 1000 / RATE
        ahead_siren, ahead_mp3, n, with_mp3 = 0, 0, 0, 0
        for name in audio:
            row = {c: at_most(records, name, c, bits) for c in cols}
            flac = next((r for r in records if r["signal"] == name and r["codec"] == "flac"), None)
            mp3 = mp3_at_target(records, name)
            matched = next((r for r in records if r["signal"] == name and r["codec"] == "siren2"
                            and r["setting"] == MATCH), None)
            lines.append(f"| {name} | " + " | ".join(cell(row[c], "kbps") for c in cols)
                         + (f" | {flac['bits_per_sample'] * RATE / 1000:.0f} kbps" if flac else " | –")
                         + f" | {cell(mp3, 'kbps')} | {cell(matched, 'kbps')} |")
            s2r, sr = row.get("siren2"), row.get("siren")
            if s2r and sr:
                n += 1
                ahead_siren += s2r["metrics"]["psnr_paper"] >= sr["metrics"]["psnr_paper"] + 3
            if matched and mp3 and matched["bytes"] <= mp3["bytes"]:
                with_mp3 += 1
                ahead_mp3 += matched["metrics"]["psnr_paper"] >= mp3["metrics"]["psnr_paper"]
        if n:
            verdicts.append(f"- SIREN² ≥ SIREN + 3 dB at {TARGET_KBPS} kbps on {ahead_siren} of {n} clips "
                            f"(target: every clip): {'met' if ahead_siren == n else 'not met'}.")
        if with_mp3:
            verdicts.append(f"- SIREN² ≥ MP3's psnr_paper in at most MP3's bytes at {TARGET_KBPS} kbps on {ahead_mp3} of "
                            f"{with_mp3} clips (target: half): {'met' if 2 * ahead_mp3 >= with_mp3 else 'not met'}"
                            + ("" if 2 * ahead_mp3 >= with_mp3 else "; MP3 wins") + ".")
        lines.append("")
    if imgs:
        cols = inr + ["jpeg", "webp", "avif"]
        lines += [f"## Images at {TARGET_BPP} bpp (at most)", "",
                  "| image | " + " | ".join(cols) + " | PNG (lossless) |", "|---|" + "---:|" * (len(cols) + 1)]
        ahead_jpeg, with_jpeg = 0, 0
        for name in imgs:
            row = {c: at_most(records, name, c, TARGET_BPP) for c in cols}
            png = next((r for r in records if r["signal"] == name and r["codec"] == "png"), None)
            lines.append(f"| {name} | " + " | ".join(cell(row[c], "bpp") for c in cols)
                         + (f" | {png['bits_per_sample']:.2f} bpp |" if png else " | – |"))
            if row.get("siren2") and row.get("jpeg"):
                with_jpeg += 1
                ahead_jpeg += row["siren2"]["metrics"]["psnr_paper"] >= row["jpeg"]["metrics"]["psnr_paper"]
        if with_jpeg:
            verdicts.append(f"- SIREN² ≥ JPEG's psnr_paper at ≤ {TARGET_BPP} bpp on {ahead_jpeg} of {with_jpeg} images "
                            f"(target: at least one): {'met' if ahead_jpeg else 'not met'}.")
        lines.append("")
    if "siren2" in inr:
        others = [c for c in inr if c != "siren2"] + ["mp3", "opus", "vorbis", "jpeg", "webp", "avif"]
        present = [c for c in others if any(r["codec"] == c for r in records)]
        lines += ["## BD-rate of SIREN² (rate change at equal psnr_paper; negative: SIREN² needs less)", "",
                  "| signal | " + " | ".join(f"vs {c}" for c in present) + " |", "|---|" + "---:|" * len(present)]
        means: dict[str, list[float]] = {c: [] for c in present}
        for name in audio + imgs:
            ref = curve(records, name, "siren2")
            cells = []
            for c in present:
                d = bd_rate(curve(records, name, c), ref)
                cells.append("–" if d is None else f"{d:+.0f}%")
                if d is not None:
                    means[c].append(d)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| mean | " + " | ".join(f"{statistics.fmean(v):+.0f}%" if v else "–" for v in means.values())
                     + " |")
        lines += ["", "A BD-rate needs 4 points on each curve over a shared psnr range; – where there are fewer.", ""]
        secs = [r["encode_seconds"] for r in records if r["codec"] == "siren2" and r["signal"] in audio
                and r["setting"] == TARGET_KBPS]
        if secs:
            verdicts.append(f"- Encode time of a {SECONDS:g} s clip (SIREN², {TARGET_KBPS} kbps): median "
                            f"{statistics.median(secs):.0f} s, {min(secs):.0f} to {max(secs):.0f} s (target: ≤ 120 s): "
                            f"{'met' if statistics.median(secs) <= 120 else 'not met'}.")
    lines += ["## Targets", ""] + (verdicts or ["- none measured yet"]) + [""]
    fits = [r["encode_seconds"] for r in records if r["codec"] in MODELS]
    lines += [f"{len(records)} encodings in all, {len(fits)} of them siren2's ({sum(fits) / 3600:.1f} h of encoding); "
              f"the last run {run.get('encodings', 0)} encodings in {run.get('wall_seconds', 0) / 60:.0f} min; "
              f"{machine_line([], run.get('machine'))}."
              + (" The last run was interrupted: the tables hold what finished." if run.get("interrupted") else "")]
    return "\n".join(lines) + "\n"


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--from-records`` writes)."""
    return tables(RecordStore(path))


def invocation_of(store: RecordStore) -> dict:
    from common import invocation

    try:
        return invocation(store)
    except FileNotFoundError:
        return {}


def figures(store: RecordStore, results: Path) -> None:
    records = results_of(store)
    for name in dict.fromkeys(r["signal"] for r in records):
        curves = {c: tuple(zip(*pts)) for c in dict.fromkeys(r["codec"] for r in records if r["signal"] == name)
                  if (pts := curve(records, name, c)) and c not in ("flac", "png")}
        audio = name.endswith(".wav")
        path = results / f"codec_{Path(name).stem}.png"
        plots.rate_distortion(curves, path, f"{name}: psnr_paper against rate", "bits per sample" if audio else "bpp",
                              marks={f"{TARGET_KBPS} kbps" if audio else f"{TARGET_BPP} bpp":
                                     TARGET_KBPS * 1000 / RATE if audio else TARGET_BPP})
        compact_png(path)


def stop(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--signals", help="comma-separated (default: every clip and image)")
    p.add_argument("--models", default=",".join(MODELS), help=f"siren2's models (default: {','.join(MODELS)})")
    p.add_argument("--classical", default="mp3,opus,vorbis,flac,jpeg,webp,avif,png", help="the codecs compared")
    add_record_options(p)
    args = p.parse_args(argv)
    store = opened_records("codec.py", NAME, args)
    if args.from_records:
        figures(store, args.results)
        print(write_table(NAME, tables(store), args.results))
        return 0
    names = args.signals.split(",") if args.signals else [*CLIPS, *IMAGES]
    unknown = [n for n in names if n not in CLIPS + IMAGES]
    if unknown:
        raise SystemExit(f"codec.py: unknown signal {unknown[0]!r}; choose from {', '.join(CLIPS + IMAGES)}")
    loaders = signals(names)
    jobs = []  # the classical codecs first (seconds), then siren2's
    for name in names:
        audio = name.endswith(".wav")
        for c in filter(None, args.classical.split(",")):
            if (c in ("mp3", "opus", "vorbis", "flac")) == audio:
                for s in ((0.0,) if c in ("flac", "png") else LEVELS if audio else QUALITIES):
                    jobs.append((name, c, s))
    models = [m for m in filter(None, args.models.split(","))]
    first = [m for m in models if m in ("siren2", "siren")]  # the targets' pair first, at the target rate first
    for group in (first, [m for m in models if m not in first]):
        for rates_audio, rates_image in zip(AUDIO_RATES, IMAGE_RATES):
            for name in names:
                jobs += [(name, m, rates_audio if name.endswith(".wav") else rates_image) for m in group]
            if rates_audio == TARGET_KBPS and "siren2" in group:  # then SIREN² at MP3's bytes (the MP3 target)
                jobs += [(name, "siren2", MATCH) for name in names if name.endswith(".wav")]
    start, done, loaded, interrupted = time.perf_counter(), 0, {}, False
    signal.signal(signal.SIGTERM, stop)  # kill (or a background run's only stop) acts as Ctrl-C: the table is written
    try:
        for name, c, s in jobs:
            key, fp = f"{name}/{c}/{s if s == MATCH else format(s, 'g')}", fingerprint(settings_of(c))
            if args.resume and store.get(key, fp) is not None:
                continue
            if name not in loaded:
                loaded[name] = loaders[name]()
            sig = loaded[name]
            rec = inr_record(name, sig, c, s, store) if c in MODELS else classical_record(name, sig, c, s)
            store.add({"key": key, "fingerprint": fp, **rec})
            done += 1
            print(f"{key}: {rec['bytes']:,} bytes, {rec['bits_per_sample']:.3g} bits per sample, psnr_paper "
                  f"{rec['metrics']['psnr_paper']:.2f}" + (f", {rec['encode_seconds']:.0f} s" if c in MODELS else ""),
                  flush=True)
    except KeyboardInterrupt:
        interrupted = True
    save_invocation(store, options={k: v for k, v in vars(args).items() if k != "results"}, machine=machine(),
                    encodings=done, wall_seconds=time.perf_counter() - start, interrupted=interrupted)
    figures(store, args.results)
    print(write_table(NAME, tables(store), args.results))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
