"""Every import-linter contract in pyproject.toml is seen to fail on a deliberate violation.

The packages and pyproject.toml are copied to a tmp dir; lint-imports runs once on the clean copy (every
contract KEPT, so the copy itself is sound) and once on the copy with one violating import planted per
contract (every contract BROKEN, its section naming its own planted import at the planted line). The table
must cover every contract pyproject.toml declares, by name: a new or renamed contract fails here until it
has a plant of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "dispatch", "pickup", "rider")  # the contracts' root packages, tests included:
# their ignore_imports name test modules, and an ignore that matches nothing is an error
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@dataclass(frozen=True)
class Plant:
    contract: str
    path: str  # relative to the copy's root; created when missing
    line: str  # appended at the end of the module
    imported: str | None  # the module the report names as imported; None for a new module that no layer lists

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


PLANTS = (
    Plant("The core imports no edge", "dispatch/board/views.py", "import rider", "rider"),
    Plant("Edges do not import each other", "rider/apis.py", "import pickup", "pickup"),
    Plant("The kernel imports none of the core's entry points (board, tracking, intake, portal)",
          "dispatch/services/counter.py", "from dispatch import board", "dispatch.board"),
    Plant("Edges and entry points reach models only through selectors and services",
          "pickup/views.py", "from dispatch.models import Order", "dispatch.models"),
    Plant("Inside the core: entry points over the live path over selectors over services over models",
          "dispatch/services/delivery.py", "from ..live import state", "dispatch.live.state"),
    Plant("Inside the core: entry points over the live path over selectors over services over models",
          "dispatch/unlisted.py", '"""A module no layer lists."""', None),
    Plant("Domain services import no transport and no project wiring",
          "dispatch/services/riders.py", "import channels.layers", "channels"),  # an external package: named whole
    Plant("The project's runtime modules import no app", "config/tiles.py", "from dispatch import text",
          "dispatch.text"),
    Plant("Edges use the live path through its facade only", "rider/views.py", "from dispatch.live import state",
          "dispatch.live.state"),
    Plant("Only the privacy service opens the vault", "dispatch/services/audit.py", "from dispatch import vault",
          "dispatch.vault"),
)


def contract_names() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return [c["name"] for c in tomllib.load(f)["tool"]["importlinter"]["contracts"]]


def copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def plant(root: Path, p: Plant) -> int:
    """Append p.line to its module (created when missing); the line number it landed on."""
    target = root / p.path
    assert target.exists() or p.imported is None, f"{p.path} is not a module of the project: pick another"
    text = target.read_text() if target.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    target.write_text(f"{text}{p.line}\n")
    return text.count("\n") + 1


def lint_imports(root: Path) -> tuple[int, str]:
    """lint-imports on the copy: cwd and PYTHONPATH are the copy, so grimp reads it, not the installed package
    (the planted lines, found in the report at their line numbers, exist only in the copy). Wide columns, so
    that no contract's name is wrapped."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "1000", "NO_COLOR": "1"}
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache", "pyproject.toml"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def sections(report: str, names: list[str]) -> dict[str, str]:
    """Each contract's section of the broken-contracts part of the report: from its heading (the name over a
    line of dashes) to the next contract's heading."""
    broken = report.partition("Broken contracts")[2]
    starts = sorted((m.start(), name) for name in names
                    for m in re.finditer(rf"^{re.escape(name)}\n-+\n", broken, flags=re.MULTILINE))
    ends = [start for start, _ in starts[1:]] + [len(broken)]
    return {name: broken[start:end] for (start, name), end in zip(starts, ends, strict=True)}


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory) -> str:
    code, report = lint_imports(copy_project(tmp_path_factory.mktemp("clean")))
    assert code == 0, report
    return report


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[str, dict[Plant, int]]:
    root = copy_project(tmp_path_factory.mktemp("planted"))
    lines = {p: plant(root, p) for p in PLANTS}
    code, report = lint_imports(root)
    assert code == 1, report
    return report, lines


def test_the_table_plants_a_violation_for_every_contract_in_pyproject():
    declared, planted_for = set(contract_names()), {p.contract for p in PLANTS}
    assert not declared - planted_for, f"contracts with no planted violation: {sorted(declared - planted_for)}"
    assert not planted_for - declared, f"plants for contracts pyproject.toml no longer declares (renamed?): " \
                                       f"{sorted(planted_for - declared)}"


def test_the_clean_copy_keeps_every_contract(clean_report):
    names = contract_names()
    assert f"Contracts: {len(names)} kept, 0 broken." in clean_report, clean_report
    for name in names:
        assert f"{name} KEPT" in clean_report, clean_report


@pytest.mark.parametrize("contract", sorted({p.contract for p in PLANTS}))
def test_the_contract_breaks_on_its_planted_import(contract, planted):
    report, lines = planted
    assert contract in contract_names(), f"{contract!r} is not a contract in pyproject.toml (renamed?)"
    assert f"{contract} BROKEN" in report, report
    section = sections(report, contract_names()).get(contract, "")
    assert section, f"no section for {contract!r} in the report:\n{report}"
    for p in (p for p in PLANTS if p.contract == contract):
        if p.imported is None:
            unlisted = section.partition("not listed as layers:")[2]
            assert re.search(rf"^- {re.escape(p.module)}$", unlisted, flags=re.MULTILINE), section
        else:
            assert f"{p.module} -> {p.imported} (l.{lines[p]})" in section, section
