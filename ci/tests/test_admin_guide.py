"""docs/admin-guide.md stays runnable: every sh block is a step the multi-node test
(debian/tests/test_multinode.py) knows how to run, on node types it has."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import guide_blocks  # noqa: E402
import multinode  # noqa: E402  (its node table and site values; nothing starts on import)

STEPS = guide_blocks.steps()


def test_every_block_has_a_known_header():
    kinds = {s.kind for s in STEPS}
    assert {"site", "install", "run", "copy"} <= kinds


def test_every_node_type_named_exists_in_the_test_cloud():
    known = {t for types, _o, _r in multinode.NODES.values() for t in types}
    for s in STEPS:
        assert set(s.types) <= known, (s.line, s.types)
        if s.src:
            assert s.src[0] in known, (s.line, s.src)


def test_site_variables_are_the_test_clouds_and_all_used():
    names = guide_blocks.site_variables(STEPS)
    assert sorted(names) == sorted(multinode.SITE)
    used = "".join(s.body for s in STEPS if s.kind in ("run", "copy"))
    for n in names:
        assert re.search(r"\$\{?%s\b" % n, used), "site variable %s is used nowhere" % n


def test_an_unknown_header_is_refused():
    with pytest.raises(ValueError, match="without a known header"):
        guide_blocks.steps("```sh\necho hello\n```\n")
