"""Command line of the digester: ``python -m digester COMMAND``."""

from digester.cli import main

raise SystemExit(main())
