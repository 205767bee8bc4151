"""docker-compose.yml cannot run here (no Docker engine): check what it would run instead.

Every service that runs aggregator must use a real CLI command, and its environment must
load into valid settings with the same rules the daemon applies at start.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config import load_settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def _aggregator_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: spec
        for name, spec in compose["services"].items()
        if spec.get("image", "").startswith("aggregator") or "build" in spec
    }


def test_compose_runs_postgres_redis_a_migration_and_two_daemons(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "daemon-a", "daemon-b"} <= services.keys()
    assert services["migrate"]["command"] == ["aggregator", "db", "upgrade"]
    for daemon in ("daemon-a", "daemon-b"):
        assert services[daemon]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_every_aggregator_service_environment_is_valid_settings(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    for name, spec in _aggregator_services(compose).items():
        env = {k: str(v) for k, v in spec.get("environment", {}).items()}
        env.pop("AGGREGATOR_OUTLETS", None)  # a path inside the container
        settings = load_settings(None, environ=env)
        assert settings.database.url.startswith("postgresql+psycopg://"), name
        if name.startswith("daemon"):
            assert settings.redis.url == "redis://redis:6379/0"
            assert settings.http.host == "0.0.0.0"


def test_every_command_the_images_run_is_a_real_cli_command(compose: dict[str, Any]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    cmd_line = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    commands = [yaml.safe_load(cmd_line.removeprefix("CMD").strip())]
    commands += [s["command"] for s in _aggregator_services(compose).values() if "command" in s]
    runner = CliRunner()
    for command in commands:
        args = command if isinstance(command, list) else shlex.split(command)
        assert args[0] == "aggregator"
        result = runner.invoke(cli, [*args[1:], "--help"])
        assert result.exit_code == 0, (args, result.output)
