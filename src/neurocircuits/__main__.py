"""``python -m neurocircuits`` runs the command line (the same as ``neurocircuits``)."""

import sys

from neurocircuits.cli import main

if __name__ == "__main__":
    sys.exit(main())
