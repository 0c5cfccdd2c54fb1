"""opencode-alicloud's own policy rules, as checkov checks. Each has an id and a reason."""
from __future__ import annotations

import os
import re
import sys
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

sys.path.insert(0, os.path.dirname(__file__))
from _common import first, is_whole_internet, port_span, sources  # noqa: E402

OPENCODE_PORT = 4096


def ingress_ports(conf: dict[str, Any]) -> tuple[int, int] | None:
    """The port span an ingress rule opens (all ports for protocol `all`); None for egress."""
    if first(conf, "type") != "ingress":
        return None
    if str(first(conf, "ip_protocol", "")).lower() == "all":
        return 1, 65535
    return port_span(first(conf, "port_range"))


class NoOpenSshOrAllPorts(BaseResourceCheck):
    """Reason: SSH and all-port rules open to the whole internet invite brute force and expose every service."""

    def __init__(self) -> None:
        super().__init__(
            name="No ingress from 0.0.0.0/0 or ::/0 to port 22 or to all ports",
            id="CKV_OCA_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["alicloud_security_group_rule"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        span = ingress_ports(conf)
        if span is None or not (span == (1, 65535) or span[0] <= 22 <= span[1]):
            return CheckResult.PASSED
        return CheckResult.FAILED if any(is_whole_internet(c) for c in sources(conf)) else CheckResult.PASSED


class OpenCodePortNeverPublished(BaseResourceCheck):
    """Reason: OpenCode listens on loopback 4096; only the HTTPS proxy (or an SSH tunnel) may reach it."""

    def __init__(self) -> None:
        super().__init__(
            name="Port 4096 (OpenCode) is never opened in a security group",
            id="CKV_OCA_2",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["alicloud_security_group_rule"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        span = ingress_ports(conf)
        return CheckResult.FAILED if span and span[0] <= OPENCODE_PORT <= span[1] else CheckResult.PASSED


class MetadataTokensRequired(BaseResourceCheck):
    """Reason: token-only metadata access (IMDSv2-style) blocks SSRF-style theft of the instance role."""

    def __init__(self) -> None:
        super().__init__(
            name="ECS instances require metadata tokens (http_tokens = required)",
            id="CKV_OCA_3",
            categories=[CheckCategories.IAM],
            supported_resources=["alicloud_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return CheckResult.PASSED if first(conf, "http_tokens") == "required" else CheckResult.FAILED


class DisksEncrypted(BaseResourceCheck):
    """Reason: the workspace holds source code and credentials; every disk is encrypted at rest."""

    def __init__(self) -> None:
        super().__init__(
            name="System and data disks are encrypted",
            id="CKV_OCA_4",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["alicloud_instance", "alicloud_ecs_disk", "alicloud_disk"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "alicloud_instance":
            if first(conf, "system_disk_encrypted") is not True:
                return CheckResult.FAILED
            for disk in conf.get("data_disks", []) or []:
                if first(disk, "encrypted") is not True:
                    return CheckResult.FAILED
            return CheckResult.PASSED
        return CheckResult.PASSED if first(conf, "encrypted") is True else CheckResult.FAILED


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


class NoSecretInUserData(BaseResourceCheck):
    """Reason: user-data is readable by anyone allowed DescribeUserdata and is kept in logs; secrets go
    through KMS-encrypted OOS secret parameters instead."""

    def __init__(self) -> None:
        super().__init__(
            name="No secret in plain user-data",
            id="CKV_OCA_5",
            categories=[CheckCategories.SECRETS],
            supported_resources=["alicloud_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        user_data = str(first(conf, "user_data", "") or "")
        for what, pattern in SECRET_PATTERNS.items():
            if pattern.search(user_data):
                self.details.append(f"user_data contains a {what}")
                return CheckResult.FAILED
        return CheckResult.PASSED


no_open_ssh = NoOpenSshOrAllPorts()
opencode_port = OpenCodePortNeverPublished()
metadata_tokens = MetadataTokensRequired()
disks_encrypted = DisksEncrypted()
no_secret_in_user_data = NoSecretInUserData()
