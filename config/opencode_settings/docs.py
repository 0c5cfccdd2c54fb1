"""The settings table, generated from the settings model: the docs' reference page (docs/reference/settings.md)
is built from it when the site is built (docs/hooks/reference.py)."""
from __future__ import annotations

import json
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .fields import Cidr
from .settings import Settings
from .sources import ENV_PREFIX


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
    """Every setting: the top-level ones, then each block's (every nested settings model, in the model's order)."""
    rows = _rows(Settings, "")
    for name, field in Settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            rows += _rows(field.annotation, f"{name}.")
    return "\n".join(["| setting | environment variable | type | default | meaning |", "|---|---|---|---|---|", *rows])
