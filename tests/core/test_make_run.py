"""`make run` starts what the README says: web, a worker and beat, as separate processes the
way docker/compose.yml runs them (beat is not embedded in the worker)."""

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile.dev").read_text().splitlines()
    return {name: shlex.split(cmd) for name, cmd in (line.split(":", 1) for line in lines if line.strip())}


def test_procfile_runs_web_worker_and_beat_as_the_readme_says():
    processes = procfile()
    assert list(processes) == ["web", "worker", "beat"]
    assert "web + worker + beat" in (ROOT / "README.md").read_text()
    assert re.search(r"honcho -f Procfile.dev start", (ROOT / "Makefile").read_text())
    worker, beat = processes["worker"], processes["beat"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert not {"--beat", "-B"} & set(worker), "beat runs as its own process, not inside the worker"
    assert beat[:4] == ["celery", "-A", "config", "beat"]


def test_procfile_beat_matches_compose():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())["services"]
    scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
    for command in (procfile()["beat"], compose["beat"]["command"]):
        assert command[command.index("--scheduler") + 1] == scheduler
    assert compose["worker"]["command"][:4] == procfile()["worker"][:4]
