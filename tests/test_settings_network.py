"""The network concern (config/opencode_settings/network.py): VPC, CIDRs, SSH, the EIP, TLS and the domain. Each bad value is rejected with a message that names the field and the fix."""
from __future__ import annotations

import pytest

from conftest import KEY, assert_rejected

# (overrides, the field the message must name, a fragment of the fix it must suggest)
BAD = [
    ({"web_cidrs": ["10.0.0.0/33"]}, "web_cidrs[0]", "not a valid CIDR"),
    ({"web_cidrs": ["10.0.0.1/24"]}, "web_cidrs[0]", "has host bits set"),
    ({"web_cidrs": ["example.com"]}, "web_cidrs[0]", "not a valid CIDR"),
    ({"web_cidrs": []}, "web_cidrs", "tunnel-only"),
    ({"ssh_cidrs": ["0.0.0.0/0"], "key_pair_name": "k1"}, "ssh_cidrs", "203.0.113.7/32"),
    ({"ssh_cidrs": ["::/0"], "key_pair_name": "k1"}, "ssh_cidrs", "whole internet"),
    ({"ssh_cidrs": ["203.0.113.0/24"]}, "ssh_cidrs", "key_pair_name or ssh_public_key"),
    ({"ssh_cidrs": ["300.1.1.1/32"], "key_pair_name": "k1"}, "ssh_cidrs[0]", "not a valid CIDR"),
    ({"vpc_id": "vpc-abc123def"}, "vswitch_id", "required when vpc_id is set"),
    ({"vswitch_id": "vsw-abc123def"}, "vpc_id", "required when vswitch_id is set"),
    ({"vpc_id": "vsw-abc123def", "vswitch_id": "vsw-abc123def"}, "vpc_id", "starts with vpc"),
    ({"eip_allocation_id": "47.1.2.3"}, "eip_allocation_id", "starts with eip"),
    ({"vswitch_cidr": "192.168.0.0/24"}, "vswitch_cidr", "inside vpc_cidr"),
    ({"vpc_cidr": "0.0.0.0/4", "vswitch_cidr": "10.0.0.0/24"}, "vpc_cidr", "/8 to /24"),
    ({"vpc_cidr": "8.8.0.0/16", "vswitch_cidr": "8.8.1.0/24"}, "vpc_cidr", "is not a private range"),
    # Reusing a VPC skipped the range checks, and the egress rules open HTTPS to vpc_cidr (security review 2, #8).
    ({"vpc_id": "vpc-abc123def", "vswitch_id": "vsw-abc123def", "vpc_cidr": "0.0.0.0/1"}, "vpc_cidr",
     "is not a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"),
    ({"key_pair_name": "k1", "ssh_public_key": KEY}, "ssh_public_key", "conflicts with key_pair_name"),
    ({"ssh_public_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}, "ssh_public_key", "OpenSSH public key"),
    ({"key_pair_name": "1bad"}, "key_pair_name", "not a valid key pair name"),
    ({"domain": "not a domain"}, "domain", "code.example.com"),
    ({"domain": "localhost"}, "domain", "code.example.com"),
    ({"tls_mode": "letsencrypt"}, "tls_mode", "tunnel-only"),
    ({"tls_mode": "tunnel-only"}, "tls_mode", "needs SSH"),
    ({"eip_bandwidth_mbps": 0}, "eip_bandwidth_mbps", "greater than or equal to 1"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD, ids=[case[1] + ":" + case[2] for case in BAD])
def test_bad_network_settings_name_the_field_and_the_fix(overrides: dict, field: str, fix: str) -> None:
    assert_rejected(overrides, field, fix)
