"""Records of finished work, one JSON object per line, and the fingerprint that says whether a
record is still current.

The one resume mechanism: a record is stored under a ``key`` (what it is a record of, e.g.
``"relay.wav/siren2/0"``) with the [`fingerprint`][] of the settings that made it. Work whose
key has a complete record made with the same fingerprint is kept; anything else (missing,
damaged, made with other settings, partial) is done again, and its new record replaces the old
one:

    store = RecordStore("benchmarks/results/paper_audio_quick.jsonl")
    fp = fingerprint({"epochs": 150, "window": 8000})
    if store.get("relay.wav/siren2/0", fp) is None:
        store.add({"key": "relay.wav/siren2/0", "fingerprint": fp, "metrics": {"psnr_paper": 41.2}})
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from .io.files import write_text

__all__ = ["RecordStore", "fingerprint", "differing"]


def fingerprint(settings: Mapping) -> str:
    """The fingerprint of ``settings``: what a stored record must have been made with to be kept.

    Parameters
    ----------
    settings : Mapping
        Everything that shapes a result. Key order does not matter; a value JSON cannot hold is
        taken as its ``str()``.

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of the settings' JSON (sorted keys, compact
        separators).
    """
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def differing(stored: Mapping, settings: Mapping) -> list[str]:
    """The keys of ``settings`` whose value ``stored`` does not share (compared as JSON).

    Parameters
    ----------
    stored
        The settings a record was made with.
    settings
        The settings now.

    Returns
    -------
    list of str
    """
    text = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731
    return [k for k in settings if text(stored.get(k)) != text(settings[k])]


def _plain(value):
    """JSON for what ``json`` cannot write: a NumPy scalar or 0-d array as its Python value, else str."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)


class RecordStore:
    """Records in one JSON-lines file, at most one per key.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.jsonl``). It need not exist yet: a missing file holds no records, and the
        first [`add`][] creates it and its folder.

    Attributes
    ----------
    path : pathlib.Path
        The file.

    Notes
    -----
    Every [`add`][] writes the whole file to a hidden temporary name beside it, then renames it
    over the old one: a reader, or a run killed mid-write, sees the old file or the new one, never
    a mix. A line that is not a JSON object (cut short, damaged by hand) is skipped on reading, so
    its key's work is done again. One writer at a time: workers return their records to the
    process that owns the store, which adds them.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RecordStore({str(self.path)!r})"

    def records(self) -> list[dict]:
        """Every well-formed record, in file order.

        Returns
        -------
        list of dict
            One dict per line that holds a JSON object; damaged or truncated lines are skipped.
            Empty if the file does not exist or cannot be read. Never raises on bad content.
        """
        try:
            data = self.path.read_bytes()
        except OSError:
            return []
        out = []
        for line in data.splitlines():
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError):  # JSONDecodeError and bad UTF-8 are ValueErrors
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def get(self, key: str, fingerprint: str) -> dict | None:
        """The record of ``key``, if it is complete and was made with ``fingerprint``.

        Parameters
        ----------
        key : str
            What the record is a record of.
        fingerprint : str
            The [`fingerprint`][] of the settings the work would be done with now.

        Returns
        -------
        dict or None
            The record; None if there is none, if it was made with another fingerprint, or if it
            is not marked ``"complete": true``.
        """
        for rec in reversed(self.records()):
            if rec.get("key") == key:
                current = rec.get("fingerprint") == fingerprint and rec.get("complete") is True
                return rec if current else None
        return None

    def resume(self, settings: Mapping, what: str) -> list[dict]:
        """The complete records of a run to resume with ``settings``.

        Parameters
        ----------
        settings : Mapping
            What the run is made with now; each record holds its own under ``"settings"``.
        what : str
            What the store holds, for the error (e.g. ``"a comparison"``).

        Returns
        -------
        list of dict
            The complete records made with these settings, in file order.

        Raises
        ------
        InputError
            If the store holds a record made with other settings (the message names them): a
            resumed run must be the same run.
        """
        from .errors import InputError

        fp = fingerprint(settings)
        records = self.records()
        stale = next((r for r in records if r.get("fingerprint") != fp), None)
        if stale is not None:
            differ = differing(stale.get("settings") or {}, settings) or ["settings"]
            raise InputError(f"{self.path.parent}: holds {what} with other {', '.join(differ)}; resume with the "
                             "same file and options, or choose another --out")
        return [r for r in records if r.get("complete") is True]

    def add(self, *records: dict) -> None:
        """Store ``records``, each replacing any earlier record of its key (its folder made if need be).

        Parameters
        ----------
        *records : dict
            Each must hold ``"key"`` and ``"fingerprint"``; ``"complete": true`` is set where
            absent. A record of a new key is appended; one of a stored key takes the old one's place.

        Raises
        ------
        ValueError
            If a record lacks ``"key"`` or ``"fingerprint"`` (then nothing is written).

        Notes
        -----
        Records of new keys are appended to the file in one write, so that storing N records one by
        one costs N writes, not N rewrites; a kill in the middle leaves at most a cut last line, which
        :meth:`records` skips (its work is done again). A record of a stored key rewrites the whole file
        to a temporary name and renames it over the old one.
        """
        new: dict[str, dict] = {}
        for rec in records:
            if not isinstance(rec, Mapping) or "key" not in rec or "fingerprint" not in rec:
                raise ValueError("a record needs a 'key' and a 'fingerprint'")
            new[rec["key"]] = {**rec} if "complete" in rec else {**rec, "complete": True}
        if not new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if new.keys() & self.stored_keys():
            merged: dict = {}
            for i, rec in enumerate(self.records()):  # a key stored twice keeps its first place and last record
                key = rec.get("key")
                merged[key if isinstance(key, str) else ("line", i)] = rec
            merged.update(new)
            write_text(self.path, "".join(map(_line, merged.values())))
        else:
            with open(self.path, "ab+") as f:
                cut = False  # a kill in an earlier append left a line without its end: end it first
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    cut = f.read(1) != b"\n"
                f.write(("\n" if cut else "").encode() + "".join(map(_line, new.values())).encode("utf-8"))
        self._keys = self.stored_keys() | set(new)
        self._stamp = _stamp(self.path)

    def stored_keys(self) -> set:
        """The keys of the records in the file (remembered while the file is unchanged)."""
        if getattr(self, "_stamp", None) != _stamp(self.path) or getattr(self, "_keys", None) is None:
            self._keys = {rec.get("key") for rec in self.records()}
            self._stamp = _stamp(self.path)
        return self._keys


def _line(rec: dict) -> str:
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=False, default=_plain) + "\n"


def _stamp(path: Path) -> tuple | None:
    """What changes when a file is written: its size and modification time (None: no file)."""
    try:
        s = path.stat()
    except OSError:
        return None
    return s.st_size, s.st_mtime_ns
