"""The settings table, generated from the settings model: the docs' reference page (docs/reference/settings.md)
is built from it when the site is built (docs/hooks/reference.py)."""
from __future__ import annotations

import json
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .audit import AuditSettings
from .cost import CostSettings
from .schedule import ScheduleSettings
from .fields import Cidr
from .model import ModelSettings
from .model_server import ModelServerSettings
from .settings import Settings
from .sources import ENV_PREFIX
from .state import BackendSettings, StateStackSettings

START = "<!-- settings-table:start (generated from the settings model; do not edit) -->"
END = "<!-- settings-table:end -->"


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(see below)"
    if value is None:
        return "unset"
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def _pretty(annotation: Any) -> str:
    if annotation is Cidr:
        return "CIDR"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in args)
    if origin in (Union, UnionType):
        names = [_pretty(arg) for arg in args if arg is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {_pretty(args[0])}"
    if origin is dict:
        return f"map of {_pretty(args[0])} to {_pretty(args[1])}"
    return getattr(annotation, "__name__", str(annotation))


def _type(field: Any) -> str:
    return _pretty(field.annotation)


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        env = ENV_PREFIX + (prefix + name).upper().replace(".", "__")
        rows.append(f"| `{prefix}{name}` | `{env}` | {_type(field)} | {_default(field)} | {field.description or ''} |")
    return rows


def settings_table() -> str:
    lines = [
        START,
        "| setting | environment variable | type | default | meaning |",
        "|---|---|---|---|---|",
        *_rows(Settings, ""),
        *_rows(ModelSettings, "model."),
        *_rows(ModelServerSettings, "model_server."),
        *_rows(BackendSettings, "backend."),
        *_rows(StateStackSettings, "state."),
        *_rows(ScheduleSettings, "schedule."),
        *_rows(AuditSettings, "audit."),
        *_rows(CostSettings, "cost."),
        END,
    ]
    return "\n".join(lines)
