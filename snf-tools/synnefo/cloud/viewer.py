"""A local VNC viewer for `snf-cloud console --viewer`, if one is installed.

Viewers are tried in this order; each gets the address in the form it understands. The
password is not handed over (each viewer has its own password-file format, and a command
line is visible to every user of the machine): the viewer asks, snf-cloud prints it."""

import shutil
import subprocess

# program -> how it names host and port
VIEWERS = [
    ("xtigervncviewer", "{host}::{port}"),
    ("vncviewer", "{host}::{port}"),
    ("xtightvncviewer", "{host}::{port}"),
    ("remote-viewer", "vnc://{host}:{port}"),
    ("gvncviewer", "{host}:{display}"),
]


def find_viewer():
    """(program path, address template) of the first viewer on PATH, or None."""
    for program, template in VIEWERS:
        path = shutil.which(program)
        if path:
            return path, template
    return None


def viewer_command(found, host, port):
    path, template = found
    display = int(port) - 5900
    return [path, template.format(host=host, port=port, display=display)]


def start_viewer(command):
    """Start the viewer; its exit status (the console stays open while it runs)."""
    return subprocess.call(command)
