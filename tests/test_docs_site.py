"""The documentation site: `docs/` builds with MkDocs in strict mode, and no page is left out of its nav.

The build runs as `.ci/run` runs it, `python -m mkdocs build --strict`, into a temporary
folder: a link to a page or an anchor that does not exist, or a link out of `docs/`, is a
warning, and strict mode turns a warning into a failed build.
"""

import subprocess
import sys

import yaml

from .support import ROOT


def _nav_pages(entries: list) -> list[str]:
    """Every page file the nav names, in order (nested sections included)."""
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            pages.extend(_nav_pages(value))
        else:
            pages.append(value)
    return pages


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_the_site_builds_in_strict_mode_with_no_warning_into_the_folder_it_is_given(tmp_path):
    site = tmp_path / "site"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WARNING" not in run.stderr, run.stderr[-3000:]
    for page in _nav_pages(_config()["nav"]):
        built = site / ("index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html")
        assert built.is_file(), f"{page} was not built"


def test_every_page_of_docs_is_in_the_nav_and_the_nav_names_only_pages_that_exist():
    config = _config()
    assert config.get("docs_dir", "docs") == "docs"
    nav = _nav_pages(config["nav"])
    pages = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    assert sorted(nav) == pages, (
        f"left out of mkdocs.yml's nav: {sorted(set(pages) - set(nav))}; not in docs/: {sorted(set(nav) - set(pages))}"
    )
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert nav[0] == "index.md"
    assert not config.get("plugins"), "no plugins named: mkdocs' built-in search alone, so the site builds offline"
