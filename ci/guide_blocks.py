"""The command blocks of docs/admin-guide.md, as steps a test can run.

The guide marks every ```sh block with a first-line comment (see its "How to read the
commands"): `# site`, `# install on: TYPES`, `# on: TYPES (note)`, `# copy: TYPE:PATH ->
TYPES:PATH OWNER MODE`, `# alternative: ...`, `# upgrade on: ...`. A block without one of
these is an error, so no command of the guide can silently escape the test that runs it.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "admin-guide.md"

FENCE = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
TYPES = r"[A-Z][A-Z-]*(?:,\s*[A-Z][A-Z-]*)*"
HEADERS = {
    "site": re.compile(r"^# site$"),
    "install": re.compile(r"^# install on: (%s)$" % TYPES),
    "run": re.compile(r"^# on: (%s)(?: \(.*\))?$" % TYPES),
    "copy": re.compile(r"^# copy: ([A-Z-]+):(\S+) -> (%s):(\S+) (\S+) ([0-7]{3,4})$" % TYPES),
    "skip": re.compile(r"^# (?:alternative|upgrade on): .*$"),
}


@dataclass
class Step:
    kind: str                      # site | install | run | copy | skip
    line: int                      # line of the header in the guide (for messages)
    body: str                      # the block without its header line
    header: str = ""               # the header line itself
    types: list = field(default_factory=list)   # node types it concerns
    src: tuple = None              # copy: (type, path)
    dst: str = None                # copy: path
    owner: str = None              # copy: user:group
    mode: str = None               # copy: octal mode


def _types(text):
    return [t.strip() for t in text.split(",")]


def steps(text=None):
    """Every sh block of the guide, in document order."""
    text = GUIDE.read_text() if text is None else text
    out = []
    for m in FENCE.finditer(text):
        header, _, body = m.group(1).partition("\n")
        line = text.count("\n", 0, m.start()) + 2
        for kind, rx in HEADERS.items():
            h = rx.match(header)
            if h:
                break
        else:
            raise ValueError("admin guide line %d: sh block without a known header: %r"
                             % (line, header))
        step = Step(kind, line, body, header)
        if kind in ("install", "run"):
            step.types = _types(h.group(1))
        elif kind == "copy":
            step.src = (h.group(1), h.group(2))
            step.types, step.dst = _types(h.group(3)), h.group(4)
            step.owner, step.mode = h.group(5), h.group(6)
        out.append(step)
    return out


def site_variables(all_steps):
    """Names the `# site` block sets (the facts every deployment chooses)."""
    names = []
    for s in all_steps:
        if s.kind == "site":
            names += re.findall(r"^([a-z_][a-z0-9_]*)=", s.body, re.M)
    return names


def packages(all_steps, node_type):
    """Package names of the `# install on:` blocks of node_type."""
    out = []
    for s in all_steps:
        if s.kind == "install" and node_type in s.types:
            for line in s.body.splitlines():
                words = line.split()
                assert words[:2] == ["apt-get", "install"], \
                    "admin guide line %d: install blocks hold only apt-get install" % s.line
                out += [w for w in words[2:] if not w.startswith("-")]
    return out
