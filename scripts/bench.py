"""The figures behind scripts/bench. Run through scripts/bench."""
from __future__ import annotations

import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

BARE_APP = """
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_random.provider import RandomProvider
from cdktf_cdktf_provider_random.password import Password
app = App()
stack = TerraformStack(app, "bare")
RandomProvider(stack, "random")
Password(stack, "password", length=16)
app.synth()
"""
from support import synthesized_user_data  # noqa: E402

REFERENCE = re.compile(r"\$\{[^}]*?\b((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.")


def timed(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def synth_ratio(runs: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_ALICLOUD_")}
        env.update(CDKTF_OUTDIR=tmp, OPENCODE_ALICLOUD_STATE_DIR=tmp)
        bare_file = Path(tmp) / "bare.py"
        bare_file.write_text(BARE_APP)
        default, bare = [], []
        for _ in range(runs):  # interleaved, so drift hits both alike
            default.append(timed([sys.executable, str(ROOT / "main.py")], env))
            bare.append(timed([sys.executable, str(bare_file)], env))
    d, b = statistics.median(default), statistics.median(bare)
    return d, b, d / b


def cdktf_synth_ratio(runs: int) -> tuple[float, float, float]:
    """The same comparison through the user's command, `cdktf synth` (Node CLI + app)."""
    cdktf = str(ROOT / "node_modules" / ".bin" / "cdktf")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_ALICLOUD_")}
        env.update(OPENCODE_ALICLOUD_STATE_DIR=tmp, CHECKPOINT_DISABLE="1")
        bare = Path(tmp) / "bare"
        bare.mkdir()
        (bare / "main.py").write_text(BARE_APP)
        (bare / "cdktf.json").write_text(json.dumps({"language": "python", "app": f"{sys.executable} main.py"}))
        default, bare_times = [], []
        for _ in range(runs):
            default.append(timed([cdktf, "synth", "--output", f"{tmp}/out"], env))
            bare_times.append(timed([cdktf, "synth", "--output", f"{tmp}/bare-out"], env, bare))
    d, b = statistics.median(default), statistics.median(bare_times)
    return d, b, d / b


def synth_doc(**overrides: object) -> dict:
    from support import synth

    with tempfile.TemporaryDirectory() as tmp:
        return synth(Path(tmp), **overrides)


def user_data_size(document: dict) -> int:
    """The gzip the instance receives (Terraform's base64gzip of the synthesized cloud-config)."""
    (instance,) = document["resource"]["alicloud_instance"].values()
    return len(gzip.compress(synthesized_user_data(document, instance).encode(), mtime=0))


def dependency_depth(document: dict) -> tuple[int, list[str]]:
    """Longest chain of resources/data sources linked by references (nodes in the chain)."""
    nodes: dict[str, set[str]] = {}
    for section, prefix in (("resource", ""), ("data", "data.")):
        for type_name, items in document.get(section, {}).items():
            for name, body in items.items():
                address = f"{prefix}{type_name}.{name}"
                text = json.dumps({k: v for k, v in body.items() if k != "//"})
                nodes[address] = {m for m in REFERENCE.findall(text.replace('\\"', '"')) if not m.startswith("var.")}
    memo: dict[str, list[str]] = {}

    def chain(address: str) -> list[str]:
        if address not in memo:
            longest = max((chain(dep) for dep in nodes.get(address, ()) if dep in nodes), key=len, default=[])
            memo[address] = [*longest, address]
        return memo[address]

    best = max((chain(a) for a in nodes), key=len)
    return len(best), best


def main() -> None:
    from support import VARIANTS

    runs = int(os.environ.get("BENCH_RUNS", "5"))
    default_s, bare_s, ratio = synth_ratio(runs)
    print(f"synth, median of {runs}: default stack {default_s:.2f} s, bare one-resource stack {bare_s:.2f} s")
    print(f"synth ratio default/bare (python main.py): {ratio:.2f} (target <= 1.3)")
    cd, cb, cratio = cdktf_synth_ratio(max(1, runs // 2))
    print(f"cdktf synth, median of {max(1, runs // 2)}: default {cd:.2f} s, bare {cb:.2f} s, ratio {cratio:.2f}")
    default_doc = synth_doc()
    full_doc = synth_doc(**VARIANTS["all-options"])
    limit = 16 * 1024
    from support import rendered_bootstrap

    for label, variant, doc in (("default", "default", default_doc), ("all options", "all-options", full_doc)):
        synthesized = user_data_size(doc)
        text = rendered_bootstrap(variant)[2].encode()
        resolved = len(gzip.compress(text, mtime=0))
        print(
            f"user-data ({label}): {resolved} bytes gzip as the instance receives it = {resolved / limit:.0%} of 16 KB "
            f"({len(text)} bytes of cloud-config; {synthesized} bytes gzip as synthesized, with Terraform expressions)"
        )
    depth, path = dependency_depth(default_doc)
    print(f"dependency graph depth: {depth} (target <= 4): {' -> '.join(p.rsplit('_', 1)[0] for p in path)}")


if __name__ == "__main__":
    main()
