"""Tortoise configuration for the aerich command line, read through ``[tool.aerich]``.

The database comes from ``DATABASE_URL``. The application itself never imports this module.
"""

import os

from digester.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://data/digest.sqlite3"))
