"""snf-progress-monitor (synnefo.ganeti.progress): an OS provider's JSON lines ->
ganeti-create-progress messages, spooled in order while the broker refuses (conftest's
``config``)."""

import io
import logging
import sys

import pytest

from synnefo.common.daemon import StopRequest
from synnefo.ganeti.progress import monitor, progress_message

PROGRESS_KEY = "ganeti.snf.event.progress"


def test_progress_lines():
    msg = progress_message('{"type": "image-copy-progress", "progress": 42.7}', "snf-1")
    assert msg["type"] == "ganeti-create-progress" and msg["progress"] == 42
    assert progress_message('{"type": "image-info", "messages": ["x"]}', "snf-1") is None
    assert progress_message("garbage", "snf-1") is None
    assert progress_message('{"type": "progress", "progress": 250}', "snf-1")["progress"] == 100


@pytest.mark.parametrize("line, progress", [
    ('{"type": "copy-progress", "rprogress": 7.9}', 7),   # snf-image's older field
    ('{"type": "progress", "progress": -3}', 0),
    ('{"type": "progress", "progress": "55"}', 55),
    ('{"type": "progress", "progress": null}', None),
    ('{"type": "progress"}', None),
    ('[1, 2]', None),
    ('{"type": "progress", "progress": [1]}', None),
])
def test_progress_values_are_clamped_whole_percentages(line, progress):
    msg = progress_message(line, "snf-1")
    if progress is None:
        assert msg is None
    else:
        assert msg["progress"] == progress


def test_a_message_names_the_instance_and_carries_a_ganeti_time():
    msg = progress_message('{"type": "progress", "progress": 1}', "snf-9")
    assert msg["instance"] == "snf-9"
    seconds, micros = msg["event_time"]
    assert isinstance(seconds, int) and isinstance(micros, int) and 0 <= micros < 10**6


def feed(monkeypatch, text):
    stdin = io.StringIO(text)
    monkeypatch.setattr(sys, "stdin", stdin)
    return stdin


def test_every_progress_line_is_spooled_in_order_and_the_rest_logged(config, spooled,
                                                                     monkeypatch, caplog):
    stdin = feed(monkeypatch, '{"type": "image-copy-progress", "progress": 10}\n'
                              'snf-image: copying\n'
                              '{"type": "image-info", "messages": ["resizing"]}\n'
                              '\n'
                              '{"type": "image-copy-progress", "progress": 99.9}\n')
    caplog.set_level(logging.INFO, logger="snf-progress-monitor")
    assert monitor("snf-4", config, StopRequest()) == 0
    assert [(key, body["instance"], body["progress"]) for key, body in spooled()] == [
        (PROGRESS_KEY, "snf-4", 10), (PROGRESS_KEY, "snf-4", 99)]
    assert "snf-4: snf-image: copying" in caplog.text and "resizing" in caplog.text
    assert stdin.read() == ""  # read to the end: the provider never blocks on a full pipe


def test_an_instance_of_another_deployment_is_read_but_not_reported(config, spooled,
                                                                    monkeypatch):
    stdin = feed(monkeypatch, '{"type": "progress", "progress": 50}\n' * 3)
    assert monitor("other-4", config, StopRequest()) == 0
    assert spooled() == [] and stdin.read() == ""
