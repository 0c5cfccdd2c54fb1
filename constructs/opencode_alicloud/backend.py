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


def state_key(settings: Settings, stack_id: str, folder: str | None = None) -> tuple[str, str]:
    """(prefix, key) in the bucket: <prefix>/<folder, by default the name>/ and <stack>.tfstate."""
    return f"{settings.backend.prefix}/{folder or settings.name}", f"{stack_id}.tfstate"


def state_backend(scope: Construct, settings: Settings, stack_id: str, local_dir: Path,
                  folder: str | None = None) -> TerraformBackend:
    """`folder` puts the state beside no workspace's: the roles stack's, which a workspace's state policy (its own
    folder, state.workspaces) must not reach, or its deployer could edit what the administrator applies next."""
    backend = settings.backend
    if backend.kind == "oss":
        prefix, key = state_key(settings, stack_id, folder)
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
    return LocalBackend(scope, path=str(local_dir.resolve() / (folder or settings.name) / f"{stack_id}.tfstate"))
