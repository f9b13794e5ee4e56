"""The committed docs/generated/ equal what the build generates from ODS."""
from pathlib import Path

from harness import BUILD, ROOT


def test_generated_docs_are_current():
    built = sorted((BUILD / "docs").glob("*.md"))
    assert built, f"no generated docs in {BUILD / 'docs'}"
    stale = [p.name for p in built
             if not (ROOT / "docs" / "generated" / p.name).exists()
             or (ROOT / "docs" / "generated" / p.name).read_text() != p.read_text()]
    assert not stale, f"docs/generated is stale ({stale}): run scripts/update-docs.sh"
