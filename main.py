#!/usr/bin/env python3
"""opencode-alicloud: a private OpenCode workspace on Alibaba Cloud.

    settings (config/, OPENCODE_ALICLOUD_*)  ->  WorkspaceStack "opencode"
        Network (VPC, vSwitch, zone)  ->  Firewall (443/80 from web_cidrs, 22 from ssh_cidrs)
        Login (random password, bcrypt)  +  Secrets (OOS secret parameters)
        Workspace (ECS + bootstrap user-data, data disk + snapshots, EIP, RAM role)
        Outputs (url, public_ip, username, password, ssh commands)

Bad settings: one line per bad field on stderr, exit status 2, nothing written.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktf import App  # noqa: E402

from opencode_alicloud.stack import WorkspaceStack  # noqa: E402
from opencode_settings import SettingsError, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent
STACK_ID = "opencode"


def main() -> int:
    try:
        settings = load_settings()  # validation happens before any construct exists
    except SettingsError as error:
        print(error.render(), file=sys.stderr)
        return 2
    app = App(outdir=os.environ.get("CDKTF_OUTDIR", str(ROOT / "cdktf.out")))
    WorkspaceStack(app, STACK_ID, settings, state_dir=str((ROOT / settings.state_dir).resolve()))
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
