"""Logs never carry a phone number, however it was written and whatever field it was put in."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateway.infra.logs import JsonFormatter, redact


@pytest.mark.parametrize("text", [
    "9876543210",
    "919876543210",
    "+919876543210",
    "+91 98765 43210",
    "98765-43210",
    "098765 43210",
    "(+91) 9876543210",
    "(+91)9876543210",
    "+91-98765-43210",
    "+91.98765.43210",
    "987-654-3210",
    "(0651) 234 5678",                  # a landline with its STD code
    "(0651)2345678",
    "+91\u00a098765\u00a043210",        # no-break spaces, as word processors paste them
    "98765\u201343210",                 # an en dash
    "+९१ ९८७६५ ४३२१०",                  # Devanagari digits
    "९८७६५-४३२१०",
    "(+৯১) ৯৮৭৬৫৪৩২১০",                 # Bengali digits
    "০৯৮৭৬৫ ৪৩২১০",
    "+447911123456",
    "+44 20 7946 0958",
])
def test_phone_numbers_however_written_are_masked(text):
    assert redact(f"sms to {text} failed") == "sms to [phone] failed"


@pytest.mark.parametrize("text", [
    "case 123456789 acknowledged",      # a reference: 8 digits and a check digit (menus.refs)
    "village 9001111 block 90011 district 9001",
    "at 2026-12-01 10:30:00+05:30",
    "at 2026-12-01T10:30:00.123456",
    "from 192.168.100.200",
    "took 1234.5678 ms",
    "+5 retries",
    "refs 123456789, 987654320",
    "trace 17330000001234567890",       # past 15 digits: an id, not a phone number
])
def test_what_is_not_a_phone_number_stays_readable(text):
    assert redact(text) == text


@pytest.mark.parametrize(("value", "expected"), [
    (919876543210, "[phone]"),
    (9876543210, "[phone]"),
    (-9876543210, "[phone]"),
    (123456789, 123456789),                 # a reference held as an int
    (1234567890123456, 1234567890123456),
    (9876543210.0, 9876543210.0),           # floats are measurements
    (True, True),
    (None, None),
    ([9876543210, "+91 98765 43210", 7], ["[phone]", "[phone]", 7]),
    ((9876543210, "ok"), ("[phone]", "ok")),
    ({9876543210}, ["[phone]"]),
    ({"to": {"numbers": [(919876543210,)]}, "ref": "123456789"},
     {"to": {"numbers": [("[phone]",)]}, "ref": "123456789"}),
    ({919876543210: "x"}, {"[phone]": "x"}),
])
def test_numbers_in_fields_of_any_type_are_masked(value, expected):
    assert redact(value) == expected


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cpgw.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, out
    logger.removeHandler(handler)
    logger.propagate = True


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_formatter_masks_int_and_nested_fields(log):
    logger, out = log
    logger.info("sms sent", extra={"to": 919876543210, "ref": "123456789", "village": 9001111,
                                   "batch": {"numbers": ["+91 98765 43210", 918765432109], "took_s": 0.25}})
    [line] = _lines(out)
    assert line["to"] == "[phone]" and line["ref"] == "123456789" and line["village"] == 9001111
    assert line["batch"] == {"numbers": ["[phone]", "[phone]"], "took_s": 0.25}
    assert "98765" not in out.getvalue() and "8765432109" not in out.getvalue()


def test_the_formatter_masks_message_arguments_and_objects(log):
    logger, out = log

    class Contact:
        def __str__(self) -> str:
            return "Contact(+91-98765-43210)"

    logger.info("retry %s of %d for %s", 2, 9876543210, "098765 43210")
    logger.info("glued %s%s", "9876543210", "1234567")       # 17 digits once put together
    logger.info("to %(to)s", {"to": 919876543210})
    logger.info("contact", extra={"contact": Contact()})
    events = _lines(out)
    assert [e["event"] for e in events[:3]] == ["retry 2 of [phone] for [phone]", "glued [phone]1234567", "to [phone]"]
    assert events[3]["contact"] == "Contact([phone])"
    assert "98765" not in out.getvalue()


def test_a_message_that_cannot_be_formatted_is_shown_masked():
    # Formatted by any other handler, this record raises, and logging's report of the error
    # prints the arguments as they are.
    record = logging.LogRecord("cpgw.test_logs", logging.INFO, __file__, 1, "bad format %d", ("+91 98765 43210",), None)
    assert json.loads(JsonFormatter().format(record))["event"] == "bad format %d ('[phone]',)"


def test_an_exception_is_logged_by_its_type_alone(log):
    logger, out = log
    try:
        raise ValueError("no route for +91 98765 43210: 'my neighbour beats his son'")
    except ValueError:
        logger.exception("routing failed for %s", "+91 98765 43210", stack_info=True)
    [line] = _lines(out)
    assert line["event"] == "routing failed for [phone]" and line["error"] == "ValueError"
    assert "98765" not in out.getvalue() and "neighbour" not in out.getvalue()


def test_a_structure_that_holds_itself_is_logged_as_masked_text(log):
    logger, out = log
    loop: list[object] = [9876543210]
    loop.append(loop)
    logger.info("loop", extra={"loop": loop})
    [line] = _lines(out)
    assert "[phone]" in json.dumps(line["loop"]) and "9876543210" not in out.getvalue()


def test_a_record_that_cannot_be_printed_still_gives_a_line_without_its_arguments():
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("+91 98765 43210")

    record = logging.LogRecord("cpgw.test_logs", logging.INFO, __file__, 1, "sms", None, None)
    record.to = Broken()
    line = json.loads(JsonFormatter().format(record))
    assert (line["event"], line["error"]) == ("unprintable log record", "RuntimeError")


def test_a_webhook_token_in_a_url_never_reaches_a_log():
    from gateway.infra.logs import redact

    assert redact("POST /webhooks/at/ussd?token=s3cret-Value_0123456789abcdef&x=1") == "POST /webhooks/at/ussd?token=[token]&x=1"
    assert redact({"url": "http://gw/webhooks/at/sms?TOKEN=abc"}) == {"url": "http://gw/webhooks/at/sms?TOKEN=[token]"}
    assert redact("a retoken=keep") == "a retoken=keep"


def test_a_terminal_gets_readable_lines_and_a_collector_json(monkeypatch):
    import io
    import json
    import logging
    import sys

    from gateway.infra import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for tty, style in ((True, "auto"), (False, "auto"), (False, "text"), (True, "json")):
            stream = io.StringIO()
            stream.isatty = lambda tty=tty: tty  # type: ignore[method-assign]
            monkeypatch.setattr(sys, "stderr", stream)
            logs.configure("INFO", style)
            logging.getLogger("cpgw.test").info("sms received", extra={"outcome": "ack", "to": "+91 98765 43210"})
            line = stream.getvalue().strip()
            assert "98765" not in line
            if style == "text" or (style == "auto" and tty):
                assert " info " in line and "cpgw.test" in line and "outcome=ack" in line and "to=[phone]" in line
            else:
                assert json.loads(line)["outcome"] == "ack"
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
