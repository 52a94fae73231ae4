"""`siren2 analyze` on one clip (paper_audio): its summary, and the empirical NTK's time and memory.

    python benchmarks/analyze_clip.py --clip relay.wav --epochs-at 0,50,200 --sweep s0=0,500,1000,2000,3500
    python benchmarks/analyze_clip.py --clip relay.wav --from /tmp/analyze_relay   # summarize a finished run

Writes benchmarks/results/analysis_<clip>.json and .md; the figures stay in the run folder (--out).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

import torch
from _common import DATA, machine, write_results

from siren2 import create_model, load_signal, num_parameters
from siren2.analysis import SubGrid, check_ntk_memory, eigen_spectrum, parameter_jacobian
from siren2.cli import main as cli_main


def time_ntk(signal, points: int) -> dict:
    """J, K = J·Jᵀ/n² and the eigen-spectrum of SIREN² (paper_audio) on ``points`` points, timed
    separately, with the process's peak-RSS growth against the planned bytes."""
    model = create_model("siren2", signal, preset="paper_audio", seed=0)
    grid = SubGrid.of(signal, points)
    parameter_jacobian(model, grid.coords[:64])  # warm up torch.func's tracing
    rss0 = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()
    t0 = time.perf_counter()
    J = parameter_jacobian(model, grid.coords)
    t1 = time.perf_counter()
    K = (J[0] @ J[0].T)[None] / grid.n**2
    t2 = time.perf_counter()
    del J
    eigen_spectrum(K, grid.shape)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    params = num_parameters(model)
    return {"n": grid.n, "parameters": params, "threads": torch.get_num_threads(), "jacobian_s": t1 - t0,
            "kernel_s": t2 - t1, "eigen_spectrum_s": t3 - t2, "total_s": t3 - t0, "load_average": os.getloadavg()[0],
            "planned_bytes": check_ntk_memory(grid.n, params), "peak_rss_growth_bytes": peak - rss0}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", default="relay.wav")
    p.add_argument("--from", dest="run_dir", type=Path, help="an existing 'siren2 analyze' folder to summarize")
    p.add_argument("--out", type=Path, help="run folder (default: /tmp/analyze_<clip>)")
    p.add_argument("--epochs-at", default="0,50,200")
    p.add_argument("--points", type=int, default=2048)
    p.add_argument("--sweep", default="s0=0,500,1000,2000,3500")
    p.add_argument("--sweep-epochs", type=int, default=50)
    args = p.parse_args()
    path = DATA / "audio" / args.clip
    if not path.exists():
        print(f"analyze_clip: {path} not found (the paper's clips live in ../shared/data/audio)", file=sys.stderr)
        return 2
    signal = load_signal(path, max_samples=150_000)
    timing = time_ntk(signal, args.points)  # first, so that the peak RSS is the NTK's
    print(f"NTK of {timing['n']} points x {timing['parameters']:,} parameters: {timing['total_s']:.1f} s")
    run_dir = args.run_dir
    if run_dir is None:
        run_dir = args.out or Path(f"/tmp/analyze_{path.stem}")
        code = cli_main(["analyze", str(path), "--models", "siren,siren2", "--out", str(run_dir), "--force",
                         "--epochs-at", args.epochs_at, "--points", str(args.points), "--sweep", args.sweep,
                         "--sweep-epochs", str(args.sweep_epochs), "--schedule", "paper"])
        if code:
            return code
    summary = json.loads((run_dir / "analysis.json").read_text())
    sweep_path = run_dir / "sensitivity.json"
    sweep = json.loads(sweep_path.read_text()) if sweep_path.exists() else None
    data = {"clip": args.clip, "run_dir": str(run_dir), "figures": sorted(p.name for p in run_dir.glob("*.png")),
            "ntk_timing": timing, "summary": summary, "sensitivity": sweep, "machine": machine()}
    write_results(f"analysis_{path.stem}", data, markdown(args.clip, summary, sweep, timing, data["figures"]))
    return 0


def markdown(clip: str, s: dict, sweep: dict | None, t: dict, figures: list[str]) -> str:
    unit = s["freq_unit"]
    pts = s["ntk_points"]
    lines = [f"# siren2 analyze: {clip} (first {s['signal']['points']:,} samples, preset {s['preset']})", "",
             f"NTK points: {pts['n']} samples from the middle of the clip, every {pts['stride']} (1: contiguous); "
             f"activation points: {s['activation_points']['n']}. Target on the NTK points: spectral centroid "
             f"{s[f'target_centroid_{unit}']:.0f} {unit}, half its power above "
             f"{s[f'target_median_{unit}']:.0f} {unit}.",
             "", "| model | s0 | s1 | epoch | psnr_paper of that epoch's step (dB) | NTK λ_max | NTK trace | "
             f"NTK centroid ({unit}) | NTK energy above the target's median | NTK s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in s["models"].items():
        w = m["winner"] or {}
        for r in m["snapshots"]:
            psnr = f"{10 * math.log10(1 / r['loss']):.2f}" if r["loss"] else "(init)"
            lines.append(f"| {name} | {w.get('s0', 0):.0f} | {w.get('s1', 0):.2f} | {r['epoch']} | {psnr} | "
                         f"{r['ntk_lambda_max']:.3g} | {r['ntk_trace']:.3g} | {r[f'ntk_centroid_{unit}']:.0f} | "
                         f"{r['ntk_energy_above_target_median']:.3g} | {r['ntk_seconds']:.1f} |")
    lines += ["", "Activation variances at the init (pre: ω·z; post: sin(ω·z)), per hidden layer:", "",
              "| model | layer | Var(ω·z) | Var(sin) |", "|---|---|---|---|"]
    for name, m in s["models"].items():
        for i, layer in enumerate(m["snapshots"][0]["layers"]):
            lines.append(f"| {name} | {i + 1} | {layer['pre_var']:.4g} | {layer['post_var']:.3f} |")
    if sweep:
        lines += ["", f"Sensitivity: {sweep['model']}, psnr_paper (best over {sweep['epochs']} epochs, [-1, 1] data):",
                  "", "| s0 | s1 | psnr_paper (dB) |", "|---|---|---|"]
        lines += [f"| {p['s0']:g} | {p['s1']:.3g} | {p['psnr_paper']:.2f} |" for p in sweep["points"]]
        lines += [f"| {k} (reference) | – | {v:.2f} |" for k, v in sweep["references"].items()]
    lines += ["", f"Empirical NTK timing (SIREN², paper_audio, n = {t['n']}, P = {t['parameters']:,}, "
              f"{t['threads']} CPU threads): J {t['jacobian_s']:.1f} s, K = J·Jᵀ/n² {t['kernel_s']:.1f} s, "
              f"eigendecomposition + spectrum {t['eigen_spectrum_s']:.1f} s; total {t['total_s']:.1f} s. "
              f"Planned memory {t['planned_bytes'] / 2**30:.2f} GiB; the process's peak RSS grew by "
              f"{t['peak_rss_growth_bytes'] / 2**30:.2f} GiB. Load average while timing: {t['load_average']:.1f} "
              "(other jobs shared the cores).", "", f"Figures (in the run folder): {', '.join(figures)}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
