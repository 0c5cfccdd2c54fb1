"""The preflight: what the offline rehearsal cannot see, asked of the user's own account before anything is
deployed (`opencode-alicloud doctor`, and `up` first). Each check is a line: pass, fail with what to do, or
not checked with why. The questions are probe.Probe's; nothing here changes the account."""
from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from opencode_alicloud.instance.recipe import Recipe
from opencode_api import ApiUnavailable
from opencode_settings import Settings
from opencode_settings.workspace import KNOWN_OPENCODE_VERSIONS

from . import image
from .probe import Probe

Status = Literal["pass", "fail", "not checked"]
MARKS = {"pass": "✓", "fail": "✗", "not checked": "·"}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    advice: str = ""

    def json(self) -> dict[str, str]:
        return asdict(self)

    def line(self) -> str:
        said = f"not checked: {self.detail}" if self.status == "not checked" else self.detail
        return f"{MARKS[self.status]} {self.name}: {said}" + (f"\n    → {self.advice}" if self.advice else "")


class NoAccount(Exception):
    """No credentials, or the API did not answer who they are: nothing else can be asked (exit 4)."""


Resolve = Callable[[str], set[str]]


def resolve(name: str) -> set[str]:
    """The name's IPv4 addresses by this machine's resolver; none when it does not resolve."""
    try:
        return {item[4][0] for item in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        return set()


def failed(name: str, error: ApiUnavailable) -> Check:
    """A check whose API call failed is a failed check that says what the API said."""
    return Check(name, "fail", f"could not ask: {error}", "check the deployer policy (scripts/deployer-policy) and the "
                 "region; the API's message is above")


def asked(name: str, question: Callable[[], Check]) -> Check:
    try:
        return question()
    except ApiUnavailable as error:
        return failed(name, error)


def identity(probe: Probe) -> tuple[Check, str]:
    try:
        found = probe.identity()
    except ApiUnavailable as error:
        raise NoAccount(str(error)) from None
    return Check("credentials", "pass", f"account {found.get('AccountId', '?')} as {found.get('Arn', '?')} "
                                        f"({found.get('IdentityType', '?')})"), str(found.get("AccountId", ""))


def public_image(values: Settings, probe: Probe) -> tuple[Check, str | None]:
    pattern = re.compile(values.system_image_regex)
    found = [i for i in probe.system_images(values.instance_type) if pattern.search(i.get("ImageName", ""))]
    if not found:
        return Check("image", "fail", f"no public image in {values.region} matches {values.system_image_regex} and runs "
                     f"on {values.instance_type}", "set image_name_regex to an image the region lists "
                     "(aliyun ecs DescribeImages --ImageOwnerAlias system), or another image_family"), None
    newest = found[0]
    return Check("image", "pass", f"{newest['ImageName']} ({newest['ImageId']}), the newest of {len(found)} "
                                  f"matching {values.system_image_regex}"), newest["ImageId"]


def baked_image(values: Settings, probe: Probe) -> tuple[Check, str | None]:
    if values.image_id:
        item = probe.image(values.image_id)
        if item and item.get("Status") == "Available":
            return Check("image", "pass", f"image_id {values.image_id} ({item.get('ImageName', '?')}) is Available"), values.image_id
        return Check("image", "fail", f"image_id {values.image_id} is {item.get('Status') if item else 'not in this account'}"
                     f" in {values.region}", "set image_id to an Available image of this account, or remove it"), None
    recipe = Recipe.of(values.opencode_version, values.image_family)
    made = image.available(probe.images(recipe.image_name + "_"), recipe)
    if made:
        return Check("image", "pass", f"baked {made['ImageName']} ({made['ImageId']}) for this recipe"), made["ImageId"]
    return Check("image", "fail", f"no baked image {recipe.image_name} in {values.region} yet",
                 "opencode-alicloud image bake (up offers to bake it), or image_source = \"public\""), None


def stock(name: str, probe: Probe, instance_type: str, system: str, data: str, spot: bool) -> tuple[Check, list[str]]:
    """Zones offering `instance_type` with both disk categories in stock."""
    systems = probe.zones_with(instance_type, "SystemDisk", spot)
    datas = probe.zones_with(instance_type, "DataDisk", spot, system, data)
    zones = sorted(z for z in systems if system in systems[z] and data in datas.get(z, set()))
    if zones:
        return Check(name, "pass", f"{instance_type} with {system} and {data} disks in {', '.join(zones)}"), zones
    offered = sorted(set(systems) | set(datas))
    where = f"it is offered in {', '.join(offered)} with other disk categories" if offered else "it is in no zone's stock"
    return Check(name, "fail", f"{instance_type} with {system} and {data} disks: in no zone of {probe.region} ({where})",
                 "choose another instance_type or disk category (the zones' offer changes with stock), or another "
                 "region"), []


def quotas(values: Settings, probe: Probe) -> list[Check]:
    """The vCPUs this deploy adds against their quota (spot or pay-as-you-go; the model server is never spot), and the
    security group it makes. A workspace already deployed is in the account's use and adds nothing."""
    kind = "spot" if values.spot else "postpaid"
    names = {f"max-{k}-instance-vcpu-count" for k in (kind, "postpaid")} | {f"used-{k}-instance-vcpu-count" for k in (kind, "postpaid")}
    have = probe.attributes(*sorted(names), "max-security-groups")
    deployed = probe.instance(values.name) is not None
    adds = {kind: 0, "postpaid": 0}
    if not deployed:
        adds[kind] += probe.vcpus(values.instance_type) or 0
        if values.model_server.enabled:
            adds["postpaid"] += probe.vcpus(values.model_server.instance_type) or 0
    checks = []
    for charge in dict.fromkeys((kind, "postpaid") if values.model_server.enabled else (kind,)):
        limit, used = have.get(f"max-{charge}-instance-vcpu-count"), have.get(f"used-{charge}-instance-vcpu-count", 0)
        said = f"{adds[charge]} {charge} vCPUs needed, {used} of {limit} in use"
        if limit is None:
            checks.append(Check("vCPU quota", "not checked", f"the account reports no {charge} vCPU quota here"))
        elif used + adds[charge] > limit:
            checks.append(Check("vCPU quota", "fail", said, "raise the ECS vCPU quota in Quota Center, or stop "
                                "instances you do not need"))
        else:
            checks.append(Check("vCPU quota", "pass", said))
    groups, most = probe.security_groups(), have.get("max-security-groups")
    needed = 0 if deployed else 1
    if most is not None and groups + needed > most:
        checks.append(Check("security groups", "fail", f"{groups} of {most} in {values.region}", "delete unused "
                            "security groups, or raise the quota in Quota Center"))
    elif most is not None:
        checks.append(Check("security groups", "pass", f"{needed} needed, {groups} of {most} in use"))
    checks.append(Check("EIP quota", "not checked", "the EIP quota is the VPC API's (Quota Center); each workspace "
                                                    "allocates one"))
    return checks


def launch_permission(values: Settings, probe: Probe, image_id: str | None, zones: list[str]) -> Check:
    if not image_id or not zones:
        return Check("deployer may launch", "not checked", "no image or zone to try the launch with (above)")
    tried = probe.dry_run_launch(values.instance_type, image_id, zones[0], values.system_disk_category, values.spot,
                                 values.resource_tags())
    if not tried.allowed:
        return Check("deployer may launch", "fail", f"RAM refused RunInstances ({tried.message})",
                     "attach the deployer policy to these credentials (scripts/deployer-policy prints it in parts)")
    if tried.code == "DryRunOperation":
        return Check("deployer may launch", "pass", "a RunInstances dry run, tagged as the stack tags it, passed")
    # No vSwitch exists before the deploy, and whether ECS asks RAM before it checks the request is not documented.
    return Check("deployer may launch", "not checked", f"the RunInstances dry run stopped at {tried.message} (no vSwitch "
                 "exists before the deploy); RAM did not refuse it, which may be all it says")


def buckets(values: Settings, probe: Probe, account: str) -> list[Check]:
    """The state and audit buckets: `account` (the caller's AccountId) must own the ones that exist."""
    checks = []
    backend = values.backend
    if backend.kind == "oss" and backend.bucket and (backend.profile or backend.assume_role_arn):
        checks.append(Check("state bucket", "not checked", f"{backend.bucket} is read with backend.profile or "
                            "backend.assume_role_arn, which doctor does not use; terraform init tells"))
    elif backend.kind == "oss" and backend.bucket:
        bucket = backend.bucket
        checks.append({
            "yours": Check("state bucket", "pass", f"{bucket} is yours"),
            "free": Check("state bucket", "fail", f"{bucket} does not exist", "make it first: scripts/state-bootstrap "
                          "(stack opencode-state), or name your existing bucket in backend.bucket"),
            "taken": Check("state bucket", "fail", f"{bucket} belongs to another account", "name a bucket of yours in "
                           "backend.bucket"),
            "unreadable": Check("state bucket", "not checked", f"{bucket} exists, but these credentials may not read its "
                                "info (a team's per-workspace state policy allows its own folder only); terraform init "
                                "tells whether the state is reachable"),
        }[probe.bucket(bucket, backend.region or values.region, account)])
    audit = values.audit
    if audit.enabled and not audit.existing_trail and audit.bucket:
        checks.append({
            "yours": Check("audit bucket", "pass", f"{audit.bucket} exists in your account (this workspace's, if deployed)"),
            "free": Check("audit bucket", "pass", f"{audit.bucket} is free; the stack makes it"),
            "taken": Check("audit bucket", "fail", f"{audit.bucket} belongs to another account (bucket names are global)",
                           "choose another audit.bucket"),
            "unreadable": Check("audit bucket", "not checked", f"{audit.bucket} exists and these credentials may not "
                                "read it: another account's (bucket names are global, and the stack's create would "
                                "fail), or the account's own audit bucket, made by an administrator (opencode-audit)"),
        }[probe.bucket(audit.bucket, values.region, account)])
    return checks


def domain(values: Settings, probe: Probe, lookup: Resolve) -> Check:
    assert values.domain
    addresses = lookup(values.domain)
    instance = probe.instance(values.name)
    eip = instance.public_ip if instance else ""
    if not eip:
        now = f"resolves to {', '.join(sorted(addresses))} today" if addresses else "is not pointed yet"
        return Check("domain", "pass", f"{values.domain} {now}; nothing is deployed",
                     "after up, point its A record at the EIP up prints (the certificate waits for it)")
    if eip in addresses:
        return Check("domain", "pass", f"{values.domain} resolves to the workspace's EIP {eip}")
    now = f"resolves to {', '.join(sorted(addresses))}" if addresses else "does not resolve"
    return Check("domain", "fail", f"{values.domain} {now}, not to the workspace's EIP {eip}",
                 f"point its A record at {eip}; the login's certificate is issued once it does")


def version(values: Settings) -> Check:
    if values.opencode_version in KNOWN_OPENCODE_VERSIONS:
        return Check("OpenCode version", "pass", f"{values.opencode_version} is one the project knows")
    return Check("OpenCode version", "fail", f"{values.opencode_version} is not one the project knows "
                 f"({', '.join(KNOWN_OPENCODE_VERSIONS)})", f"set opencode_version = \"{KNOWN_OPENCODE_VERSIONS[-1]}\", or "
                 "try it with opencode-alicloud upgrade --to, which rolls back a boot that fails")


def checks(values: Settings, probe: Probe, lookup: Resolve = resolve) -> list[Check]:
    """Every check for one workspace, in order; NoAccount when the credentials cannot be used at all."""
    who, account = identity(probe)
    found = [who]
    pick = public_image if values.image_source == "public" else baked_image
    try:
        picked, image_id = pick(values, probe)
    except ApiUnavailable as error:
        picked, image_id = failed("image", error), None
    found.append(picked)
    zones: list[str] = []

    def workspace_stock() -> Check:
        nonlocal zones
        check, zones = stock("instance stock", probe, values.instance_type, values.system_disk_category,
                             values.data_disk_category, values.spot)
        return check
    found.append(asked("instance stock", workspace_stock))
    server = values.model_server
    if server.enabled:
        found.append(asked("model server stock", lambda: stock("model server stock", probe, server.instance_type,
                                                                "cloud_essd", "cloud_essd", False)[0]))
    try:
        found += quotas(values, probe)
    except ApiUnavailable as error:
        found.append(failed("quotas", error))
    found.append(asked("deployer may launch", lambda: launch_permission(values, probe, image_id, zones)))
    found.append(Check("other calls", "not checked", "CreateVpc, CreateSecurityGroup, AllocateEipAddress, CreateDisk "
                                                     "and the OSS and OOS writes have no dry run"))
    try:
        found += buckets(values, probe, account)
    except ApiUnavailable as error:
        found.append(failed("buckets", error))
    if values.domain:
        found.append(asked("domain", lambda: domain(values, probe, lookup)))
    found.append(version(values))
    return found


def verdict(found: list[Check]) -> int:
    """0 every check passed (or was not checked); 1 one failed."""
    return 1 if any(check.status == "fail" for check in found) else 0


def as_json(name: str, found: list[Check]) -> dict[str, Any]:
    return {"workspace": name, "ok": verdict(found) == 0, "checks": [check.json() for check in found]}
