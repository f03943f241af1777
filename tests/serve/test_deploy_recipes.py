"""The deployment recipes of docs/deploy/, each checked by what consumes it.

promtool checks the alert rules and runs their unit tests; systemd-analyze verifies the unit and
scores its hardening; the Kubernetes and Prometheus Operator schemas take the manifests; the
serve command parses every recipe's arguments; a real serve exposes every metric the rules read.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import httpx
import jsonschema
import pytest

from smtpcheck.cli.api_options import HASH_ENV, LOGIN_ENV, PASSWORD_ENV
from smtpcheck.reporters.prometheus import FAMILIES
from tests.support.cli import environment
from tests.support.gate import refuse
from tests.support.gateways import gateway
from tests.support.servers import HOST

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
RULES = DEPLOY / "prometheus" / "smtpcheck-alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "smtpcheck-alerts.test.yml"
UNIT = DEPLOY / "smtpcheck-serve.service"
KUBE = DEPLOY / "kubernetes"
#: prometheus-operator's CRD, vendored unmodified (tests/data/schemas/README.md says whence).
CRD = (
    Path(__file__).resolve().parents[1] / "data/schemas/monitoring.coreos.com_servicemonitors.yaml"
)
#: The oldest Kubernetes the manifests claim (README), and the newest schema there is.
KUBERNETES = ("1.30.0", "1.37.0")
_RUN_TIMEOUT = 60


def _run(*argv: str, cwd: Path | None = None) -> tuple[int, str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=_RUN_TIMEOUT, cwd=cwd)
    return done.returncode, (done.stdout + done.stderr).strip()


def _yaml(path: Path) -> list[Any]:
    try:
        import yaml
    except ImportError:
        refuse("PyYAML is not installed (it is in the dev extras: pip install -e '.[dev]')")
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _serve_context(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Return the parameters `smtpcheck serve` takes from ``argv`` (parsed, not run)."""
    from smtpcheck.cli.serve_cmd import serve

    for name in (HASH_ENV, LOGIN_ENV, PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    assert argv[0] == "serve", argv
    with serve.make_context("serve", argv[1:]) as ctx:
        return dict(ctx.params)


# --- Prometheus: the alert rules ---------------------------------------------------------------


def test_promtool_checks_the_alert_rules(promtool):
    code, said = _run(promtool, "check", "rules", str(RULES))
    assert code == 0 and "SUCCESS" in said, said


def test_promtool_passes_the_alert_unit_tests(promtool):
    code, said = _run(promtool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert code == 0 and "SUCCESS" in said, said


def test_promtool_refuses_a_broken_rule_and_a_missed_expectation(promtool, tmp_path):
    rules = RULES.read_text(encoding="utf-8")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        rules.replace("(smtpcheck_gateway_works) == 0", "(smtpcheck_gateway_works == 0")
    )
    code, said = _run(promtool, "check", "rules", str(broken))
    assert code != 0 and "parse error" in said, said
    # A rule that fires a minute early fails the 14-minute expectation of the unit tests.
    shutil.copy(RULE_TESTS, tmp_path)
    (tmp_path / RULES.name).write_text(rules.replace("for: 15m", "for: 14m", 1))
    code, said = _run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert code != 0 and "SmtpGatewayDown" in said and "time: 14m" in said, said


def test_every_alert_rule_is_tested_firing_and_quiet():
    rules = [rule for group in _yaml(RULES)[0]["groups"] for rule in group["rules"]]
    wanted = {(rule["alert"], rule["labels"]["severity"]) for rule in rules}
    fired: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for test in _yaml(RULE_TESTS)[0]["tests"]:
        for case in test["alert_rule_test"]:
            alerts = case["exp_alerts"]
            fired |= {(case["alertname"], alert["exp_labels"]["severity"]) for alert in alerts}
            quiet |= set() if alerts else {case["alertname"]}
    assert wanted - fired == set(), "rules no test sees fire"
    assert {alert for alert, _ in wanted} - quiet == set(), "alerts no test sees quiet"


def _readme_prometheus_config() -> str:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```yaml\n(# prometheus\.yml\n.*?)```", readme, re.DOTALL)
    assert found, "docs/deploy/README.md has no ```yaml block starting '# prometheus.yml'"
    return found.group(1)


def test_promtool_checks_the_readme_scrape_config_with_the_rules(promtool, tmp_path):
    config = _readme_prometheus_config()
    assert "job_name: smtpcheck\n" in config  # SmtpcheckDown reads job="smtpcheck"
    shutil.copy(RULES, tmp_path)
    written = tmp_path / "prometheus.yml"
    written.write_text(
        re.sub(r"(?m)^(\s+- ).*/smtpcheck-alerts\.yml$", r"\1smtpcheck-alerts.yml", config)
    )
    code, said = _run(promtool, "check", "config", str(written))
    assert code == 0 and "SUCCESS: 1 rule files found" in said, said


# --- systemd ------------------------------------------------------------------------------------


def _unit_entries(text: str) -> list[tuple[str, str, str]]:
    """Return (section, key, value) of each assignment, continuation lines joined, as systemd."""
    entries: list[tuple[str, str, str]] = []
    section, joined = "", ""
    for raw in text.splitlines():
        line = raw.strip()
        if not joined and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        line, joined = joined + line, ""
        if line.startswith("["):
            assert line.endswith("]"), line
            section = line[1:-1]
        else:
            key, equals, value = line.partition("=")
            assert equals, f"not KEY=VALUE in [{section}]: {line!r}"
            entries.append((section, key.strip(), value.strip()))
    return entries


def _unit() -> dict[tuple[str, str], str]:
    return {(section, key): value for section, key, value in _unit_entries(UNIT.read_text())}


_HARDENED = {
    "DynamicUser": "yes",
    "StateDirectory": "smtpcheck",
    "EnvironmentFile": "/etc/smtpcheck/panel.env",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "Restart": "on-failure",
    "TimeoutStopSec": "10",
}


def test_unit_runs_serve_hardened_on_loopback_with_its_state_directory(monkeypatch):
    unit = _unit()
    assert {key: unit.get(("Service", key)) for key in _HARDENED} == _HARDENED
    argv = shlex.split(unit[("Service", "ExecStart")])
    assert Path(argv[0]).name == "smtpcheck"
    params = _serve_context(argv[1:], monkeypatch)
    assert params["listen"] == ("127.0.0.1", 9587)
    assert params["state"].parent == Path("/var/lib") / unit[("Service", "StateDirectory")]
    assert unit[("Install", "WantedBy")] == "multi-user.target"


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        refuse("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return found


def _unit_copy(
    tmp_path: Path, *, drop: tuple[str, ...] = (), change: tuple[str, str] = ("", "")
) -> Path:
    """Write the unit to tmp_path, running a stub that exists (verify checks ExecStart's file)."""
    stub = tmp_path / "smtpcheck"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    text = UNIT.read_text().replace("/opt/smtpcheck/bin/smtpcheck", str(stub))
    lines = [line for line in text.splitlines() if not (drop and line.startswith(drop))]
    path = tmp_path / UNIT.name
    path.write_text("\n".join(lines).replace(*change) + "\n")
    return path


def _verify_problems(tool: str, unit: Path) -> str:
    # verify exits 0 on a value it cannot parse ("ignoring"): what it says about the unit counts.
    code, said = _run(tool, "verify", "--man=no", str(unit))
    mentioned = [line for line in said.splitlines() if unit.name in line]
    return "\n".join(mentioned) or ("" if code == 0 else said)


def test_systemd_analyze_verifies_the_unit_and_refuses_a_broken_one(systemd_analyze, tmp_path):
    assert _verify_problems(systemd_analyze, _unit_copy(tmp_path)) == ""
    broken = _unit_copy(tmp_path, change=("ProtectSystem=strict", "ProtectSystem=strictest"))
    assert "strictest" in _verify_problems(systemd_analyze, broken)


def test_systemd_analyze_rates_the_unit_safe_and_a_weakened_copy_not(systemd_analyze, tmp_path):
    # Exposure is 0-100 here (the table shows it /10): 20 is systemd's "OK" band.
    rate = (systemd_analyze, "security", "--offline=true", "--threshold=20")
    code, said = _run(*rate, str(_unit_copy(tmp_path)))
    assert code == 0, said
    weak = ("Protect", "Private", "SystemCall", "Capability", "Restrict", "DynamicUser")
    code, said = _run(*rate, str(_unit_copy(tmp_path, drop=weak)))
    assert code != 0, said


# --- Kubernetes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kube() -> dict[str, dict[str, Any]]:
    """Every manifest document, by "Kind/name"."""
    documents = [doc for path in sorted(KUBE.glob("*.yaml")) for doc in _yaml(path)]
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in documents}


def _pod(kube: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = kube["StatefulSet/smtpcheck"]["spec"]["template"]["spec"]
    return spec


def _strict(schema: Any) -> Any:
    """Refuse unknown fields, as `kubectl apply` (server-side field validation) does."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


def _kube_problems(document: dict[str, Any]) -> list[str]:
    """Return what the API's schema refuses in the document, for each Kubernetes version."""
    if document["kind"] == "ServiceMonitor":
        crd = _yaml(CRD)[0]
        [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        validator = jsonschema.Draft4Validator(_strict(version["schema"]["openAPIV3Schema"]))
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    try:
        import kubernetes_validate
    except ImportError:
        refuse("kubernetes-validate is not installed (it is in the dev extras)")
    problems = []
    for release in KUBERNETES:
        try:
            kubernetes_validate.validate(document, release, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{release}: {exc.message}")
    return problems


def test_manifests_are_exactly_these_and_pass_their_schemas(kube):
    wanted = {"StatefulSet/smtpcheck", "Service/smtpcheck-headless", "Service/smtpcheck"}
    assert set(kube) == {*wanted, "ServiceMonitor/smtpcheck"}
    assert {name: _kube_problems(doc) for name, doc in kube.items()} == {name: [] for name in kube}


def test_the_schemas_refuse_a_misspelt_field(kube):
    statefulset = copy.deepcopy(kube["StatefulSet/smtpcheck"])
    _pod({"StatefulSet/smtpcheck": statefulset})["containers"][0]["readinessProbes"] = {}
    assert any("readinessProbes" in p for p in _kube_problems(statefulset))
    monitor = copy.deepcopy(kube["ServiceMonitor/smtpcheck"])
    monitor["spec"]["endpoints"][0]["scrapeTimout"] = "10s"
    assert any("scrapeTimout" in p for p in _kube_problems(monitor))


def _entrypoint(container: dict[str, Any], pod_name: str, tmp_path: Path) -> tuple[int, list[str]]:
    """Run the container's shell entrypoint with a stub smtpcheck; return its argv."""
    bin_dir, argv_file = tmp_path / "bin", tmp_path / f"{pod_name}.argv"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "smtpcheck"
    stub.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done > "$ARGV"\n')
    stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "POD_NAME": pod_name, "ARGV": str(argv_file)}
    command = [*container["command"], *container["args"]]
    done = subprocess.run(command, env=env, capture_output=True, timeout=_RUN_TIMEOUT, check=False)
    argv = argv_file.read_text().split("\0")[:-1] if argv_file.exists() else []
    return done.returncode, argv


def test_each_pod_checks_its_own_shard_of_replicas(kube, tmp_path, monkeypatch):
    replicas = kube["StatefulSet/smtpcheck"]["spec"]["replicas"]
    [container] = _pod(kube)["containers"]
    [port] = [p["containerPort"] for p in container["ports"] if p["name"] == "http"]
    [claim] = kube["StatefulSet/smtpcheck"]["spec"]["volumeClaimTemplates"]
    [mount] = [
        m["mountPath"] for m in container["volumeMounts"] if m["name"] == claim["metadata"]["name"]
    ]
    shards = set()
    for ordinal in range(replicas):
        code, argv = _entrypoint(container, f"smtpcheck-{ordinal}", tmp_path)
        assert code == 0 and argv, f"pod smtpcheck-{ordinal}"
        params = _serve_context(argv, monkeypatch)
        shards.add((params["shard"].index, params["shard"].count))
        assert params["listen"] == ("0.0.0.0", port)
        assert params["state"].parent == Path(mount)
    assert shards == {(k, replicas) for k in range(1, replicas + 1)}
    code, argv = _entrypoint(container, "smtpcheck", tmp_path)
    assert (code, argv) == (2, []), "a pod name without an ordinal must stop the pod"


def test_ports_selectors_probes_and_secrets_agree(kube):
    from smtpcheck.serve.app import Endpoints, build_app

    pod_labels = kube["StatefulSet/smtpcheck"]["spec"]["template"]["metadata"]["labels"]
    [container] = _pod(kube)["containers"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    headless, metrics = kube["Service/smtpcheck-headless"], kube["Service/smtpcheck"]
    for service in (headless, metrics):
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert all(
            p["targetPort"] in named and p["port"] == named[p["targetPort"]]
            for p in service["spec"]["ports"]
        )
    assert headless["spec"]["clusterIP"] == "None"
    assert kube["StatefulSet/smtpcheck"]["spec"]["serviceName"] == "smtpcheck-headless"
    monitor = kube["ServiceMonitor/smtpcheck"]["spec"]
    selected = monitor["selector"]["matchLabels"].items()
    assert selected <= metrics["metadata"]["labels"].items()
    assert not selected <= headless["metadata"]["labels"].items(), "scraped twice"
    assert {e["port"] for e in monitor["endpoints"]} <= {
        p["name"] for p in metrics["spec"]["ports"]
    }
    assert 'up{job="smtpcheck"}' in RULES.read_text(), "the job is the metrics Service's name"
    # The probes ask serve's own routes (built with nothing behind them: only the paths count).
    app = build_app(Endpoints(cast(Any, None), cast(Any, None), cast(Any, None)))
    routes = {route.resource.canonical for route in app.router.routes() if route.resource}
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready" in routes
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy" in routes
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert {name: ref["key"] for name, ref in refs.items()} == {
        LOGIN_ENV: LOGIN_ENV,
        PASSWORD_ENV: PASSWORD_ENV,
    }


def test_pod_runs_as_non_root_on_a_read_only_root(kube):
    pod = _pod(kube)
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    context = container["securityContext"]
    assert (
        context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    )
    assert context["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}


# --- the metrics the rules read, from a real serve -------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _scrape_when_ready(base: str, process: subprocess.Popen[bytes], within: float = 30.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/-/ready", timeout=5).status_code == 200:
                return httpx.get(f"{base}/metrics", timeout=5).text
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    raise AssertionError(f"serve was not ready within {within} s (exit {process.poll()})")


def test_serve_exposes_every_metric_the_rules_read(tmp_path):
    # Nothing listens on the gateway's port: its probe is refused, so it is failing.
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps([gateway(_free_port(), gid=1, host=HOST, mode="none", auth=False)]))
    argv = shlex.split(_unit()[("Service", "ExecStart")])[1:]
    del argv[argv.index("--region") : argv.index("--region") + 2]  # the fleet file instead
    argv[argv.index("--state") + 1] = str(tmp_path / "state.sqlite")
    port = _free_port()
    argv[argv.index("--listen") + 1] = f"{HOST}:{port}"
    argv += ["--interval", "3s", "--ehlo", "client.test", "--timeout", "2", str(fleet)]
    process = subprocess.Popen(
        [sys.executable, "-m", "smtpcheck", *argv],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        exposition = _scrape_when_ready(f"http://{HOST}:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr.decode()
    exposed = set(re.findall(r"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", exposition))
    read = set(re.findall(r"\b((?:smtpcheck|process)_[a-z_]+)\b", RULES.read_text()))
    # A certificate's expiry appears only after a TLS probe: the reporter's family vouches for it.
    absent = read - exposed - {family.name for family in FAMILIES if "tls" in family.name}
    assert absent == set(), exposition
    works = [
        line for line in exposition.splitlines() if line.startswith("smtpcheck_gateway_works{")
    ]
    assert works and all('gateway="1"' in line and "label=" in line for line in works), works
