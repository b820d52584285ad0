"""Copy the web pages' JavaScript libraries from node_modules into the package, pinned.

The pages never load code from a CDN: each library is a file in
``src/datafair/web/static/vendor/`` whose npm package, version, licence and SHA-256 are recorded
in ``VENDOR.json`` there, with the licence texts in ``LICENSES``. To upgrade one, change its
version in ``package.json``, run ``npm install``, then ``python scripts/vendor_web_assets.py``;
``tests/web/test_vendor.py`` checks the files against the record (and against node_modules when
it is installed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "src" / "datafair" / "web" / "static" / "vendor"
# vendored file -> (npm package, path inside the package, licence file inside the package)
ASSETS = {
    "htmx.min.js": ("htmx.org", "dist/htmx.min.js", "LICENSE"),
    "ethers.umd.min.js": ("ethers", "dist/ethers.umd.min.js", "LICENSE.md"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    record: dict[str, dict[str, str]] = {}
    licences: list[str] = []
    for name, (package, inner, licence) in sorted(ASSETS.items()):
        root = REPO / "node_modules" / package
        manifest = json.loads((root / "package.json").read_text())
        shutil.copyfile(root / inner, VENDOR / name)
        record[name] = {
            "package": package,
            "version": manifest["version"],
            "source": inner,
            "license": manifest.get("license", "see LICENSES"),
            "sha256": sha256(VENDOR / name),
        }
        text = (root / licence).read_text(encoding="utf-8").strip()
        licences.append(f"{name}: {package} {manifest['version']} ({record[name]['license']})\n\n{text}")
    (VENDOR / "VENDOR.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    separator = "\n\n" + "-" * 78 + "\n\n"
    (VENDOR / "LICENSES").write_text(separator.join(licences) + "\n", encoding="utf-8")
    print(f"vendored {', '.join(sorted(record))} into {VENDOR.relative_to(REPO)}")


if __name__ == "__main__":
    main()
