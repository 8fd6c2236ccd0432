"""Offline checks of the deploy files, for CI on a machine without Docker or a cluster.

    python -m deploy.validate                      # every check
    python -m deploy.validate compose k8s          # some of: compose docker k8s prometheus grafana metrics

compose     docker-compose.yml against the Compose Specification JSON Schema (vendored in
            deploy/schemas/), and against the repository: build contexts, mounted files, commands,
            ports, depends_on conditions, CSP_* settings, the Prometheus and Grafana mounts.
docker      Dockerfile: stages, COPY sources present and not excluded by .dockerignore, non-root.
k8s         deploy/k8s/*.yaml against the Kubernetes JSON schemas of the PyPI package
            kubernetes-validate (strict: unknown fields are errors), and against each other:
            selectors, ports, ConfigMap/Secret references, probes, resources, PDBs, worker replicas
            no higher than the partitions they consume.
prometheus  promtool check config / check rules / test rules (Debian package ``prometheus``);
            every alert has a runbook section and a firing unit test.
grafana     dashboards JSON: datasource uids, unique ids, every query parses (through promtool).
metrics     every metric and label a rule or dashboard uses exists in services/ (or is planned,
            PLANNED_METRICS below), and fixed label values match the code; the metrics catalogue
            in deploy/README-ops.md lists every metric services/ declares, with its type and labels.

Each check returns a list of problems (empty = fine); ``main`` prints them and exits 1 on any.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

REPO = Path(__file__).resolve().parents[1]
if not __package__:  # run as `python deploy/validate.py`: make contracts importable
    sys.path.insert(0, str(REPO))
from deploy.local import ops_config  # noqa: E402  (the job -> port setting rule, one home)

COMPOSE_FILE = "docker-compose.yml"
COMPOSE_SCHEMA = "deploy/schemas/compose-spec.json"
COMPOSE_SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"
K8S_DIR = "deploy/k8s"
K8S_VERSION = "1.32.0"
PROM_DIR = "deploy/prometheus"
PROM_CONFIGS = ("prometheus.yml", "prometheus.compose.yml")
# Scrape jobs of the local stack's prometheus.yml that compose does not run: the apache/kafka image
# carries no JMX exporter agent; deploy/local/kafka.sh starts the broker with one.
PROM_LOCAL_ONLY_JOBS = {"kafka"}
ALERTMANAGER_CONFIG = "deploy/alertmanager/alertmanager.yml"
AMTOOL_HELP = (
    "amtool not found: install Debian's package 'prometheus-alertmanager' (apt-get install -y prometheus-alertmanager)"
)
GRAFANA_DIR = "deploy/grafana"
RUNBOOK = "deploy/README-ops.md"
APP_IMAGE = "commissioning-signals"
PROMTOOL_HELP = "promtool not found: install Debian's package 'prometheus' (apt-get install -y prometheus)"

# Metrics the rules and dashboards may use before the code exports them: name -> (type, labels,
# {label: allowed values}, what it counts). deploy/README-ops.md lists them too. Empty while the
# code exports everything the rules and dashboards read; a name the code exports may not stay here.
PLANNED_METRICS: dict[str, tuple[str, tuple[str, ...], dict[str, tuple[str, ...]], str]] = {}
# Series every Prometheus has, and labels Prometheus itself attaches to every scraped series.
BUILTIN_SERIES = {
    "up": ("job", "instance", "service"),
    "ALERTS": ("alertname", "alertstate", "severity", "job", "instance"),
    "scrape_duration_seconds": ("job", "instance"),
}
TARGET_LABELS = ("job", "instance", "service")
# The faust workers' Deployments and the modules whose factory builds each worker; the topics a
# worker consumes are read from its agents (worker_topics): replicas above the smallest partition
# count would sit idle.
WORKER_MODULES = {
    "mapping": "services.mapping.worker",
    "alerts": "services.alerts.worker",
    "reporting-worker": "services.reporting.worker",
}
# The fewest pods of every Deployment (all of them stateless): one lost or drained pod never stops
# a process.
MIN_REPLICAS = 2
# The Prometheus adapter's rules (Helm values of prometheus-community/prometheus-adapter) serving
# the external metrics the autoscalers read; not applied by kustomize (the adapter lives in the
# monitoring namespace).
PROM_ADAPTER_RULES = "deploy/k8s/prometheus-adapter/values.yaml"
# Secrets the manifests may reference; they are created outside the repository (see RUNBOOK).
DOCUMENTED_SECRETS = {
    "csp-postgres": ("dsn",),
    "csp-smtp": ("username", "password"),
    "csp-reporting": ("session-secret",),
}
# Grafana template variables, replaced by a plausible value before a query is parsed.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "${job}": "csp-.+", "$job": "csp-.+"}


# --------------------------------------------------------------------------------------------
# helpers


def _load_yaml(path: Path) -> Any:
    with path.open() as f:
        return yaml.safe_load(f)


def _load_yaml_all(path: Path) -> list[Any]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d]


def _rel(path: Path, repo: Path) -> str:
    try:
        return str(path.relative_to(repo))
    except ValueError:
        return str(path)


def promtool() -> str | None:
    return shutil.which("promtool")


def _require(module: str, package: str):
    """Import a validation dependency, or say which pinned package provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise RuntimeError(f"{module} is missing: pip install {package}") from exc


def _run(cmd: list[str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def known_settings(repo: Path = REPO) -> set[str]:
    """CSP_* variables the code reads: pydantic-settings fields (prefix CSP_) and literal names."""
    names: set[str] = set()
    for py in (repo / "services").rglob("*.py"):
        tree = ast.parse(py.read_text(), str(py))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", "")).endswith("Settings") for b in node.bases
            ):
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.AnnAssign)
                        and isinstance(stmt.target, ast.Name)
                        and stmt.target.id != "model_config"
                    ):
                        names.add("CSP_" + stmt.target.id.upper())
    for py in [*(repo / "services").rglob("*.py"), *(repo / "deploy" / "local").glob("*.py")]:
        names.update(re.findall(r"[\"'](CSP_[A-Z0-9_]+)[\"']", py.read_text()))
    return names


def module_exists(repo: Path, module: str) -> bool:
    base = repo / Path(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()


def command_problems(repo: Path, where: str, command: Any) -> list[str]:
    """``python -m pkg.mod`` and ``uvicorn pkg.mod:attr`` must name code that exists."""
    if command is None:
        return []
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    problems = []
    if len(argv) >= 3 and argv[0].startswith("python") and argv[1] == "-m":
        if not module_exists(repo, argv[2]):
            problems.append(f"{where}: command runs module {argv[2]}, which is not in the repository")
    elif argv and argv[0] == "uvicorn" and len(argv) > 1:
        module, _, attr = argv[1].partition(":")
        path = repo / Path(*module.split(".")).with_suffix(".py")
        if not path.is_file():
            problems.append(f"{where}: uvicorn app module {module} is not in the repository")
        elif attr and not re.search(rf"^{re.escape(attr)}\s*[:=]", path.read_text(), re.M):
            problems.append(f"{where}: {path.name} defines no module-level '{attr}'")
    return problems


def listen_ports(command: Any, env: dict[str, Any]) -> set[int]:
    """Ports an app container listens on: ``--port N`` and CSP_*_PORT values."""
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in (command or [])]
    ports = {int(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "--port" and argv[i + 1].isdigit()}
    ports |= {int(v) for k, v in env.items() if k.endswith("_PORT") and str(v).isdigit()}
    return ports


def _env_dict(env: Any) -> dict[str, Any]:
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return dict(env or {})


# --------------------------------------------------------------------------------------------
# compose


def compose_schema_problems(doc: Any, repo: Path = REPO) -> list[str]:
    jsonschema = _require("jsonschema", "jsonschema==4.26.0")
    schema_path = repo / COMPOSE_SCHEMA
    raw = schema_path.read_bytes()
    problems = []
    if hashlib.sha256(raw).hexdigest() != COMPOSE_SCHEMA_SHA256:
        problems.append(f"{COMPOSE_SCHEMA}: checksum differs from COMPOSE_SCHEMA_SHA256 (see deploy/schemas/README.md)")
    schema = json.loads(raw)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path) or "(top)"
        problems.append(f"{COMPOSE_FILE}: {path}: {err.message}")
    return problems


def compose_repo_problems(doc: dict, repo: Path = REPO) -> list[str]:
    problems: list[str] = []
    services: dict[str, dict] = doc.get("services") or {}
    volumes_declared = set((doc.get("volumes") or {}).keys())
    settings = known_settings(repo)
    host_ports: dict[str, str] = {}
    mounts: dict[str, dict[str, Path]] = {}  # service -> container path -> repo path
    for name, svc in services.items():
        where = f"{COMPOSE_FILE}: services.{name}"
        build = svc.get("build")
        if build is not None:
            context = repo / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not context.is_dir():
                problems.append(f"{where}: build context {_rel(context, repo)} does not exist")
            elif not (context / dockerfile).is_file():
                problems.append(f"{where}: {dockerfile} not found in build context {_rel(context, repo)}")
        if build is None and not svc.get("image"):
            problems.append(f"{where}: neither image nor build")
        for env_file in [svc["env_file"]] if isinstance(svc.get("env_file"), str) else svc.get("env_file") or []:
            path = env_file if isinstance(env_file, str) else env_file.get("path")
            if not (repo / path).is_file():
                problems.append(f"{where}: env_file {path} does not exist")
        mounts[name] = {}
        for vol in svc.get("volumes") or []:
            if isinstance(vol, str):
                parts = vol.split(":")
                source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
                bind = source.startswith((".", "/", "~"))
            else:
                source, target = vol.get("source", ""), vol.get("target", "")
                bind = vol.get("type") == "bind"
            if bind:
                path = (repo / source).resolve()
                if not path.exists():
                    problems.append(f"{where}: mounts {source}, which does not exist in the repository")
                mounts[name][target] = path
            elif source and source not in volumes_declared:
                problems.append(f"{where}: named volume {source} is not declared under volumes:")
        deps = svc.get("depends_on") or {}
        for dep, spec in (deps.items()) if isinstance(deps, dict) else ((d, {}) for d in deps):
            if dep not in services:
                problems.append(f"{where}: depends_on {dep}, which is not a service")
                continue
            condition = (spec or {}).get("condition", "service_started")
            target = services[dep]
            if condition == "service_healthy" and not (target.get("healthcheck") or {}).get("test"):
                problems.append(f"{where}: waits for {dep} to be healthy, but {dep} has no healthcheck")
            if condition == "service_completed_successfully" and str(target.get("restart", "no")) != "no":
                problems.append(f"{where}: waits for {dep} to complete, but {dep} restarts ({target.get('restart')})")
        long_running = str(svc.get("restart", "no")) != "no"
        if long_running and not (svc.get("healthcheck") or {}).get("test"):
            problems.append(f"{where}: a long-running service without a healthcheck")
        env = _env_dict(svc.get("environment"))
        is_app = str(svc.get("image", "")).startswith(APP_IMAGE) or build is not None
        if is_app:
            problems += command_problems(repo, where, svc.get("command"))
            unknown = sorted(k for k in env if k.startswith("CSP_") and k not in settings)
            if unknown:
                problems.append(f"{where}: sets {', '.join(unknown)}, which no code reads")
        listening = listen_ports(svc.get("command"), env) if is_app else set()
        for port in svc.get("ports") or []:
            spec = str(port) if not isinstance(port, dict) else f"{port.get('published', '')}:{port['target']}"
            host, _, container = spec.rpartition(":")
            container = container.split("/")[0]
            if host:
                if host in host_ports:
                    problems.append(f"{where}: host port {host} is also published by {host_ports[host]}")
                host_ports[host] = name
            if is_app and container.isdigit() and int(container) not in listening:
                problems.append(
                    f"{where}: publishes container port {container}, but the service listens "
                    f"on {sorted(listening) or 'no known port'}"
                )
        for exposed in svc.get("expose") or []:
            if is_app and str(exposed).isdigit() and int(exposed) not in listening:
                problems.append(f"{where}: exposes {exposed}, but the service listens on {sorted(listening)}")
    problems += _compose_prometheus_problems(services, mounts, repo)
    problems += _compose_grafana_problems(services, mounts, repo)
    return problems


def _service_ports(svc: dict) -> set[int]:
    ports = {int(str(p).split(":")[-1].split("/")[0]) for p in svc.get("ports") or [] if not isinstance(p, dict)}
    ports |= {int(p["target"]) for p in svc.get("ports") or [] if isinstance(p, dict)}
    ports |= {int(p) for p in svc.get("expose") or [] if str(p).isdigit()}
    return ports


def _compose_prometheus_problems(services: dict, mounts: dict, repo: Path) -> list[str]:
    svc = services.get("prometheus")
    if svc is None:
        return [f"{COMPOSE_FILE}: no prometheus service"]
    problems = []
    args = svc.get("command") or []
    config = next((a.split("=", 1)[1] for a in args if str(a).startswith("--config.file=")), None)
    if config is None or config not in mounts["prometheus"]:
        return [f"{COMPOSE_FILE}: services.prometheus: --config.file={config} is not a mounted file"]
    config_path = mounts["prometheus"][config]
    rules_dir = str(Path(config).parent / "rules")
    if rules_dir not in mounts["prometheus"]:
        problems.append(f"{COMPOSE_FILE}: services.prometheus: rules are not mounted at {rules_dir}")
    for job in _load_yaml(config_path).get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for target in static.get("targets", []):
                host, _, port = target.rpartition(":")
                if host in ("localhost", "127.0.0.1"):
                    continue
                if host not in services:
                    problems.append(
                        f"{_rel(config_path, repo)}: job {job['job_name']} scrapes {target}, "
                        f"but {host} is not a compose service"
                    )
                elif int(port) not in _service_ports(services[host]):
                    problems.append(
                        f"{_rel(config_path, repo)}: job {job['job_name']} scrapes {target}, "
                        f"but {host} does not expose port {port}"
                    )
    return problems


def _compose_grafana_problems(services: dict, mounts: dict, repo: Path) -> list[str]:
    if "grafana" not in services:
        return [f"{COMPOSE_FILE}: no grafana service"]
    problems = []
    gmounts = mounts["grafana"]
    for sub in ("datasources", "dashboards"):
        target = f"/etc/grafana/provisioning/{sub}"
        if gmounts.get(target) != (repo / GRAFANA_DIR / "provisioning" / sub).resolve():
            problems.append(
                f"{COMPOSE_FILE}: services.grafana: {GRAFANA_DIR}/provisioning/{sub} is not mounted at {target}"
            )
    provider = _load_yaml(repo / GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml")
    for p in provider.get("providers", []):
        path = p.get("options", {}).get("path")
        if gmounts.get(path) != (repo / GRAFANA_DIR / "dashboards").resolve():
            problems.append(
                f"{GRAFANA_DIR}/provisioning/dashboards/dashboards.yml: provider path {path} "
                f"is not where docker-compose.yml mounts {GRAFANA_DIR}/dashboards"
            )
    url = _load_yaml(repo / GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]["url"]
    host = re.sub(r"^https?://", "", url).split(":")[0]
    if host not in services:
        problems.append(f"{GRAFANA_DIR}/provisioning/datasources/prometheus.yml: {url} is not a compose service")
    return problems


def check_compose(repo: Path = REPO, doc: dict | None = None) -> list[str]:
    doc = doc if doc is not None else _load_yaml(repo / COMPOSE_FILE)
    return compose_schema_problems(doc, repo) + compose_repo_problems(doc, repo)


# --------------------------------------------------------------------------------------------
# Dockerfile


@dataclass
class Instruction:
    op: str
    args: str
    line: int


def dockerfile_instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    buf, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        op, _, args = buf.partition(" ")
        out.append(Instruction(op.upper(), args.strip(), start))
        buf = ""
    return out


def dockerignore_patterns(repo: Path) -> list[str]:
    path = repo / ".dockerignore"
    if not path.is_file():
        return []
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def dockerignored(relpath: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent matches the path."""
    parts = relpath.strip("/").split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.strip("/")
        regex = (
            re.escape(pat)
            .replace(r"\*\*/", "(.*/)?")
            .replace(r"\*\*", ".*")
            .replace(r"\*", "[^/]*")
            .replace(r"\?", "[^/]")
        )
        if any(re.fullmatch(regex, c) for c in candidates):
            ignored = not negate
    return ignored


def check_dockerfile(repo: Path = REPO) -> list[str]:
    path = repo / "Dockerfile"
    if not path.is_file():
        return ["Dockerfile: missing"]
    problems: list[str] = []
    instructions = dockerfile_instructions(path.read_text())
    patterns = dockerignore_patterns(repo)
    stages: list[str] = []
    args: dict[str, str] = {}
    final_user = None
    for ins in instructions:
        where = f"Dockerfile:{ins.line}"
        if ins.op == "ARG" and not stages:
            name, _, default = ins.args.partition("=")
            args[name] = default
        elif ins.op == "FROM":
            words = ins.args.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
            if image.startswith("python:") and not image.startswith("python:3.11"):
                problems.append(f"{where}: base image {image} is not Python 3.11 (pyproject requires 3.11)")
            stages.append(words[2] if len(words) > 2 and words[1].upper() == "AS" else str(len(stages)))
            final_user = None
        elif ins.op == "COPY":
            words = shlex.split(ins.args)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            sources = paths[:-1]
            src_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if src_stage is not None:
                if src_stage not in stages[:-1]:
                    problems.append(f"{where}: COPY --from={src_stage} names no earlier stage")
                continue
            for src in sources:
                if not list(repo.glob(src)):
                    problems.append(f"{where}: COPY {src}: not in the build context")
                elif dockerignored(src, patterns):
                    problems.append(f"{where}: COPY {src}: excluded by .dockerignore")
        elif ins.op == "USER":
            final_user = ins.args.split(":")[0]
        elif ins.op == "RUN" and "pip install" in ins.args and "-c constraints.txt" not in ins.args:
            problems.append(f"{where}: pip install without -c constraints.txt (the lock)")
    if final_user in (None, "root", "0"):
        problems.append("Dockerfile: the final stage runs as root; add USER with a non-root uid")
    for must in ("pyproject.toml", "constraints.txt", "services", "contracts"):
        if dockerignored(must, patterns):
            problems.append(f".dockerignore: excludes {must}, which the image needs")
    for secretish in (".venv", ".git", ".local"):
        if not dockerignored(secretish, patterns):
            problems.append(f".dockerignore: does not exclude {secretish}")
    return problems


# --------------------------------------------------------------------------------------------
# Kubernetes


def k8s_documents(repo: Path = REPO) -> list[tuple[str, dict]]:
    docs = []
    for path in sorted((repo / K8S_DIR).glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path.name, d) for d in _load_yaml_all(path)]
    return docs


def k8s_schema_problems(docs: list[tuple[str, dict]]) -> list[str]:
    kv = _require("kubernetes_validate.utils", "kubernetes-validate==1.37.0")

    problems = []
    for fname, doc in docs:
        kind, name = doc.get("kind", "?"), (doc.get("metadata") or {}).get("name", "?")
        try:
            kv.validate(doc, K8S_VERSION, strict=True)
        except kv.ValidationError as err:
            path = ".".join(str(p) for p in err.path) or "(top)"
            problems.append(f"{K8S_DIR}/{fname}: {kind}/{name}: {path}: {err.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as err:
            problems.append(f"{K8S_DIR}/{fname}: {kind}/{name}: {err.message}")
        except (KeyError, TypeError) as err:
            problems.append(f"{K8S_DIR}/{fname}: not a Kubernetes object ({err})")
    return problems


def _pod_spec(doc: dict) -> dict | None:
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def k8s_consistency_problems(docs: list[tuple[str, dict]], repo: Path = REPO) -> list[str]:
    problems: list[str] = []
    by_kind: dict[str, list[tuple[str, dict]]] = {}
    for fname, doc in docs:
        by_kind.setdefault(doc.get("kind", "?"), []).append((fname, doc))
    namespaces = {d["metadata"]["name"] for _, d in by_kind.get("Namespace", [])}
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for _, d in by_kind.get("ConfigMap", [])}
    deployments = {d["metadata"]["name"]: (f, d) for f, d in by_kind.get("Deployment", [])}
    settings = known_settings(repo)
    runbook = (repo / RUNBOOK).read_text() if (repo / RUNBOOK).is_file() else ""

    for fname, doc in docs:
        kind, meta = doc.get("kind"), doc.get("metadata") or {}
        where = f"{K8S_DIR}/{fname}: {kind}/{meta.get('name')}"
        if kind not in ("Namespace",) and meta.get("namespace") not in namespaces:
            problems.append(f"{where}: namespace {meta.get('namespace')} is not declared in {K8S_DIR}")
        if kind == "Secret" and (doc.get("data") or doc.get("stringData")):
            problems.append(f"{where}: a Secret with data in the repository; reference it instead")
        for key in configmaps.get(meta.get("name"), {}) if kind == "ConfigMap" else {}:
            if key.startswith("CSP_") and key not in settings:
                problems.append(f"{where}: {key} is read by no code")
        pod = _pod_spec(doc)
        if pod is None:
            continue
        containers = pod.get("containers", []) + pod.get("initContainers", [])
        for c in containers:
            cwhere = f"{where}: container {c['name']}"
            if not str(c.get("image", "")).startswith(APP_IMAGE):
                problems.append(f"{cwhere}: image {c.get('image')} is not the platform image {APP_IMAGE}")
            problems += command_problems(repo, cwhere, c.get("command"))
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        problems.append(f"{cwhere}: no resources.{part}.{r}")
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False or not sc.get("readOnlyRootFilesystem"):
                problems.append(f"{cwhere}: needs allowPrivilegeEscalation: false and readOnlyRootFilesystem")
            for ref in c.get("envFrom") or []:
                name = (ref.get("configMapRef") or {}).get("name")
                if name and name not in configmaps:
                    problems.append(f"{cwhere}: envFrom ConfigMap {name} is not in {K8S_DIR}")
                sname = (ref.get("secretRef") or {}).get("name")
                if sname and sname not in DOCUMENTED_SECRETS:
                    problems.append(f"{cwhere}: envFrom Secret {sname} is not in DOCUMENTED_SECRETS")
            for env in c.get("env") or []:
                if env["name"].startswith("CSP_") and env["name"] not in settings:
                    problems.append(f"{cwhere}: sets {env['name']}, which no code reads")
                src = env.get("valueFrom") or {}
                if "secretKeyRef" in src:
                    sname, key = src["secretKeyRef"]["name"], src["secretKeyRef"]["key"]
                    if key not in DOCUMENTED_SECRETS.get(sname, ()):
                        problems.append(f"{cwhere}: Secret {sname} key {key} is not in DOCUMENTED_SECRETS")
                    elif sname not in runbook:
                        problems.append(f"{cwhere}: Secret {sname} is not explained in {RUNBOOK}")
                if "configMapKeyRef" in src and src["configMapKeyRef"]["name"] not in configmaps:
                    problems.append(f"{cwhere}: ConfigMap {src['configMapKeyRef']['name']} is not in {K8S_DIR}")
            if kind == "Deployment":
                port_names = {p.get("name") for p in c.get("ports", [])}
                port_numbers = {p.get("containerPort") for p in c.get("ports", [])}
                for probe in ("readinessProbe", "livenessProbe"):
                    spec = c.get(probe)
                    if not spec:
                        problems.append(f"{cwhere}: no {probe}")
                        continue
                    port = (spec.get("httpGet") or spec.get("tcpSocket") or {}).get("port")
                    if port is not None and port not in port_names | port_numbers:
                        problems.append(f"{cwhere}: {probe} uses port {port}, which the container does not declare")
        if kind == "Deployment":
            labels = doc["spec"]["template"]["metadata"].get("labels", {})
            selector = doc["spec"]["selector"].get("matchLabels", {})
            if any(labels.get(k) != v for k, v in selector.items()):
                problems.append(f"{where}: selector does not match the pod template labels")

    def matching(selector: dict) -> list[str]:
        return [
            n
            for n, (_, d) in deployments.items()
            if selector
            and all(d["spec"]["template"]["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    for fname, svc in by_kind.get("Service", []):
        where = f"{K8S_DIR}/{fname}: Service/{svc['metadata']['name']}"
        targets = matching(svc["spec"].get("selector", {}))
        if not targets:
            problems.append(f"{where}: selector matches no Deployment")
        for port in svc["spec"].get("ports", []):
            tp = port.get("targetPort", port.get("port"))
            for dname in targets:
                cports = [
                    p
                    for c in deployments[dname][1]["spec"]["template"]["spec"]["containers"]
                    for p in c.get("ports", [])
                ]
                if tp not in {p.get("name") for p in cports} | {p.get("containerPort") for p in cports}:
                    problems.append(f"{where}: targetPort {tp} is not a port of Deployment {dname}")
    covered: set[str] = set()
    for fname, pdb in by_kind.get("PodDisruptionBudget", []):
        found = matching(pdb["spec"].get("selector", {}).get("matchLabels", {}))
        if not found:
            problems.append(f"{K8S_DIR}/{fname}: PodDisruptionBudget/{pdb['metadata']['name']} matches no Deployment")
        covered.update(found)
    for name in sorted(set(deployments) - covered):
        problems.append(f"{K8S_DIR}/{deployments[name][0]}: Deployment/{name} has no PodDisruptionBudget")
    hpa_max: dict[str, int] = {}
    hpa_min: dict[str, int] = {}
    series: dict = {}  # known_series, read once if an autoscaler uses an external metric
    for fname, hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"]["scaleTargetRef"]
        if ref.get("kind") != "Deployment" or ref.get("name") not in deployments:
            problems.append(f"{K8S_DIR}/{fname}: HPA/{hpa['metadata']['name']} targets no Deployment in {K8S_DIR}")
        hpa_max[ref.get("name")] = hpa["spec"]["maxReplicas"]
        hpa_min[ref.get("name")] = hpa["spec"].get("minReplicas", 1)
        problems += _hpa_metric_problems(fname, hpa, repo, series)
    problems += _availability_problems(deployments, by_kind.get("PodDisruptionBudget", []), hpa_min, matching)
    problems += _worker_replica_problems(deployments, hpa_max)
    problems += _kustomization_problems(repo)
    return problems


def min_replicas(doc: dict, hpa_min: dict[str, int]) -> int:
    """The fewest pods a Deployment runs: its autoscaler's floor, else ``spec.replicas`` (1 if unset)."""
    name = doc["metadata"]["name"]
    return hpa_min[name] if name in hpa_min else doc["spec"].get("replicas", 1)


def _availability_problems(
    deployments: dict, pdbs: list[tuple[str, dict]], hpa_min: dict[str, int], matching: Callable[[dict], list[str]]
) -> list[str]:
    """Every Deployment is stateless and runs at least MIN_REPLICAS pods; a Deployment an
    autoscaler scales leaves ``replicas`` out (an apply would reset the autoscaler's count); its
    PodDisruptionBudget lets a drain take one pod but never all of them."""
    problems = []
    for name, (fname, doc) in deployments.items():
        where = f"{K8S_DIR}/{fname}: Deployment/{name}"
        floor = min_replicas(doc, hpa_min)
        if floor < MIN_REPLICAS:
            problems.append(
                f"{where}: runs {floor} replica(s) at least; a stateless process needs "
                f"{MIN_REPLICAS} so one pod's loss or drain never stops it"
            )
        if name in hpa_min and "replicas" in doc["spec"]:
            problems.append(f"{where}: sets replicas although an autoscaler scales it")
    for fname, pdb in pdbs:
        where = f"{K8S_DIR}/{fname}: PodDisruptionBudget/{pdb['metadata']['name']}"
        spec = pdb["spec"]
        for name in matching(spec.get("selector", {}).get("matchLabels", {})):
            floor = min_replicas(deployments[name][1], hpa_min)
            if "maxUnavailable" in spec:
                away = spec["maxUnavailable"]
                if not isinstance(away, int) or not 1 <= away < floor:
                    problems.append(
                        f"{where}: maxUnavailable {away} must be a count from 1 to {floor - 1} "
                        f"for Deployment/{name} ({floor} replicas at least)"
                    )
            else:
                kept = spec.get("minAvailable")
                if not isinstance(kept, int) or not 1 <= kept < floor:
                    problems.append(
                        f"{where}: minAvailable {kept} must be a count from 1 to {floor - 1} "
                        f"for Deployment/{name} ({floor} replicas at least)"
                    )
    return problems


def adapter_external_metrics(repo: Path = REPO) -> dict[str, str]:
    """External metrics the Prometheus adapter's rules (``PROM_ADAPTER_RULES``) serve: name ->
    the series its query reads."""
    path = repo / PROM_ADAPTER_RULES
    if not path.is_file():
        return {}
    out = {}
    for rule in (_load_yaml(path).get("rules") or {}).get("external") or []:
        series = re.match(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", rule.get("seriesQuery", ""))
        name = (rule.get("name") or {}).get("as") or (series.group(1) if series else "")
        out[name] = series.group(1) if series else ""
    return out


def _hpa_metric_problems(fname: str, hpa: dict, repo: Path, series: dict) -> list[str]:
    """An external metric an autoscaler reads is one the adapter's rules serve, from a series the
    code exports."""
    where = f"{K8S_DIR}/{fname}: HPA/{hpa['metadata']['name']}"
    served = adapter_external_metrics(repo)
    problems = []
    for metric in hpa["spec"].get("metrics") or []:
        if metric.get("type") != "External":
            continue
        name = metric["external"]["metric"]["name"]
        if name not in served:
            problems.append(f"{where}: external metric {name} is not served by {PROM_ADAPTER_RULES}")
            continue
        if not series:
            series.update(known_series(repo))
        if served[name] not in series:
            problems.append(f"{where}: external metric {name} reads {served[name]}, which no code exports")
    return problems


def partitions_in_use(topic_names: Iterable[str]) -> int:
    """How many partitions of the named topics carry an area's records today: records are keyed
    by area code and placed by the Java client's partitioner (murmur2), so a partition no area
    hashes to stays empty and a consumer holding only it would idle."""
    from aiokafka.partitioner import DefaultPartitioner

    from contracts import places, topics

    partitioner = DefaultPartitioner()
    used = []
    for t in topic_names:
        every = list(range(getattr(topics, t).partitions))
        used.append(len({partitioner(code.encode(), every, every) for code in places.AREAS}))
    return min(used)


def worker_topics() -> dict[str, tuple[str, ...]]:
    """The contracts.topics constants each stream worker's agents read, from the faust app its
    factory builds (building it connects to nothing)."""
    import importlib

    from contracts import topics

    constant = {spec.name: name for name, spec in vars(topics).items() if isinstance(spec, topics.TopicSpec)}
    out = {}
    for deployment, module in WORKER_MODULES.items():
        app = importlib.import_module(module).create_worker()
        out[deployment] = tuple(sorted({constant[t] for agent in app.agents.values() for t in agent.channel.topics}))
    return out


def _worker_replica_problems(deployments: dict, hpa_max: dict[str, int]) -> list[str]:
    from contracts import topics

    problems = []
    for name, topic_names in worker_topics().items():
        if name not in deployments:
            problems.append(f"{K8S_DIR}: no Deployment for the stream worker {name}")
            continue
        fname, doc = deployments[name]
        limit = partitions_in_use(topic_names)
        replicas = max(doc["spec"].get("replicas", 1), hpa_max.get(name, 0))
        if replicas > limit:
            partitions = min(getattr(topics, t).partitions for t in topic_names)
            problems.append(
                f"{K8S_DIR}/{fname}: Deployment/{name} may run {replicas} replicas, but its "
                f"topics have {partitions} partitions, of which {limit} carry areas: the extra "
                "consumers would sit idle"
            )
    return problems


def _kustomization_problems(repo: Path) -> list[str]:
    path = repo / K8S_DIR / "kustomization.yaml"
    if not path.is_file():
        return []
    listed = set(_load_yaml(path).get("resources", []))
    present = {p.name for p in (repo / K8S_DIR).glob("*.yaml")} - {"kustomization.yaml"}
    problems = [f"{K8S_DIR}/kustomization.yaml: lists {r}, which does not exist" for r in sorted(listed - present)]
    problems += [f"{K8S_DIR}/kustomization.yaml: does not list {r}" for r in sorted(present - listed)]
    return problems


def check_k8s(repo: Path = REPO, docs: list[tuple[str, dict]] | None = None) -> list[str]:
    docs = docs if docs is not None else k8s_documents(repo)
    if not docs:
        return [f"{K8S_DIR}: no manifests"]
    return k8s_schema_problems(docs) + k8s_consistency_problems(docs, repo)


# --------------------------------------------------------------------------------------------
# Prometheus


def alert_rules(repo: Path = REPO) -> list[dict]:
    doc = _load_yaml(repo / PROM_DIR / "rules" / "alerts.yml")
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def recording_rules(repo: Path = REPO) -> list[dict]:
    out = []
    for path in sorted((repo / PROM_DIR / "rules").glob("*.yml")):
        out += [r for g in _load_yaml(path)["groups"] for r in g["rules"] if "record" in r]
    return out


def check_prometheus(repo: Path = REPO) -> list[str]:
    tool = promtool()
    problems: list[str] = []
    if tool is None:
        problems.append(PROMTOOL_HELP)
    else:
        runs = [[tool, "check", "config", f"{PROM_DIR}/{c}"] for c in PROM_CONFIGS]
        for what, folder in (("check", "rules"), ("test", "tests")):
            runs.append(
                [tool, what, "rules", *sorted(str(_rel(p, repo)) for p in (repo / PROM_DIR / folder).glob("*.yml"))]
            )
        for cmd in runs:
            rc, out = _run(cmd, repo)
            if rc != 0:
                problems.append(f"{' '.join(['promtool', *cmd[1:]])} failed:\n{out}")
    amtool = shutil.which("amtool")
    if amtool is None:
        problems.append(AMTOOL_HELP)
    else:
        rc, out = _run([amtool, "check-config", ALERTMANAGER_CONFIG], repo)
        if rc != 0:
            problems.append(f"amtool check-config {ALERTMANAGER_CONFIG} failed:\n{out}")
    problems += _prometheus_config_problems(repo)
    problems += _alert_coverage_problems(repo)
    return problems


def _prometheus_config_problems(repo: Path) -> list[str]:
    problems = []
    jobs = {}
    for name in PROM_CONFIGS:
        doc = _load_yaml(repo / PROM_DIR / name)
        jobs[name] = {j["job_name"]: j for j in doc.get("scrape_configs", [])}
    first, *rest = PROM_CONFIGS
    for other in rest:
        if set(jobs[first]) - PROM_LOCAL_ONLY_JOBS != set(jobs[other]) - PROM_LOCAL_ONLY_JOBS:
            problems.append(
                f"{PROM_DIR}/{other}: jobs {sorted(jobs[other])} differ from {first}'s {sorted(jobs[first])}"
            )
    # The local stack's files name env.sh's default ports (deploy/local/ops_config.py moves them).
    env_sh = (repo / "deploy" / "local" / "env.sh").read_text()
    defaults = {k: int(v) for k, v in re.findall(r'(CSP_[A-Z_]+_PORT)="\$\{CSP_[A-Z_]+_PORT:-(\d+)\}"', env_sh)}

    def wrong_port(where: str, targets: list[str], var: str) -> list[str]:
        if var not in defaults:
            return [f"{where} has no port in deploy/local/env.sh ({var})"]
        if [t.rsplit(":", 1)[1] for t in targets] != [str(defaults[var])]:
            return [f"{where}: {targets}, but {var} defaults to {defaults[var]}"]
        return []

    for job, spec in jobs[first].items():
        try:
            var = ops_config.port_variable(job)
        except KeyError as e:
            problems.append(f"{PROM_DIR}/{first}: {e.args[0]}")
            continue
        targets = [t for s in spec.get("static_configs", []) for t in s.get("targets", [])]
        problems += wrong_port(f"{PROM_DIR}/{first}: job {job} scrapes", targets, var)
    local = _load_yaml(repo / PROM_DIR / first)
    managers = [
        t
        for m in local.get("alerting", {}).get("alertmanagers", [])
        for s in m.get("static_configs", [])
        for t in s.get("targets", [])
    ]
    problems += wrong_port(f"{PROM_DIR}/{first}: alerting sends to", managers, ops_config.ALERTMANAGER_PORT)
    hooks = [
        h["url"]
        for r in _load_yaml(repo / ALERTMANAGER_CONFIG).get("receivers", [])
        for h in r.get("webhook_configs", [])
    ]
    hosts = [urllib.parse.urlsplit(u).netloc for u in hooks]
    problems += wrong_port(f"{ALERTMANAGER_CONFIG}: webhooks", hosts, ops_config.RECEIVER_PORT)
    return problems


def _alert_coverage_problems(repo: Path) -> list[str]:
    problems = []
    runbook = (repo / RUNBOOK).read_text() if (repo / RUNBOOK).is_file() else ""
    headings = {h.strip().lower() for h in re.findall(r"^#+\s*(.+)$", runbook, re.M)}
    tested: set[str] = set()
    for path in (repo / PROM_DIR / "tests").glob("*.yml"):
        for test in _load_yaml(path).get("tests", []):
            tested |= {t["alertname"] for t in test.get("alert_rule_test", []) if t.get("exp_alerts")}
    for rule in alert_rules(repo):
        name = rule["alert"]
        if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
            problems.append(f"{PROM_DIR}/rules/alerts.yml: {name}: severity must be critical or warning")
        for ann in ("summary", "description", "runbook_url"):
            if ann not in rule.get("annotations", {}):
                problems.append(f"{PROM_DIR}/rules/alerts.yml: {name}: no {ann} annotation")
        if rule.get("annotations", {}).get("runbook_url") != f"{RUNBOOK}#{name.lower()}":
            problems.append(f"{PROM_DIR}/rules/alerts.yml: {name}: runbook_url should be {RUNBOOK}#{name.lower()}")
        if name.lower() not in headings:
            problems.append(f"{RUNBOOK}: no runbook section titled {name}")
        if name not in tested:
            problems.append(f"{PROM_DIR}/tests: no unit test where {name} fires")
    return problems


# --------------------------------------------------------------------------------------------
# Grafana


def dashboards(repo: Path = REPO) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((repo / GRAFANA_DIR / "dashboards").glob("*.json"))}


def _panels(dash: dict) -> Iterable[dict]:
    for panel in dash.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(repo: Path = REPO) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable of every dashboard."""
    out = []
    for fname, dash in dashboards(repo).items():
        for panel in _panels(dash):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((f"{fname}: panel '{panel.get('title')}' {target.get('refId')}", target["expr"]))
        for var in dash.get("templating", {}).get("list", []):
            query = var.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            m = re.fullmatch(r"label_values\((.+),\s*\w+\)", query or "")
            if m:
                out.append((f"{fname}: variable {var['name']}", m.group(1)))
    return out


def grafana_expr(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def check_grafana(repo: Path = REPO) -> list[str]:
    problems: list[str] = []
    ds = _load_yaml(repo / GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    uids = {d["uid"] for d in ds.get("datasources", [])}
    _load_yaml(repo / GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml")
    seen_uids: set[str] = set()
    for fname, dash in dashboards(repo).items():
        if not dash.get("uid") or dash["uid"] in seen_uids:
            problems.append(f"{GRAFANA_DIR}/dashboards/{fname}: missing or duplicate uid")
        seen_uids.add(dash.get("uid"))
        ids = [p.get("id") for p in _panels(dash)]
        if len(ids) != len(set(ids)):
            problems.append(f"{GRAFANA_DIR}/dashboards/{fname}: duplicate panel ids")
        for panel in _panels(dash):
            for target in panel.get("targets", []):
                uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
                if uid not in uids:
                    problems.append(
                        f"{GRAFANA_DIR}/dashboards/{fname}: panel '{panel.get('title')}' "
                        f"uses datasource {uid}, which is not provisioned"
                    )
    problems += promql_syntax_problems(dashboard_queries(repo))
    return problems


def promql_syntax_problems(queries: list[tuple[str, str]]) -> list[str]:
    """Parse each query with promtool, as the expression of a throwaway recording rule."""
    tool = promtool()
    if tool is None:
        return [PROMTOOL_HELP]
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (where, expr) in enumerate(queries):
            path = Path(tmp) / f"q{i}.yml"
            path.write_text(
                yaml.safe_dump(
                    {
                        "groups": [
                            {"name": "q", "rules": [{"record": "dashboard:query:check", "expr": grafana_expr(expr)}]}
                        ]
                    }
                )
            )
            rc, out = _run([tool, "check", "rules", str(path)], Path(tmp))
            if rc != 0:
                detail = " ".join(ln.strip() for ln in out.splitlines() if "FAILED" not in ln and ln.strip())
                problems.append(f"{where}: query does not parse: {detail}")
    return problems


# --------------------------------------------------------------------------------------------
# metric names and labels


@dataclass
class Metric:
    name: str
    type: str
    labels: tuple[str, ...]
    values: dict[str, set[str]] = field(default_factory=dict)  # closed sets of label values
    source: str = ""


_CONSTRUCTORS = {
    "Counter": "counter",
    "Gauge": "gauge",
    "Histogram": "histogram",
    "Summary": "summary",
    "Info": "info",
    "Enum": "stateset",
}


def _literal_values(
    node: ast.AST, loops: dict[str, ast.AST] | None = None, module: str | None = None
) -> set[str] | None:
    """The values a label argument can take, or None when the code does not say (an open set).

    A string literal or a choice of them, a loop variable over a tuple or list of them, or a loop
    variable over a module-level constant of the metric's module (read from the module itself,
    strings or enum members) all give a closed set: the code spells its label values the way it
    naturally would, and this check reads them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        a, b = _literal_values(node.body, loops, module), _literal_values(node.orelse, loops, module)
        return a | b if a is not None and b is not None else None
    enum_value = isinstance(node, ast.Attribute) and node.attr == "value"
    if enum_value:  # ``member.value`` of a loop over an enum
        node = node.value  # type: ignore[attr-defined]
    if isinstance(node, ast.Name) and loops and node.id in loops:
        over = loops[node.id]
        if isinstance(over, (ast.Tuple, ast.List, ast.Set)) and not enum_value:
            values = [_literal_values(e) for e in over.elts]
            return set().union(*values) if values and all(v is not None for v in values) else None
        if isinstance(over, ast.Name) and module:
            return _module_constant(module, over.id)
        if (
            isinstance(over, ast.Call)
            and isinstance(over.func, ast.Attribute)
            and over.func.attr == "values"
            and isinstance(over.func.value, ast.Name)
            and not over.args
            and module
        ):
            return _module_constant(module, over.func.value.id, dict_values=True)
    return None


def _module_constant(module: str, name: str, dict_values: bool = False) -> set[str] | None:
    """The strings (or enum members' values) a module-level constant of ``module`` holds."""
    import importlib
    from enum import Enum

    value = getattr(importlib.import_module(module), name, None)
    if dict_values:
        value = list(value.values()) if isinstance(value, dict) else None
    enum = isinstance(value, type) and issubclass(value, Enum)
    if not (enum or isinstance(value, (tuple, list, set, frozenset))):
        return None
    items = [v.value if isinstance(v, Enum) else v for v in value]
    return set(items) if items and all(isinstance(v, str) for v in items) else None


def _loop_variables(tree: ast.AST) -> dict[ast.AST, dict[str, ast.AST]]:
    """For each node, the names bound by the ``for`` loops around it and what each iterates."""
    scopes: dict[ast.AST, dict[str, ast.AST]] = {}

    def visit(node: ast.AST, bound: dict[str, ast.AST]) -> None:
        scopes[node] = bound
        for child in ast.iter_child_nodes(node):
            inner = bound
            if isinstance(node, (ast.For, ast.AsyncFor)) and child in node.body and isinstance(node.target, ast.Name):
                inner = {**bound, node.target.id: node.iter}
            visit(child, inner)

    visit(tree, {})
    return scopes


def code_metrics(repo: Path = REPO) -> dict[str, Metric]:
    """Every prometheus_client metric declared under services/, with label values seen in .labels()."""
    metrics: dict[str, Metric] = {}
    by_var: dict[str, Metric] = {}
    trees = {py: ast.parse(py.read_text(), str(py)) for py in (repo / "services").rglob("*.py")}
    for py, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            call = node.value
            ctor = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if ctor not in _CONSTRUCTORS or not call.args or not isinstance(call.args[0], ast.Constant):
                continue
            labels_node = (
                call.args[2]
                if len(call.args) > 2
                else next((k.value for k in call.keywords if k.arg == "labelnames"), None)
            )
            labels = tuple(e.value for e in getattr(labels_node, "elts", []) if isinstance(e, ast.Constant))
            metric = Metric(call.args[0].value, _CONSTRUCTORS[ctor], labels, source=_rel(py, repo))
            metrics[metric.name] = metric
            for target in node.targets:
                if isinstance(target, ast.Name):
                    by_var[target.id] = metric
    open_labels: dict[str, set[str]] = {}
    for py, tree in trees.items():
        loops = _loop_variables(tree)
        module = ".".join(py.relative_to(repo).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "info"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in by_var
                and node.args
                and isinstance(node.args[0], ast.Dict)
            ):
                metric = by_var[node.func.value.id]  # an Info's labels are the keys of its dict
                keys = [k.value for k in node.args[0].keys if isinstance(k, ast.Constant)]
                metric.labels = tuple(dict.fromkeys([*metric.labels, *keys]))
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "labels"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in by_var
            ):
                metric = by_var[node.func.value.id]
                for label, arg in zip(metric.labels, node.args):
                    values = _literal_values(arg, loops[node], module)
                    if values is None:
                        open_labels.setdefault(metric.name, set()).add(label)
                    else:
                        metric.values.setdefault(label, set()).update(values)
    for name, labels in open_labels.items():
        for label in labels:
            metrics[name].values.pop(label, None)
    return metrics


def planned_metrics() -> dict[str, Metric]:
    return {
        name: Metric(name, kind, labels, {k: set(v) for k, v in values.items()}, "planned")
        for name, (kind, labels, values, _) in PLANNED_METRICS.items()
    }


def series_names(metric: Metric) -> dict[str, tuple[str, ...]]:
    """The series names a metric exposes (prometheus_client conventions) and their labels."""
    n, labels = metric.name, metric.labels
    if metric.type == "counter":
        base = n[:-6] if n.endswith("_total") else n
        return {base + "_total": labels, base + "_created": labels}
    if metric.type == "histogram":
        return {n + "_bucket": labels + ("le",), n + "_sum": labels, n + "_count": labels, n + "_created": labels}
    if metric.type == "summary":
        return {n: labels + ("quantile",), n + "_sum": labels, n + "_count": labels}
    if metric.type == "info":
        return {n + "_info": labels}
    return {n: labels}


_SELECTOR = re.compile(r"(?<![\w:.$])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"([^\"]*)\"")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def _mask_strings(expr: str) -> str:
    return re.sub(r'"[^"]*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', expr)


def expr_selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric name, [(label, op, value)]) of the series an expression selects."""
    masked = _mask_strings(expr)
    out = []
    for m in _SELECTOR.finditer(masked):
        name = m.group(1)
        if not (name.startswith("csp_") or ":" in name or name in BUILTIN_SERIES):
            continue
        if masked[m.end() :].lstrip().startswith("("):  # a function, not a series
            continue
        matchers = []
        if m.group(2):
            original = expr[m.start(2) : m.end(2)]
            matchers = _MATCHER.findall(original)
        out.append((name, matchers))
    return out


def known_series(repo: Path = REPO) -> dict[str, tuple[tuple[str, ...], Metric | None]]:
    """Series name -> (labels, the metric it belongs to) for code, planned, builtin and recorded series."""
    known: dict[str, tuple[tuple[str, ...], Metric | None]] = {}
    for metric in [*planned_metrics().values(), *code_metrics(repo).values()]:
        for series, labels in series_names(metric).items():
            known[series] = (labels + TARGET_LABELS, metric)
    for name, labels in BUILTIN_SERIES.items():
        known[name] = (labels, None)
    for rule in recording_rules(repo):  # in file order: a rule may read the ones before it
        labels: set[str] = set()
        for group in _GROUPING.findall(rule["expr"]):
            labels |= {g.strip() for g in group.split(",") if g.strip()}
        if not labels:
            for name, _ in expr_selectors(rule["expr"]):
                labels |= set(known.get(name, ((), None))[0])
        if "histogram_quantile" in rule["expr"]:
            labels.discard("le")
        known[rule["record"]] = (tuple(sorted(labels)), None)
    return known


def metric_problems(queries: list[tuple[str, str]], repo: Path = REPO) -> list[str]:
    """Every series a query selects exists (code, planned, builtin or recorded), with its labels."""
    known = known_series(repo)
    problems = []
    for where, expr in queries:
        expr = grafana_expr(expr)
        in_expr: set[str] = set(TARGET_LABELS) | {"le", "alertname", "alertstate"}
        for name, matchers in expr_selectors(expr):
            if name not in known:
                problems.append(f"{where}: {name} is neither in services/ nor in PLANNED_METRICS nor a recording rule")
                continue
            labels, metric = known[name]
            in_expr |= set(labels)
            for label, op, value in matchers:
                if label not in labels:
                    problems.append(f"{where}: {name} has no label '{label}' (it has {', '.join(labels)})")
                    continue
                allowed = metric.values.get(label) if metric else None
                if allowed and op in ("=", "=~"):
                    wanted = [value] if op == "=" else value.split("|")
                    if all(re.fullmatch(r"[\w.-]+", w) for w in wanted):
                        bad = [w for w in wanted if w not in allowed]
                        if bad:
                            problems.append(
                                f'{where}: {name}{{{label}{op}"{value}"}}: {", ".join(bad)} '
                                f"never set by the code (it sets {', '.join(sorted(allowed))})"
                            )
        for group in _GROUPING.findall(_mask_strings(expr)):
            for label in (g.strip() for g in group.split(",")):
                if label and label not in in_expr:
                    problems.append(f"{where}: groups by '{label}', which none of its series has")
    return problems


def rule_queries(repo: Path = REPO) -> list[tuple[str, str]]:
    out = []
    for path in sorted((repo / PROM_DIR / "rules").glob("*.yml")):
        for group in _load_yaml(path)["groups"]:
            for rule in group["rules"]:
                out.append((f"{PROM_DIR}/rules/{path.name}: {rule.get('record') or rule.get('alert')}", rule["expr"]))
    return out


def exposed_name(metric: Metric) -> str:
    """The name operators query: counters end in _total, info metrics in _info."""
    if metric.type == "counter" and not metric.name.endswith("_total"):
        return metric.name + "_total"
    if metric.type == "info":
        return metric.name + "_info"
    return metric.name


def catalogue(repo: Path = REPO) -> dict[str, tuple[str, str]]:
    """Metric name -> (type cell, labels cell) from the tables of RUNBOOK's "Metrics catalogue"
    section (rows whose first cell is a backticked metric name; recording rules have a colon)."""
    text = (repo / RUNBOOK).read_text() if (repo / RUNBOOK).is_file() else ""
    m = re.search(r"^## Metrics catalogue\n(.*?)(?=^## )", text, re.M | re.S)
    rows: dict[str, tuple[str, str]] = {}
    for line in (m.group(1) if m else "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([a-z_][a-z0-9_]*)`", cells[0]) if len(cells) >= 4 else None
        if name:
            rows[name.group(1)] = (cells[1], cells[2])
    return rows


def catalogue_problems(repo: Path = REPO) -> list[str]:
    """The catalogue lists every metric the code exports, with its type and labels, and no other
    (planned metrics excepted); a planned metric the code exports must leave PLANNED_METRICS."""
    problems = []
    rows = catalogue(repo)
    exported = code_metrics(repo)
    for declared, metric in sorted(exported.items()):
        name = exposed_name(metric)
        if declared in PLANNED_METRICS or name in PLANNED_METRICS:
            problems.append(
                f"deploy/validate.py: {name} is exported by {metric.source}; move it out "
                f"of PLANNED_METRICS (and into {RUNBOOK}'s exported table)"
            )
        if name not in rows:
            problems.append(f"{RUNBOOK}: the metrics catalogue does not list {name} ({metric.source})")
            continue
        kind, labels = rows[name]
        if kind.split()[0] != metric.type:
            problems.append(
                f"{RUNBOOK}: {name} is catalogued as '{kind}', but {metric.source} declares type {metric.type}"
            )
        documented = set(re.findall(r"`([a-z_][a-z0-9_]*)`", labels))
        missing = [label for label in metric.labels if label not in documented]
        if missing:
            problems.append(f"{RUNBOOK}: {name}: labels {', '.join(missing)} are not in the catalogue")
    for name in sorted(set(rows) - {exposed_name(m) for m in exported.values()} - set(PLANNED_METRICS)):
        problems.append(f"{RUNBOOK}: the metrics catalogue lists {name}, which no code under services/ declares")
    return problems


def check_metrics(repo: Path = REPO) -> list[str]:
    return metric_problems(rule_queries(repo) + dashboard_queries(repo), repo) + catalogue_problems(repo)


# --------------------------------------------------------------------------------------------

CHECKS: dict[str, tuple[Callable[[], list[str]], str]] = {
    "compose": (check_compose, f"{COMPOSE_FILE} valid against the Compose Specification and the repository"),
    "docker": (check_dockerfile, "Dockerfile and .dockerignore consistent"),
    "k8s": (check_k8s, f"{K8S_DIR} valid against the Kubernetes {K8S_VERSION} schemas (strict) and each other"),
    "prometheus": (
        check_prometheus,
        "promtool check config, check rules, test rules; runbooks and tests cover every alert",
    ),
    "grafana": (check_grafana, "dashboards provisioned, every query parses"),
    "metrics": (
        check_metrics,
        "every metric and label in rules and dashboards exists in services/ or is planned; "
        "the catalogue documents every metric",
    ),
}


def main(argv: list[str]) -> int:
    names = argv or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        check, what = CHECKS[name]
        problems = check()
        if problems:
            failed += 1
            print(f"FAIL {name}: {what}")
            for p in problems:
                print("     " + p.replace("\n", "\n     "))
        else:
            print(f"ok   {name}: {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
