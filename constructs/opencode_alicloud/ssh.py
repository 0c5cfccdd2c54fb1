"""The SSH and tunnel commands, built from a validated address: the outputs show them, and the CLI runs them
from the address alone, never from a command string in the (shared, writable) Terraform state. No cdktf here:
the CLI imports it."""
from __future__ import annotations

import ipaddress

from .instance.layout import AGENT_ADDRESS, OPENCODE_PORT

SSH_USER = "root"


def opencode_host(egress_mode: str) -> str:
    """Where the instance itself reaches OpenCode: loopback, or its address on the agent's network."""
    return "127.0.0.1" if egress_mode == "open" else AGENT_ADDRESS


def ssh_argv(public_ip: str, host: str, tunnel: bool = False, user: str = SSH_USER) -> list[str]:
    """`ssh root@<ip>`, or the tunnel that forwards OpenCode's port on `host` (opencode_host()) to localhost.
    `public_ip` may be a Terraform reference while synthesizing; anything else must be an IP address
    (ValueError otherwise)."""
    if "${" not in public_ip:
        ipaddress.ip_address(public_ip)  # raises ValueError: a state value that is not an address is refused
    target = f"{user}@{public_ip}"
    if tunnel:
        return ["ssh", "-N", "-L", f"{OPENCODE_PORT}:{host}:{OPENCODE_PORT}", target]
    return ["ssh", target]
