"""The import graph between the project's top-level packages: how many package-to-package
arrows there are, and which pairs import each other. Tests, migrations, management commands and
each app's admin are left out, as the import contract leaves them out (management commands are
held by the contract all the same).

    .venv/bin/python bench/import_graph.py [--all]      # --all: list every arrow

Run it at two commits (a worktree each) to compare a redesign's before and after.
"""

import argparse
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = {"tests", "migrations", "admin", "management"}


def top_level_packages() -> list[str]:
    """Every top-level package of the project but the tests and the benchmarks."""
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"}
    )


def arrows(packages: list[str]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for module in graph.modules:
        if LEFT_OUT & set(module.split(".")):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if LEFT_OUT & set(imported.split(".")):
                continue
            pair = (module.split(".")[0], imported.split(".")[0])
            if pair[0] != pair[1]:
                found.setdefault(pair, []).append((module, imported))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="List every arrow.")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    packages = top_level_packages()
    found = arrows(packages)
    mutual = sorted({tuple(sorted(pair)) for pair in found if (pair[1], pair[0]) in found})
    print(f"{len(packages)} packages: {', '.join(packages)}")
    print(f"{len(found)} arrows between packages; {len(mutual)} pairs import each other")
    for low, high in mutual:
        example = found[(low, high)][0], found[(high, low)][0]
        print(
            f"  {low} <-> {high}: {example[0][0]} -> {example[0][1]}; "
            f"{example[1][0]} -> {example[1][1]}"
        )
    if args.all:
        for (importer, imported), modules in sorted(found.items()):
            print(f"  {importer} -> {imported} ({len(modules)})")


if __name__ == "__main__":
    main()
