"""Shared test helpers. Nothing here stubs the code under test; the only stand-ins are
the stub cloud providers in harness/ (see harness/stub_provider.py), used by the rehearsal."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `imports/` (generated bindings) and main.py
sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(autouse=True)
def clean_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts from defaults: no OPENCODE_ALICLOUD_* from the caller, no .env."""
    for key in list(os.environ):
        if key.startswith("OPENCODE_ALICLOUD_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def synth(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Synthesize the workspace stack in-process with these settings; return cdk.tf.json."""
    from cdktf import App

    from opencode_alicloud.stack import WorkspaceStack
    from opencode_settings import load_settings

    settings = load_settings(**overrides)
    outdir = tmp_path / "cdktf.out"
    app = App(outdir=str(outdir))
    WorkspaceStack(app, "opencode", settings, state_dir=str(tmp_path / "state"))
    app.synth()
    return json.loads((outdir / "stacks" / "opencode" / "cdk.tf.json").read_text())


def resources(document: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
    return list(document.get("resource", {}).get(type_name, {}).values())


def data_sources(document: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
    return list(document.get("data", {}).get(type_name, {}).values())
