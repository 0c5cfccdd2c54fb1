"""Backend: where a stack keeps its state. The state key always derives from the workspace name,
so two teammates or environments can never write to one state by accident."""
from __future__ import annotations

from pathlib import Path

from cdktf import (
    CloudBackend,
    LocalBackend,
    NamedCloudWorkspace,
    NamedRemoteWorkspace,
    OssBackend,
    RemoteBackend,
    TerraformBackend,
)
from constructs import Construct

from opencode_settings import Settings


def state_key(settings: Settings, stack_id: str) -> tuple[str, str]:
    """(prefix, key) in the bucket: <prefix>/<name>/ and <stack>.tfstate."""
    return f"{settings.backend.prefix}/{settings.name}", f"{stack_id}.tfstate"


def state_backend(scope: Construct, settings: Settings, stack_id: str, local_dir: Path) -> TerraformBackend:
    backend = settings.backend
    if backend.kind == "oss":
        prefix, key = state_key(settings, stack_id)
        return OssBackend(
            scope,
            bucket=backend.bucket or "",
            prefix=prefix,
            key=key,
            region=backend.region or settings.region,
            tablestore_endpoint=backend.tablestore_endpoint,
            tablestore_table=backend.tablestore_table,
            encrypt=True,
            acl="private",
            profile=backend.profile,
            assume_role_role_arn=backend.assume_role_arn,
        )
    if backend.kind in ("cloud", "remote"):
        backend_class, workspace_class = {
            "cloud": (CloudBackend, NamedCloudWorkspace),
            "remote": (RemoteBackend, NamedRemoteWorkspace),
        }[backend.kind]
        return backend_class(
            scope,
            organization=backend.organization or "",
            hostname=backend.hostname,
            workspaces=workspace_class(backend.workspace or f"{settings.name}-{stack_id}"),
        )
    # Absolute: relative LocalBackend paths break cross-stack references.
    return LocalBackend(scope, path=str(local_dir.resolve() / settings.name / f"{stack_id}.tfstate"))
