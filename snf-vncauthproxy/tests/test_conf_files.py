"""The conf fragment snf-vncauthproxy ships documents every setting it reads."""

import os

from synnefo.common.settings import conf_documentation_problems
from synnefo.vncauthproxy import defaults

CONF_DIR = os.path.join(os.path.dirname(__file__), "..", "conf")


def test_shipped_conf_files_document_every_setting_and_set_nothing():
    assert conf_documentation_problems(defaults, CONF_DIR) == []
