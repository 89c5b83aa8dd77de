"""snf-manage: Django's manage.py for Synnefo, plus --settings-dir."""

import os
import sys

from django.core.management import execute_from_command_line

from synnefo.common.settings import SettingsError


def _take_settings_dir(argv):
    """Remove --settings-dir DIR / --settings-dir=DIR from argv; export it."""
    args = []
    it = iter(argv)
    for arg in it:
        if arg == "--settings-dir":
            try:
                value = next(it)
            except StopIteration:
                sys.exit("snf-manage: --settings-dir needs a directory")
        elif arg.startswith("--settings-dir="):
            value = arg.split("=", 1)[1]
        else:
            args.append(arg)
            continue
        if not os.path.isdir(value):
            sys.exit("snf-manage: settings directory %s does not exist" % value)
        os.environ["SYNNEFO_SETTINGS_DIR"] = value
    return args


def main(argv=None):
    argv = _take_settings_dir(list(sys.argv if argv is None else argv))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.webproject.settings")
    try:
        execute_from_command_line(argv)
    except SettingsError as exc:
        sys.exit("snf-manage: %s" % exc)


if __name__ == "__main__":
    main()
