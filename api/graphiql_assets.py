"""GraphiQL's files, kept in api/static/graphiql/ so `/graphql` works with no internet access.

They are the built files Strawberry's own GraphiQL page loads from a public CDN, at the same
versions and sha384 digests (strawberry/static/graphiql.html of strawberry-graphql 0.341.2).
The page (api/static/graphiql/graphiql.html, Strawberry's page with local paths) loads them
with those digests as subresource integrity, so a changed file does not run.

    ./dev run api.graphiql_assets            fetch the pinned files again (npm pack) and check them
    ./dev run api.graphiql_assets --upgrade  after changing a version below: fetch, print the new
                                             digests to paste here and into the page

Fetching needs npm (its registry as configured); serving needs nothing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "static" / "graphiql"
URL_PREFIX = "/static/graphiql/"
PAGE = FOLDER / "graphiql.html"


@dataclass(frozen=True)
class Asset:
    package: str  # npm name@version
    member: str  # path inside the package
    name: str  # file name in FOLDER
    sha384: str  # subresource integrity, base64


ASSETS = (
    Asset(
        "react@18.2.0",
        "umd/react.production.min.js",
        "react.production.min.js",
        "tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    Asset(
        "react-dom@18.2.0",
        "umd/react-dom.production.min.js",
        "react-dom.production.min.js",
        "bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    Asset(
        "graphiql@3.8.3",
        "graphiql.min.js",
        "graphiql.min.js",
        "HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    Asset(
        "graphiql@3.8.3",
        "graphiql.min.css",
        "graphiql.min.css",
        "Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    Asset(
        "@graphiql/plugin-explorer@1.0.2",
        "dist/index.umd.js",
        "plugin-explorer.umd.js",
        "2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    ),
    Asset(
        "@graphiql/plugin-explorer@1.0.2",
        "dist/style.css",
        "plugin-explorer.css",
        "5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
    ),
)


def sha384(data: bytes) -> str:
    return base64.b64encode(hashlib.sha384(data).digest()).decode()


def _licence_name(package: str) -> str:
    return package.rsplit("@", 1)[0].replace("@", "").replace("/", "-") + ".LICENSE.txt"


def _unpack(package: str, into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to fetch GraphiQL's files (serving them does not need it)")
    done = subprocess.run(
        [npm, "pack", "--silent", "--pack-destination", str(into), package],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"npm pack {package} failed: {done.stderr.strip()}")
    tgz = into / done.stdout.strip().splitlines()[-1]
    root = into / tgz.name.removesuffix(".tgz")
    with tarfile.open(tgz) as archive:
        archive.extractall(root, filter="data")
    return root / "package"


def fetch(upgrade: bool) -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    wrong = 0
    with tempfile.TemporaryDirectory() as tmp:
        unpacked: dict[str, Path] = {}
        for asset in ASSETS:
            if asset.package not in unpacked:
                unpacked[asset.package] = root = _unpack(asset.package, Path(tmp))
                meta = json.loads((root / "package.json").read_text())
                licence = root / "LICENSE"
                text = licence.read_text() if licence.is_file() else ""
                (FOLDER / _licence_name(asset.package)).write_text(
                    f"{asset.package}: {meta.get('license')}"
                    f" ({meta.get('repository', {}).get('url', 'no repository named')})\n\n"
                    + (text or "The package ships no licence file; its repository's applies.\n")
                )
            data = (unpacked[asset.package] / asset.member).read_bytes()
            digest = sha384(data)
            if upgrade:
                print(f"{asset.name}: sha384-{digest}")
            elif digest != asset.sha384:
                print(f"{asset.name}: sha384-{digest}, pinned sha384-{asset.sha384}")
                wrong += 1
                continue
            (FOLDER / asset.name).write_bytes(data)
    return 1 if wrong else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="print new digests, do not check")
    sys.exit(fetch(parser.parse_args().upgrade))
