"""Django settings for the test suites: the real settings loader over ci/test-settings/.

pytest.ini of each Django dist names this module; SNF_TEST_DB picks the database
(sqlite, postgresql or mysql) as set up by ci/services.sh.
"""

import os

os.environ.setdefault("SYNNEFO_SETTINGS_DIR",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-settings"))

from synnefo.webproject.settings import *  # noqa: E402,F401,F403
