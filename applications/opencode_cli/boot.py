"""Following a first boot: the bootstrap's phases from the serial console (each is written there
as `opencode-bootstrap: <phase>`), and the login's health through the proxy."""
from __future__ import annotations

import base64
import json
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

PREFIX = "opencode-bootstrap: "
# The bootstrap's failures, and the bake's when a from-scratch first boot runs it (its phases start `bake: `).
FAILED = ("not healthy after", "the image pull failed", "the workspace image ", "bake: failed at step")

Verdict = Literal["ready", "failed"]


def phases(console: str) -> list[str]:
    """The bootstrap's phases in a serial console's text, in order."""
    found = []
    for raw in console.replace("\r", "\n").splitlines():
        at = raw.find(PREFIX)
        if at >= 0 and raw[at + len(PREFIX):].strip():
            found.append(raw[at + len(PREFIX):].strip())
    return found


# The bootstrap stamps each line `<UTC time> [<uptime>s] `; other writers (the idle check) the time only.
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (?:\[[\d.]+s\] )?")


def unstamped(phase: str) -> str:
    """A phase without the time and uptime the bootstrap writes before it."""
    return _STAMP.sub("", phase)


def verdict(seen: list[str]) -> Verdict | None:
    """What the last boot's phases say: ready, failed, or nothing yet. A boot starts at `start`."""
    seen = [unstamped(phase) for phase in seen]
    since = seen[len(seen) - 1 - seen[::-1].index("start"):] if "start" in seen else seen
    for phase in reversed(since):
        if phase.startswith("ready"):
            return "ready"
        if phase.startswith(FAILED):
            return "failed"
    return None


@dataclass(frozen=True)
class Health:
    status: int  # HTTP status; 0 when nothing answered
    healthy: bool
    version: str | None = None
    detail: str = ""


def health(url: str, username: str, password: str | None, verify: bool = True, timeout: float = 10) -> Health:
    """GET <url>/global/health through the proxy: with the login when `password` is given (OpenCode
    answers `{"healthy": true, ...}`), else only whether the proxy asks for the login (401)."""
    request = urllib.request.Request(url.rstrip("/") + "/global/health")
    if password is not None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context() if verify else ssl._create_unverified_context()  # noqa: S323
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            body = json.loads(response.read() or b"{}")
            return Health(response.status, bool(body.get("healthy")), body.get("version"))
    except urllib.error.HTTPError as error:
        return Health(error.code, False, detail=f"HTTP {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return Health(0, False, detail=str(reason).splitlines()[0] if str(reason) else type(error).__name__)


@dataclass
class BootResult:
    ready: bool
    phases: list[str]
    health: Health | None
    seconds: float
    why: str = ""


def follow(console: Callable[[], str] | None, probe: Callable[[], Health], on_phase: Callable[[str], None],
           timeout: float, trust_console: bool = False, poll: float = 10,
           clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> BootResult:
    """Poll the console (when there is one) and the health until healthy, a failed bootstrap, or
    `timeout` seconds. Console errors are not fatal: the health decides, or, with `trust_console`
    (no verifiable login from here: Caddy's own CA, or tunnel-only), the bootstrap's own `ready`."""
    start, seen, last = clock(), [], None
    while True:
        if console is not None:
            try:
                now_seen = phases(console())
            except Exception:  # noqa: BLE001 - the console is progress only; the health decides
                now_seen = seen
            for phase in now_seen[len(seen):] if now_seen[:len(seen)] == seen else now_seen:
                on_phase(phase)
            seen = now_seen
            if verdict(seen) == "failed":
                return BootResult(False, seen, last, clock() - start, f"the bootstrap said: {seen[-1]}")
        last = probe()
        if last.healthy or (trust_console and verdict(seen) == "ready"):
            return BootResult(True, seen, last, clock() - start)
        if clock() - start >= timeout:
            why = f"not healthy after {timeout:.0f} s (last answer: {last.detail or last.status})"
            return BootResult(False, seen, last, clock() - start, why)
        sleep(poll)
