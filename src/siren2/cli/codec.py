"""``siren2 compress`` and ``decompress``: a file to a few bits per sample in a ``.s2`` container, and back."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .options import add_input_options, metrics_text, render_size
from .report import add_report_option

__all__ = ["add_parsers", "cmd_compress", "cmd_decompress"]


def add_parsers(sub) -> None:
    """compress, decompress."""
    from ..models import list_models

    c = sub.add_parser("compress", help="compress audio or an image into a small network (.s2), at a rate or a "
                                        "quality")
    c.add_argument("file", type=Path)
    c.add_argument("--out", type=Path, required=True, help="the .s2 file to write (its record beside it: .s2.json)")
    c.add_argument("--force", action="store_true", help="overwrite --out")
    rate = c.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bitrate", type=float, metavar="KBPS", help="audio: kilobits per second")
    rate.add_argument("--bpp", type=float, metavar="BITS", help="images: bits per pixel")
    rate.add_argument("--size", type=int, metavar="BYTES", help="the file's size, at most")
    rate.add_argument("--target-psnr", type=float, metavar="DB",
                      help="the smallest file found whose psnr_paper reaches DB")
    c.add_argument("--model", choices=list(list_models()), default="siren2", help="default: siren2")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--epochs", type=int, help="the fit's epochs (default: the fast recipe's)")
    c.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers (default: the preset's)")
    c.add_argument("--max-samples", type=int, help="audio: compress the first N samples (default: all)")
    add_input_options(c, max_samples=False)
    c.add_argument("--keep-channels", action="store_true", help="audio: every channel, not the mono mix")
    c.add_argument("--device", help="where the fit runs: cpu, cuda, mps (default: auto)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    add_report_option(c)
    c.set_defaults(func=cmd_compress)

    d = sub.add_parser("decompress", help="render a .s2 file back to audio or an image, at any rate or size")
    d.add_argument("file", type=Path)
    d.add_argument("--out", type=Path, required=True, help="the file to write (.wav/.flac, .png, .npy)")
    d.add_argument("--force", action="store_true", help="overwrite --out")
    g = d.add_mutually_exclusive_group()
    g.add_argument("--sample-rate", type=int, help="audio: render at this rate")
    g.add_argument("--size", help="image: HxW (volume: DxHxW)")
    d.set_defaults(func=cmd_decompress)


def cmd_compress(args) -> int:
    """Fit, quantize, fine-tune and code ``args.file``; write the .s2 and its record, print the numbers."""
    from ..codec import encode
    from ..io import MAX_POINTS, load_signal
    from ..io.files import atomic_file, write_json

    if args.out.exists() and not args.force:
        raise InputError(f"{args.out}: already exists (use --force to overwrite)")
    if args.max_samples is not None and args.max_samples < 1:
        raise InputError(f"--max-samples must be at least 1, not {args.max_samples}")
    signal = load_signal(args.file, max_samples=args.max_samples, mono=not args.keep_channels,
                         max_points=MAX_POINTS if args.max_points is None else args.max_points)
    done = encode(signal, bitrate=args.bitrate, bpp=args.bpp, size=args.size, target_psnr=args.target_psnr,
                  model=args.model, seed=args.seed, epochs=args.epochs, hidden_layers=args.hidden_layers,
                  device=args.device, progress=not args.quiet)
    if not args.out.parent.is_dir():
        raise InputError(f"{args.out}: folder {args.out.parent} does not exist")
    with atomic_file(args.out) as tmp:
        tmp.write_bytes(done.data)
    rec = done.record | {"input": str(args.file), "output": str(args.out)}
    write_json(args.out.with_name(args.out.name + ".json"), rec)
    print(f"{args.file} -> {args.out}: {rec['bytes']:,} bytes, {rec['rate']}, {rec['bits_per_sample']:.3g} bits per "
          f"sample; {rec['model']} {rec['hidden_layers']} x {rec['width']}, {rec['parameters']:,} parameters; "
          f"{rec['encode_seconds']:.1f} s")
    print("  " + metrics_text({k: v for k, v in rec["metrics"].items() if k != "mse"}))
    for note in rec["notes"]:
        print(f"  note: {note}")
    return 0


def cmd_decompress(args) -> int:
    """Render ``args.file`` (a .s2 container) to ``args.out``."""
    from ..codec import decompress
    from ..io import save_signal

    size = render_size(args)
    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise InputError(f"{args.file}: {e.strerror or e}") from None
    signal = decompress(data, sample_rate=args.sample_rate, size=size, name=str(args.file))
    save_signal(signal, args.out)
    what = (f"{signal.grid[0]:,} samples at {signal.sample_rate} Hz" if signal.kind == "audio"
            else "x".join(map(str, signal.grid)))
    print(f"{args.file} -> {args.out}: {what}")
    return 0
