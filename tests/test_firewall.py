"""The firewall construct: which ports are open to whom."""
from __future__ import annotations

from pathlib import Path


from conftest import KEY, resources, synth


def _ports(document: dict) -> list[tuple[str, str]]:
    return [
        (rule["port_range"], rule.get("cidr_ip") or rule.get("ipv6_cidr_ip"))
        for rule in resources(document, "alicloud_security_group_rule")
    ]


def test_default_firewall_opens_only_443_and_80(tmp_path: Path) -> None:
    assert sorted(_ports(synth(tmp_path))) == [("443/443", "0.0.0.0/0"), ("80/80", "0.0.0.0/0")]


def test_ssh_only_from_ssh_cidrs_and_4096_never(tmp_path: Path) -> None:
    doc = synth(
        tmp_path,
        web_cidrs=["198.51.100.0/24", "2001:db8::/32"],
        ssh_cidrs=["203.0.113.7/32"],
        ssh_public_key=KEY,
    )
    ports = _ports(doc)
    assert ("22/22", "203.0.113.7/32") in ports
    assert [cidr for port, cidr in ports if port == "22/22"] == ["203.0.113.7/32"]
    assert ("443/443", "2001:db8::/32") in ports
    assert all("4096" not in port for port, _ in ports)
    assert all(rule["type"] == "ingress" and rule["ip_protocol"] == "tcp"
               for rule in resources(doc, "alicloud_security_group_rule"))
    (key,) = resources(doc, "alicloud_ecs_key_pair")
    assert key["public_key"] == KEY
    (instance,) = resources(doc, "alicloud_instance")
    assert instance["key_name"].startswith("${alicloud_ecs_key_pair.")
    assert set(doc["output"]) == {"url", "public_ip", "username", "password", "ssh_command", "ssh_tunnel_command"}
    assert "-L 4096:127.0.0.1:4096" in doc["output"]["ssh_tunnel_command"]["value"]


def test_tunnel_only_publishes_no_web_ports(tmp_path: Path) -> None:
    doc = synth(tmp_path, tls_mode="tunnel-only", ssh_cidrs=["203.0.113.7/32"], key_pair_name="laptop")
    assert _ports(doc) == [("22/22", "203.0.113.7/32")]
    assert doc["output"]["url"]["value"].startswith("http://localhost:4096")
