"""RAM's policy evaluation, as Alibaba Cloud documents it, for one request: a stand-in for the cloud.

PART OF THE CLOUD SIMULATION: it never imports the code it judges. What it implements:
- a statement applies when its Action and Resource match (`*` and `?` as wildcards, case-insensitive actions)
  and every operator of its Condition holds (keys within an operator AND, values of a key OR);
- a matching Deny wins over any Allow; no matching Allow is an implicit deny;
- a request naming several resources (CreateSnapshot: the disk and the new snapshot) is allowed only when
  each resource is;
- condition keys: `acs:ResourceTag/<key>` from the resource's tags (a resource the request creates has none),
  `acs:RequestTag/<key>` from the request's tags, anything else from `context`.
What RAM does not document, and this assumes as AWS IAM does: a key absent from the request makes StringEquals
and StringLike false, and StringNotEquals and StringNotLike true. Which APIs evaluate tag keys at all cannot be
checked offline (the docs say so: docs/guides/deploy.md, docs/guides/security.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class Resource:
    arn: str
    tags: dict[str, str] | None = None  # None: the request creates it


@dataclass(frozen=True)
class Request:
    action: str
    resources: tuple[Resource, ...]
    tags: dict[str, str] = field(default_factory=dict)  # the tags the request sets
    context: dict[str, str] = field(default_factory=dict)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _value(key: str, request: Request, resource: Resource) -> str | None:
    if key.startswith("acs:ResourceTag/"):
        return (resource.tags or {}).get(key.split("/", 1)[1])
    if key.startswith("acs:RequestTag/"):
        return request.tags.get(key.split("/", 1)[1])
    return request.context.get(key)


def _holds(operator: str, expected: list[str], actual: str | None) -> bool:
    negated = operator.startswith("StringNot")
    if actual is None:
        return negated
    if operator in ("StringEquals", "StringNotEquals"):
        matched = actual in expected
    elif operator in ("StringLike", "StringNotLike"):
        matched = any(fnmatchcase(actual, pattern) for pattern in expected)
    else:
        raise ValueError(f"operator {operator} is not simulated")
    return not matched if negated else matched


def _applies(statement: dict[str, Any], request: Request, resource: Resource) -> bool:
    if not any(fnmatchcase(request.action.lower(), action.lower()) for action in _listed(statement["Action"])):
        return False
    if not any(fnmatchcase(resource.arn, pattern) for pattern in _listed(statement["Resource"])):
        return False
    return all(_holds(operator, _listed(expected), _value(key, request, resource))
               for operator, keys in statement.get("Condition", {}).items() for key, expected in keys.items())


def allowed(policy: dict[str, Any], request: Request) -> bool:
    """Whether `policy` (the caller's only policy) allows `request` on every resource it names."""
    for resource in request.resources:
        applying = [s for s in policy["Statement"] if _applies(s, request, resource)]
        if any(s["Effect"] == "Deny" for s in applying) or not any(s["Effect"] == "Allow" for s in applying):
            return False
    return True
