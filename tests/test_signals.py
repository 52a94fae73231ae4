"""Loading and saving signals: audio and image formats, scaling, round trips, coordinates.

Every file is generated in ``tmp_path``; nothing here reads shared data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from siren2.io import load_audio, load_signal, save_signal
from siren2.signal import Samples, Signal, crop, grid_coords

SR = 8000
N = 400


# ------------------------------------------------------------------------------------- helpers


def _int_audio(n=N, channels=1, seed=0, full=32767):
    """int16-valued samples (as int64) that reach ``full`` somewhere, so the peak is known."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-20000, 20000, size=(n, channels))
    x[n // 3, 0] = full
    return x


def _write_wav_int16(path, x, sr=SR):
    sf.write(str(path), x.astype(np.int16), sr, subtype="PCM_16")
    return path


def _float_audio(n=N, channels=1, seed=1, amp=0.3):
    rng = np.random.default_rng(seed)
    return (amp * np.sin(np.linspace(0, 40, n))[:, None] + 0.05 * rng.standard_normal((n, channels))).astype(
        np.float32
    )


def _rgb(h=5, w=7, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    a[0, 0] = 0  # the extremes map to exactly -1 and 1
    a[-1, -1] = 255
    return a


def _gray(h=5, w=7, seed=0):
    return _rgb(h, w, seed)[:, :, 0]


def _read_int16(path):
    data, sr = sf.read(str(path), dtype="int16", always_2d=True)
    return data.astype(np.int64), sr


# ------------------------------------------------------------------------------------- audio


def test_wav_int16_mono_loads_normalized(tmp_path):
    x = _int_audio()
    path = _write_wav_int16(tmp_path / "a.wav", x)
    s = load_signal(path)
    assert s.kind == "audio"
    assert s.values.dtype == np.float32 and s.values.shape == (N, 1)
    assert s.grid == (N,)
    assert s.sample_rate == SR
    assert s.subtype == "PCM_16"
    assert float(np.max(np.abs(s.values))) == 1.0
    assert s.peak == pytest.approx(32767 / 32768)
    np.testing.assert_allclose(s.values[:, 0], x[:, 0] / 32767, atol=1e-6)


def test_wav_float32_loads_normalized(tmp_path):
    x = _float_audio()
    sf.write(str(tmp_path / "f.wav"), x, SR, subtype="FLOAT")
    s = load_signal(tmp_path / "f.wav")
    assert s.values.dtype == np.float32 and s.values.shape == (N, 1)
    assert s.subtype == "FLOAT"
    assert float(np.max(np.abs(s.values))) == 1.0
    peak = float(np.max(np.abs(x)))
    assert s.peak == pytest.approx(peak, rel=1e-6)
    np.testing.assert_allclose(s.values, x / peak, atol=1e-6)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32"])
def test_stereo_wav_mono_mix_and_keep_channels(tmp_path, subtype):
    rng = np.random.default_rng(2)
    x = rng.uniform(-0.6, 0.6, size=(N, 2))
    x[10] = [0.9, 0.7]  # the mix peaks here at 0.8
    path = tmp_path / "st.wav"
    sf.write(str(path), x, SR, subtype=subtype)
    ref, _ = sf.read(str(path), dtype="float64", always_2d=True)  # as quantized on disk

    mono = load_signal(path)
    assert mono.values.shape == (N, 1) and mono.values.dtype == np.float32
    assert mono.subtype == subtype and mono.sample_rate == SR
    assert float(np.max(np.abs(mono.values))) == 1.0
    mix = ref.mean(axis=1)
    np.testing.assert_allclose(mono.values[:, 0], mix / np.max(np.abs(mix)), atol=1e-6)

    both = load_signal(path, mono=False)
    assert both.values.shape == (N, 2) and both.channels == 2
    assert float(np.max(np.abs(both.values))) == 1.0
    np.testing.assert_allclose(both.values, ref / np.max(np.abs(ref)), atol=1e-6)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_save_keeps_subtype_rate_and_samples(tmp_path, subtype):
    rng = np.random.default_rng(3)
    x = rng.uniform(-0.5, 0.5, size=(N, 2))
    src = tmp_path / "in.wav"
    sf.write(str(src), x, 11025, subtype=subtype)
    s = load_signal(src, mono=False)
    out = save_signal(s, tmp_path / "out.wav")
    info = sf.info(str(out))
    assert info.subtype == subtype
    assert info.samplerate == 11025 and info.channels == 2 and info.frames == N
    a, _ = sf.read(str(src), dtype="float64")
    b, _ = sf.read(str(out), dtype="float64")
    np.testing.assert_allclose(b, a, atol=2.0**-15)  # 1 LSB of 16 bits; finer formats do better


def test_int16_wav_load_save_within_one_lsb(tmp_path):
    x = _int_audio(seed=4, full=-32768)  # the most negative sample sets the peak (peak = 1.0)
    src = _write_wav_int16(tmp_path / "src.wav", x, sr=22050)
    s = load_signal(src)
    assert s.peak == 1.0
    out = save_signal(s, tmp_path / "copy.wav")
    got, sr = _read_int16(out)
    assert sr == 22050 and sf.info(str(out)).subtype == "PCM_16"
    assert got.shape == x.shape
    assert int(np.max(np.abs(got - x))) <= 1

    # a peak below full scale: the inverse scaling must restore the original level
    y = (x // 4).astype(np.int64)
    src2 = _write_wav_int16(tmp_path / "quiet.wav", y)
    s2 = load_signal(src2)
    assert float(np.max(np.abs(s2.values))) == 1.0 and s2.peak < 0.3
    got2, _ = _read_int16(save_signal(s2, tmp_path / "quiet_copy.wav"))
    assert int(np.max(np.abs(got2 - y))) <= 1


def test_flac_loads_and_round_trips(tmp_path):
    x = _int_audio(seed=5)
    path = tmp_path / "a.flac"
    sf.write(str(path), x.astype(np.int16), SR, subtype="PCM_16", format="FLAC")
    s = load_signal(path)
    assert s.values.shape == (N, 1) and s.sample_rate == SR and s.subtype == "PCM_16"
    assert float(np.max(np.abs(s.values))) == 1.0
    out = save_signal(s, tmp_path / "b.flac")
    info = sf.info(str(out))
    assert info.format == "FLAC" and info.subtype == "PCM_16" and info.samplerate == SR
    got, _ = _read_int16(out)
    assert int(np.max(np.abs(got - x))) <= 1


def test_ogg_loads(tmp_path):
    n = 4000
    t = np.arange(n) / 16000
    x = 0.5 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
    path = tmp_path / "a.ogg"
    sf.write(str(path), x, 16000, format="OGG", subtype="VORBIS")
    s = load_signal(path)
    assert s.kind == "audio" and s.sample_rate == 16000 and s.subtype == "VORBIS"
    assert s.values.dtype == np.float32 and s.values.shape == (n, 1)
    assert float(np.max(np.abs(s.values))) == 1.0
    assert load_signal(path, mono=False).values.shape == (n, 2)
    out = save_signal(s, tmp_path / "b.ogg")
    info = sf.info(str(out))
    assert info.format == "OGG" and info.samplerate == 16000


def test_max_samples_truncates(tmp_path):
    x = _int_audio(n=1000, seed=6)
    x[900, 0] = 32767  # the overall peak lies beyond the cut
    x[:100, 0] = np.clip(x[:100, 0], -9000, 9000)
    x[50, 0] = 10000
    path = _write_wav_int16(tmp_path / "long.wav", x)
    s = load_signal(path, max_samples=100)
    assert s.values.shape == (100, 1) and s.grid == (100,)
    # as the paper's code: divided by the whole file's peak (beyond the cut), then cut
    assert s.peak == pytest.approx(32767 / 32768)
    assert float(np.max(np.abs(s.values))) == pytest.approx(10000 / 32767, rel=1e-6)
    np.testing.assert_allclose(s.values[:, 0] * s.peak, x[:100, 0] / 32768, atol=1e-6)
    assert load_signal(path, max_samples=5000).values.shape == (1000, 1)  # longer than the file: all of it


def test_silent_wav_warns_without_nan(tmp_path):
    path = _write_wav_int16(tmp_path / "silent.wav", np.zeros((N, 1), dtype=np.int64))
    with pytest.warns(UserWarning, match="silent"):
        s = load_signal(path)
    assert np.all(np.isfinite(s.values)) and np.all(s.values == 0)
    assert s.peak == 1.0
    got, _ = _read_int16(save_signal(s, tmp_path / "copy.wav"))
    assert np.all(got == 0)


def test_saved_files_get_ordinary_permissions(tmp_path):
    """Saved files are written via a temporary file, yet end up with the umask's mode (not 0600)."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    mode = probe.stat().st_mode & 0o777
    s = load_signal(_write_wav_int16(tmp_path / "a.wav", _int_audio()))
    Image.fromarray(_rgb()).save(tmp_path / "c.png")
    img = load_signal(tmp_path / "c.png")
    for out in (save_signal(s, tmp_path / "out.wav"), save_signal(img, tmp_path / "out.png")):
        assert out.stat().st_mode & 0o777 == mode
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


# ------------------------------------------------------------------------------------- images


def _check_8bit(s, arr):
    """``s`` holds the 8-bit (H, W[, C]) ``arr`` as x/127.5 − 1."""
    h, w = arr.shape[:2]
    c = 1 if arr.ndim == 2 else arr.shape[2]
    assert s.kind == "image" and s.bit_depth == 8
    assert s.grid == (h, w)
    assert s.values.dtype == np.float32 and s.values.shape == (h * w, c)
    assert s.values.min() >= -1.0 and s.values.max() <= 1.0
    np.testing.assert_allclose(s.values, arr.reshape(h * w, c) / 127.5 - 1.0, atol=1e-6)


def test_png_gray(tmp_path):
    a = _gray()
    Image.fromarray(a, mode=None).save(tmp_path / "g.png")
    s = load_signal(tmp_path / "g.png")
    _check_8bit(s, a)
    assert s.values.min() == -1.0 and s.values.max() == 1.0


def test_png_rgb(tmp_path):
    a = _rgb()
    Image.fromarray(a).save(tmp_path / "c.png")
    s = load_signal(tmp_path / "c.png")
    _check_8bit(s, a)
    assert s.values.min() == -1.0 and s.values.max() == 1.0


def test_png_rgba_drops_alpha_with_warning(tmp_path):
    a = _rgb()
    alpha = np.full(a.shape[:2] + (1,), 128, dtype=np.uint8)
    Image.fromarray(np.concatenate([a, alpha], axis=2)).save(tmp_path / "ca.png")
    with pytest.warns(UserWarning, match="alpha"):
        s = load_signal(tmp_path / "ca.png")
    _check_8bit(s, a)


def test_png_palette(tmp_path):
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 200, 50], [255, 255, 255]], dtype=np.uint8)
    idx = np.random.default_rng(7).integers(0, 4, size=(6, 9)).astype(np.uint8)
    im = Image.fromarray(idx).convert("P")
    im.putpalette(palette.reshape(-1).tolist())
    im.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    s = load_signal(tmp_path / "p.png")
    _check_8bit(s, palette[idx])
    assert s.meta["mode"] == "P"


def test_png_palette_with_transparency_warns(tmp_path):
    idx = np.random.default_rng(8).integers(0, 3, size=(4, 4)).astype(np.uint8)
    im = Image.fromarray(idx).convert("P")
    im.putpalette([10, 20, 30, 40, 50, 60, 70, 80, 90])
    im.save(tmp_path / "pt.png", transparency=0)
    with pytest.warns(UserWarning, match="alpha"):
        s = load_signal(tmp_path / "pt.png")
    assert s.channels == 3


def test_png_16bit(tmp_path):
    rng = np.random.default_rng(9)
    a = rng.integers(0, 65536, size=(6, 5), dtype=np.uint16)
    a[0, 0], a[-1, -1] = 0, 65535
    Image.fromarray(a).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    s = load_signal(tmp_path / "d.png")
    assert s.bit_depth == 16 and s.grid == (6, 5) and s.values.shape == (30, 1)
    assert s.values.min() == -1.0 and s.values.max() == 1.0
    np.testing.assert_allclose(s.values[:, 0], a.reshape(-1) / 32767.5 - 1.0, atol=1e-6)

    out = save_signal(s, tmp_path / "d2.png")
    with Image.open(out) as im:
        assert im.mode.startswith("I")
        back = np.asarray(im).astype(np.int64)
    np.testing.assert_array_equal(back, a.astype(np.int64))


def test_png_16bit_dark_stays_16bit(tmp_path):
    """A 16-bit image whose values all sit below 256 is still 16-bit (not mistaken for 8-bit)."""
    a = np.arange(20, dtype=np.uint16).reshape(4, 5) * 10
    Image.fromarray(a).save(tmp_path / "dark.png")
    s = load_signal(tmp_path / "dark.png")
    assert s.bit_depth == 16
    np.testing.assert_allclose(s.values[:, 0], a.reshape(-1) / 32767.5 - 1.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_png_round_trip_identical(tmp_path, mode):
    a = _gray(9, 4) if mode == "L" else _rgb(9, 4)
    Image.fromarray(a).save(tmp_path / "in.png")
    s = load_signal(tmp_path / "in.png")
    out = save_signal(s, tmp_path / "out.png")
    with Image.open(out) as im:
        assert im.mode == mode and im.size == (4, 9)
        np.testing.assert_array_equal(np.asarray(im), a)


def test_jpeg(tmp_path):
    a = _rgb(16, 16)
    Image.fromarray(a).save(tmp_path / "c.jpg", quality=90)
    with Image.open(tmp_path / "c.jpg") as im:
        decoded = np.asarray(im.convert("RGB"))
    s = load_signal(tmp_path / "c.jpg")
    _check_8bit(s, decoded)
    out = save_signal(s, tmp_path / "c2.jpg")
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (16, 16)


@pytest.mark.parametrize("suffix", [".bmp", ".tif"])
def test_bmp_and_tiff(tmp_path, suffix):
    a = _rgb(6, 8)
    Image.fromarray(a).save(tmp_path / f"c{suffix}")
    s = load_signal(tmp_path / f"c{suffix}")
    _check_8bit(s, a)
    out = save_signal(s, tmp_path / f"c2{suffix}")
    with Image.open(out) as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), a)


def test_gray_tiff_and_bmp(tmp_path):
    a = _gray(3, 11)
    for suffix in (".bmp", ".tif"):
        Image.fromarray(a).save(tmp_path / f"g{suffix}")
        _check_8bit(load_signal(tmp_path / f"g{suffix}"), a)


# ------------------------------------------------------------------------------------- by content


def test_wav_named_png_loads_as_audio(tmp_path):
    x = _int_audio(seed=10)
    _write_wav_int16(tmp_path / "a.wav", x)
    (tmp_path / "a.wav").rename(tmp_path / "sound.png")
    s = load_signal(tmp_path / "sound.png")
    assert s.kind == "audio" and s.values.shape == (N, 1) and s.sample_rate == SR


def test_png_named_wav_loads_as_image(tmp_path):
    a = _rgb()
    Image.fromarray(a).save(tmp_path / "c.png")
    (tmp_path / "c.png").rename(tmp_path / "picture.wav")
    s = load_signal(tmp_path / "picture.wav")
    _check_8bit(s, a)


# ------------------------------------------------------------------------------------- coordinates


def test_coords_audio():
    s = Signal(values=np.zeros((17, 1)), grid=(17,), kind="audio", sample_rate=SR)
    c = s.coords()
    assert isinstance(c, torch.Tensor) and c.dtype == torch.float32
    assert tuple(c.shape) == (17, 1)
    assert c.min().item() == -1.0 and c.max().item() == 1.0
    assert c[0, 0].item() == -1.0 and c[-1, 0].item() == 1.0
    assert torch.all(c[1:, 0] > c[:-1, 0])
    assert tuple(s.coords((35,)).shape) == (35, 1)  # a finer grid to render on


def test_coords_image_ij_order():
    h, w = 3, 5
    s = Signal(values=np.zeros((h * w, 3)), grid=(h, w), kind="image")
    c = s.coords()
    assert tuple(c.shape) == (h * w, 2)
    assert c.min().item() == -1.0 and c.max().item() == 1.0
    rows, cols = c[:, 0].reshape(h, w), c[:, 1].reshape(h, w)
    # 'ij': the first coordinate (row) varies slowest, the second (column) fastest
    assert torch.all(rows == rows[:, :1]) and torch.all(cols == cols[:1, :])
    torch.testing.assert_close(rows[:, 0], torch.linspace(-1, 1, h))
    torch.testing.assert_close(cols[0, :], torch.linspace(-1, 1, w))
    assert c[1].tolist() == [-1.0, -0.5]  # second point: same row, next column
    assert c[w].tolist() == [0.0, -1.0]  # point w: next row, first column


def test_coords_match_pixel_layout(tmp_path):
    """values[k] is the pixel at the coordinate coords()[k] (row-major flattening)."""
    a = _gray(4, 6)
    Image.fromarray(a).save(tmp_path / "g.png")
    s = load_signal(tmp_path / "g.png")
    c = s.coords().numpy()
    k = 2 * 6 + 5  # row 2, column 5
    assert c[k, 0] == pytest.approx(-1 + 2 * 2 / 3) and c[k, 1] == 1.0
    assert s.values[k, 0] == pytest.approx(a[2, 5] / 127.5 - 1)


def test_grid_coords_volume():
    c = grid_coords((2, 3, 4))
    assert tuple(c.shape) == (24, 3)
    assert c.min().item() == -1.0 and c.max().item() == 1.0
    assert c[:, 0].reshape(2, 12).std(dim=1).max().item() == 0.0  # slowest axis first


def test_no_unexpected_warnings_on_clean_input(tmp_path):
    _write_wav_int16(tmp_path / "a.wav", _int_audio(seed=11))
    Image.fromarray(_rgb()).save(tmp_path / "c.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_signal(tmp_path / "a.wav")
        load_signal(tmp_path / "c.png")


@pytest.mark.parametrize("subtype,bits", [("PCM_16", 16), ("PCM_24", 24)])
def test_integer_wav_round_trip_is_exact(tmp_path, subtype, bits):
    """Load then save gives back the very same integer samples (rounded, not truncated, on write)."""
    rng = np.random.default_rng(3)
    levels = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), 4000)
    sf.write(str(tmp_path / "in.wav"), (levels * 2 ** (32 - bits)).astype(np.int32), 8000, subtype=subtype)
    save_signal(load_audio(tmp_path / "in.wav"), tmp_path / "out.wav")
    a, _ = sf.read(str(tmp_path / "in.wav"), dtype="int32")
    b, _ = sf.read(str(tmp_path / "out.wav"), dtype="int32")
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------- crop


def test_crop_audio_keeps_the_whole_signals_coordinates():
    s = Signal(values=np.arange(101, dtype=np.float32)[:, None] / 100, grid=(101,), kind="audio", sample_rate=SR)
    w = crop(s, (10,), (20,))
    assert w.grid == (20,) and w.sample_rate == SR
    np.testing.assert_array_equal(w.values, s.values[10:30])
    torch.testing.assert_close(w.coords(), s.coords()[10:30])  # same coordinates, same spacing
    assert w.describe()["extent"] == [[pytest.approx(-0.8), pytest.approx(-0.42)]]
    assert s.coords().shape == (101, 1) and "extent" not in s.describe()  # the original is untouched


def test_crop_image_rows_and_columns():
    h, w = 6, 9
    s = Signal(values=np.random.default_rng(0).random((h * w, 3)), grid=(h, w), kind="image")
    c = crop(s, (1, 4), (3, 5))
    assert c.grid == (3, 5)
    np.testing.assert_array_equal(c.values.reshape(3, 5, 3), s.values.reshape(h, w, 3)[1:4, 4:9])
    torch.testing.assert_close(c.coords(), s.coords().reshape(h, w, 2)[1:4, 4:9].reshape(-1, 2))


def test_crop_of_a_crop_composes():
    s = Signal(values=np.zeros((50, 1)), grid=(50,), kind="audio", sample_rate=SR)
    torch.testing.assert_close(crop(crop(s, (5,), (30,)), (7,), (10,)).coords(), s.coords()[12:22])


def test_off_grid_samples_train_with_the_grid_and_follow_crops():
    off = Samples(np.array([[-0.95, 0.0], [0.3, 0.31], [0.9, -0.9]]), np.array([[0.1], [0.2], [0.3]]))
    s = Signal(values=np.zeros((25, 1)), grid=(5, 5), kind="image", off_grid=off)
    coords, values = s.training_data()
    assert s.num_points == 25 and s.num_samples == 28 and s.describe()["off_grid_samples"] == 3
    torch.testing.assert_close(coords[:25], s.coords())
    torch.testing.assert_close(coords[25:], torch.from_numpy(off.coords))
    np.testing.assert_array_equal(values[25:, 0].numpy(), np.float32([0.1, 0.2, 0.3]))
    assert s.with_values(np.ones((25, 1))).off_grid is None  # a rendering is a grid
    c = crop(s, (2, 2), (3, 3))  # [0, 1]²: only the sample at (0.3, 0.31) lies inside
    np.testing.assert_array_equal(c.off_grid.coords, np.float32([[0.3, 0.31]]))
    with pytest.raises(ValueError, match="off-grid"):
        Signal(values=np.zeros((25, 1)), grid=(5, 5), kind="image", off_grid=Samples(np.zeros((2, 3)), np.zeros((2, 1))))


@pytest.mark.parametrize("start,size", [((0,), (0,)), ((45,), (10,)), ((-1,), (5,)), ((0, 0), (5, 5))])
def test_crop_outside_the_grid_is_refused(start, size):
    s = Signal(values=np.zeros((50, 1)), grid=(50,), kind="audio", sample_rate=SR)
    with pytest.raises(ValueError):
        crop(s, start, size)


def test_render_of_a_cropped_fit_uses_its_coordinates(tmp_path):
    """A model fitted on a window renders at the window's coordinates, not at linspace(-1, 1)."""
    from siren2 import predict
    from siren2.runs import RunFolder, render, run, write_run
    from siren2.spec import resolve

    from helpers import random_tones

    window = crop(random_tones(600, (0.01, 0.05), 3), (200,), (150,))
    done = run(resolve(window, width=16, hidden_layers=2, epochs=10, recipe="paper"), window)
    with RunFolder(tmp_path / "run") as folder:
        write_run(folder, done, window)
    again = render(tmp_path / "run")
    assert again.extent == window.extent
    np.testing.assert_allclose(again.values, done.reconstruction.values, atol=1e-5)
    wrong = predict(done.result.model, grid_coords(window.grid)).numpy()  # at linspace(-1, 1) instead
    assert np.abs(wrong - done.reconstruction.values).max() > 1e-2
