"""Create the PostgreSQL database named by DATABASE_URL if it does not exist (used by run.sh and bench.sh)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pgdb import ensure_database  # noqa: E402 (after the path it lives on)

ensure_database(os.environ["DATABASE_URL"])
