"""The README's set-up commands and .ci/run agree: same packages, same install, same tests."""
from __future__ import annotations

import re

from support import ROOT


def _setup_block() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Set-up"):readme.index("## Using it")]
    block = re.search(r"```\n(.*?)```", section, re.S).group(1)
    return block.splitlines()


def _ci() -> str:
    return (ROOT / ".ci" / "run").read_text()


def test_apt_line_names_every_package_ci_installs():
    apt = " ".join(line for line in _setup_block() if "apt-get install" in line)
    for package in re.findall(r"need\+=\(([\w.+-]+)\)", _ci()):
        assert re.search(rf"\b{re.escape(package)}\b", apt), package


# Debian's name of each package CI installs -> RHEL/Fedora's (None: part of the base system,
# as the xterm terminfo entry is in ncurses-base there; venv is in Fedora's python3 itself).
DNF_NAMES = {"gcc": "gcc", "make": "make", "libncurses-dev": "ncurses-devel",
             "iproute2": "iproute", "ncurses-term": None, "python3-venv": "python3"}


def test_apt_line_updates_the_package_lists_first():
    (apt,) = [line for line in _setup_block() if "apt-get install" in line]
    assert apt.index("apt-get update &&") < apt.index("apt-get install")


def test_dnf_line_names_the_same_packages_and_both_name_git():
    ci_packages = re.findall(r"need\+=\(([\w.+-]+)\)", _ci())
    assert ci_packages and set(ci_packages) <= set(DNF_NAMES), ci_packages
    (dnf,) = [line for line in _setup_block() if "dnf install" in line]
    for package in ci_packages:
        if DNF_NAMES[package]:
            assert re.search(rf"\b{re.escape(DNF_NAMES[package])}(\s|$)", dnf), package
    (apt,) = [line for line in _setup_block() if "apt-get install" in line]
    assert re.search(r"\bgit\b", apt) and re.search(r"\bgit\b", dnf)


def test_ci_runs_the_readme_commands_in_a_virtual_environment():
    commands = [line.split("#")[0].strip() for line in _setup_block()
                if line.strip() and not line.startswith("#")]
    install, test = commands
    assert install.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
    ci_lines = [line.strip() for line in _ci().splitlines()
                if line.strip() and not line.startswith("#")]
    assert "python3 -m venv .venv" in ci_lines and ". .venv/bin/activate" in ci_lines
    assert any(line.startswith("pip install") and '".[test]"' in line for line in ci_lines)
    assert ci_lines[-1] == test                  # exactly the README's test command, last
