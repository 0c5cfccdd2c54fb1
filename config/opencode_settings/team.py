"""Team workspaces: one settings file declares several workspaces (`[workspaces.alice]`), each the
file's settings with its own overrides and its name. Each becomes a stack of its own, named like
the workspace, with its own state key: two people on two workspaces never share a lock."""
from __future__ import annotations

import copy
from typing import Any

from .fields import _NAME_RE, ADMIN_STACKS, NAME_RULE

# The administrator's stacks, and "opencode": the single workspace's stack id, which `up` and `down` take for one
# workspace with its roles (and whose state folder the administrator's stacks share, as does the file's own name).
RESERVED_STACKS = ("opencode", *ADMIN_STACKS)
NOT_OVERRIDABLE = ("name", "workspaces", "state", "backend")  # the name is the key; state and backend are the team's


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def workspace_values(settings: Any) -> list[tuple[str, dict[str, Any] | None, list[tuple[str, str]]]]:
    """Each team workspace in the file's order: its name, its values (the file's settings with its overrides and
    its name; None when its name or an override is refused) and the problems found; loading.team_settings checks
    the values as any settings."""
    base = settings.model_dump(exclude={"workspaces"})
    found: list[tuple[str, dict[str, Any] | None, list[tuple[str, str]]]] = []
    for name, overrides in settings.workspaces.items():
        where = f"workspaces.{name}"
        if not _NAME_RE.fullmatch(name) or name in RESERVED_STACKS or name == settings.name:
            found.append((name, None, [(where, f"{name!r} is not a workspace name ({NAME_RULE}; not "
                                               f"{', '.join(RESERVED_STACKS)} nor the file's name, {settings.name})")]))
            continue
        fixed = [key for key in overrides if key in NOT_OVERRIDABLE]
        if fixed:
            found.append((name, None, [(f"{where}.{key}", "is shared by every workspace of the file; set it at the "
                                        "top level") for key in fixed]))
            continue
        found.append((name, _merge(base, {**overrides, "name": name}), []))
    return found
