"""Reading data files (YAML) with errors that name the file and the entry at fault."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cchc.models.errors import UserError
from cchc.models.text import nfc, one_line, parse_decimal

T = TypeVar("T")


class DataFileError(UserError):
    """A data file is unreadable or does not add up; `problems` are sentences naming the entries."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"{self.path}: {self.problems[0]}"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{self.path}: {len(self.problems)} problems\n{lines}"


def read_yaml(path: Path) -> Any:
    """The parsed YAML document of a file, or DataFileError saying why it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(path, ["no such file"]) from None
    except OSError as exc:
        raise DataFileError(path, [f"cannot be read ({exc.strerror})"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, [f"is not UTF-8 text (byte {exc.start})"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise DataFileError(path, [f"{where}not valid YAML ({exc.problem})"]) from None
    except yaml.YAMLError as exc:
        raise DataFileError(path, [f"not valid YAML ({exc})"]) from None


class Entry:
    """A mapping in a data file at a named place; reading a key records a problem instead of raising."""

    def __init__(self, data: Any, where: str, problems: list[str], allowed: Iterable[str]) -> None:
        self.where = where
        self.problems = problems
        self.ok = isinstance(data, dict)
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        if not self.ok:
            self.problem(f"should be a mapping of keys, not {type(data).__name__}")
            return
        allowed = set(allowed)
        for key in self.data:
            if key not in allowed:
                self.problem(f"unknown key {key!r} (expected one of {', '.join(sorted(allowed))})")

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}" if self.where else message)

    def get(self, key: str, convert: Callable[[Any], T], *, required: bool = True, default: T) -> T:
        if key not in self.data or self.data[key] is None:
            if required and self.ok:
                self.problem(f"{key!r} is missing")
            return default
        try:
            return convert(self.data[key])
        except (ValueError, TypeError) as exc:
            self.problem(f"{key!r}: {exc}")
            return default

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        return self.get(key, as_text, required=required, default=default)

    def line(self, key: str, *, required: bool = True, default: str = "") -> str:
        return self.get(key, as_line, required=required, default=default)

    def items(self, key: str, *, required: bool = True) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            if required and self.ok:
                self.problem(f"{key!r} is missing")
            return []
        if not isinstance(value, list):
            self.problem(f"{key!r} should be a list")
            return []
        return value


def as_text(value: Any) -> str:
    if not isinstance(value, str | int):
        raise ValueError(f"should be text, not {type(value).__name__}")
    return nfc(str(value))


def as_line(value: Any) -> str:
    return one_line(as_text(value))


def as_code(value: Any) -> str:
    code = as_line(value)
    if not code or any(ch.isspace() for ch in code):
        raise ValueError(f"{code!r} is not a code (no spaces, not empty)")
    return code


def as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} should be true or false")
    return value


def as_decimal(value: Any) -> Any:
    return parse_decimal(value)
