"""Helpers for admins: question options from the command line, the roll, the codes file.

Enrollment codes are secrets worth one credential each (DESIGN §2): they are written only to a
file of mode 0600 created for the purpose, never to standard output unless asked.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from client.errors import UsageError
from crypto.encoding import JSONValue

__all__ = ["codes_csv", "parse_option", "read_roll", "write_codes"]


def parse_option(spec: str) -> dict[str, JSONValue]:
    """``id=title`` or ``id=title:cost`` (the cost, a positive integer, only for budgets)."""
    ident, sep, rest = spec.partition("=")
    if not sep or not ident or not rest:
        raise UsageError(f"an option is id=title or id=title:cost, got {spec!r}")
    option: dict[str, JSONValue] = {"id": ident}
    title, colon, cost = rest.rpartition(":")
    # A title may itself hold colons: only an all-digit tail is a cost.
    if colon and cost.isascii() and cost.isdigit() and title:
        option["title"] = title
        option["cost"] = int(cost)
    else:
        option["title"] = rest
    return option


def read_roll(path: str | os.PathLike[str]) -> list[str]:
    """Voter references, one per line; blank lines skipped, repeats kept once (in order)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the voters file {path}: {exc}") from exc
    refs = [line.strip() for line in text.splitlines()]
    unique = list(dict.fromkeys(ref for ref in refs if ref))
    if not unique:
        raise UsageError(f"the voters file {path} holds no reference")
    return unique


def codes_csv(codes: Mapping[str, str], order: Sequence[str] | None = None) -> str:
    """The codes as RFC 4180 CSV with a ``ref,code`` header, in ``order`` when given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ref", "code"])
    for ref in order if order is not None else sorted(codes):
        writer.writerow([ref, codes[ref]])
    return out.getvalue()


def write_codes(path: str | os.PathLike[str], text: str) -> None:
    """Create the codes file with mode 0600; an existing file is never overwritten."""
    target = Path(path)
    try:
        # O_EXCL: overwriting an earlier batch's file would lose codes nobody can read again.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the umask may have narrowed it; never widened
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                fd = -1
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
        finally:
            if fd >= 0:
                os.close(fd)
    except FileExistsError as exc:
        raise UsageError(f"{target} already exists; choose another file for the codes") from exc
    except OSError as exc:
        raise UsageError(f"cannot write the codes file {target}: {exc.strerror or exc}") from exc
