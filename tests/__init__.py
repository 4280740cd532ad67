"""onionscope's tests.

:data:`PROJECT_ROOT` is the checkout the tests run from.  Tests may find files
through it (the README, docker-compose.yml, the command run from the checkout);
the product never does: it finds its data through the setting ``config_dir``.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
