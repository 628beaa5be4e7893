"""Typed reading of TOML tables that records every error with its file and key path.

A :class:`Table` never raises on bad input: it records a :class:`ConfigError` and returns a
harmless default, so one pass over the file reports *all* problems together. Each section or
check kind reads its own keys through a Table; :meth:`Table.finish` then reports the keys that
nobody read as unknown (with a "did you mean" when one is close).
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from monitord.config.durations import parse_duration
from monitord.config.lines import LineIndex, Place

T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class ConfigError:
    file: str
    path: str
    message: str
    line: int | None = None  # where the TOML scan found the key or its table; None: unknown

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if not self.path:
            return f"{where}: {self.message}"
        return f"{where}: {self.path}: {self.message}"


class ConfigInvalid(Exception):
    """Raised by the loader once every error has been collected."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class Problems:
    """The error list of one load, in file order, without repeats.

    With the file's :class:`LineIndex`, an error given a ``place`` carries its line number.
    """

    def __init__(self, file: str, lines: LineIndex | None = None) -> None:
        self.file = file
        self.lines = lines
        self._errors: list[ConfigError] = []
        self._seen: set[ConfigError] = set()

    def add(self, path: str, message: str, place: Place | None = None) -> None:
        line = self.lines.line(place) if self.lines is not None and place else None
        error = ConfigError(self.file, path, message, line)
        if error not in self._seen:
            self._seen.add(error)
            self._errors.append(error)

    @property
    def errors(self) -> list[ConfigError]:
        return list(self._errors)

    def __bool__(self) -> bool:
        return bool(self._errors)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives; read only when it is used, never logged."""

    file: str | None = None
    env: str | None = None
    credential: str | None = None  # a systemd credential: $CREDENTIALS_DIRECTORY/<name>

    def read(self) -> str:
        """The secret's value, stripped of its trailing newline; raises OSError/KeyError."""
        file = self.file
        if self.credential is not None:
            directory = os.environ.get("CREDENTIALS_DIRECTORY")
            if not directory:
                raise FileNotFoundError(errno.ENOENT, "$CREDENTIALS_DIRECTORY is not set "
                                                      "(no LoadCredential= for this process)")
            file = os.path.join(directory, self.credential)
        if file is not None:
            with open(file, encoding="utf-8") as handle:
                return handle.read().rstrip("\r\n")
        if self.env is not None:
            return os.environ[self.env]
        raise KeyError("no secret configured")

    def describe(self) -> str:
        if self.credential:
            return f"credential {self.credential} ($CREDENTIALS_DIRECTORY)"
        return f"file {self.file}" if self.file else f"environment variable {self.env}"


def describe_value(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _expect(what: str, value: object) -> ValueError:
    return ValueError(f"expected {what}, got {describe_value(value)}")


# -- converters: value -> typed value, ValueError with a readable message ------------------


def to_str(value: object) -> str:
    if not isinstance(value, str):
        raise _expect("a string", value)
    return value


def to_credential(value: object) -> str:
    """A systemd credential's name: a file name inside $CREDENTIALS_DIRECTORY."""
    text = to_str(value)
    if not text or "/" in text or text in (".", ".."):
        raise ValueError(f"expected a credential name (a file name, no /), "
                         f"got {describe_value(value)}")
    return text


def to_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _expect("true or false", value)
    return value


def to_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _expect("an integer", value)
    return value


def to_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _expect("a number", value)
    return float(value)


def to_duration(value: object) -> float:
    if not isinstance(value, str):
        raise _expect('a duration like "10s"', value)
    return parse_duration(value)


def to_regex(value: object) -> re.Pattern[str]:
    text = to_str(value)
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f'invalid regular expression "{text}": {exc}') from None


def to_str_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        raise _expect('an array of strings like ["a", "b"]', value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _expect("an array of strings", value)
    return tuple(value)


def to_int_list(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise _expect("an array of integers", value)
    return tuple(value)


def to_str_map(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _expect('a table of strings like { name = "value" }', value)
    return dict(value)


def choice(*choices: str) -> Callable[[object], str]:
    def convert(value: object) -> str:
        text = to_str(value)
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {describe_value(value)}")
        return text

    return convert


_MISSING: Any = object()
# Table has methods named str/int/bool/float; annotations inside it use these aliases.
_str: TypeAlias = str
_int: TypeAlias = int
_bool: TypeAlias = bool
_float: TypeAlias = float


def label(key: str, index: int, name: object) -> str:
    """How an element of an array of tables is named in messages: by its name if it has one
    (``check "www-fr"``), else by its position as the user counts, from 1 (``route[2]``)."""
    return f'{key} "{name}"' if isinstance(name, str) and name else f"{key}[{index + 1}]"


class Table:
    """One TOML table under a path such as ``check "www-fr"``.

    ``inherited`` holds values this table falls back to (``[defaults]`` for checks); an error
    in such a value is reported at ``inherited_path`` and such keys are never "unknown" here.
    ``place`` locates the table in the parsed data (``("check", 11)``), for line numbers.
    """

    def __init__(
        self,
        problems: Problems,
        path: _str,
        data: Mapping[_str, Any],
        inherited: Mapping[_str, Any] | None = None,
        inherited_path: _str = "defaults",
        place: Place = (),
        inherited_place: Place = ("defaults",),
    ) -> None:
        self.problems = problems
        self.path = path
        self.data = data
        self.inherited = inherited or {}
        self.inherited_path = inherited_path
        self.place = place
        self.inherited_place = inherited_place
        self._read: set[_str] = set()

    # -- generic access ---------------------------------------------------------------

    def has(self, key: _str) -> _bool:
        return key in self.data or key in self.inherited

    def error(self, key: _str | None, message: _str) -> None:
        """Record an error about ``key`` (or about the table itself)."""
        self.problems.add(self.path, f"{key}: {message}" if key else message,
                          self._place_of(key))

    def _place_of(self, key: _str | None) -> Place:
        if key is None:
            return self.place
        if key not in self.data and key in self.inherited:
            return (*self.inherited_place, key)
        return (*self.place, key)

    def get(self, key: _str, convert: Callable[[object], T], default: T = _MISSING) -> T:
        """The converted value of ``key``; records an error and returns ``default`` if bad."""
        self._read.add(key)
        if key in self.data:
            value, path = self.data[key], self.path
        elif key in self.inherited:
            value, path = self.inherited[key], self.inherited_path
        else:
            if default is _MISSING:
                self.problems.add(self.path, f"{key}: required", self.place)
            return default
        try:
            return convert(value)
        except ValueError as exc:
            self.problems.add(path, f"{key}: {exc}", self._place_of(key))
            return default

    def optional(self, key: _str, convert: Callable[[object], T]) -> T | None:
        if self.has(key):
            return self.get(key, convert, None)
        self._read.add(key)
        return None

    # -- typed shortcuts ----------------------------------------------------------------

    def str(self, key: _str, default: _str = _MISSING) -> _str:
        value = self.get(key, to_str, default)
        return "" if value is _MISSING else value

    def bool(self, key: _str, default: _bool) -> _bool:
        return self.get(key, to_bool, default)

    def int(
        self, key: _str, default: _int = _MISSING, *, minimum: _int | None = None,
        maximum: _int | None = None,
    ) -> _int:
        value = self.get(key, to_int, default)
        if value is _MISSING:
            return 0
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"from {minimum}" if minimum is not None else ""
            bounds += f" to {maximum}" if maximum is not None else " or more"
            self.error(key, f"expected an integer {bounds.strip()}, got {value}")
            return default if default is not _MISSING else (minimum or 0)
        return value

    def float(self, key: _str, default: _float, *, minimum: _float | None = None,
              maximum: _float | None = None) -> _float:
        value = self.get(key, to_float, default)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(key, f"expected a number between {minimum} and {maximum}, got {value}")
            return default
        return value

    def duration(self, key: _str, default: _float = _MISSING, *, positive: _bool = True) -> _float:
        value = self.get(key, to_duration, default)
        if value is _MISSING:
            return 1.0
        if positive and value <= 0:
            self.error(key, f"expected a duration above zero, got {describe_value(self.raw(key))}")
            return default if default is not _MISSING else 1.0
        return value

    def str_list(self, key: _str, default: tuple[_str, ...] = ()) -> tuple[_str, ...]:
        return self.get(key, to_str_list, default)

    def str_map(self, key: _str) -> Mapping[_str, _str]:
        return self.get(key, to_str_map, {})

    def choice(self, key: _str, choices: Sequence[_str], default: _str = _MISSING) -> _str:
        value = self.get(key, choice(*choices), default)
        return value if value is not _MISSING else choices[0]

    def regex(self, key: _str) -> re.Pattern[_str] | None:
        return self.optional(key, to_regex)

    def values_read(self) -> dict[_str, Any]:
        """The keys read so far that have a value here or inherited, as written."""
        return {key: self.raw(key) for key in sorted(self._read) if self.has(key)}

    def raw(self, key: _str) -> Any:
        return self.data.get(key, self.inherited.get(key))

    def secret(self, name: _str, *, required: _bool = True) -> SecretRef | None:
        """A secret given as ``<name>_file`` (a path), ``<name>_env`` (a variable name) or
        ``<name>_credential`` (a systemd credential's name, see ``LoadCredential=``)."""
        self._read.add(name)
        if name in self.data:
            self.error(name, f"secrets are never written in the config: use {name}_file "
                             f"(a path) or {name}_env (an environment variable)")
            return None
        file = self.file_path(f"{name}_file")
        env = self.optional(f"{name}_env", to_str)
        credential = self.optional(f"{name}_credential", to_credential)
        if file and env:
            self.error(f"{name}_file", f"give {name}_file or {name}_env, not both")
            return None
        if credential and (file or env):
            self.error(f"{name}_credential", f"give {name}_credential alone, without "
                                             f"{name}_file or {name}_env")
            return None
        if file or env or credential:
            return SecretRef(file=file, env=env, credential=credential)
        if required and not self.has(f"{name}_credential"):  # an invalid one is reported
            self.error(f"{name}_file", f"required (or {name}_env)")
        return None

    def file_path(self, key: _str) -> _str | None:
        """A file path; a relative one is taken from the config file's directory (never
        from the working directory, which differs between a shell and systemd)."""
        text = self.optional(key, to_str)
        if not text or os.path.isabs(text) or not self.problems.file:
            return text
        base = os.path.dirname(os.path.abspath(self.problems.file))
        return os.path.join(base, text)

    # -- nesting ------------------------------------------------------------------------

    def table(self, key: _str) -> Table | None:
        """A nested table, or None (with an error if it is not a table)."""
        self._read.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(key, f"expected a table, got {describe_value(value)}")
            return None
        return Table(self.problems, f"{self.path}.{key}" if self.path else key, value,
                     place=(*self.place, key))

    def tables(self, key: _str, name_key: _str | None = "name") -> Iterator[tuple[_int, Table]]:
        """Each table of an array of tables, with a path like ``check "name"``."""
        self._read.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(key, f"expected an array of tables ([[{key}]]), got {describe_value(value)}")
            return
        for index, item in enumerate(value):
            name = item.get(name_key) if name_key else None
            yield index, Table(self.problems, label(key, index, name), item,
                               place=(*self.place, key, index))

    def finish(self, extra_known: Sequence[_str] = ()) -> None:
        """Report every key present in this table that nobody read."""
        known = self._read | set(extra_known)
        for key in self.data:
            if key in known:
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.error(key, f"unknown key{hint}")
