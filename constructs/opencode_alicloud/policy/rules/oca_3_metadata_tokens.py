"""CKV_OCA_3: ECS instances require metadata tokens."""
from __future__ import annotations

from typing import Any

from .base import Rule


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    return [] if conf.get("http_tokens") == "required" else [f"http_tokens is {conf.get('http_tokens')!r}"]


RULE = Rule(
    id="CKV_OCA_3",
    title="ECS instances require metadata tokens (http_tokens = required)",
    reason="Token-only metadata access blocks SSRF-style theft of the instance role's credentials.",
    fix='set http_tokens = "required" on the instance (host.HARDENED_INSTANCE does)',
    resource_types=("alicloud_instance",),
    violations=violations,
)
