"""deploy/docker-compose.yml, checked without a Docker engine: everything it builds from or mounts exists in the
repository, every service the app needs is there and wired to the others, and the app runs as a non-root user."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy import DEPLOY, REPO, load_yaml

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE: dict[str, Any] = load_yaml(COMPOSE_FILE)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
REQUIRED = ("postgres", "migrate", "api", "worker", "prometheus", "alertmanager", "grafana")
APP_SERVICES = [name for name, service in SERVICES.items() if "build" in service]
LONG_RUNNING = [name for name in SERVICES if name != "migrate"]


def command(service: dict[str, Any]) -> list[str]:
    value = service.get("command", [])
    return value.split() if isinstance(value, str) else list(value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def interpolate(text: str) -> str:
    """Compose's ${VAR:-default} with every variable unset."""
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", text)


def binds(service: dict[str, Any]) -> list[tuple[Path, str, bool]]:
    """(host path, container path, read-only) of every bind mount; named volumes are skipped."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") != "bind":
                continue
            source, target, read_only = volume["source"], volume["target"], bool(volume.get("read_only"))
        else:
            parts = volume.split(":")
            if not parts[0].startswith((".", "/", "~")):
                continue
            source, target = parts[0], parts[1]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        mounts.append(((DEPLOY / source).resolve(), target, read_only))
    return mounts


def container_path_of(service: dict[str, Any], host: Path) -> str:
    for source, target, _ro in binds(service):
        if source == host.resolve():
            return target
    raise AssertionError(f"{host} is not mounted")


def hostnames() -> set[str]:
    names = set(SERVICES)
    for service in SERVICES.values():
        for network in (service.get("networks") or {}).values() if isinstance(service.get("networks"), dict) else ():
            names.update((network or {}).get("aliases", []))
    return names


def healthcheck_command(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    return ["sh", "-c", test] if isinstance(test, str) else list(test)


def test_every_service_the_app_needs_is_there() -> None:
    assert set(REQUIRED) <= set(SERVICES)
    assert {"migrate", "api", "worker"} <= set(APP_SERVICES)


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_bind_mount_exists_in_the_repository(name: str) -> None:
    for source, target, read_only in binds(SERVICES[name]):
        assert source.exists(), f"{name}: {source} (mounted at {target}) is missing"
        assert REPO in source.parents, f"{name}: {source} lies outside the repository"
        assert read_only, f"{name}: configuration mounts are read-only ({target})"


def test_named_volumes_are_declared() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if isinstance(volume, dict) and volume.get("type") != "volume":
                continue
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source} is not declared"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_images_build_from_the_repository_dockerfile(name: str) -> None:
    build = SERVICES[name]["build"]
    context = (DEPLOY / (build if isinstance(build, str) else build["context"])).resolve()
    dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
    assert context == REPO
    assert dockerfile.is_file()
    assert len({SERVICES[other].get("image") for other in APP_SERVICES}) == 1, "one image for every app service"


def final_stage_user(dockerfile: Path) -> str | None:
    user = None
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].upper() == "FROM":
            user = None
        elif words[0].upper() == "USER":
            user = words[1]
    return user


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_runs_as_the_images_non_root_user(name: str) -> None:
    image_user = final_stage_user(REPO / "Dockerfile")
    assert image_user not in (None, "root", "0")
    user = SERVICES[name].get("user", image_user)
    assert str(user).split(":")[0] == image_user, f"{name} runs as {user}"
    assert not SERVICES[name].get("privileged")


@pytest.mark.parametrize("name", list(SERVICES))
def test_restart_policy(name: str) -> None:
    policy = SERVICES[name].get("restart")
    if name == "migrate":
        assert policy == "no", "a one-shot job is not restarted"
    else:
        assert policy in ("unless-stopped", "always", "on-failure"), name


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_healthchecks(name: str) -> None:
    service = SERVICES[name]
    assert not service["healthcheck"].get("disable")
    test = healthcheck_command(service)
    assert test[0] in ("CMD", "CMD-SHELL", "sh")
    if name in APP_SERVICES:
        # The app image is python:3.11-slim: Python, but no curl or wget. The snippet must at least compile.
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], f"{name} healthcheck", "exec")


def test_api_healthcheck_asks_readyz_and_worker_reads_its_own_heartbeat() -> None:
    assert "/readyz" in healthcheck_command(SERVICES["api"])[-1]
    worker_check = healthcheck_command(SERVICES["worker"])[-1]
    assert "WorkerHeartbeat" in worker_check and "gethostname" in worker_check


def test_worker_is_a_separate_process_from_the_api() -> None:
    api, worker = SERVICES["api"], SERVICES["worker"]
    assert command(api)[:2] == ["vpt", "serve"] and "0.0.0.0" in command(api)
    assert command(worker) == ["vpt", "worker"]
    assert "ports" not in worker, "the worker serves nothing"
    assert command(SERVICES["migrate"]) == ["vpt", "db", "upgrade"]


def test_start_order() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "pg_isready" in " ".join(healthcheck_command(SERVICES["postgres"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_the_postgres_database(name: str) -> None:
    env = environment(SERVICES[name])
    if name == "platform-sim":
        return  # the simulated platform keeps no data
    url = interpolate(env["VPT_DATABASE_URL"])
    assert url == "postgresql+psycopg://vpt:vpt@postgres:5432/vpt"
    assert urlsplit(url).hostname in SERVICES
    postgres = environment(SERVICES["postgres"])
    assert interpolate(postgres["POSTGRES_PASSWORD"]) == "vpt" and postgres["POSTGRES_USER"] == "vpt"


def test_worker_reads_the_mounted_example_sources() -> None:
    worker = SERVICES["worker"]
    example = DEPLOY / "sources.example.toml"
    assert environment(worker)["VPT_SOURCES_FILE"] == container_path_of(worker, example)
    from app.ingest.sources import load_sources_file

    sources = load_sources_file(example)
    assert sources, "the example holds a pull source"
    for source in sources:
        host = urlsplit(source.base_url).hostname
        assert host in SERVICES, f"{source.name} pulls from {host}, which is no service of the stack"


def test_prometheus_mounts_its_config_and_rules_side_by_side_and_reaches_its_targets() -> None:
    prometheus = SERVICES["prometheus"]
    config_file = DEPLOY / "prometheus" / "prometheus.yml"
    config_in_container = PurePosixPath(container_path_of(prometheus, config_file))
    assert f"--config.file={config_in_container}" in command(prometheus)
    config = load_yaml(config_file)
    for rule_file in config["rule_files"]:
        assert (config_file.parent / rule_file).is_file()
        in_container = container_path_of(prometheus, config_file.parent / rule_file)
        assert in_container == str(config_in_container.parent / rule_file)
    targets = [target for job in config["scrape_configs"]
               for static in job["static_configs"] for target in static["targets"]]
    assert "vpt-api:8000" in targets
    scrape = next(job for job in config["scrape_configs"] if "vpt-api:8000" in job["static_configs"][0]["targets"])
    assert scrape.get("metrics_path", "/metrics") == "/metrics" and scrape["scrape_interval"] == "15s"
    names = hostnames() | {"127.0.0.1", "localhost"}
    for target in targets:
        assert target.rsplit(":", 1)[0] in names, f"scrape target {target} is no service or alias"
    for manager in config["alerting"]["alertmanagers"]:
        for target in manager["static_configs"][0]["targets"]:
            assert target.rsplit(":", 1)[0] in names


def test_alertmanager_mounts_its_config() -> None:
    alertmanager = SERVICES["alertmanager"]
    path = container_path_of(alertmanager, DEPLOY / "alertmanager" / "alertmanager.yml")
    assert f"--config.file={path}" in command(alertmanager)


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    grafana = SERVICES["grafana"]
    provisioning = DEPLOY / "grafana" / "provisioning"
    assert container_path_of(grafana, provisioning) == "/etc/grafana/provisioning"
    dashboards_in_container = container_path_of(grafana, DEPLOY / "grafana" / "dashboards")

    providers = load_yaml(provisioning / "dashboards" / "vpt.yml")["providers"]
    assert [provider["options"]["path"] for provider in providers] == [dashboards_in_container]
    assert all(provider["type"] == "file" for provider in providers)

    datasources = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    prometheus = next(source for source in datasources if source["type"] == "prometheus")
    assert prometheus["uid"] and prometheus["url"] == "http://prometheus:9090"
    assert urlsplit(prometheus["url"]).hostname in SERVICES

    home = environment(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert PurePosixPath(home).parent == PurePosixPath(dashboards_in_container)
        assert (DEPLOY / "grafana" / "dashboards" / PurePosixPath(home).name).is_file()
    assert "${" in environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"], "the admin password comes from the environment"


def test_published_ports_stay_on_localhost() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"

