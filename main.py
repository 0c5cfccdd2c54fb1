#!/usr/bin/env python3
"""opencode-alicloud: a private OpenCode workspace on Alibaba Cloud.

    settings (config/, OPENCODE_ALICLOUD_*)  ->  WorkspaceStack "opencode"  (state: backend.kind)
        Network (VPC, vSwitch, zone)  ->  Firewall (443/80 from web_cidrs, 22 from ssh_cidrs)
        Login (random password, bcrypt)  +  Secrets (OOS secret parameters)
        Workspace (ECS + bootstrap user-data, data disk + snapshots, EIP, RAM role)
        Outputs (url, public_ip, username, password, ssh commands)
    with state.bucket set, also StateStack "opencode-state": OSS bucket + Tablestore lock table

Bad settings: one line per bad field on stderr, exit status 2, nothing written.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktf import App  # noqa: E402

from opencode_alicloud.bootstrap import escape_for_terraform  # noqa: E402
from opencode_alicloud.stack import WorkspaceStack  # noqa: E402
from opencode_alicloud.state_stack import STATE_STACK_ID, StateStack, StateStackProps  # noqa: E402
from opencode_settings import SettingsError, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent
STACK_ID = "opencode"


def main() -> int:
    try:
        settings = load_settings()  # validation happens before any construct exists
    except SettingsError as error:
        print(error.render(), file=sys.stderr)
        return 2
    state_dir = (ROOT / settings.state_dir).resolve()
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # local state holds the password and keys
    state_dir.chmod(0o700)
    app = App(outdir=os.environ.get("CDKTF_OUTDIR", str(ROOT / "cdktf.out")))
    WorkspaceStack(app, STACK_ID, settings, state_dir=str(state_dir))
    if settings.state.bucket:  # the team's state stack, deployed once with local state
        StateStack(
            app,
            STATE_STACK_ID,
            StateStackProps(
                region=settings.region,
                bucket=settings.state.bucket,
                ots_instance=settings.state.ots_instance,
                lock_table=settings.state.lock_table,
                noncurrent_version_days=settings.state.noncurrent_version_days,
                team_policy=settings.state.team_policy,
                state_prefix=settings.backend.prefix,
                workspaces=tuple(settings.state.workspaces),
                protect=settings.state.protect,
                tags={escape_for_terraform(k): escape_for_terraform(v) for k, v in settings.tags.items()}
                | {"managed-by": "opencode-alicloud", "purpose": "terraform-state"},
                state_file=state_dir / f"{STATE_STACK_ID}.tfstate",
            ),
        )
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
