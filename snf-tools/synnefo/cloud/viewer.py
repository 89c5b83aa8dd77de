"""A local VNC viewer for `snf-cloud console --viewer`, if one is installed.

Viewers are tried in this order; each gets the address in the form it understands. Two of
them get the console's password too, where no other user of the machine can read it (a
command line is visible to every user):

* TigerVNC's viewer (xtigervncviewer; Debian's usual `vncviewer`) reads it from its
  environment, VNC_PASSWORD: only this user can read a process's environment.
* remote-viewer (virt-viewer) reads host, port and password from a connection file, a ".vv"
  file (remote-viewer(1), "CONNECTION FILE"), named as its only argument. The file is
  written 0600 in a private directory (mkdtemp: 0700) and asks remote-viewer to delete it
  once read (delete-this-file); the directory is removed when the viewer exits, or fails
  to start, whatever remote-viewer did with it.

Other viewers ask for it, and snf-cloud prints it for them."""

import contextlib
import os
import shutil
import subprocess
import tempfile

CONNECTION_FILE = "{connection_file}"

# program -> how it names host and port
VIEWERS = [
    ("xtigervncviewer", "{host}::{port}"),
    ("vncviewer", "{host}::{port}"),
    ("xtightvncviewer", "{host}::{port}"),
    ("remote-viewer", CONNECTION_FILE),
    ("gvncviewer", "{host}:{display}"),
]


def find_viewer():
    """(program path, address template) of the first viewer on PATH, or None."""
    for program, template in VIEWERS:
        path = shutil.which(program)
        if path:
            return path, template
    return None


def viewer_command(found, host, port, connection_file=None):
    path, template = found
    display = int(port) - 5900
    return [path, template.format(host=host, port=port, display=display,
                                  connection_file=connection_file)]


def reads_password_from_environment(command):
    """Whether the viewer is TigerVNC's (`vncviewer` is often a link to it)."""
    return os.path.basename(os.path.realpath(command[0])) == "xtigervncviewer"


def reads_connection_file(program):
    """Whether the viewer is remote-viewer, which takes a connection file, not an address."""
    return os.path.basename(program) == "remote-viewer"


def gets_password(command):
    """Whether snf-cloud hands the viewer the password (the others ask the user for it)."""
    return reads_password_from_environment(command) or reads_connection_file(command[0])


def keyfile_string(value):
    """``value`` as a string of GLib's key-file format, which remote-viewer reads: a line
    break would end it (and could add keys), a backslash starts an escape, leading blanks
    are dropped."""
    value = str(value)
    if "\0" in value:
        raise ValueError("a connection file cannot hold a NUL character")
    value = (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
             .replace("\t", "\\t"))
    return "\\s" + value[1:] if value.startswith(" ") else value


def connection_file_text(host, port, password=None, title=None):
    """remote-viewer's connection file for a VNC console; without a password it asks."""
    keys = [("type", "vnc"), ("host", host), ("port", int(port))]
    if password is not None:
        keys.append(("password", password))
    if title is not None:
        keys.append(("title", title))
    keys.append(("delete-this-file", 1))
    return "[virt-viewer]\n" + "".join("%s=%s\n" % (key, keyfile_string(value))
                                       for key, value in keys)


@contextlib.contextmanager
def connection_file(host, port, password=None, title=None):
    """Path of the connection file, 0600 in a new 0700 directory, for the ``with`` block;
    then the directory goes, with the file if remote-viewer left it (it did not start,
    failed before reading it, or ignored delete-this-file)."""
    directory = tempfile.mkdtemp(prefix="snf-cloud-console-")
    try:
        path = os.path.join(directory, "console.vv")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8") as f:
            f.write(connection_file_text(host, port, password, title))
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def prepared_command(found, host, port, password=None, title=None):
    """The command that starts ``found`` on host:port, valid for the ``with`` block (a
    connection file lives as long)."""
    if not reads_connection_file(found[0]):
        yield viewer_command(found, host, port)
        return
    with connection_file(host, port, password, title) as path:
        yield viewer_command(found, host, port, path)


def viewer_environment(password=None):
    environment = dict(os.environ)
    if password is not None:
        environment["VNC_PASSWORD"] = password
    return environment


def start_viewer(command, password=None):
    """Start the viewer, ``password`` in its environment; its exit status (the console
    stays open while it runs)."""
    return subprocess.call(command, env=viewer_environment(password))
