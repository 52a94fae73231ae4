"""siren2.records: the JSON-lines record store and the settings fingerprint behind every resume."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from siren2.records import RecordStore, fingerprint


def test_fingerprint_ignores_key_order_and_tells_settings_apart():
    a = fingerprint({"epochs": 100, "window": 8000, "fit": {"lr": 1e-4, "schedule": "step"}})
    assert a == fingerprint({"window": 8000, "fit": {"schedule": "step", "lr": 1e-4}, "epochs": 100})
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != fingerprint({"epochs": 101, "window": 8000, "fit": {"lr": 1e-4, "schedule": "step"}})
    assert fingerprint({"path": Path("a") / "b"}) == fingerprint({"path": str(Path("a") / "b")})  # str() of the rest


def test_round_trip_in_file_order(tmp_path):
    store = RecordStore(tmp_path / "deep" / "folder" / "t.jsonl")  # folders made on first add
    assert store.records() == [] and store.get("a", "f") is None  # a missing file is empty
    store.add({"key": "b", "fingerprint": "f", "x": 1.5, "curve": [1.0, 2.25]}, {"key": "a", "fingerprint": "f"})
    store.add({"key": "c", "fingerprint": "g", "x": np.float32(0.5), "n": np.int64(3), "label": "Ω/16"})
    assert [r["key"] for r in store.records()] == ["b", "a", "c"]
    assert store.get("b", "f") == {"key": "b", "fingerprint": "f", "x": 1.5, "curve": [1.0, 2.25], "complete": True}
    assert store.get("c", "g")["x"] == 0.5 and store.get("c", "g")["n"] == 3 and store.get("c", "g")["label"] == "Ω/16"
    lines = store.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[0] == '{"key":"b","fingerprint":"f","x":1.5,"curve":[1.0,2.25],"complete":true}'
    assert RecordStore(store.path).records() == store.records()  # another store on the same file reads the same


def test_a_record_replaces_the_earlier_one_of_its_key_in_place(tmp_path):
    store = RecordStore(tmp_path / "t.jsonl")
    store.add(*({"key": k, "fingerprint": "f", "v": 0} for k in "abc"))
    store.add({"key": "b", "fingerprint": "f", "v": 1})
    assert [(r["key"], r["v"]) for r in store.records()] == [("a", 0), ("b", 1), ("c", 0)]
    store.add({"key": "d", "fingerprint": "f", "v": 2}, {"key": "d", "fingerprint": "f", "v": 3})  # the last wins
    assert [(r["key"], r["v"]) for r in store.records()] == [("a", 0), ("b", 1), ("c", 0), ("d", 3)]


def test_a_stale_or_partial_record_is_not_returned(tmp_path):
    store = RecordStore(tmp_path / "t.jsonl")
    store.add({"key": "a", "fingerprint": fingerprint({"epochs": 3})},
              {"key": "b", "fingerprint": fingerprint({"epochs": 3}), "complete": False})
    assert store.get("a", fingerprint({"epochs": 3})) is not None
    assert store.get("a", fingerprint({"epochs": 4})) is None  # made with other settings
    assert store.get("b", fingerprint({"epochs": 3})) is None  # not complete
    assert store.get("z", fingerprint({"epochs": 3})) is None
    assert len(store.records()) == 2  # both are still stored


def test_records_need_a_key_and_a_fingerprint(tmp_path):
    store = RecordStore(tmp_path / "t.jsonl")
    store.add({"key": "a", "fingerprint": "f"})
    before = store.path.read_bytes()
    for bad in ({"fingerprint": "f"}, {"key": "b"}):
        with pytest.raises(ValueError, match="key"):
            store.add({"key": "c", "fingerprint": "f"}, bad)
    assert store.path.read_bytes() == before  # nothing written
    store.add()
    assert store.path.read_bytes() == before


def test_damaged_and_truncated_lines_are_skipped_never_raised(tmp_path):
    store = RecordStore(tmp_path / "t.jsonl")
    store.add(*({"key": k, "fingerprint": "f"} for k in "abc"))
    text = store.path.read_text()
    store.path.write_text(text[: len(text) - 10])  # the last line cut short, as by a kill mid-write
    assert [r["key"] for r in store.records()] == ["a", "b"]
    assert store.get("c", "f") is None
    with open(store.path, "ab") as f:
        f.write(b"\n\xff\xfe not json\n[1, 2]\n\n{\"key\": \"d\", \"fingerprint\": \"f\"}\n")
    assert [r["key"] for r in store.records()] == ["a", "b", "d"]  # bad bytes, a list, a blank line: skipped
    store.add({"key": "c", "fingerprint": "f"})  # the rerun's record, appended
    assert [r["key"] for r in store.records()] == ["a", "b", "d", "c"]
    store.add({"key": "a", "fingerprint": "g"})  # a stored key: the rewrite drops the damaged lines
    assert [r["key"] for r in store.records()] == ["a", "b", "d", "c"]
    assert all(json.loads(line) for line in store.path.read_text().splitlines())
    store.path.write_bytes(b"\x00\x01garbage")
    assert store.records() == []
    store.path.unlink()
    store.path.mkdir()  # not a file at all
    assert store.records() == [] and store.get("a", "f") is None


def test_add_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = RecordStore(tmp_path / "t.jsonl")
    store.add({"key": "a", "fingerprint": "f", "v": 1})
    store.add({"key": "b", "fingerprint": "f", "v": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]
    old = store.path.read_bytes()

    def killed(src, dst):  # the process dies after writing the temporary file, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.add({"key": "a", "fingerprint": "f", "v": 99}, {"key": "c", "fingerprint": "f"})
    assert store.path.read_bytes() == old  # the old file whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]
    monkeypatch.undo()
    assert [(r["key"], r["v"]) for r in store.records()] == [("a", 1), ("b", 2)]


def test_a_kill_during_a_rewrite_leaves_the_old_file_whole(tmp_path, monkeypatch):
    store = RecordStore(tmp_path / "t.jsonl")
    store.add({"key": "a", "fingerprint": "f"})
    old = store.path.read_bytes()
    real = Path.write_text

    def half_then_die(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", half_then_die)
    with pytest.raises(KeyboardInterrupt):
        store.add({"key": "a", "fingerprint": "g", "long": "x" * 1000})  # a stored key: the file is rewritten
    monkeypatch.undo()
    assert store.path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["t.jsonl"]
    stray = tmp_path / ".t.0123456789ab.tmp.jsonl"  # a temporary file a SIGKILL left behind is never read
    stray.write_text('{"key": "z", "fingerprint": "f"}\n')
    assert [r["key"] for r in store.records()] == ["a"]
    store.add({"key": "b", "fingerprint": "f"})
    assert [r["key"] for r in store.records()] == ["a", "b"]


def test_new_keys_are_appended_and_a_cut_last_line_costs_only_its_record(tmp_path):
    store = RecordStore(tmp_path / "t.jsonl")
    for k in range(50):
        store.add({"key": str(k), "fingerprint": "f"})
    assert [r["key"] for r in store.records()] == [str(k) for k in range(50)]
    with open(store.path, "ab") as f:  # a kill in the middle of an append
        f.write(b'{"key":"50","finger')
    other = RecordStore(store.path)  # another process's view
    assert len(other.records()) == 50
    other.add({"key": "51", "fingerprint": "f"})  # begins on a line of its own
    assert [r["key"] for r in RecordStore(store.path).records()][-2:] == ["49", "51"]
    store.add({"key": "0", "fingerprint": "g"})  # this store sees the other's write and rewrites in place
    keys = [r["key"] for r in RecordStore(store.path).records()]
    assert keys[0] == "0" and keys.count("0") == 1 and keys[-1] == "51"
    assert store.get("0", "g") is not None and store.get("0", "f") is None
