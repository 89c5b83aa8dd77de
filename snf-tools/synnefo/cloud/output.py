"""Tables for people, JSON for scripts. What the cloud returns (server names, metadata)
reaches the user's terminal: tables escape every unprintable character, so a name with an
ESC sequence cannot act on it."""

import json
import sys


def printable(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)   # ensure_ascii: nothing unprintable left
    text = str(value)
    return "".join(c if c.isprintable() and c != "\\" else
                   c.encode("unicode_escape").decode("ascii") for c in text)


def emit_json(data, out=sys.stdout):
    out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def table(rows, columns, out=sys.stdout):
    """``rows`` (dicts) as columns ``columns``: [(header, key)]."""
    cells = [[printable(row.get(key)) for _h, key in columns] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, (h, _k) in enumerate(columns)]
    out.write("  ".join(h.ljust(w) for (h, _k), w in zip(columns, widths)).rstrip() + "\n")
    for r in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")


def fields(mapping, out=sys.stdout):
    """One item: a line per field, names aligned."""
    width = max((len(k) for k in mapping), default=0)
    for key in sorted(mapping):
        out.write("%s  %s\n" % (printable(key).ljust(width), printable(mapping[key])))
