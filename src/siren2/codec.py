"""siren2 as a codec: a signal becomes a small network whose weights are quantized, fine-tuned with the
quantization in the loop, entropy-coded and written in a versioned container (``.s2``).

    data = compress(signal, bitrate=64)      # audio: kbps; images: bpp=...; any: size=bytes, target_psnr=dB
    back = decompress(data)                  # a Signal on the same grid (or another rate or size)

The steps of :func:`encode` (the COIN → Strümpler et al. pipeline, docs/guides/codec.md):

1. **Network size for the rate.** The budget in bits, less the container's header, over an expected
   :data:`BITS_PER_PARAMETER`, gives a parameter count, and the widest network of the model with at
   most that many parameters is fitted (:func:`siren2.build.width_for`), under the ``fast`` recipe.
2. **Quantization, each tensor at its own step.** Every weight of a sine layer is multiplied by ω
   inside the sine, so its rounding error is a phase error, and the first layers' errors pass through
   all the others: one bit depth for all fails (9 dB at 10 bits on a clip fitted to 24.7 dB). Each
   tensor's sensitivity S (the MSE added per unit of noise variance, :func:`sensitivities`) is measured,
   and its step is ε·√(n/S), n its entries: rounding then adds about P·ε²/12 to the MSE over the P
   coded numbers, spread evenly. The first layer of SIREN² or SIREN gets many bits, the head few; one
   tolerance ε sets them all, and ε is bisected so that the coded size meets the budget.
3. **Quantization-aware fine-tuning.** The steps fixed, the network trains on with its weights rounded
   in the forward pass and the gradient passed straight through (:class:`FakeQuant`).
4. **Entropy coding.** Each tensor's integers are range-coded (``constriction``, the ``codec`` extra)
   under the shortest of a quantized Gaussian, a quantized Laplace (both fitted to the tensor) and
   uniform 12-bit digits (for the widest ranges), the law and its scale in the tensor table.
5. **The container** (:func:`container`): magic, version, a zlib-compressed JSON header (the signal's
   kind, grid, sample rate, scaling and extent; the model's name, config and seed; the coder), a table
   of every tensor's step and law, the payload, and a CRC-32 of all of it.

Decoding is exact in its integers and weights on every machine; the rendered samples are float32
sums whose last bits can differ between machines (BLAS), so the same ``.s2`` gives the same output
bytes on one machine, and agrees to about one least significant bit of a 16-bit WAV or 8-bit PNG
elsewhere.
"""

from __future__ import annotations

import json
import math
import struct
import time
import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from . import __version__
from .errors import InputError
from .metrics import metrics
from .models import build_model, num_parameters
from .models.layers import SineFamily
from .presets import get_preset
from .runs import build, finish
from .signal import Signal, grid_coords
from .spec import RunSpec, resolve
from .train import fit, predict

__all__ = ["compress", "decompress", "encode", "Encoding", "rate_bits", "sensitivities", "steps_for", "coded_tensors",
           "integers", "set_quantized", "code", "decode", "container", "read_container", "FakeQuant", "MAGIC",
           "VERSION", "SUFFIX", "BITS_PER_PARAMETER", "MIN_WIDTH", "QAT_FRACTION", "QAT_MIN_EPOCHS", "QAT_LR"]

MAGIC = b"S2NR"
VERSION = 1
SUFFIX = ".s2"
BITS_PER_PARAMETER = 7.0  # the coded bits a parameter is expected to take, to size the network for a rate
MIN_WIDTH = 8  # the narrowest network the codec fits
QAT_FRACTION = 0.3  # quantization-aware fine-tuning, as a share of the fit's epochs (at least QAT_MIN_EPOCHS)
QAT_MIN_EPOCHS = 50
QAT_LR = 0.05  # its Adam rate, as a share of the fit's peak rate (a tenth gained 2 dB on relay, three tenths lost)
QUALITY_SIZES = (0.125, 0.25, 0.5, 1.0)  # --target-psnr: the networks tried, in parameters per sample
EPSILONS = (1e-8, 1.0)  # the range of the tolerance ε (√MSE per coded number) the rate search scans
MAX_BOUND = 2**18  # the largest |integer| the Gaussian and Laplace laws take (each must get a share of 2^24)
CHUNK_BITS = 12  # the uniform law codes an integer as digits of this many bits
TENSOR = struct.Struct("<IBff")  # per tensor: the largest |integer|, its law (LAWS), the law's scale, the step
LAWS = ("gaussian", "laplace", "uniform")


# ------------------------------------------------------------------------------------------- rates

def rate_bits(signal: Signal, *, bitrate: float | None = None, bpp: float | None = None,
              size: int | None = None) -> float:
    """The budget in bits a rate names: ``bitrate`` in kbps (audio), ``bpp`` bits per pixel (images), or
    ``size`` bytes (any signal); exactly one of them."""
    given = [k for k, v in (("bitrate", bitrate), ("bpp", bpp), ("size", size)) if v is not None]
    if len(given) != 1:
        raise InputError("give exactly one rate: --bitrate KBPS (audio), --bpp BITS (images), --size BYTES "
                         "or --target-psnr DB")
    value = {"bitrate": bitrate, "bpp": bpp, "size": size}[given[0]]
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"--{given[0]} {value}: must be a positive number")
    if bitrate is not None:
        if signal.kind != "audio":
            raise InputError(f"--bitrate is for audio; this is a {signal.kind} (use --bpp or --size)")
        return bitrate * 1000 * signal.num_points / signal.sample_rate
    if bpp is not None:
        if signal.kind != "image":
            raise InputError(f"--bpp is for images; this is a {signal.kind} (use --bitrate or --size)")
        return bpp * signal.num_points
    return 8.0 * size


def rate_text(signal: Signal, nbytes: int) -> str:
    """A size in the signal's own rate unit: '63.8 kbps', '0.48 bpp', or bytes."""
    bits = 8 * nbytes
    if signal.kind == "audio":
        return f"{bits / (signal.num_points / signal.sample_rate) / 1000:.3g} kbps"
    if signal.kind == "image":
        return f"{bits / signal.num_points:.3g} bpp"
    return f"{nbytes:,} bytes"


# ------------------------------------------------------------------------------------ quantization

class FakeQuant(nn.Module):
    """A parametrization that rounds a tensor to multiples of ``step`` in the forward pass and passes
    the gradient straight through (the weights stay real-valued underneath)."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = float(step)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + (torch.round(w / self.step) * self.step - w).detach()


def coded_tensors(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """The tensors the codec stores, in a fixed order: (name, module, attribute) for every weight and
    bias of every linear layer (the hidden ones, then the head)."""
    out = []
    for i, block in enumerate(getattr(model, "hidden", [])):
        out += [(f"hidden.{i}.linear.weight", block.linear, "weight"), (f"hidden.{i}.linear.bias", block.linear, "bias")]
    head = model.head if isinstance(model.head, nn.Linear) else model.head[0]
    prefix = "head" if isinstance(model.head, nn.Linear) else "head.0"
    return out + [(f"{prefix}.weight", head, "weight"), (f"{prefix}.bias", head, "bias")]


@torch.no_grad()
def sensitivities(model: nn.Module, signal: Signal, draws: int = 3) -> list[float]:
    """Each coded tensor's sensitivity S: the increase of the fit's MSE per unit of variance added to
    every one of its entries (the trace of its block of the Gauss-Newton matrix), measured by adding
    small Gaussian noise, a few draws averaged. Every weight of a sine layer is multiplied by ω inside
    the sine, and the first layers' errors pass through all the others: S spans orders of magnitude."""
    coords, target = signal.coords(), torch.from_numpy(signal.values)
    mse = lambda: float((predict(model, coords) - target).square().mean())  # noqa: E731
    base, gen, out = mse(), torch.Generator().manual_seed(0), []
    for _, module, attr in coded_tensors(model):
        w = getattr(module, attr)
        keep = w.detach().clone()
        sigma = 1e-4 * float(keep.abs().pow(2).mean().sqrt()) + 1e-9
        total = 0.0
        for _ in range(draws):
            for _ in range(40):  # the smallest noise whose damage is measurable
                noise = torch.randn(keep.shape, generator=gen, dtype=torch.float64).to(keep.dtype) * sigma
                w.copy_(keep + (noise if not keep.is_complex() else noise.to(keep.dtype)))
                damage = mse() - base
                w.copy_(keep)
                if damage > 1e-3 * base + 1e-14:
                    break
                sigma *= 2
            total += max(damage, 0.0) / sigma**2
        out.append(max(total / draws, 1e-12))
    return out


def steps_for(model: nn.Module, epsilon: float, sens: list[float]) -> list[float]:
    """Each coded tensor's step for the tolerance ε: ε·√(n / S), n its entries and S its sensitivity
    (:func:`sensitivities`), as float32. Rounding to these steps adds about P·ε²/12 to the MSE (P the
    coded numbers) and spends the bits where they buy the most (each tensor's step ∝ 1/√ of its
    per-entry sensitivity, the high-rate optimum)."""
    return [float(np.float32(epsilon * math.sqrt(getattr(m, a).numel() / s)))
            for (_, m, a), s in zip(coded_tensors(model), sens)]


def integers(model: nn.Module, steps: list[float]) -> list[np.ndarray]:
    """Each coded tensor rounded to its step, as int32 arrays (a complex tensor: its real parts, then
    its imaginary parts)."""
    out = []
    for (_, module, attr), step in zip(coded_tensors(model), steps):
        w = getattr(module, attr).detach().cpu()
        parts = [w.real, w.imag] if w.is_complex() else [w]
        out.append(np.concatenate([np.round(p.double().numpy() / step).ravel() for p in parts]).astype(np.int64))
    return out


def set_quantized(model: nn.Module, steps: list[float], ints: list[np.ndarray]) -> nn.Module:
    """Load ``ints`` × ``steps`` into ``model``'s coded tensors, in place."""
    with torch.no_grad():
        for (_, module, attr), step, q in zip(coded_tensors(model), steps, ints):
            w = getattr(module, attr)
            values = torch.from_numpy(q.astype(np.float64) * step)
            if w.is_complex():
                half = values.numel() // 2
                values = torch.complex(values[:half], values[half:])
            w.copy_(values.reshape(w.shape).to(w.dtype))
    return model


# --------------------------------------------------------------------------------- entropy coding

def _coder():
    try:
        import constriction
    except ImportError:
        raise InputError("the codec needs constriction: pip install 'siren2[codec]'") from None
    return constriction


def _law(kind: int, bound: int, scale: float):
    model = _coder().stream.model
    cls = model.QuantizedGaussian if kind == 0 else model.QuantizedLaplace
    return cls(-bound, bound, 0.0, float(np.float32(max(scale, 1e-3))))


def _chunks(bound: int) -> int:
    """How many CHUNK_BITS-bit digits hold an integer in [0, 2·bound] (the uniform law)."""
    return max(1, math.ceil(math.log2(2 * bound + 1) / CHUNK_BITS))


def _encode_one(encoder, q: np.ndarray, bound: int, kind: int, scale: float) -> None:
    if kind < 2:
        encoder.encode(q.astype(np.int32), _law(kind, bound, scale))
        return
    v = (q + bound).astype(np.int64)  # the uniform law: base-2^CHUNK_BITS digits, each equally likely
    digits = [(v >> (CHUNK_BITS * i)) & ((1 << CHUNK_BITS) - 1) for i in range(_chunks(bound))]
    encoder.encode(np.stack(digits, axis=1).ravel().astype(np.int32),
                   _coder().stream.model.Uniform(1 << CHUNK_BITS))


def code(ints: list[np.ndarray]) -> tuple[list[tuple[int, int, float]], bytes]:
    """Range-code each tensor's integers under the shortest of three laws fitted to it: a quantized
    Gaussian, a quantized Laplace (both up to :data:`MAX_BOUND`), or uniform digits (any range: a first
    layer with weights in the hundreds at a fine step). Returns the table (largest |integer|, law,
    scale) and the payload."""
    coder = _coder()
    table, encoder = [], coder.stream.queue.RangeEncoder()
    for q in ints:
        bound = max(1, int(np.abs(q).max()))
        if bound >= 2**31:
            raise ValueError("a tensor's integers exceed the coder's range")
        best = None
        laws = [(0, float(np.sqrt(np.mean(q.astype(np.float64) ** 2)))), (1, float(np.mean(np.abs(q))))]
        for kind, scale in (laws if bound <= MAX_BOUND else []) + [(2, 0.0)]:
            scale = float(np.float32(max(scale, 1e-3))) if kind < 2 else 0.0
            trial = coder.stream.queue.RangeEncoder()
            _encode_one(trial, q, bound, kind, scale)
            if best is None or trial.num_bits() < best[0]:
                best = (trial.num_bits(), kind, scale)
        _, kind, scale = best
        _encode_one(encoder, q, bound, kind, scale)
        table.append((bound, kind, scale))
    return table, encoder.get_compressed().astype("<u4").tobytes()


def decode(table: list[tuple[int, int, float]], counts: list[int], payload: bytes) -> list[np.ndarray]:
    """The integers :func:`code` wrote, tensor by tensor."""
    coder = _coder()
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    decoder = coder.stream.queue.RangeDecoder(words)
    out = []
    for (bound, kind, scale), n in zip(table, counts):
        if kind < 2:
            out.append(np.asarray(decoder.decode(_law(kind, bound, scale), n), dtype=np.int64))
            continue
        k = _chunks(bound)
        digits = np.asarray(decoder.decode(coder.stream.model.Uniform(1 << CHUNK_BITS), n * k),
                            dtype=np.int64).reshape(n, k)
        out.append((digits << (CHUNK_BITS * np.arange(k))).sum(axis=1) - bound)
    return out


# ------------------------------------------------------------------------------------- container

def container(header: dict, table: list[tuple[int, int, float]], steps: list[float], payload: bytes) -> bytes:
    """The ``.s2`` bytes: MAGIC, VERSION, the header's zlib-compressed JSON, the tensor table (bound, law,
    scale, step per tensor), the payload, and a CRC-32 of everything before it."""
    meta = zlib.compress(json.dumps(header, separators=(",", ":")).encode("utf-8"), 9)
    rows = b"".join(TENSOR.pack(b, k, s, st) for (b, k, s), st in zip(table, steps))
    body = (MAGIC + struct.pack("<BHH", VERSION, len(meta), len(table)) + meta + rows
            + struct.pack("<I", len(payload)) + payload)
    return body + struct.pack("<I", zlib.crc32(body))


def read_container(data: bytes, name: str = "data") -> tuple[dict, list[tuple[int, int, float]], list[float], bytes]:
    """The header, tensor table, steps and payload of ``.s2`` bytes; InputError (one line, naming
    ``name``) for anything that is not a whole, unchanged siren2 container of a version this reads."""
    if len(data) < len(MAGIC) + 9 or data[:4] != MAGIC:
        raise InputError(f"{name}: not a siren2 compressed file (no {MAGIC.decode()} header)")
    if zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise InputError(f"{name}: the checksum does not match: the file is truncated or corrupt")
    version, meta_len, count = struct.unpack_from("<BHH", data, 4)
    if version != VERSION:
        raise InputError(f"{name}: container version {version}; this siren2 reads version {VERSION}")
    try:
        at = 9
        header = json.loads(zlib.decompress(data[at:at + meta_len]))
        at += meta_len
        rows = [TENSOR.unpack_from(data, at + i * TENSOR.size) for i in range(count)]
        at += count * TENSOR.size
        (length,) = struct.unpack_from("<I", data, at)
        payload = data[at + 4:at + 4 + length]
        if len(payload) != length or at + 4 + length != len(data) - 4:
            raise ValueError("lengths do not add up")
    except (ValueError, struct.error, zlib.error, UnicodeDecodeError) as e:
        raise InputError(f"{name}: a damaged siren2 container ({type(e).__name__})") from None
    return header, [(b, k, s) for b, k, s, _ in rows], [st for *_, st in rows], payload


# ---------------------------------------------------------------------------------------- encode

@dataclass
class Encoding:
    """What :func:`encode` made: the ``.s2`` bytes and the record of how (sizes, rates, scores, time).

    Attributes
    ----------
    data : bytes
        The container.
    record : dict
        Bytes, bits per sample, kbps or bpp, the scores of the decoded signal (psnr_paper, SSIM for
        images, LSD for audio), the network, each tensor's bit depth, ε, encode seconds and notes.
    reconstruction : Signal
        What :func:`decompress` gives back on the signal's grid.
    """

    data: bytes
    record: dict
    reconstruction: Signal = field(repr=False)


def encode(signal: Signal, *, bitrate: float | None = None, bpp: float | None = None, size: int | None = None,
           target_psnr: float | None = None, model: str = "siren2", seed: int = 0, epochs: int | None = None,
           hidden_layers: int | None = None, device: str | None = None, progress: bool = False) -> Encoding:
    """Compress ``signal`` at a rate (exactly one of ``bitrate`` kbps, ``bpp``, ``size`` bytes) or to
    a quality (``target_psnr`` dB of psnr_paper, the smallest of the sizes tried that reaches it).

    Parameters
    ----------
    signal : Signal
        Audio, an image or a volume.
    bitrate, bpp, size, target_psnr
        The rate, or the quality; see above.
    model : str
        Any registered model (default SIREN²).
    seed : int
        The seed of the initialization (stored: the decoder rebuilds the model's fixed buffers with it).
    epochs : int, optional
        The fit's epochs (default: the ``fast`` recipe's).
    hidden_layers : int, optional
        The network's depth (default: the preset's).
    device : str, optional
        Where the fit runs (default: auto); the coding runs on the CPU.
    progress : bool
        Show the fit's progress bar.

    Returns
    -------
    Encoding

    Raises
    ------
    InputError
        No rate or two; a rate for another kind of signal; a rate too low for the smallest network (the
        message names the lowest rate that works).
    """
    start = time.perf_counter()
    _coder()
    options = {"model": model, "seed": seed, "epochs": epochs, "hidden_layers": hidden_layers, "device": device}
    if target_psnr is not None:
        if any(v is not None for v in (bitrate, bpp, size)):
            raise InputError("give a rate (--bitrate, --bpp, --size) or --target-psnr, not both")
        return _to_quality(signal, target_psnr, options, start, progress)
    budget = rate_bits(signal, bitrate=bitrate, bpp=bpp, size=size)
    return _to_rate(signal, budget, options, start, progress)


def _to_rate(signal: Signal, budget: float, options: dict, start: float, progress: bool) -> Encoding:
    """The best encoding within ``budget`` bits: a network sized for it, ε searched to fill it."""
    from .build import width_for

    notes = []
    spec = resolve(signal, options)
    layers = spec.network["hidden_layers"]
    header_bits = 8 * len(container(header_of(signal, spec, spec.network), [(1, 0, 1.0)] * 2 * (layers + 1),
                                    [1.0] * 2 * (layers + 1), b"\0" * 4))
    smallest = num_parameters(build_model(spec.model, **(spec.network | {"width": MIN_WIDTH})))
    lowest = header_bits + 2.0 * smallest  # about 2 bits a parameter at the coarsest useful step
    if budget < lowest:
        raise InputError(f"{signal.source or 'signal'}: a rate of {rate_text(signal, int(budget // 8))} is below "
                         f"what the smallest network ({MIN_WIDTH} wide) needs; the lowest rate that works is about "
                         f"{rate_text(signal, math.ceil(lowest / 8))}")
    params = (budget - header_bits) / BITS_PER_PARAMETER
    width, cap = width_for(spec.model, params, spec.network), spec.network["width"]
    if width >= cap:
        notes.append(f"the rate allows more than the preset's {cap}-wide network; it is used at its full width")
    for attempt in range(4):
        trial = resolve(signal, spec.options | {"width": max(MIN_WIDTH, width)})
        net, fitted = _fit(trial, signal, progress)
        sens = sensitivities(net, signal)
        epsilon = _epsilon_for(lambda eps: _size_bits(net, eps, sens, signal, trial) <= budget)
        if epsilon is not None:
            break
        width = max(MIN_WIDTH, int(width * 0.8))  # even the coarsest step is over the budget: a smaller network
        if width == MIN_WIDTH and attempt:
            raise InputError(f"{signal.source or 'signal'}: cannot meet {rate_text(signal, int(budget // 8))}")
    else:
        raise InputError(f"{signal.source or 'signal'}: cannot meet {rate_text(signal, int(budget // 8))}")
    if epsilon == EPSILONS[0]:
        notes.append("the rate is above what the method can use: the finest step already fits, so the file is "
                     "smaller than the budget")
    net = _fine_tune(net, signal, trial, steps_for(net, epsilon, sens), progress)
    while _size_bits(net, epsilon, sens, signal, trial) > budget:  # fine-tuning moved the weights: coarser until it fits
        epsilon *= 2 ** 0.25
    return _finish(net, signal, trial, steps_for(net, epsilon, sens), start, notes, epsilon=epsilon, budget=budget)


def _to_quality(signal: Signal, target: float, options: dict, start: float, progress: bool) -> Encoding:
    """The first network, from small to the preset's (:data:`QUALITY_SIZES` parameters per sample), that
    reaches ``target`` dB once quantized, at the coarsest step that still reaches it."""
    from .build import width_for

    spec = resolve(signal, {k: v for k, v in options.items() if v is not None})
    best = None
    for share in QUALITY_SIZES:
        width = max(MIN_WIDTH, width_for(spec.model, share * signal.num_points * signal.channels, spec.network))
        trial = resolve(signal, spec.options | {"width": width})
        net, fitted = _fit(trial, signal, progress)
        if best is None or fitted > best[1]:
            best = (trial, fitted, net)
        if fitted >= target or width >= spec.network["width"]:
            break
    trial, fitted, net = best
    sens = sensitivities(net, signal)
    notes = []
    goal = target
    if fitted < target:
        notes.append(f"the fit reaches {fitted:.2f} dB, under the target {target:g}: the best it can do")
        goal = fitted - 0.1
    reaches = lambda eps: _psnr(net, steps_for(net, eps, sens), signal) >= goal  # noqa: E731
    epsilon = _epsilon_for(reaches, coarse_first=False) or EPSILONS[0]
    net = _fine_tune(net, signal, trial, steps_for(net, epsilon, sens), progress)
    while epsilon > EPSILONS[0] and not reaches(epsilon):  # fine-tuning moved the weights: finer until it reaches
        epsilon /= 2 ** 0.25
    return _finish(net, signal, trial, steps_for(net, epsilon, sens), start, notes, epsilon=epsilon,
                   target_psnr=target)


def _fit(spec: RunSpec, signal: Signal, progress: bool) -> tuple[nn.Module, float]:
    """The spec's model fitted to ``signal`` (its best state) and its psnr_paper."""
    model = build(spec, signal)
    result = fit(model, signal, replace(spec.fit, progress=progress))
    if result.interrupted:
        raise KeyboardInterrupt
    return model.cpu(), finish(spec, signal, result).metrics["psnr_paper"]


def _epsilon_for(ok, coarse_first: bool = True) -> float | None:
    """The finest ε (``coarse_first``: within EPSILONS, bisected on log ε) for which ``ok(ε)`` holds,
    assuming ``ok`` holds from some ε on (a size budget), or the coarsest for which it holds, assuming
    it holds up to some ε (a quality target); None where it holds nowhere."""
    lo, hi = (math.log(e) for e in EPSILONS)
    if coarse_first:
        if not ok(math.exp(hi)):
            return None
        if ok(math.exp(lo)):
            return math.exp(lo)
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if ok(math.exp(mid)) else (mid, hi)
        return math.exp(hi)
    if not ok(math.exp(lo)):
        return None
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(math.exp(mid)) else (lo, mid)
    return math.exp(lo)


def _size_bits(model: nn.Module, epsilon: float, sens: list[float], signal: Signal, spec: RunSpec) -> float:
    steps = steps_for(model, epsilon, sens)
    ints = integers(model, steps)
    if max(int(np.abs(q).max()) for q in ints) >= 2**31:
        return math.inf  # a step this fine is beyond the coder's range
    table, payload = code(ints)
    return 8 * len(container(header_of(signal, spec, model_config(model)), table, steps, payload))


def _psnr(model: nn.Module, steps: list[float], signal: Signal) -> float:
    twin = _twin(model)
    set_quantized(twin, steps, integers(model, steps))
    return metrics(signal, predict(twin, signal.coords()).numpy())["psnr_paper"]


def _twin(model: nn.Module) -> nn.Module:
    twin = build_model(model.name, **model_config(model))
    twin.load_state_dict(model.state_dict())
    return twin


def _fine_tune(model: nn.Module, signal: Signal, spec: RunSpec, steps: list[float], progress: bool) -> nn.Module:
    """Quantization-aware fine-tuning at ``steps``: the best quantized state of a short fit with the
    weights rounded in the forward pass (autograd, straight-through)."""
    for (_, module, attr), step in zip(coded_tensors(model), steps):
        if not getattr(module, attr).is_complex():
            parametrize.register_parametrization(module, attr, FakeQuant(step))
    config = replace(spec.fit, epochs=max(QAT_MIN_EPOCHS, int(spec.fit.epochs * QAT_FRACTION)),
                     lr=spec.fit.lr * QAT_LR, schedule="cosine", warmup=0.0, engine="autograd", patience=None,
                     target_psnr=None, time_budget=None, progress=progress)
    result = fit(model, signal, config)
    for _, module, attr in coded_tensors(model):
        if parametrize.is_parametrized(module, attr):
            parametrize.remove_parametrizations(module, attr, leave_parametrized=False)
    if result.interrupted:
        raise KeyboardInterrupt
    return model.cpu()


def model_config(model: nn.Module) -> dict:
    """The config that rebuilds ``model`` (its dataclass as a dict)."""
    from dataclasses import asdict

    return asdict(model.config)


def header_of(signal: Signal, spec: RunSpec, config: dict) -> dict:
    """What the decoder needs besides the weights: the signal's kind, grid, scaling and extent; the model's
    name, config and seed."""
    h = {"siren2": __version__, "kind": signal.kind, "grid": list(signal.grid), "channels": signal.channels,
         "model": spec.model, "config": config, "seed": spec.fit.seed, "coder": "constriction range, v1"}
    if signal.kind == "audio":
        h |= {"sample_rate": signal.sample_rate, "peak": signal.peak, "subtype": signal.subtype}
    elif signal.kind == "image":
        h["bit_depth"] = signal.bit_depth
    else:
        from .signal import VOLUME_META

        h["meta"] = {k: signal.meta[k] for k in VOLUME_META if k in signal.meta}
    if signal.extent is not None:
        h["extent"] = [list(e) for e in signal.extent]
    return h


def _finish(model: nn.Module, signal: Signal, spec: RunSpec, steps: list[float], start: float, notes: list[str],
            **goal) -> Encoding:
    ints = integers(model, steps)
    table, payload = code(ints)
    data = container(header_of(signal, spec, model_config(model)), table, steps, payload)
    seconds = time.perf_counter() - start
    back = decompress(data)
    scores = metrics(signal, back.values)
    record = {"bytes": len(data), "bits_per_sample": 8 * len(data) / (signal.num_points * signal.channels),
              "rate": rate_text(signal, len(data)), "metrics": scores, "model": spec.model,
              "parameters": num_parameters(model), "width": model_config(model)["width"],
              "hidden_layers": model_config(model)["hidden_layers"],
              "bit_depths": {name: int(math.ceil(math.log2(2 * b + 1))) for (name, *_), (b, _, _) in
                             zip(coded_tensors(model), table)},
              "header_bytes": len(data) - len(payload), "encode_seconds": seconds, "seed": spec.fit.seed,
              "epochs": spec.fit.epochs, "notes": notes} | goal
    if signal.kind == "audio":
        record["kbps"] = 8 * len(data) / (signal.num_points / signal.sample_rate) / 1000
    elif signal.kind == "image":
        record["bpp"] = 8 * len(data) / signal.num_points
    return Encoding(data, record, back)


def compress(signal: Signal, **rate) -> bytes:
    """The ``.s2`` bytes of ``signal`` (:func:`encode`'s, which takes the same arguments)."""
    return encode(signal, **rate).data


# ---------------------------------------------------------------------------------------- decode

def decompress(data: bytes, *, sample_rate: int | None = None, size: tuple[int, ...] | None = None,
               name: str = "data") -> Signal:
    """The signal a ``.s2`` container holds, rendered on its grid, or at ``sample_rate`` (audio) or
    ``size`` (an image's (H, W), a volume's (D, H, W)): the network is continuous.

    Raises
    ------
    InputError
        A truncated, damaged or foreign file (one line naming ``name``).
    """
    header, table, steps, payload = read_container(bytes(data), name)
    try:
        model = build_model(header["model"], seed=header["seed"], **header["config"])
        counts = [getattr(m, a).numel() * (2 if getattr(m, a).is_complex() else 1)
                  for _, m, a in coded_tensors(model)]
        if len(counts) != len(table):
            raise ValueError("the tensor table does not match the model")
        set_quantized(model, steps, decode(table, counts, payload))
        grid = tuple(int(g) for g in header["grid"])
        extent = tuple(map(tuple, header["extent"])) if "extent" in header else None
        kind = header["kind"]
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"{name}: a damaged siren2 container ({str(e).splitlines()[0][:80]})") from None
    meta = {}
    if kind == "audio":
        rate = sample_rate or int(header["sample_rate"])
        grid = (max(1, round(grid[0] * rate / int(header["sample_rate"]))),)
        meta = dict(sample_rate=rate, peak=float(header["peak"]), subtype=header.get("subtype") or "PCM_16")
    elif size is not None:
        if len(size) != len(grid):
            raise InputError(f"size {'x'.join(map(str, size))}: this {kind} needs {len(grid)} sizes")
        grid = tuple(size)
    if kind == "image":
        meta = dict(bit_depth=int(header.get("bit_depth", 8)))
    elif kind == "volume":
        meta = dict(meta=dict(header.get("meta", {})))
    values = predict(model, grid_coords(grid, extent)).numpy()
    return Signal(values=values, grid=grid, kind=kind, source=name, extent=extent, **meta)
