"""The project's own policy rules, one per file, each with its id, reason and fix. They judge a
resource's configuration as Terraform receives it (a plain dict, references as "${...}"), and
run twice: as a cdktf Aspect during synth (policy/aspect.py) and as checkov checks (checks/)."""
from __future__ import annotations

from . import (
    oca_1_no_open_ssh, oca_2_opencode_port, oca_3_metadata_tokens, oca_4_disks_encrypted, oca_5_no_secret_in_user_data,
    oca_6_audit_retention, oca_7_egress_none,
)
from .base import Rule

__all__ = ["Rule", "all_rules"]


def all_rules() -> list[Rule]:
    return [module.RULE for module in (oca_1_no_open_ssh, oca_2_opencode_port, oca_3_metadata_tokens,
                                       oca_4_disks_encrypted, oca_5_no_secret_in_user_data, oca_6_audit_retention,
                                       oca_7_egress_none)]
