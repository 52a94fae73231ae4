"""Seconds per training step: the paper's reference-style step against siren2's, and the GEMM limit.

    python benchmarks/step_time.py                 # all workloads, 10 timed steps each
    python benchmarks/step_time.py --workloads audio --steps 10 --big

For each workload (paper_audio: 150,000 x 1 -> 4x222 -> 1; paper_image at 512² and 256²:
2 -> 5x256 -> 3):
  (a) the reference-style step (nn.Sequential of Linear + sine module, autograd, torch Adam) in a
      separate, default Python process, as a user running the paper's code gets it; siren2's step
      is also timed in its own fresh process, for peak memory;
  (b) the reference-style step, siren2's step and siren2's autograd engine (`FitConfig(engine=
      "autograd")`) alternating in this process (siren2's malloc settings apply to all three);
  (c) the float32 matrix products of one step, same shapes, timed alone: the GEMM limit.
Medians after warm-up. Each workload's measurements are one record in
benchmarks/results/step_time[_<device>].jsonl, the table step_time[_<device>].md is made from it
(``--from-records`` writes the tables again from the records alone, measuring nothing); ``--big``
adds step_time_big_clip[_<device>].md and .jsonl. Timings are not resumed: every run measures
every workload it names again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from common import RESULTS, invocation, machine, median, records_of, results_of, save_invocation, write_table

from siren2.engine import make_step, tune_malloc
from siren2 import create_model
from siren2.records import fingerprint

WORKLOADS = {  # epochs: the paper's budget, which decides (as in fit) whether the sine step is compiled
    "paper_audio": dict(points=150_000, in_dim=1, out_dim=1, layers=4, width=222, omega_first=3000.0, epochs=1000),
    "paper_image_512": dict(points=512 * 512, in_dim=2, out_dim=3, layers=5, width=256, omega_first=30.0,
                            epochs=4000),
    "paper_image_256": dict(points=256 * 256, in_dim=2, out_dim=3, layers=5, width=256, omega_first=30.0,
                            epochs=4000),
}


class RefSine(nn.Module):
    def __init__(self, omega):
        super().__init__()
        self.omega = omega

    def forward(self, x):
        return torch.sin(self.omega * x)


def reference_model(w: dict) -> nn.Sequential:
    """The reference code's network shape: nn.Sequential of Linear + sine modules (init is irrelevant to speed)."""
    mods, d = [], w["in_dim"]
    for i in range(w["layers"]):
        mods += [nn.Linear(d, w["width"]), RefSine(w["omega_first"] if i == 0 else 30.0)]
        d = w["width"]
    mods.append(nn.Linear(d, w["out_dim"]))
    return nn.Sequential(*mods)


def workload_data(w: dict, device):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(w["points"], w["in_dim"], generator=g) * 2 - 1
    y = torch.rand(w["points"], w["out_dim"], generator=g) * 2 - 1
    return x.to(device), y.to(device)


def reference_step(w: dict, device):
    torch.manual_seed(0)
    model = reference_model(w).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x, y = workload_data(w, device)

    def step():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def siren2_step(w: dict, device, engine: str = "auto"):
    model = create_model("siren", in_dim=w["in_dim"], out_dim=w["out_dim"], hidden_layers=w["layers"],
                         width=w["width"], omega_first=w["omega_first"], seed=0).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x, y = workload_data(w, device)
    inner = make_step(model, x, y, epochs=w["epochs"], engine=engine)

    def step():
        loss = inner()
        opt.step()
        return loss

    step.engine = inner.name
    return step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(step, n: int, warmup: int, device) -> list[float]:
    for _ in range(warmup):
        step()
    sync(device)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        float(step())
        sync(device)
        out.append(time.perf_counter() - t)
    return out


def step_gemms(w: dict, width: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one training step at hidden ``width``."""
    n, d, c, L = w["points"], w["in_dim"], w["out_dim"], w["layers"]
    shapes = [(n, d, width)] + [(n, width, width)] * (L - 1) + [(n, width, c)]  # forward
    shapes += [(width, n, d)] + [(width, n, width)] * (L - 1) + [(c, n, width)]  # weight gradients
    shapes += [(n, width, width)] * (L - 1) + [(n, c, width)]  # input gradients
    return shapes


def step_flops(w: dict, width: int | None = None) -> float:
    return sum(2.0 * m * k * n for m, k, n in step_gemms(w, width or w["width"]))


def gemm_seconds(w: dict, width: int, device, reps: int) -> float:
    """Median time of the step's matrix products alone (float32, preallocated outputs)."""
    mats = []
    for m, k, n in step_gemms(w, width):
        mats.append((torch.randn(m, k, device=device), torch.randn(k, n, device=device),
                     torch.empty(m, n, device=device)))
    times = []
    for i in range(reps + 2):
        sync(device)
        t = time.perf_counter()
        for a, b, o in mats:
            torch.mm(a, b, out=o)
        sync(device)
        if i >= 2:
            times.append(time.perf_counter() - t)
    return median(times)


def padded(width: int, to: int = 8) -> int:
    return -(-width // to) * to


def _proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_memory(device) -> int:
    """Reset the peak-memory counter; returns the current usage in bytes (the baseline)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    with open("/proc/self/clear_refs", "w") as f:  # Linux: "5" resets VmHWM to the current RSS
        f.write("5")
    return _proc_status_kb("VmRSS") * 1024


def peak_memory_bytes(device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated()
    return _proc_status_kb("VmHWM") * 1024


def isolated(kind: str, name: str, steps: int, warmup: int, device) -> dict:
    """Run one step variant in a fresh default Python process (no siren2 malloc tuning for 'reference')."""
    cmd = [sys.executable, __file__, "--isolated", kind, "--workloads", name, "--steps", str(steps),
           "--warmup", str(warmup), "--device", str(device)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_isolated(kind: str, name: str, steps: int, warmup: int, device) -> None:
    w = WORKLOADS[name]
    base = reset_peak_memory(device)
    t = time.perf_counter()
    step = reference_step(w, device) if kind == "reference" else siren2_step(w, device)
    float(step())
    sync(device)
    first = time.perf_counter() - t
    times = time_steps(step, steps, max(0, warmup - 1), device)
    print(json.dumps({"median_s": median(times), "times": times, "first_step_s": first,
                      "peak_memory_bytes": peak_memory_bytes(device) - base}))


def big_clip_memory(device, samples: int = 10_000_000) -> dict:
    """One chunked full-batch step of paper_audio on a ``samples``-long clip: peak memory and time."""
    w = dict(WORKLOADS["paper_audio"], points=samples, epochs=1)
    base = reset_peak_memory(device)
    step = siren2_step(w, device)
    t = time.perf_counter()
    float(step())
    sync(device)
    return {"samples": samples, "seconds": time.perf_counter() - t,
            "peak_memory_bytes": peak_memory_bytes(device) - base}


def main() -> int:
    p = argparse.ArgumentParser(description="time training steps")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--big", action="store_true",
                   help="also one step on a 10-million-sample clip, in its own process (memory); "
                        "written to step_time_big_clip.md/.jsonl")
    p.add_argument("--note", help="--big: a remark on the run's circumstances, printed in its table "
                                  "(e.g. 'another job shared the CPU during this run')")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--from-records", action="store_true",
                   help="measure nothing: write the tables of --device again from their records files")
    p.add_argument("--isolated", choices=["reference", "siren2", "big"], help=argparse.SUPPRESS)
    args = p.parse_args()
    device = torch.device(args.device)
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    if args.from_records:
        written = [write_outputs(name, args.results) for name in (f"step_time{suffix}", f"step_time_big_clip{suffix}")
                   if records_of(name, args.results).path.exists()]
        if not written:
            raise SystemExit(f"step_time.py: no records of step_time{suffix} under {args.results}")
        return 0
    names = [n for n in args.workloads.split(",") if n]
    if args.isolated == "big":
        print(json.dumps(big_clip_memory(device)))
        return 0
    if args.isolated:
        run_isolated(args.isolated, names[0], args.steps, args.warmup, device)
        return 0

    results = {}
    for name in names:
        w = WORKLOADS[name]
        print(f"[{name}] (a) separate default processes ...", flush=True)
        ref_alone = isolated("reference", name, args.steps, args.warmup, device)
        ours_alone = isolated("siren2", name, args.steps, args.warmup, device)
        print(f"[{name}] (b) alternating in one process ...", flush=True)
        tune_malloc()
        ref, ours, auto = reference_step(w, device), siren2_step(w, device), siren2_step(w, device, "autograd")
        for _ in range(args.warmup):
            ref(), ours(), auto()
        engine, t_ref, t_ours, t_auto = ours.engine, [], [], []
        for _ in range(args.steps):
            t_ref += time_steps(ref, 1, 0, device)
            t_ours += time_steps(ours, 1, 0, device)
            t_auto += time_steps(auto, 1, 0, device)
        del ref, ours, auto
        print(f"[{name}] (c) GEMM limit ...", flush=True)
        g_same = gemm_seconds(w, w["width"], device, args.steps)
        g_pad = gemm_seconds(w, padded(w["width"]), device, args.steps)
        flops = step_flops(w)
        r = {
            "workload": w,
            "engine": engine,
            "gflop_per_step": flops / 1e9,
            "reference_default_process_s": ref_alone["median_s"],
            "siren2_first_step_own_process_s": ours_alone["first_step_s"],
            "siren2_own_process_s": ours_alone["median_s"],
            "reference_in_process_s": median(t_ref),
            "siren2_s": median(t_ours),
            "siren2_autograd_s": median(t_auto),
            "speedup_vs_reference_default_process": ref_alone["median_s"] / median(t_ours),
            "speedup_vs_reference_in_process": median(t_ref) / median(t_ours),
            "siren2_gflops": flops / median(t_ours) / 1e9,
            "gemm_same_shape_s": g_same,
            "gemm_same_shape_gflops": flops / g_same / 1e9,
            "gemm_padded_s": g_pad,
            "gemm_padded_gflops": step_flops(w, padded(w["width"])) / g_pad / 1e9,
            "fraction_of_same_shape_gemm_rate": g_same / median(t_ours),
            "fraction_of_padded_gemm_rate": (flops / median(t_ours)) / (step_flops(w, padded(w["width"])) / g_pad),
            "peak_memory_reference_bytes": ref_alone["peak_memory_bytes"],
            "peak_memory_siren2_bytes": ours_alone["peak_memory_bytes"],
            "times": {"reference_default_process": ref_alone["times"], "siren2_own_process": ours_alone["times"],
                      "reference_in_process": t_ref, "siren2": t_ours, "siren2_autograd": t_auto},
        }
        results[name] = r
        print(f"[{name}] reference {r['reference_default_process_s']:.4g} s (own process), "
              f"{r['reference_in_process_s']:.4g} s (in process); siren2 {r['siren2_s']:.4g} s "
              f"(autograd engine {r['siren2_autograd_s']:.4g} s); "
              f"x{r['speedup_vs_reference_default_process']:.2f} / x{r['speedup_vs_reference_in_process']:.2f}; "
              f"{r['siren2_gflops']:.0f} GFLOP/s = {100 * r['fraction_of_same_shape_gemm_rate']:.0f}% of same-shape GEMM",
              flush=True)
    if results:
        store = records_of(f"step_time{suffix}", args.results)
        setting = {"device": str(device), "steps": args.steps, "warmup": args.warmup}
        store.add(*({"key": name, "fingerprint": fingerprint(setting | {"workload": r["workload"]})} | r
                    for name, r in results.items()))
        save_invocation(store, **setting, workloads=list(results), machine=machine())
        write_outputs(f"step_time{suffix}", args.results)
    if args.big:
        print("[big] one chunked step on a 10,000,000-sample clip, own process ...", flush=True)
        big = isolated("big", "paper_audio", 1, 0, device)
        store = records_of(f"step_time_big_clip{suffix}", args.results)
        store.add({"key": "paper_audio", "fingerprint": fingerprint({"device": str(device), "samples": big["samples"]})}
                  | big)
        save_invocation(store, device=str(device), machine=machine(), **({"note": args.note} if args.note else {}))
        write_outputs(f"step_time_big_clip{suffix}", args.results)
    return 0


def tables(name: str, results: Path = RESULTS) -> str:
    """The table ``name`` (step_time[_<device>] or step_time_big_clip[_<device>]) from its records alone."""
    store = records_of(name, results)
    run = invocation(store)
    if name.startswith("step_time_big_clip"):
        (big,) = results_of(store)
        note = f"; {run['note']}" if run.get("note") else ""
        return (f"# One chunked full-batch paper_audio step on a {big['samples']:,}-sample clip ({run['device']})\n\n"
                f"siren2's step (auto chunking under a 2 GiB activation budget), in a fresh process: peak memory "
                f"{big['peak_memory_bytes'] / 2**30:.2f} GiB above the process baseline (coordinates and target "
                f"included); wall time {big['seconds']:.1f} s (a memory check, not a timing benchmark{note}). "
                f"Machine: {run['machine']}.\n")
    by = {r["key"]: r for r in results_of(store)}
    return markdown({"device": run["device"], "machine": run["machine"], "steps": run["steps"], "warmup": run["warmup"],
                     "workloads": {w: by[w] for w in run["workloads"]}})


def markdown_from_records(path: Path) -> str:
    """The table a records file ``<results>/<name>.jsonl`` makes (what ``--from-records`` writes)."""
    return tables(path.stem, path.parent)


def write_outputs(name: str, results: Path = RESULTS) -> str:
    md = tables(name, results)
    print(write_table(name, md, results))
    return md


def markdown(data: dict) -> str:
    gib = lambda b: f"{b / 2**30:.2f}"  # noqa: E731
    lines = [f"# Training step time ({data['device']})", "",
             f"Medians of {data['steps']} steps after {data['warmup']} warm-up steps. Machine: {data['machine']}.",
             "Reference: nn.Sequential(Linear, sine module, ...), autograd, torch Adam — the paper's code style.",
             "(a) in its own default Python process; (b) alternating with siren2's step in one process",
             "(and with siren2's autograd engine, the step `FitConfig(engine=\"autograd\")` runs).",
             "GFLOP/s count the unpadded model's matrix-product FLOPs. The GEMM limit times the same step's",
             "matrix products alone: at the model's width (same shape) and at siren2's padded width.", "",
             "siren2's first step in its own process includes building buffers and, for the compiled step,",
             "torch.compile (a one-off cost, cached on disk across runs).", "",
             "| workload | siren2 engine | GFLOP/step | reference, own process (s) | reference, in process (s) | siren2 (s) | siren2 autograd engine (s) | "
             "speed-up vs (a) | speed-up vs (b) | siren2 GFLOP/s | same-shape GEMM GFLOP/s | "
             "fraction of same-shape GEMM rate | fraction of padded GEMM rate | peak memory ref / siren2 (GiB) | "
             "siren2 first step (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in data["workloads"].items():
        autograd = f"{r['siren2_autograd_s']:.4g}" if "siren2_autograd_s" in r else "–"  # records made before it
        lines.append(
            f"| {name} | {r['engine']} | {r['gflop_per_step']:.0f} | {r['reference_default_process_s']:.4g} | "
            f"{r['reference_in_process_s']:.4g} | {r['siren2_s']:.4g} | {autograd} | "
            f"{r['speedup_vs_reference_default_process']:.2f}x | {r['speedup_vs_reference_in_process']:.2f}x | "
            f"{r['siren2_gflops']:.0f} | {r['gemm_same_shape_gflops']:.0f} | "
            f"{100 * r['fraction_of_same_shape_gemm_rate']:.0f}% | {100 * r['fraction_of_padded_gemm_rate']:.0f}% | "
            f"{gib(r['peak_memory_reference_bytes'])} / {gib(r['peak_memory_siren2_bytes'])} | "
            f"{r['siren2_first_step_own_process_s']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
