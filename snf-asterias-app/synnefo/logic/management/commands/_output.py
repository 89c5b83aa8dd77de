"""Shared by the administration commands: tables for people, --json for scripts,
and logic errors turned into CommandError (a clear message, exit status 1).

What users named (servers, networks, metadata) reaches the administrator's terminal:
tables show anything unprintable escaped (``printable``), JSON escapes it itself, so an
ESC sequence or a CR in a name can never act on that terminal."""

import functools
import json

from django.core.management.base import BaseCommand, CommandError

from synnefo.logic.errors import LogicError


def fail_cleanly(handle):
    @functools.wraps(handle)
    def wrapper(self, *args, **options):
        try:
            return handle(self, *args, **options)
        except LogicError as exc:
            raise CommandError(exc.message) from None
    return wrapper


class AdminCommand(BaseCommand):
    """A command whose output is rows: a table by default, JSON with --json."""

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    def emit(self, rows, columns, options, single=False):
        if options.get("json"):
            data = rows[0] if single and rows else rows
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str))
            return
        if single:
            row = rows[0]
            width = max(len(c) for c in columns)
            for column in columns:
                self.stdout.write("%s  %s" % (column.ljust(width), _cell(row.get(column))))
            return
        cells = [[_cell(r.get(c)) for c in columns] for r in rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
        self.stdout.write("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
        for row in cells:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)  # ensure_ascii: nothing unprintable left
    return printable(str(value))


def printable(text):
    """``text`` with every unprintable character (controls, format characters such as
    U+202E, separators other than the space) and the backslash written as Python escapes."""
    return "".join(c if c.isprintable() and c != "\\" else _escape(c) for c in text)


def _escape(char):
    code = ord(char)
    if char == "\\":
        return "\\\\"
    return ("\\x%02x" if code < 0x100 else "\\u%04x" if code < 0x10000 else "\\U%08x") % code


def parse_bool(text):
    value = str(text).strip().lower()
    if value in ("yes", "true", "1", "on"):
        return True
    if value in ("no", "false", "0", "off"):
        return False
    raise CommandError("Expected yes or no, got %r." % text)


def comma_list(text):
    return [item.strip() for item in str(text).split(",") if item.strip()]


def parse_meta(items):
    meta = {}
    for item in items or []:
        if "=" not in item:
            raise CommandError("Metadata must be KEY=VALUE, got %r." % item)
        key, value = item.split("=", 1)
        meta[key.strip()] = value
    return meta
