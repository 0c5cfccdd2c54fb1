"""CKV_OCA_5: no secret in plain user-data."""
from __future__ import annotations

import re
from typing import Any

from .base import Rule

# What a secret looks like in user-data: literal keys, or a Terraform reference to a secret value.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Alibaba AccessKey id": re.compile(r"\bLTAI[0-9A-Za-z]{12,}\b"),
    "API key": re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,})\b"),
    "GitHub token": re.compile(r"\b(ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}\b"),
    "reference to a secret value": re.compile(
        r"\$\{[^}]*(random_password\.[^}.]+\.result|var\.[a-z_]*(key|token|password|secret)[a-z_]*|"
        r"oos_secret_parameter\.[^}.]+\.value)"
    ),
    "literal password assignment": re.compile(r"(?im)^\s*[A-Z_]*PASSWORD\s*=\s*(?!\$)[^\s\"'$]{8,}\s*$"),
}


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    """An instance's user_data, or the rendered text a `terraform_data` keeps for it (host.gzipped_user_data:
    the instance then gets `base64gzip(...)` of it)."""
    if resource_type == "terraform_data":
        triggers = conf.get("triggers_replace")
        triggers = triggers[0] if isinstance(triggers, list) and len(triggers) == 1 else triggers
        user_data = str((triggers or {}).get("user_data") or "") if isinstance(triggers, dict) else ""
    else:
        user_data = str(conf.get("user_data") or "")
    return [f"user_data contains a {what}" for what, pattern in SECRET_PATTERNS.items() if pattern.search(user_data)]


RULE = Rule(
    id="CKV_OCA_5",
    title="No secret in plain user-data",
    reason="User-data is readable by anyone allowed DescribeUserdata and is kept in logs.",
    fix="give the secret as a KMS-encrypted OOS secret parameter that the instance reads at boot",
    resource_types=("alicloud_instance", "terraform_data"),
    violations=violations,
)
