"""Where settings come from, read so that every bad input is one clear line, never a traceback.

- Environment variables and `.env` entries with the OPENCODE_ALICLOUD_ prefix must name a
  setting: a typo (OPENCODE_ALICLOUD_WEB_CIDR) is an error that suggests the closest name,
  instead of being ignored while the default (a login open to 0.0.0.0/0) stays in force.
- List settings take JSON (`["a", "b"]`) or the comma form users expect (`a,b`).
- A TOML file that does not parse is reported with its path, line and column.
- Each problem names where its value came from: the variable, the `.env` line or the TOML line.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

ENV_PREFIX = "OPENCODE_ALICLOUD_"
CONFIG_FILE_ENV = ENV_PREFIX + "CONFIG"
DOTENV = ".env"


def _is_list(field: FieldInfo) -> bool:
    annotation = field.annotation
    if get_origin(annotation) is list:
        return True
    return any(get_origin(arg) is list for arg in get_args(annotation))


class _CommaLists:
    """JSON as usual; for list settings also the comma form `a,b`."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        text = str(value).strip()
        if _is_list(field) and not text.startswith("["):
            return [part.strip() for part in text.split(",") if part.strip()]
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{field_name}: {text!r} is not JSON ({error.msg})") from None


class CommaListEnvSource(_CommaLists, EnvSettingsSource):
    pass


class CommaListDotEnvSource(_CommaLists, DotEnvSettingsSource):
    pass


def setting_names(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Every variable name a setting can be given by -> its dotted field path."""
    names: dict[str, str] = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        names[ENV_PREFIX + path.replace(".", "__").upper()] = path
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(setting_names(annotation, path + "."))
    return names


def _dotenv_lines(path: Path) -> dict[str, int]:
    lines: dict[str, int] = {}
    if path.is_file():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
            if match:
                lines[match[1].upper()] = number
    return lines


def unknown_variables(model: type[BaseModel], environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """OPENCODE_ALICLOUD_* variables (and .env entries) that name no setting."""
    environ = dict(os.environ if environ is None else environ)
    known = setting_names(model)
    problems: list[tuple[str, str]] = []
    candidates = [(name, f"environment variable {name}") for name in sorted(environ)]
    candidates += [(name, f"{DOTENV} line {line}") for name, line in sorted(_dotenv_lines(Path(DOTENV)).items())]
    for name, source in candidates:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_FILE_ENV or upper in known:
            continue
        close = difflib.get_close_matches(upper, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "; every setting: the docs site's settings reference"
        problems.append((name, f"{source} names no setting{hint}"))
    return problems


def read_toml(path: str) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The TOML settings file, or the problem that stops it from being read."""
    file = Path(path)
    if not file.is_file():
        return None, [(CONFIG_FILE_ENV, f"names {path!r}, which is not a file")]
    try:
        return tomllib.loads(file.read_text(encoding="utf-8")), []
    except tomllib.TOMLDecodeError as error:
        return None, [(CONFIG_FILE_ENV, f"{path}: not valid TOML: {error}")]
    except UnicodeDecodeError as error:
        return None, [(CONFIG_FILE_ENV, f"{path}: not UTF-8 text ({error.reason})")]


def source_of(field_path: str, environ: dict[str, str] | None = None) -> str | None:
    """Where a setting's value came from, for the error line: variable, .env line or TOML line."""
    environ = dict(os.environ if environ is None else environ)
    top = re.split(r"[.\[]", field_path)[0]
    parts = [p for p in re.split(r"[.\[\]]", field_path) if p and not p.isdigit()]
    for depth in range(len(parts), 0, -1):
        variable = ENV_PREFIX + "__".join(parts[:depth]).upper()
        if variable in environ:
            return f"environment variable {variable}"
        line = _dotenv_lines(Path(DOTENV)).get(variable)
        if line:
            return f"{DOTENV} line {line}"
    toml_path = environ.get(CONFIG_FILE_ENV)
    if toml_path and Path(toml_path).is_file():
        leaf = parts[-1] if parts else top
        section = parts[-2] if len(parts) > 1 else None
        current = None
        for number, line in enumerate(Path(toml_path).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            header = re.match(r"\s*\[([^\]]+)\]", line)
            if header:
                current = header[1].strip()
                continue
            if re.match(rf"\s*{re.escape(leaf)}\s*=", line) and current == section:
                return f"{toml_path} line {number}"
    return None
