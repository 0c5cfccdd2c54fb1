"""The alicloud provider's plan-time rules, as the shared schema records them, enforced.

PART OF THE CLOUD SIMULATION (see stub_provider.py). The schema's attributes carry the real
provider's validators, read from its Go source, as extra keys (see the schema's "//" note):

  valid_values        StringInSlice: the value (each element of a list/set) is one of these
  valid_int_values    IntInSlice
  int_between         IntBetween, as [[lo, hi], ...]
  string_len_between  StringLenBetween, as [[lo, hi], ...]
  string_match        StringMatch (Go regexp: a search, not a full match)
  conflicts_with      ConflictsWith: none of these may be set together with this one
  exactly_one_of      ExactlyOneOf: exactly one of the list is set
  at_least_one_of     AtLeastOneOf: one or more of the list is set
  required_with       RequiredWith: when this one is set, all of the list are set
  force_new           a change replaces the resource
  default             the value an unset argument takes
  deprecation_message Deprecated: a warning when the argument is set

When an attribute has several value rules (alicloud_instance.period has int_between [1, 9] and
valid_int_values [12 ... 60]), the Go code combines them with validation.Any: a value passes when
one of them accepts it. Unknown values (not known until apply) are skipped, as the SDK skips them.
Messages follow terraform-plugin-sdk v2's wording.

Pure functions of (schema block, config): unit-tested in tests/test_stub_rules.py without Terraform.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from tf.types import Unknown

PathStep = str | tuple[int]
Path = tuple[PathStep, ...]

VALUE_RULES = ("valid_values", "valid_int_values", "int_between", "string_len_between", "string_match")
PRESENCE_RULES = ("conflicts_with", "exactly_one_of", "at_least_one_of", "required_with")
RULE_KEYS = (*VALUE_RULES, *PRESENCE_RULES, "force_new", "default", "deprecation_message")

_DYNAMIC_FIELDS = re.compile(r'^<dynamic:strings\.Fields\("(?P<names>[^"]*)"\)>$')


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    summary: str
    detail: str
    path: Path

    def __str__(self) -> str:
        where = ".".join(str(step[0]) if isinstance(step, tuple) else step for step in self.path)
        return f"{self.severity}: {where}: {self.summary}{': ' + self.detail if self.detail else ''}"


def is_unknown(value: Any) -> bool:
    """A value Terraform will know only at apply (the plugin framework's Unknown)."""
    return value is Unknown


def rule_names(names: list[str]) -> list[str]:
    """Argument names of a presence rule; expands the schema's `<dynamic:strings.Fields("a b")>`."""
    out: list[str] = []
    for name in names:
        match = _DYNAMIC_FIELDS.match(name)
        out.extend(match["names"].split() if match else [name])
    return out


def lookup(config: dict[str, Any] | None, dotted: str) -> Any:
    """The value at an SDK-style absolute path (`a`, `block.0.attr`), or None."""
    value: Any = config
    for part in dotted.split("."):
        if value is None or is_unknown(value):
            return value
        if isinstance(value, list):
            index = int(part)
            value = value[index] if index < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _is_set(value: Any) -> bool:
    return value is not None


def _given(block: dict[str, Any], root: dict[str, Any], name: str) -> bool:
    """Whether the argument at `name` is in the config, as the SDK's ResourceConfig sees it:
    null attributes are absent, and so are nested blocks with no elements."""
    value = lookup(root, name)
    if name in block.get("block_types", {}):
        return value is not None and (is_unknown(value) or len(value) > 0)
    return _is_set(value)


def _go_strings(values: list[Any]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def _value_errors(name: str, spec: dict[str, Any], value: Any) -> list[str]:
    """Why `value` breaks the attribute's value rules ([] if it passes one of them)."""
    if value is None or is_unknown(value):
        return []
    if isinstance(value, list):  # rules on a list/set attribute apply to its elements
        return [message for element in value for message in _value_errors(name, spec, element)]
    if isinstance(value, dict):
        return [message for element in value.values() for message in _value_errors(name, spec, element)]
    failures: list[str] = []
    accepted = False
    if "valid_values" in spec:
        if str(value) in [str(v) for v in spec["valid_values"]]:
            accepted = True
        else:
            failures.append(f"expected {name} to be one of {_go_strings(spec['valid_values'])}, got {value}")
    if "valid_int_values" in spec:
        if isinstance(value, (int, float)) and value in spec["valid_int_values"]:
            accepted = True
        else:
            listed = " ".join(str(v) for v in spec["valid_int_values"])
            failures.append(f"expected {name} to be one of [{listed}], got {value}")
    for low, high in spec.get("int_between", []):
        if isinstance(value, (int, float)) and low <= value <= high:
            accepted = True
        else:
            failures.append(f"expected {name} to be in the range ({low} - {high}), got {value}")
    for low, high in spec.get("string_len_between", []):
        if isinstance(value, str) and low <= len(value) <= high:
            accepted = True
        else:
            failures.append(f"expected length of {name} to be in the range ({low} - {high}), got {value}")
    for pattern in spec.get("string_match", []):
        if isinstance(value, str) and re.search(pattern, value):
            accepted = True
        else:
            failures.append(f"expected value of {name} to match regular expression {pattern!r}, got {value}")
    return [] if accepted else failures


def _presence_errors(block: dict[str, Any], name: str, spec: dict[str, Any], value: Any,
                     root: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if _is_set(value) and not is_unknown(value):
        for other in rule_names(spec.get("conflicts_with", [])):
            if other != name and _given(block, root, other) and not is_unknown(lookup(root, other)):
                errors.append(f'"{name}": conflicts with {other}')
    if "exactly_one_of" in spec:
        names = rule_names(spec["exactly_one_of"])
        given = [n for n in names if _given(block, root, n)]
        if not given:
            errors.append(f'"{name}": one of `{",".join(names)}` must be specified')
        elif len(given) > 1:
            errors.append(f'"{name}": only one of `{",".join(names)}` can be specified, but `{",".join(given)}` were specified.')
    if "at_least_one_of" in spec:
        names = rule_names(spec["at_least_one_of"])
        if not any(_given(block, root, n) for n in names):
            errors.append(f'"{name}": one of `{",".join(names)}` must be specified')
    if "required_with" in spec and _is_set(value):
        names = rule_names(spec["required_with"])
        if not all(_given(block, root, n) for n in names):
            errors.append(f'"{name}": all of `{",".join(names)}` must be specified')
    return errors


def _elements(block_spec: dict[str, Any], value: Any) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The objects inside a nested block's value, with their path steps."""
    if value is None or is_unknown(value):
        return
    mode = block_spec.get("nesting_mode", "list")
    if mode in ("single", "group"):
        if isinstance(value, dict):
            yield (), value
    elif mode == "map":
        for key, item in (value or {}).items():
            yield ((key,),), item  # type: ignore[misc]
    elif mode == "set":  # set elements have no index a path could name
        for item in value or []:
            if isinstance(item, dict):
                yield (), item
    else:
        for index, item in enumerate(value or []):
            if isinstance(item, dict):
                yield ((index,),), item


def check(block: dict[str, Any], config: dict[str, Any] | None, root: dict[str, Any] | None = None,
          path: Path = ()) -> list[Finding]:
    """Every error and deprecation warning the provider's plan-time rules give for `config`."""
    config = config or {}
    root = config if root is None else root
    findings: list[Finding] = []
    for name, spec in sorted(block.get("attributes", {}).items()):
        value = config.get(name)
        at = (*path, name)
        if _is_set(value) and spec.get("deprecation_message"):
            findings.append(Finding("warning", "Argument is deprecated", spec["deprecation_message"], at))
        for message in _value_errors(name, spec, value):
            findings.append(Finding("error", "Invalid value", message, at))
        if not path:  # the SDK resolves these rules against the whole resource's config
            for message in _presence_errors(block, name, spec, value, root):
                findings.append(Finding("error", "Invalid combination of arguments", message, at))
    for name, spec in sorted(block.get("block_types", {}).items()):
        value = config.get(name)
        if _is_set(value) and not is_unknown(value) and spec.get("deprecation_message"):
            findings.append(Finding("warning", "Argument is deprecated", spec["deprecation_message"], (*path, name)))
        for steps, element in _elements(spec, value):
            findings.extend(check(spec["block"], element, root, (*path, name, *steps)))
    return findings


def _with_default(spec: dict[str, Any], value: Any) -> Any:
    return spec["default"] if value is None and "default" in spec else value


def _differs(old: Any, new: Any) -> bool:
    if is_unknown(new):  # the SDK plans a replacement when a force_new argument becomes unknown
        return not is_unknown(old)
    return bool(old != new)


def replace_paths(block: dict[str, Any], prior: dict[str, Any] | None, proposed: dict[str, Any] | None,
                  path: Path = ()) -> list[Path]:
    """Paths whose change forces a new resource: force_new attributes that changed, with an unset
    argument taking its `default`; in nested blocks, the block when one of its force_new
    arguments changed (or the block appeared or went away)."""
    prior = prior or {}
    proposed = proposed or {}
    out: list[Path] = []
    for name, spec in sorted(block.get("attributes", {}).items()):
        if not spec.get("force_new"):
            continue
        old, new = _with_default(spec, prior.get(name)), _with_default(spec, proposed.get(name))
        if spec.get("computed") and new is None:  # not set in config: the provider keeps what it has
            continue
        if _differs(old, new):
            out.append((*path, name))
    for name, spec in sorted(block.get("block_types", {}).items()):
        if not _has_force_new(spec["block"]):
            continue
        old, new = prior.get(name), proposed.get(name)
        if is_unknown(new) or is_unknown(old):
            if _differs(old, new):
                out.append((*path, name))
            continue
        old_items, new_items = list(_elements(spec, old)), list(_elements(spec, new))
        if len(old_items) != len(new_items):
            out.append((*path, name))
            continue
        for (steps, old_item), (_, new_item) in zip(old_items, new_items):
            if replace_paths(spec["block"], old_item, new_item):
                out.append((*path, name))
                break
    return out


def _has_force_new(block: dict[str, Any]) -> bool:
    return any(spec.get("force_new") for spec in block.get("attributes", {}).values()) or any(
        _has_force_new(spec["block"]) for spec in block.get("block_types", {}).values()
    )
