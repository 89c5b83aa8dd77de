"""Printing answers: plain-text tables for people, JSON for scripts. Cells are
snf-cloud's (every unprintable character escaped: what the API returns cannot act on
the terminal)."""

import json

from synnefo.cloud.output import printable as cell


def table(rows, columns):
    """Rows (dicts) as an aligned table of ``columns``."""
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def record(item, skip=()):
    """One item (a dict) as "key: value" lines."""
    keys = [k for k in item if k not in skip]
    width = max((len(k) for k in keys), default=0)
    return "\n".join("%s  %s" % ((k + ":").ljust(width + 1), cell(item[k])) for k in keys)


def as_json(data):
    return json.dumps(data, indent=2, sort_keys=True)
