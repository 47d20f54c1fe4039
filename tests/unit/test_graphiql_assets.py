"""GraphiQL's page loads only files the service serves, each as pinned, each with its licence."""

from __future__ import annotations

import re

from api.graphiql_assets import ASSETS, FOLDER, PAGE, URL_PREFIX, sha384


def _references() -> dict[str, str]:
    """url -> integrity digest, for every script and stylesheet the page loads."""
    html = PAGE.read_text()
    found = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="sha384-([^"]+)"', html)
    assert len(found) == len(re.findall(r"<script\s+src=|<link\s+rel=\"stylesheet\"", html))
    return dict(found)


def test_the_page_loads_every_pinned_file_from_the_service_and_nothing_else() -> None:
    assert "://" not in re.sub(r"http://www\.w3\.org/2000/svg", "", PAGE.read_text())
    assert _references() == {URL_PREFIX + a.name: a.sha384 for a in ASSETS}


def test_each_file_is_the_pinned_build() -> None:
    for asset in ASSETS:
        assert sha384((FOLDER / asset.name).read_bytes()) == asset.sha384, asset.name


def test_each_package_comes_with_its_licence() -> None:
    for package in {a.package for a in ASSETS}:
        name = package.rsplit("@", 1)[0].replace("@", "").replace("/", "-")
        text = (FOLDER / f"{name}.LICENSE.txt").read_text()
        assert text.startswith(f"{package}: MIT")
