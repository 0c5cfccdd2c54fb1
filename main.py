#!/usr/bin/env python3
"""opencode-alicloud: settings -> the stacks below -> cdktf.out/. Bad settings or a policy rule
broken: one line per problem on stderr, exit 2. The stacks:
  "opencode"        WorkspaceStack: Network, Firewall, Login, Secrets, Workspace, Outputs
                    (with team workspaces, `[workspaces.<name>]`: one WorkspaceStack "<name>" each)
  "opencode-roles"  RolesStack: every workspace's RAM roles and their policies (an administrator applies it)
  "opencode-state"  StateStack (when state.bucket is set): the team's OSS bucket and lock table
  "opencode-audit"  AuditStack (when audit.enabled, without audit.existing_trail): the ActionTrail trail
  "opencode-image"  ImageStack (when image_source = baked): ECS Image Builder bakes the workspace's image"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from opencode_settings import SettingsError, load_settings, team_settings

ROOT = Path(__file__).resolve().parent


def main() -> int:
    try:
        settings = load_settings()  # validation happens before any construct exists (or the jsii runtime starts)
    except SettingsError as error:
        return print(error.render(), file=sys.stderr) or 2
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from cdktf import App

    from opencode_alicloud.audit_stack import AUDIT_STACK_ID, AuditStack
    from opencode_alicloud.image_stack import IMAGE_STACK_ID, ImageStack, ImageStackProps
    from opencode_alicloud.policy.aspect import synth_checked
    from opencode_alicloud.roles_stack import ROLES_STACK_ID, RolesStack
    from opencode_alicloud.stack import WorkspaceStack
    from opencode_alicloud.state_stack import STATE_STACK_ID, StateStack, StateStackProps
    workspaces = team_settings(settings) or {"opencode": settings}
    try:
        image = ImageStackProps.from_settings(settings, workspaces)  # one base, Image Builder's limits
    except SettingsError as error:
        return print(error.render(), file=sys.stderr) or 2
    state_dir = (ROOT / settings.state_dir).resolve()
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_dir.chmod(0o700)  # the local state holds the password and the keys
    app = App(outdir=os.environ.get("CDKTF_OUTDIR", str(ROOT / "cdktf.out")))
    try:  # the rendered user-data is checked against ECS's limit as the stacks are built
        for stack_id, workspace in workspaces.items():
            WorkspaceStack(app, stack_id, workspace, state_dir=str(state_dir))
    except SettingsError as error:
        return print(error.render(), file=sys.stderr) or 2
    RolesStack(app, ROLES_STACK_ID, settings, workspaces, state_dir)
    if image.recipes:
        ImageStack(app, IMAGE_STACK_ID, settings, image, state_dir)
    if settings.state.bucket:
        StateStack(app, STATE_STACK_ID, StateStackProps.from_settings(settings, state_dir))
    if settings.audit.enabled and not settings.audit.existing_trail:
        AuditStack(app, AUDIT_STACK_ID, settings, state_dir)
    problems = synth_checked(app)  # the project's policy rules run during the synth
    return print("Policy:", *problems, sep="\n  ", file=sys.stderr) or 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
