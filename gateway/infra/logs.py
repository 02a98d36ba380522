"""Structured (JSON) logs that never carry a phone number or what a report says.

Code logs events and ids, never form bodies. As a second line of defence the formatter masks
anything shaped like a phone number in every record, including those of libraries: in the message
and its arguments, and in every extra field, whatever its type.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import overload

# Between the digit groups of a number as people write it: spaces (no-break and thin too), dots,
# hyphens, dashes and the minus sign, one or two of them, and brackets around a group.
_SEP = r"[ \u00a0\u2009\u202f.\-\u2010-\u2015\u2212]"
_JOIN = rf"(?:\)?{_SEP}{{1,2}}\(?|\)\(?|\()"
# `\d` is any script's decimal digit: Devanagari ०-९, Bengali ০-৯, Ol Chiki and full-width ones too.
# International: "+" (or "(+91)") and groups of any size. National: groups of three digits or more,
# so that dates and times ("2026-12-01 10:30") never join up into ten digits.
_NUMBER = re.compile(rf"(?:\(\+\d+\)\d*|\+\d+)(?:{_JOIN}\d+)*"
                     rf"|(?<!\d)(?:\(\d{{3,}}\)\d*|\d{{3,}})(?:{_JOIN}\d{{3,}})*")
_GROUP = re.compile(r"\d+")
# A webhook token in a URL (Africa's Talking can only send it as `?token=`): never in a log line.
_TOKEN = re.compile(r"(?i)((?:^|[?&;\s])token=)[^&\s\"']+")
_MASK = "[phone]"
_MAX_DEPTH = 16  # deeper (or a structure that holds itself) is logged as its masked text
# uvicorn adds `color_message` (the event with terminal colour codes): never wanted in a log line.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}


def _mask(match: re.Match[str]) -> str:
    text = match.group()
    groups = [len(group) for group in _GROUP.findall(text)]
    if text.startswith(("+", "(+")):
        phone = sum(groups) >= 6
    elif len(groups) == 1:
        # 10 digits or more: case references (9 digits, menus.refs) and LGD codes (up to 7) stay
        # readable; past 15 it is no phone number (a long id, a time in nanoseconds).
        phone = 10 <= groups[0] <= 15
    else:
        # Written in groups: ten digits or more, one group of at least four ("98765 43210",
        # "987-654-3210"), which an IPv4 address (192.168.100.200) never has. More than 15 digits
        # may be two numbers side by side: masked too.
        phone = sum(groups) >= 10 and max(groups) >= 4
    return _MASK if phone else text


@overload
def redact(value: str) -> str: ...


@overload
def redact(value: object) -> object: ...


def redact(value: object) -> object:
    """`value` with every phone number in it masked, looking inside lists, tuples, sets and dicts.

    >>> redact({"to": [919876543210, "+91 98765 43210"], "ref": "123456789", "took_s": 9876543210.0})
    {'to': ['[phone]', '[phone]'], 'ref': '123456789', 'took_s': 9876543210.0}

    An int of 10 to 15 digits is a number someone logged without quoting it; a float never is.
    """
    return _redact(value, _MAX_DEPTH)


def _redact(value: object, depth: int) -> object:
    if isinstance(value, str):
        return _NUMBER.sub(_mask, _TOKEN.sub(r"\1[token]", value))
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _MASK if 10**9 <= abs(value) < 10**15 else value
    if isinstance(value, (dict, tuple, list, set, frozenset)) and depth == 0:
        return _NUMBER.sub(_mask, str(value))
    if isinstance(value, dict):
        return {_redact(key, depth - 1): _redact(item, depth - 1) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_redact(item, depth - 1) for item in value)
    if isinstance(value, (list, set, frozenset)):
        return [_redact(item, depth - 1) for item in value]
    return value


def _event(record: logging.LogRecord) -> str:
    """The message, its arguments masked before they are put in (a number glued to other digits
    by the format would escape the mask of the text) and the text masked after (for "%d", which
    refuses a masked argument). A format that fails is shown with its arguments, masked: logging's
    own error report would print them as they are."""
    message = str(record.msg)
    if not record.args:
        return redact(message)
    for args in (redact(record.args), record.args):
        try:
            return redact(message % args)
        except (TypeError, ValueError, KeyError):
            continue
    return redact(f"{message} {redact(record.args)!r}")


def _json_default(value: object) -> str:
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: for log collectors (the default when stderr is not a terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        head = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        try:
            return self.render(self._payload(record, head))
        except Exception as exc:  # noqa: BLE001 — logging's report of the failure would print the arguments raw
            return self.render({**head, "event": "unprintable log record", "error": type(exc).__name__})

    @staticmethod
    def render(payload: dict[str, object]) -> str:
        return json.dumps(payload, ensure_ascii=False, default=_json_default)

    @staticmethod
    def _payload(record: logging.LogRecord, head: dict[str, str]) -> dict[str, object]:
        payload: dict[str, object] = {**head, "event": _event(record)}
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = redact(value)
        if record.exc_info and record.exc_info[0] is not None:
            # The type only, never the message nor the traceback (`exc_text`, `stack_info`): they
            # may quote a report, which no mask can recognise.
            payload["error"] = record.exc_info[0].__name__
        return payload


class TextFormatter(JsonFormatter):
    """`05:12:09 info  cpgw.sms  sms received sms_id=… outcome=acknowledged`: for a person at a
    terminal. The same fields and the same masking as the JSON lines, only laid out to be read."""

    @staticmethod
    def render(payload: dict[str, object]) -> str:
        at, level, logger, event = (payload.pop(key, "") for key in ("at", "level", "logger", "event"))
        clock = str(at)[11:19]
        fields = " ".join(f"{key}={_json_default(value) if not isinstance(value, str | int | float | bool | None) else value}"
                          for key, value in payload.items())
        return f"{clock} {str(level):<7} {str(logger):<14} {event}" + (f"  {fields}" if fields else "")


def configure(level: str = "INFO", style: str = "auto") -> None:
    """Logs to stderr: `text` for a terminal, `json` for a collector; `auto` picks by whether
    stderr is a terminal (`CPGW_LOG_FORMAT`, or `--log-format` on `serve` and `worker`)."""
    text = style == "text" or (style == "auto" and sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints query strings (webhook tokens); our middleware logs requests instead.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
