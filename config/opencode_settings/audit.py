"""The audit concern: a cloud API audit trail (ActionTrail, delivered to an OSS bucket and optionally an
SLS logstore, kept `retention_days`) in a stack of its own, and the proxy's access log on the instance."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .state import _bucket_name

AUDIT_MIN_DAYS = 180  # what the policy check asks of a trail's retention (CKV_OCA_6)
AUDIT_PURPOSE = "audit-trail"  # the audit bucket's `purpose` tag: the policy check and the estimate find it by it


class AuditSettings(BaseModel):
    """Who did what: an ActionTrail trail (stack opencode-audit) and how long the access log is kept."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Record every cloud API call of the account in an ActionTrail trail "
                          "(stack opencode-audit, deployed once by an administrator).")
    bucket: str | None = Field(None, description="OSS bucket to create for the trail (globally unique); needed unless "
                               "existing_trail is set.")
    existing_trail: str | None = Field(None, description="Name of a trail the account already has: nothing is created.")
    retention_days: int = Field(AUDIT_MIN_DAYS, ge=1, le=3650, description="Days the trail's logs are kept (OSS lifecycle, "
                                "logstore TTL); the policy check asks for at least 180.")
    event_rw: Literal["All", "Write"] = Field("All", description="Events recorded: All (reads too, e.g. reading a "
                                              "secret parameter) or Write.")
    sls: bool = Field(False, description="Also deliver the trail to an SLS logstore (search and alerts).")
    protect: bool = Field(True, description="Protect the bucket and the trail against an accidental destroy.")
    worm: bool = Field(False, description="Lock an OSS retention (WORM) policy of retention_days on the bucket: nobody, "
                       "the root account included, deletes or expires a log sooner. Irreversible: the bucket cannot be "
                       "deleted until its newest log is that old.")
    access_log_days: int = Field(30, ge=1, le=3650, description="Days the HTTPS proxy's JSON access log is kept on the instance.")
    ship_access_log: bool = Field(False, description="Also copy the access log to the audit bucket every hour "
                                  "(access-logs/<name>/), through an instance role that may only add objects there.")

    _bucket = field_validator("bucket")(_bucket_name)


def audit_problems(audit: AuditSettings, tls_mode: str) -> list[tuple[str, str]]:
    if audit.ship_access_log and not (audit.enabled and audit.bucket):
        return [("audit.ship_access_log", "needs the audit bucket: audit.enabled with audit.bucket")]
    if audit.ship_access_log and tls_mode == "tunnel-only":
        return [("audit.ship_access_log", "tls_mode = tunnel-only has no proxy, so no access log to ship")]
    if audit.enabled and not audit.existing_trail and not audit.bucket:
        return [("audit.bucket", "set a globally unique OSS bucket name for the trail, or audit.existing_trail")]
    if audit.existing_trail and audit.bucket:
        return [("audit.bucket", "leave it unset with audit.existing_trail (nothing is created then)")]
    return []
