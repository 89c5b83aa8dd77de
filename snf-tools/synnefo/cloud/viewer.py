"""A local VNC viewer for `snf-cloud console --viewer`, if one is installed.

Viewers are tried in this order; each gets the address in the form it understands. The
password goes to the viewer in its environment as VNC_PASSWORD, which TigerVNC's viewer
(xtigervncviewer; Debian's usual `vncviewer`) reads: only this user can read a process's
environment, whereas a command line is visible to every user of the machine. Other viewers
ask for it, and snf-cloud prints it for them."""

import os
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


def reads_password_from_environment(command):
    """Whether the viewer is TigerVNC's (`vncviewer` is often a link to it)."""
    return os.path.basename(os.path.realpath(command[0])) == "xtigervncviewer"


def viewer_environment(password=None):
    environment = dict(os.environ)
    if password is not None:
        environment["VNC_PASSWORD"] = password
    return environment


def start_viewer(command, password=None):
    """Start the viewer, ``password`` in its environment; its exit status (the console
    stays open while it runs)."""
    return subprocess.call(command, env=viewer_environment(password))
