# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Paths, globs, format detection and zstd handling shared by the readers and writers.

Formats are detected from the file name alone (never by sniffing content), so a wrong name is
reported instead of silently guessed:

==================================  =================
name                                format
==================================  =================
``*.dbn``, ``*.dbn.zst``            ``"dbn"``
``*_message_<N>.csv[.zst]``         ``"lobster"`` (LOBSTER message file)
``*_orderbook_<N>.csv[.zst]``       ``"lobster-orderbook"`` (not an event file)
other ``*.csv``, ``*.csv.zst``      ``"databento-csv"`` (integer or "pretty" variant, told apart by content)
anything else                       ``DataError``
==================================  =================
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError

PathLike = str | os.PathLike
_LOBSTER_MESSAGE = re.compile(r"_message_\d+\.csv(\.zst)?$", re.IGNORECASE)
_LOBSTER_ORDERBOOK = re.compile(r"_orderbook_\d+\.csv(\.zst)?$", re.IGNORECASE)
_GLOB_CHARS = set("*?[")


def expand_paths(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    """Expand a path, a glob pattern, or a list of either into a sorted, de-duplicated file list.

    Each item that contains a glob character (``*``, ``?``, ``[``) and is not an existing file is
    expanded (``**`` recurses); a directory expands to the readable files directly inside it.
    Items keep their order; within one glob the matches are sorted by name, so dated file names
    come out in date order.

    Args:
        paths: one path or pattern, or a sequence of them.

    Returns:
        The files, in order, each once.

    Raises:
        DataError: an item matches nothing (the item is named), or nothing was given.
    """
    if isinstance(paths, (str, os.PathLike)):
        items = [paths]
    else:
        items = list(paths)
    if not items:
        raise DataError("<no input>", "no input files given")
    out: list[Path] = []
    seen: set[Path] = set()
    for item in items:
        text = os.fspath(item)
        if os.path.isdir(text):
            found = sorted(p for p in Path(text).iterdir() if p.is_file() and _is_known(p))
            if not found:
                raise DataError(text, "directory holds no readable data files (.dbn, .dbn.zst, .csv, .csv.zst)")
        elif os.path.exists(text) or not (_GLOB_CHARS & set(text)):
            if not os.path.exists(text):
                raise DataError(text, "no such file")
            found = [Path(text)]
        else:
            found = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True) if os.path.isfile(p))
            if not found:
                raise DataError(text, "pattern matches no file")
        for p in found:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


def _is_known(path: Path) -> bool:
    try:
        detect_format(path)
    except DataError:
        return False
    return True


def is_zstd(path: PathLike) -> bool:
    """True when the name ends in ``.zst`` (the only compression the readers take)."""
    return os.fspath(path).lower().endswith(".zst")


def detect_format(path: PathLike) -> str:
    """The format of ``path`` from its name: ``"dbn"``, ``"databento-csv"``, ``"lobster"``, ``"lobster-orderbook"``.

    Raises:
        DataError: the extension is not one of ``.dbn``, ``.dbn.zst``, ``.csv``, ``.csv.zst``.
    """
    name = os.path.basename(os.fspath(path)).lower()
    if name.endswith((".dbn", ".dbn.zst")):
        return "dbn"
    if name.endswith((".csv", ".csv.zst")):
        if _LOBSTER_MESSAGE.search(name):
            return "lobster"
        if _LOBSTER_ORDERBOOK.search(name):
            return "lobster-orderbook"
        return "databento-csv"
    raise DataError(
        path, "unknown file type (expected .dbn, .dbn.zst, .csv or .csv.zst; LOBSTER files end in _message_<N>.csv)"
    )


_ZSTD_MAGIC = 0xFD2FB528
_SKIPPABLE_MAGIC = 0x184D2A50  # low 4 bits free


def _is_frame_start(raw: bytes, pos: int) -> bool:
    magic = int.from_bytes(raw[pos : pos + 4], "little")
    return len(raw) - pos >= 4 and (magic == _ZSTD_MAGIC or magic & 0xFFFFFFF0 == _SKIPPABLE_MAGIC)


def _zstd_reason(exc: Exception) -> str:
    """zstd's own words, on one line, with the checksum case said plainly."""
    text = re.sub(r"^zstd decompress(or)? error:\s*", "", " ".join(str(exc).split()))
    if "checksum" in text.lower():
        return "content checksum mismatch (the data is damaged)"
    return text[:1].lower() + text[1:]


def read_bytes(path: PathLike) -> bytes:
    """The whole (decompressed) content of ``path``; ``.zst`` files are decompressed with ``zstandard``.

    Every frame is decompressed (multi-frame files are legal); a stream that stops inside a frame
    is an error rather than silently shorter data (zstd frames written without a checksum do not
    protect the payload itself, so a flipped byte inside a block may still decode).

    Raises:
        DataError: empty file, not a zstd stream, corrupt (e.g. checksum mismatch) or truncated
            stream, with the compressed byte offset of the frame.
    """
    raw = Path(path).read_bytes()
    if not raw:
        raise DataError(path, "empty file")
    if not is_zstd(path):
        return raw
    import zstandard

    chunks: list[bytes] = []
    produced = 0
    pos = 0
    while pos < len(raw):
        dobj = zstandard.ZstdDecompressor().decompressobj()
        try:
            data = dobj.decompress(raw[pos:])
        except zstandard.ZstdError as exc:
            if pos == 0 and not _is_frame_start(raw, 0):
                raise DataError(path, f"not a zstd stream ({_zstd_reason(exc)})") from None
            what = "in the frame at" if _is_frame_start(raw, pos) else "no frame starts at"
            raise DataError(
                path,
                f"corrupt zstd stream: {_zstd_reason(exc)}, {what} compressed byte {pos} "
                f"({produced} bytes decoded before it)",
            ) from None
        chunks.append(data)
        produced += len(data)
        if not dobj.eof:
            raise DataError(
                path,
                f"truncated zstd stream: compressed data ends at byte {len(raw)} inside a frame "
                f"(decoded {produced} bytes)",
                offset=len(raw),
            )
        unused = dobj.unused_data
        pos = len(raw) - len(unused)
    out = b"".join(chunks)
    if not out:
        raise DataError(path, "empty file (zstd stream decodes to 0 bytes)")
    return out


def zstd_data_error(path: PathLike, exc: Exception) -> DataError:
    """The ``DataError`` for a ``zstandard.ZstdError`` raised by a third-party reader of ``path``.

    Such readers (Databento's ``DBNStore``) decompress as they go and raise zstd's bare error; the
    frames are decoded again here (error path only) so the message names the damaged frame.
    """
    try:
        read_bytes(path)
    except DataError as err:
        return err
    return DataError(path, f"corrupt zstd stream: {_zstd_reason(exc)}")


def check_text(path: PathLike, data: bytes) -> None:
    """Raise ``DataError`` at the first byte of ``data`` that is not UTF-8 text (rows are 1-based lines).

    For the error paths of the CSV readers: a damaged or binary file otherwise surfaces as a
    decoding error inside ``pyarrow``'s row handler (printed, not raised).
    """
    if data.isascii():
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            path,
            f"binary data at byte {exc.start} (line {line}): not UTF-8 text; a damaged file, "
            f"or a compressed file without the .zst name?",
        ) from None


def check_zstd_framing(path: PathLike, raw: bytes) -> None:
    """Walk the zstd frame and block headers of ``raw`` (no decompression) and raise on damage.

    Used where a fast native decoder reads the file itself (DBN): that decoder stops quietly at a
    truncated frame, so the framing is checked here first. Cost: one Python step per 128 KiB
    block, nothing per record.

    Raises:
        DataError: empty file, bad magic number, reserved block type, or a frame cut short (with
            the byte offset where the data ends or the bad header starts).
    """
    n = len(raw)
    if n == 0:
        raise DataError(path, "empty file")
    pos = 0
    while pos < n:
        if n - pos < 4:
            raise DataError(path, "truncated zstd stream: trailing bytes after the last frame", offset=pos)
        magic = int.from_bytes(raw[pos : pos + 4], "little")
        if magic & 0xFFFFFFF0 == _SKIPPABLE_MAGIC:
            if n - pos < 8:
                raise DataError(path, "truncated zstd stream (skippable frame header)", offset=n)
            pos += 8 + int.from_bytes(raw[pos + 4 : pos + 8], "little")
            if pos > n:
                raise DataError(path, "truncated zstd stream (skippable frame)", offset=n)
            continue
        if magic != _ZSTD_MAGIC:
            what = "not a zstd stream" if pos == 0 else "corrupt zstd stream"
            raise DataError(path, f"{what} (bad frame magic number at byte {pos})", offset=pos)
        if pos + 5 > n:
            raise DataError(path, "truncated zstd stream (frame header)", offset=n)
        fhd = raw[pos + 4]
        fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
        header = 1 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
        pos += 4 + header
        while True:
            if pos + 3 > n:
                raise DataError(path, f"truncated zstd stream: compressed data ends at byte {n} inside a frame", offset=n)
            bh = int.from_bytes(raw[pos : pos + 3], "little")
            last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
            if btype == 3:
                raise DataError(path, f"corrupt zstd stream (reserved block type at byte {pos})", offset=pos)
            pos += 3 + (1 if btype == 1 else bsize)
            if pos > n:
                raise DataError(path, f"truncated zstd stream: compressed data ends at byte {n} inside a frame", offset=n)
            if last:
                break
        pos += 4 if checksum else 0
        if pos > n:
            raise DataError(path, f"truncated zstd stream: compressed data ends at byte {n} inside a frame", offset=n)


__all__ = [
    "PathLike",
    "check_text",
    "check_zstd_framing",
    "detect_format",
    "expand_paths",
    "is_zstd",
    "read_bytes",
    "zstd_data_error",
]
