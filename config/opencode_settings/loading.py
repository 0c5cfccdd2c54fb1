"""Loading: every source, every bad input as one line that names the setting and its source."""
from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError as PydanticSettingsError

from .errors import SettingsError, SettingsProblems
from .settings import VALUES_ONLY, Settings
from .sources import source_of, unknown_variables
from .team import workspace_values


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _with_source(field: str, message: str) -> tuple[str, str]:
    source = source_of(field)
    return field, f"{message} (from {source})" if source else message


def load_settings(**overrides: Any) -> Settings:
    """Read settings from all sources; raise SettingsError naming every bad field and its source."""
    problems: list[tuple[str, str]] = unknown_variables(Settings)
    try:
        settings = Settings(**overrides)
    except SettingsError as error:  # the TOML file could not be read
        raise SettingsError(problems + error.problems) from None
    except PydanticSettingsError as error:  # a variable's value could not be decoded
        field = re.search(r'field "([^"]+)"', str(error))
        name = field[1] if field else "settings"
        cause = str(error.__cause__ or error).split(": ", 1)[-1]
        problems.append(_with_source(name, cause))
        raise SettingsError(problems) from None
    except ValidationError as exc:
        for error in exc.errors():
            ctx_error = (error.get("ctx") or {}).get("error")
            if isinstance(ctx_error, SettingsProblems):
                problems.extend(_with_source(field, message) for field, message in ctx_error.problems)
                continue
            field = _field_path(tuple(error["loc"])) or "settings"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "is not a known setting (check the spelling; every setting: the docs site's settings reference)"
            if error["type"] == "literal_error":
                message = f"got {error['input']!r}; {message}"
            problems.append(_with_source(field, message))
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    team_settings(settings)  # every team workspace is checked too, before any resource exists
    return settings


def team_settings(settings: Settings) -> dict[str, Settings]:
    """Settings by workspace name (empty when the file declares none); SettingsError names every
    bad override as workspaces.<name>.<setting>."""
    if not settings.workspaces:
        return {}
    problems: list[tuple[str, str]] = []
    found: dict[str, Settings] = {}
    for name, merged, refused in workspace_values(settings):  # the problems in the file's order
        problems += refused
        if merged is None:
            continue
        token = VALUES_ONLY.set(True)  # the merged values are complete: no source is read again
        try:
            found[name] = load_settings(**merged)  # the same checks as any settings
        except SettingsError as error:
            problems.extend((f"workspaces.{name}.{field}", message) for field, message in error.problems)
        finally:
            VALUES_ONLY.reset(token)
    if problems:
        raise SettingsError(problems)
    return found
