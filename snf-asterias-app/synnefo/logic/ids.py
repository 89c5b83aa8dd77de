"""Row ids as clients and administrators write them.

Every primary key is an AutoField: a 32-bit signed integer on every database. An id
is accepted only as ASCII decimal digits (``int()`` would also take "²", "٣", "1_0"
or " 7", which no database column holds) within that range; anything else is simply
not an id, so lookups answer "not found" instead of reaching the database with a
value it rejects (SQLite raises OverflowError above 2**63, PostgreSQL refuses
integers beyond its column types).
"""

import re

MAX_ID = 2 ** 31 - 1
# At most 10 digits: anything longer is out of range anyway, and int() never sees it.
_DECIMAL = re.compile(r"[0-9]{1,10}", re.ASCII)


def parse_id(value):
    """The id ``value`` names (an int, or a string of ASCII digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def parse_uint(value, maximum=MAX_ID):
    """A non-negative ASCII decimal integer up to ``maximum`` (a column's range), or None."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,20}", value, re.ASCII):
        return None
    number = int(value)
    return number if number <= maximum else None
