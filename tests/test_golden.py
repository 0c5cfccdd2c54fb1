"""The synthesized JSON of the default and the all-options stack, byte for byte.

Refactoring must not change what Terraform receives. When a change is meant to change the
JSON, regenerate the golden copies on purpose and review the diff like code:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py   # writes them, and fails: review the diff
    git diff tests/golden/

A regeneration never passes (it would compare the bytes it just wrote), and scripts/test and .ci/run
refuse UPDATE_GOLDEN.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT, VARIANTS

GOLDEN = ROOT / "tests" / "golden"
STATE_DIR = "/golden/state"  # a fixed local-backend folder, so the copies do not depend on the checkout


def synthesized_bytes(tmp_path: Path, variant: str) -> bytes:
    from cdktf import App

    from opencode_alicloud.stack import WorkspaceStack
    from opencode_settings import load_settings

    app = App(outdir=str(tmp_path))
    WorkspaceStack(app, "opencode", load_settings(**VARIANTS[variant]), state_dir=STATE_DIR)
    app.synth()
    return (tmp_path / "stacks" / "opencode" / "cdk.tf.json").read_bytes()


@pytest.mark.parametrize("variant", ["default", "all-options"])
def test_synthesized_json_is_byte_identical_to_the_golden_copy(variant: str, tmp_path: Path) -> None:
    golden = GOLDEN / f"{variant}.cdk.tf.json"
    produced = synthesized_bytes(tmp_path, variant)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(produced)
        pytest.fail(f"{golden.name} regenerated: review git diff tests/golden/, then run without UPDATE_GOLDEN")
    assert produced == golden.read_bytes(), f"{golden.name} changed: see this file's docstring"


def test_a_regeneration_writes_the_copy_and_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """UPDATE_GOLDEN=1 must never pass: it compares the bytes it has just written (on a copy here, so the
    real golden files are never touched by a test)."""
    import test_golden

    real = ROOT / "tests" / "golden"  # named before the patch: this module's GOLDEN is patched below
    copy = tmp_path / "golden"
    copy.mkdir()
    (copy / "default.cdk.tf.json").write_text("stale")
    monkeypatch.setattr(test_golden, "GOLDEN", copy)
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="default.cdk.tf.json regenerated: review git diff"):
        test_golden.test_synthesized_json_is_byte_identical_to_the_golden_copy("default", tmp_path / "out")
    assert (copy / "default.cdk.tf.json").read_bytes() == (real / "default.cdk.tf.json").read_bytes()
