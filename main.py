#!/usr/bin/env python3
"""opencode-alicloud: settings -> the stacks -> cdktf.out/. Bad settings or a policy rule broken: one line per
problem on stderr, exit 2. "opencode" is the workspace (one stack per team workspace); "opencode-roles", -state,
-audit and -image are an administrator's (docs/development/architecture.md)."""
import os
import sys
from pathlib import Path

from opencode_settings import SettingsError, load_settings, team_settings

ROOT = Path(__file__).resolve().parent


def main() -> int:
    try:  # every setting is checked before any construct exists; each user-data against ECS's limit as it is built
        settings = load_settings()
        workspaces = team_settings(settings) or {"opencode": settings}
        from opencode_alicloud import stacks

        image = stacks.ImageStackProps.from_settings(settings, workspaces)  # one base, Image Builder's limits
        state_dir = stacks.private_dir(ROOT / settings.state_dir)
        app = stacks.App(outdir=os.environ.get("CDKTF_OUTDIR", str(ROOT / "cdktf.out")))
        for stack_id, workspace in workspaces.items():
            stacks.WorkspaceStack(app, stack_id, workspace, state_dir=str(state_dir))
    except SettingsError as error:
        return print(error.render(), file=sys.stderr) or 2
    stacks.RolesStack(app, stacks.ROLES_STACK_ID, settings, workspaces, state_dir)
    if image.recipes:
        stacks.ImageStack(app, stacks.IMAGE_STACK_ID, settings, image, state_dir)
    if settings.state.bucket:
        stacks.StateStack(app, stacks.STATE_STACK_ID, stacks.StateStackProps.from_settings(settings, state_dir))
    if settings.audit.enabled and not settings.audit.existing_trail:
        stacks.AuditStack(app, stacks.AUDIT_STACK_ID, settings, state_dir)
    problems = stacks.synth_checked(app)  # the project's policy rules run during the synth
    return print("Policy:", *problems, sep="\n  ", file=sys.stderr) or 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
