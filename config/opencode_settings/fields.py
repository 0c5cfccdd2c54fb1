"""Building blocks the settings concerns share: value types, patterns and small validators."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator

MANAGED_BY = "opencode-alicloud"  # the `managed-by` tag of everything the project makes; RAM conditions check it

DiskCategory = Literal["cloud_essd_entry", "cloud_auto", "cloud_essd", "cloud_ssd", "cloud_efficiency"]
ModelProvider = Literal["anthropic", "openai", "google", "openai-compatible"]
TlsMode = Literal["acme", "internal", "tunnel-only"]
ImageFamily = Literal["debian-13", "ubuntu-24.04"]
ImageSource = Literal["public", "baked"]
Power = Literal["running", "stopped"]

# A workspace name; never ending in "-model": workspace X's model server role, X-model-instance, would be the
# instance role of a workspace X-model, which X's deployer may pass (security review 2, follow-up).
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9](?<!-model)$")
NAME_RULE = "3-24 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-' or '-model'"
ADMIN_STACKS = ("opencode-state", "opencode-audit", "opencode-image", "opencode-roles")  # an administrator's stacks


def workspace_name(value: str) -> str:
    """A workspace name: NAME_RULE, and not an administrator's stack (whose state folder it would share)."""
    if not _NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} must be {NAME_RULE}")
    if value in ADMIN_STACKS:
        raise ValueError(f"{value!r} is the name of an administrator's stack ({', '.join(ADMIN_STACKS)}): pick another")
    return value
_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ID_RE = {
    "vpc_id": re.compile(r"^vpc-[a-z0-9]{6,32}$"),
    "vswitch_id": re.compile(r"^vsw-[a-z0-9]{6,32}$"),
    "eip_allocation_id": re.compile(r"^eip-[a-z0-9]{6,32}$"),
    "image_id": re.compile(r"^m-[a-z0-9]{20}$"),  # ECS ids: a prefix and 20 characters
}


def _cidr(value: str) -> str:
    """A CIDR in canonical form; host bits must be zero."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid CIDR such as 203.0.113.0/24 ({exc})") from None
    return str(network)


Cidr = Annotated[str, AfterValidator(_cidr)]


def _resource_id(kind: str, value: str | None) -> str | None:
    """An existing resource's id: vpc-..., vsw-..., eip-..."""
    if value is None:
        return None
    pattern = _ID_RE[kind]
    if not pattern.fullmatch(value):
        prefix = pattern.pattern[1:pattern.pattern.index("-")]
        length = " followed by 20 letters or digits (m-0123456789abcdefghij)" if kind == "image_id" else ""
        what = kind.replace("_", " ")
        article = "an" if what[0] in "aeiou" else "a"
        raise ValueError(f"{value!r} is not {article} {what}; it starts with {prefix}-{length}")
    return value


def _parameter_name(value: str | None) -> str | None:
    """An OOS parameter name: 2-180 chars of letters, digits, '-', '_', '/'; not ALIYUN/ACS/ALIBABA."""
    if value is None:
        return None
    if not re.fullmatch(r"^[A-Za-z0-9_/-]{2,180}$", value) or value.upper().startswith(("ALIYUN", "ACS", "ALIBABA")):
        raise ValueError(
            f"{value!r} is not an OOS parameter name (letters, digits, '-', '_', '/'; "
            "not starting with ALIYUN, ACS or ALIBABA)"
        )
    return value



def matching(pattern: str, message: str) -> Callable[[str | None], str | None]:
    """A validator: the whole value matches `pattern` (no trailing newline slips through), else
    ValueError(message), where {value!r} names the value. None passes (optional settings)."""
    compiled = re.compile(pattern)

    def check(value: str | None) -> str | None:
        if value is not None and not compiled.fullmatch(value):
            raise ValueError(message.format(value=value))
        return value

    return check
