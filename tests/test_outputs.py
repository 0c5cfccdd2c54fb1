"""The outputs: how the user reaches the workspace."""
from __future__ import annotations

import re
from pathlib import Path


from conftest import synth


def test_outputs_tell_how_to_reach_the_workspace(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    assert set(doc["output"]) == {"url", "public_ip", "username", "password"}  # SSH closed: no ssh commands
    assert re.fullmatch(
        r'\$\{join\("", \["https://", join\("", \[replace\(alicloud_eip_address\.workspace_eip_\w+\.ip_address, '
        r'"\.", "-"\), "\.sslip\.io"\]\)\]\)\}',
        doc["output"]["url"]["value"],
    )
    assert doc["output"]["username"]["value"] == "opencode"
    with_domain = synth(tmp_path / "d", domain="Code.Example.com")
    assert with_domain["output"]["url"]["value"] == '${join("", ["https://", "code.example.com"])}'
