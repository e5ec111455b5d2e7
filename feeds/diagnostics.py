"""Problems found in records, as plain data that every front end (text, JSON, CI) can render."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one file.

    ``line`` and ``column`` are 1-based positions in the file itself (not in its front matter),
    or ``None`` when the problem is not at one place, such as a file that cannot be read.
    ``field`` is a dotted path such as ``related[3].provider.domain``; empty for the whole file.
    ``rule`` names the check that failed, so tools can filter on it.
    """

    file: str
    line: int | None
    column: int | None
    field: str
    rule: str
    message: str
    severity: Severity = Severity.ERROR

    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def format(self) -> str:
        where = f"{self.field}: " if self.field else ""
        tag = "" if self.severity is Severity.ERROR else "warning: "
        return f"{self.location()}: {tag}{where}{self.message}"


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str, str]:
    """Report problems in file order, the way a person reads the file."""
    return (
        diagnostic.file,
        diagnostic.line or 0,
        diagnostic.column or 0,
        diagnostic.field,
        diagnostic.message,
    )


def format_field_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """Render ``("related", 3, "provider")`` as ``related[3].provider``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
