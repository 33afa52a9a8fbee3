"""The `ciclo` console command, installed with the package, is the project's manage.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CICLO = Path(sys.executable).parent / "ciclo"


def _ciclo(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env["CICLO_DATA_DIR"] = str(tmp_path)
    return subprocess.run([str(CICLO), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_ciclo_command_is_installed_beside_the_interpreter() -> None:
    assert CICLO.exists(), f"{CICLO} is missing: install the project (pip install -e .)"


def test_ciclo_help_lists_the_project_and_django_commands(tmp_path: Path) -> None:
    result = _ciclo("help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = {line.strip() for line in result.stdout.splitlines()}
    assert {"migrate", "demo", "createsuperuser", "shell", "check"} <= commands


def test_ciclo_needs_no_settings_module_in_the_environment(tmp_path: Path) -> None:
    result = _ciclo("diffsettings", "--all", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ROOT_URLCONF = 'ciclo.urls'" in result.stdout


def test_ciclo_definitions_import_refuses_an_impossible_date_and_a_huge_number_without_a_traceback(
    tmp_path: Path,
) -> None:
    assert _ciclo("migrate", "-v0", tmp_path=tmp_path).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ciclo_definitions: 1\nservice_types:\n"
        f"  - {{code: '1', description: Vendas, kind: synthetic, active_from: 2026-02-30, priority: {'9' * 5000}}}\n",
        encoding="utf-8",
    )
    result = _ciclo("definitions", "import", str(bad), "--dry-run", tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "service_types[0].active_from: " in result.stderr
    assert "service_types[0].priority: " in result.stderr
    assert "2 errors" in result.stderr or "2 erros" in result.stderr
