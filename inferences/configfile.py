"""One way to read a TOML configuration file: a pydantic model whose fields carry the file's kebab-case names
as aliases, unknown fields refused, and one error type that names the file and the field.

A model derives from `ConfigModel`, describes each field's valid values in `Field(description=...)` (the
error says "field 'batch-size' must be <description>, got ...") and raises `FieldProblem` from its own
checks. `load_config_file(Model, path)` reads the file; `parse_config(Model, data, source)` validates data
already parsed. Relative paths (`RepoPath`) are relative to the repository root.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from inferences.errors import SurveillanceError
from inferences.paths import REPO_ROOT

Model = TypeVar("Model", bound="ConfigModel")


class ConfigFileError(SurveillanceError):
    """A configuration file that is missing, is not TOML, or has a missing, unknown or invalid field; the
    message names the file and the field."""


class FieldProblem(ValueError):
    """Raised by a model's own checks: `field` (its name in the file) `problem` (a phrase after the name)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field '{field}' {problem}")
        self.field, self.problem = field, problem


def kebab(name: str) -> str:
    """snake_case attribute -> kebab-case file name."""
    return name.replace("_", "-")


class ConfigModel(BaseModel):
    """Base of the configuration models: kebab-case aliases, strict types, unknown fields refused, frozen."""

    model_config = ConfigDict(
        alias_generator=kebab, populate_by_name=True, extra="forbid", frozen=True, strict=True
    )

    def replace(self: Model, **changes: Any) -> Model:
        """A copy with some fields (attribute names) changed, validated like a file (ConfigFileError)."""
        return parse_config(type(self), {**self.model_dump(), **changes}, type(self).__name__, name=kebab)


def _repo_path(value: Any) -> Path:
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise PydanticCustomError("path", "a non-empty path string")
    return REPO_ROOT / Path(value).expanduser()  # an absolute path stays as it is


# A path in the file: a non-empty string, relative to the repository root.
RepoPath = Annotated[Path, BeforeValidator(_repo_path)]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML document at `path`; ConfigFileError when it is missing, unreadable or not TOML."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"{path}: config file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigFileError(f"{path}: not valid TOML ({error})") from None


def _locate(model: type[ConfigModel], loc: tuple[Any, ...]) -> tuple[list[str], str | None, bool]:
    """The names along `loc` through nested tables (a nested ConfigModel is a TOML table), the last field's
    description, and whether that field is itself a table."""
    names: list[str] = []
    description, current, table = None, model, False
    for part in loc:
        if not isinstance(part, str) or current is None:  # an item of a list: the field is named already
            break
        info = next((i for n, i in current.model_fields.items() if part in (n, i.alias)), None)
        names.append(part)
        description = info.description if info else None
        annotation = info.annotation if info else None
        table = isinstance(annotation, type) and issubclass(annotation, ConfigModel)
        current = annotation if table else None
    return names, description, table


def _message(model: type[ConfigModel], error: Mapping[str, Any], name: Callable[[str], str]) -> str:
    """One pydantic error as "field 'x' <problem>" (a field of a nested table as 'table.x')."""
    problem = error.get("ctx", {}).get("error")
    names, valid, table = _locate(model, tuple(error["loc"]))
    field = name(".".join(names)) if names else ""
    if isinstance(problem, FieldProblem):  # from a model's own checks: a nested table's prefixes its name
        return f"field '{field}.{problem.field}' {problem.problem}" if table else str(problem)
    if error["type"] == "missing" and isinstance(error["loc"][-1], str):  # else an item of a short list
        return f"missing field '{field}'"
    if error["type"] == "extra_forbidden":
        return f"unknown field '{field}'"
    if isinstance(problem, Exception):  # a plain ValueError from a validator
        return f"field '{field}' {problem}"
    return f"field '{field}' must be {valid or error['msg']}, got {error['input']!r}"


def parse_config(
    model: type[Model], data: Mapping[str, Any], source: str | Path, *, name: Callable[[str], str] = str
) -> Model:
    """`data` validated as `model`; ConfigFileError "<source>: field '<name>' ..." for the first problem.
    `name` turns a field's alias into the name the message shows (e.g. with its TOML section)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigFileError(f"{source}: {_message(model, error.errors()[0], name)}") from None


def load_config_file(model: type[Model], path: str | Path, **options: Any) -> Model:
    """Read the TOML file at `path` and validate it as `model` (see `parse_config`)."""
    return parse_config(model, read_toml(path), path, **options)
