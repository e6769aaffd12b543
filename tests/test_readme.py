"""The README's recipes run, as printed, on the bundled archive."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from conftest import in_shell

README = Path(__file__).parent.parent / "README.md"


def recipes() -> list[str]:
    """The lines of the README's first shell block after "## Recipes", comments left out."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Recipes\n.*?```sh\n(.*?)```", text, re.DOTALL)
    assert block, "the README has a Recipes section with a shell block"
    return [re.sub(r"\s{2,}#.*$", "", line) for line in block[1].splitlines() if line.strip()]


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    shutil.copytree(README.parent / "articles", tmp_path / "articles")
    return tmp_path


def test_the_readme_has_a_dozen_recipes_and_stays_short():
    assert len(recipes()) >= 12
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


@pytest.mark.parametrize("recipe", recipes())
def test_a_readme_recipe_runs_on_the_bundled_archive(recipe, bundled, process_env):
    if "jq " in recipe and not shutil.which("jq"):
        pytest.skip("jq is not installed")
    run = in_shell(f"bash -o pipefail -c {shlex.quote(recipe)}", bundled, process_env)
    assert (run.returncode, run.stderr) == (0, b""), recipe
    assert run.stdout.strip(), recipe


@pytest.mark.parametrize("recipe", [r for r in recipes() if "| kn show" in r or "xargs" in r])
def test_a_recipe_that_finds_nothing_shows_nothing(recipe, tmp_path, process_env):
    """On empty input, `xargs kn show` would show the newest article: the recipes do not."""
    (tmp_path / "articles").mkdir()
    weather = "---\ntitle: Rain\ndate: 2020-01-01\n---\nRain all day.\n"
    (tmp_path / "articles" / "rain.txt").write_text(weather, encoding="utf-8")
    run = in_shell(recipe, tmp_path, process_env)
    assert run.stdout == b"", recipe


def test_the_fzf_recipes_preview_renders_in_colour(bundled, process_env):
    text = README.read_text(encoding="utf-8")
    recipe = next(line for line in text.splitlines() if "fzf --preview" in line)
    preview = re.search(r"--preview '([^']*)'", recipe)
    assert preview, recipe
    listing = in_shell("kn list --since 2017 | head -1 | cut -f1", bundled, process_env)
    first = listing.stdout.decode().strip()
    shown = in_shell(preview[1].replace("{1}", first), bundled, process_env)
    assert shown.returncode == 0
    assert b"\x1b[1mNorth Korea calls offer of talks" in shown.stdout
