"""Copy progress for the progress monitor: JSON lines on its stdin.

PROGRESS_MONITOR (e.g. snf-progress-monitor from snf-ganeti-tools) is started with
the instance's environment; it turns {"type": "image-copy-progress", "progress": P}
into ganeti-create-progress messages that reach the API's `progress`.
"""

import json
import logging
import shlex
import subprocess
import time

log = logging.getLogger(__name__)


class Progress:
    def __init__(self, command, total, interval=1.0, env=None):
        self.total = max(int(total), 1)
        self.interval = interval
        self.sent = -1
        self.last = 0.0
        self.proc = None
        if command:
            try:
                self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                             stdout=subprocess.DEVNULL, env=env)
            except OSError as e:
                # Progress is a nicety; the deployment goes on without it.
                log.warning("progress monitor %r did not start: %s", command, e)

    def _send(self, message):
        if self.proc is None:
            return
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except OSError as e:
            log.warning("progress monitor went away: %s", e)
            self.proc = None

    def update(self, done, force=False):
        """``done`` bytes of ``total`` copied; sends at most once per interval, in order."""
        percent = min(100, int(done * 100 // self.total))
        now = time.monotonic()
        if percent <= self.sent or (not force and now - self.last < self.interval
                                    and percent < 100):
            return
        self.sent, self.last = percent, now
        self._send({"type": "image-copy-progress", "progress": percent,
                    "bytes": int(done), "total": self.total})

    def message(self, kind, text):
        self._send({"type": kind, "messages": [text]})

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
