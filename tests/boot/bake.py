"""The rehearsal's bake: what ECS Image Builder does with the image stack's build content, in a VM. The base
image boots as Image Builder's temporary instance does (a new instance, cloud-init done), the build content's
one RUN command (the bake recipe, --seal) runs over SSH as Image Builder runs it over Cloud Assistant, the VM
powers off cleanly, and its disk becomes the baked image: flattened to qcow2 and cached under the user's cache
folder by the base image and the recipe's digest (a changed recipe is a new image, as on ECS).

A REHEARSAL AID: Image Builder's own steps (its instance type, its VPC, the snapshot that becomes the image)
are not rehearsed here; the recipe and the seal are, and the image they make is booted by the rehearsal."""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from images import VmImage, cache_dir
from vm import Machine

BAKE_STALL = 10 * 60  # no output from the recipe for this long: the bake failed (it prints each step as it runs)
BAKE_CAP = 60 * 60
SSH_SECONDS = 20 * 60  # the base image's boot to SSH (2-5 minutes under TCG)
FACTS = "rehearsal-fact: "


def run_line(build_content: str) -> str:
    """Image Builder's build content is one `RUN <shell command>` line (image_stack: the recipe, --seal)."""
    lines = build_content.splitlines()
    if len(lines) != 1 or not lines[0].startswith("RUN "):
        raise ValueError(f"the build content is not one RUN line: {build_content[:80]!r}")
    return lines[0].removeprefix("RUN ")


def bake_script(build_content: str, workspace_image: str) -> str:
    """What the VM runs: wait for cloud-init (Image Builder starts once the instance is up), the build
    content's command, then the facts the checks need, read in the same session (the seal removed root's key,
    so no new SSH session could read them), then a clean power-off if the recipe succeeded."""
    facts = {
        "machine-id bytes": "stat -c %s /etc/machine-id",
        "ssh host keys": "ls /etc/ssh/ 2>/dev/null | grep -c '^ssh_host_'",
        "authorized keys": "cat /root/.ssh/authorized_keys 2>/dev/null | wc -l",
        "cloud-init instance": "test -e /var/lib/cloud/instance && echo present || echo absent",
        "cloud-init logs": "ls /var/log/cloud-init*.log 2>/dev/null | wc -l",
        "apt lists": "ls /var/lib/apt/lists/ 2>/dev/null | grep -vc '^lock$\\|^partial$\\|^auxfiles$'",
        "workspace image": f"docker image inspect --format '{{{{.Id}}}}' {workspace_image} 2>/dev/null || echo missing",
        "recipe": "sha256sum /usr/local/sbin/opencode-bake | cut -c1-12",
        "caddy enabled": "systemctl is-enabled caddy 2>/dev/null",
        "squid enabled": "systemctl is-enabled squid 2>/dev/null",
    }
    lines = ["cloud-init status --wait >/dev/null 2>&1 || true", "started=$(cut -d' ' -f1 /proc/uptime)",
             run_line(build_content), "status=$?", f'echo "{FACTS}exit $status"',
             f'echo "{FACTS}seconds $(cut -d\' \' -f1 /proc/uptime) $started"']
    lines += [f'echo "{FACTS}{name} $({command})"' for name, command in facts.items()]
    lines += ['[ "$status" = 0 ] && systemctl poweroff --no-block', 'exit "$status"']
    return "\n".join(lines) + "\n"


def facts_in(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        if line.startswith(FACTS):
            text = line.removeprefix(FACTS)
            for name in ("machine-id bytes", "ssh host keys", "authorized keys", "cloud-init instance", "cloud-init logs",
                         "apt lists", "workspace image", "recipe", "caddy enabled", "squid enabled", "exit", "seconds"):
                if text.startswith(name + " "):
                    found[name] = text.removeprefix(name + " ").strip()
    return found


def sealed(facts: dict[str, str]) -> list[str]:
    """What the seal left that makes the machine one machine (empty when it left nothing)."""
    expected = {"machine-id bytes": "0", "ssh host keys": "0", "authorized keys": "0", "cloud-init instance": "absent",
                "cloud-init logs": "0", "apt lists": "0", "caddy enabled": "disabled", "squid enabled": "disabled"}
    return [f"{name}: {facts.get(name, '?')}" for name, value in expected.items() if facts.get(name) != value]


def baked_image(base: VmImage, build_content: str, digest: str, workspace_image: str, workdir: Path, accel: str,
                seed: Path, key: Path, check: Callable[[str, bool, str], bool], say: Callable[[str], None],
                own: Callable[[Machine | None], None]) -> VmImage | None:
    """The baked image for this recipe: from the cache, or baked now. None when the bake failed (its checks say why).
    `own` hands the running VM to the caller's cleanup (and takes it back with None)."""
    folder = cache_dir() / f"baked-{base.disk.parent.name}-{digest}"
    image = VmImage(folder / "root.qcow2", base.kernel, base.initrd, "qcow2")
    record = folder / "bake.json"
    if image.disk.exists() and record.exists():
        facts = json.loads(record.read_text())
        good = not sealed(facts) and facts.get("recipe") == digest and facts.get("workspace image", "missing") != "missing"
        check(f"bake: recipe {digest}: the cached image's bake ran this recipe, sealed, with the workspace image",
              good, f"{folder}; baked in {facts.get('took', '?')} s; left: {', '.join(sealed(facts)) or 'nothing'}; "
              f"recipe {facts.get('recipe', '?')}")
        return image if good else None
    work = workdir / "bake"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(data), "1G"], check=True, timeout=60)
    machine = Machine(work, base, data, "rehearsalbake", seed, accel, {})
    own(machine)
    machine.new_boot_disk()
    started = time.monotonic()
    say(f"bake: booting the base image to run the recipe {digest} (as Image Builder's instance)")
    machine.start()
    if not machine.wait_for_ssh(key, time.monotonic() + SSH_SECONDS):
        check("bake: the base image boots to SSH", False, f"not within {SSH_SECONDS} s")
        return None
    output = work / "bake-output.log"
    with open(output, "wb") as sink:
        process = subprocess.Popen(machine.ssh_argv(key, "bash -s"), stdin=subprocess.PIPE, stdout=sink,
                                   stderr=subprocess.STDOUT)
        assert process.stdin is not None
        process.stdin.write(bake_script(build_content, workspace_image).encode())
        process.stdin.close()
        why = _wait(process, output, started)
    text = output.read_text(errors="replace")
    facts = facts_in(text)
    took = time.monotonic() - started
    ran = check(f"bake: the image stack's build content (recipe {digest}, --seal) runs to its end in the base image",
                not why and facts.get("exit") == "0",
                why or f"exit {facts.get('exit', '?')} after {took:.0f} s; last lines: "
                + " | ".join(text.strip().splitlines()[-4:])[-600:])
    left = sealed(facts)
    clean_seal = check("bake: the seal left no machine identity (machine id, SSH host keys, root's key, cloud-init's state and "
          "logs, apt's lists) and Caddy and Squid off; the workspace image and the recipe in the image",
          ran and not left and facts.get("workspace image", "missing") != "missing" and facts.get("recipe") == digest,
          f"left: {', '.join(left) or 'nothing'}; image {facts.get('workspace image', '?')[:19]}; recipe {facts.get('recipe', '?')}")
    if not (ran and clean_seal):
        return None  # nothing cached: a failed seal is never a cached image
    if machine.process:
        try:
            machine.process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            pass
    clean = not machine.running()
    machine.stop()
    own(None)
    if not check("bake: the VM powers off cleanly, and its disk becomes the image", clean,
                 f"{'powered off' if clean else 'still running 300 s after poweroff: stopped (not cached)'}"):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "root.qcow2.partial"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(machine.boot_disk), str(partial)], check=True, timeout=1800)
    partial.rename(image.disk)
    record.write_text(json.dumps({**facts, "took": round(took)}))
    say(f"bake: {took:.0f} s from power-on to power-off; cached as {image.disk}")
    return image


def _wait(process: subprocess.Popen[bytes], output: Path, started: float) -> str:
    """'' when the bake's session ended, else why the wait gave up (the session is then killed). Bounded by
    progress: the recipe prints each step as it runs."""
    size, moved = -1, time.monotonic()
    while process.poll() is None:
        now = time.monotonic()
        current = output.stat().st_size if output.exists() else 0
        if current != size:
            size, moved = current, now
        if now - moved > BAKE_STALL or now - started > BAKE_CAP:
            process.kill()
            process.wait()
            return (f"no output for {BAKE_STALL} s" if now - moved > BAKE_STALL else f"not done {BAKE_CAP} s after power-on")
        time.sleep(5)
    return ""
