"""The settings strategies (tests/strategies.py) hold to what they promise: every draw is accepted by the
settings model, and every concern's notable values are reached."""
from __future__ import annotations

from typing import Any, Callable

from hypothesis import HealthCheck, Phase, given, settings

from opencode_settings import load_settings
from strategies import workspace_settings

REACHED: dict[str, Callable[[dict[str, Any]], bool]] = {
    "egress allowlist with extra names": lambda v: v["egress"]["mode"] == "allowlist" and bool(v["egress"].get("allow")),
    "egress none": lambda v: v["egress"]["mode"] == "none",
    "model server downloads closed": lambda v: v.get("model_server", {}).get("downloads") is False,
    "model server in a reused VPC": lambda v: "private_ip" in v.get("model_server", {}),
    "schedule": lambda v: v.get("schedule", {}).get("enabled", False),
    "audit with a new bucket and log shipping": lambda v: v["audit"].get("ship_access_log", False),
    "audit on an existing trail": lambda v: "existing_trail" in v["audit"],
    "ubuntu": lambda v: v["image_family"] == "ubuntu-24.04",
    "a baked image": lambda v: v["image_source"] == "baked",
    "a baked image with its id": lambda v: "image_id" in v,
    "a 24-character name": lambda v: len(v["name"]) == 24,
    "a 3-character name": lambda v: len(v["name"]) == 3,
    "an instance type outside the known list": lambda v: v["instance_type"].split(".")[1] not in
        {"e-c1m2", "e-c1m4", "g7", "c7", "u1-c1m2", "g8i", "t6-c1m1"},
    "IPv6 and several web CIDRs": lambda v: len(v["web_cidrs"]) > 1 and any(":" in c for c in v["web_cidrs"]),
    "tags": lambda v: len(v["tags"]) >= 2,
    "the EIP's least bandwidth": lambda v: v["eip_bandwidth_mbps"] == 1,
    "another OpenCode version": lambda v: v["opencode_version"] not in ("1.18.33", "1.18.32"),
    "an oss backend with locking in another region": lambda v: v["backend"]["kind"] == "oss"
        and "region" in v["backend"] and "tablestore_table" in v["backend"],
    "a cloud backend": lambda v: v["backend"]["kind"] == "cloud",
    "a remote backend with a workspace": lambda v: v["backend"]["kind"] == "remote" and "workspace" in v["backend"],
    "tunnel-only": lambda v: v["tls_mode"] == "tunnel-only",
    "a GitHub token parameter": lambda v: "github_token_parameter" in v,
    "a model key parameter": lambda v: "api_key_parameter" in v["model"],
}


def test_every_draw_is_accepted_and_every_concern_is_reached() -> None:
    """One run of draws (generation only, no shrinking): each accepted by the settings model, and each
    notable value above drawn at least once."""
    reached: set[str] = set()

    # derandomized: the same draws each run, so a concern is reached or not, never by luck
    @settings(max_examples=400, deadline=None, database=None, phases=[Phase.generate], derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(values=workspace_settings())
    def draw(values: dict[str, Any]) -> None:
        load_settings(**values)
        reached.update(what for what, holds in REACHED.items() if holds(values))

    draw()
    assert sorted(set(REACHED) - reached) == []
