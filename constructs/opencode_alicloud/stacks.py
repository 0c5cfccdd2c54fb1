"""Every stack the app can hold, in one import for main.py, which imports it only once the settings are valid:
the jsii runtime (node) starts with the first cdktf import, so a bad setting is reported without it."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktf import App  # noqa: E402

from .audit_stack import AUDIT_STACK_ID, AuditStack  # noqa: E402
from .image_stack import IMAGE_STACK_ID, ImageStack, ImageStackProps  # noqa: E402
from .policy.aspect import synth_checked  # noqa: E402
from .roles_stack import ROLES_STACK_ID, RolesStack  # noqa: E402
from .stack import WorkspaceStack  # noqa: E402
from .state_stack import STATE_STACK_ID, StateStack, StateStackProps  # noqa: E402

__all__ = ["App", "AUDIT_STACK_ID", "AuditStack", "IMAGE_STACK_ID", "ImageStack", "ImageStackProps", "ROLES_STACK_ID",
           "RolesStack", "STATE_STACK_ID", "StateStack", "StateStackProps", "WorkspaceStack", "private_dir", "synth_checked"]


def private_dir(path: Path) -> Path:
    """The local state's folder, made readable by its owner only (it holds the password and the keys)."""
    path = path.resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
