"""The user guide lives in the repository, matches the app's labels, and its pictures exist."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "user-guide.md"
LABELS = (
    "Enable",
    "Next",
    "Verify and Enable",
    "Manual Entry",
    "Check 2FA",
    "New Backup Codes",
    "Disable",
    "Use Backup Code",
)


def test_readme_links_the_guide_inside_the_repository():
    """Every relative link of the README resolves inside the clone (the guide's too)."""
    readme = (REPO / "README.md").read_text()
    assert "(docs/user-guide.md)" in readme
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        path = (REPO / target).resolve()
        assert path.is_relative_to(REPO) and path.exists(), target


def test_guide_names_every_button_and_shows_existing_screenshots():
    """The guide uses the app's labels in bold and every picture it shows is in docs/screenshots."""
    guide = GUIDE.read_text()
    for label in LABELS:
        assert f"**{label}**" in guide, label
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", guide)
    assert len(pictures) >= 10
    for picture in pictures:
        assert (GUIDE.parent / picture).is_file(), picture
