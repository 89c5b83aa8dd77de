"""Names and metadata are shown on terminals, in logs and in other people's tools: a
control character in them (an ESC sequence, a CR that rewrites a line, a NUL) is a
way to attack whoever reads them, so they are refused where they come in."""

import re

from .errors import InvalidInput

# C0, DEL and C1: Unicode category Cc.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_no_control(value, what):
    """InvalidInput (400) when the string ``value`` holds a control character."""
    if CONTROL.search(value):
        raise InvalidInput("%s must not contain control characters (C0, DEL or C1, such as "
                           "newlines, tabs or ESC)." % what)
