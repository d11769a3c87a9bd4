"""Reading data files (YAML) with errors that name the file and the entry at fault."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.text import nfc, one_line, parse_decimal

T = TypeVar("T")

# What the aliases (*name) of one file may stand for, in nodes (entries, keys, values) all told. An alias is
# one more reference to its anchor's node, but whoever reads the document reads that node as often as it is
# referred to: nine anchors of nine aliases each (a "billion laughs") stand for 9⁹ nodes in 800 bytes, and
# reading them took 3.5 GiB before it was stopped. The organisation, frameworks, calendars and rules need no
# alias at all; a file that writes each person's roles as one shared list still stays far below this.
MAX_ALIASED_NODES = 100_000


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
        raise DataFileError(path, [tr("no such file")]) from None
    except OSError as exc:
        raise DataFileError(path, [tr("cannot be read ({why})", why=exc.strerror)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, [tr("is not UTF-8 text (byte {byte})", byte=exc.start)]) from None
    try:
        return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader, with its aliases bounded
    except AliasRefused as exc:
        raise DataFileError(path, [exc.sentence()]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = tr("line {line}, column {column}: ", line=mark.line + 1, column=mark.column + 1) if mark else ""
        raise DataFileError(path, [where + tr("not valid YAML ({problem})", problem=exc.problem)]) from None
    except yaml.YAMLError as exc:
        raise DataFileError(path, [tr("not valid YAML ({problem})", problem=exc)]) from None
    except RecursionError:  # entries inside entries, thousands deep: PyYAML composes them recursively
        raise DataFileError(path, [tr("its entries are nested too deeply to be read")]) from None


class AliasRefused(yaml.MarkedYAMLError):
    """An alias that would make the document stand for more than it holds: too many nodes, or itself."""

    def __init__(self, mark: Any, anchor: str, recursive: bool) -> None:
        super().__init__(problem=f"alias *{anchor}", problem_mark=mark)
        self.anchor = anchor
        self.recursive = recursive

    def sentence(self) -> str:
        mark = self.problem_mark
        where = {"line": mark.line + 1 if mark else 0, "column": mark.column + 1 if mark else 0, "anchor": self.anchor}
        if self.recursive:
            return tr(
                "line {line}, column {column}: the alias *{anchor} stands for an entry that contains it; a data "
                "file cannot contain itself",
                **where,
            )
        return tr(
            "line {line}, column {column}: with the alias *{anchor}, the file's aliases stand for more than "
            "{limit} entries; write the entries out instead of repeating them through aliases",
            limit=MAX_ALIASED_NODES,
            **where,
        )


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, whose aliases stand for at most MAX_ALIASED_NODES nodes in all, and never for a
    node that contains them. Each alias is weighed as it is composed, by the size of its anchor's node (sizes
    are remembered, so weighing costs one visit of each node): a bomb is refused at the first alias past the
    limit, before anything is built from it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliased = 0
        self.sizes: dict[int, int] = {}  # id(node) → nodes it stands for (the nodes live as long as the loader)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor or "")  # an undefined alias: the composer names it
            if node is not None:
                self.aliased += self._size(node, event)
                if self.aliased > MAX_ALIASED_NODES:
                    raise AliasRefused(event.start_mark, event.anchor or "", recursive=False)
        return super().compose_node(parent, index)

    def _size(self, node: yaml.Node, alias: yaml.Event) -> int:
        """How many nodes `node` stands for, itself included; AliasRefused if it is still open (the alias is
        inside it: the document would contain itself)."""
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if node.end_mark is None:  # the composer closes a node (sets its end) once its last child is in
            raise AliasRefused(alias.start_mark, getattr(alias, "anchor", "") or "", recursive=True)
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._size(key, alias) + self._size(value, alias) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._size(item, alias) for item in node.value)
        else:
            size = 1
        self.sizes[id(node)] = size
        return size


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
