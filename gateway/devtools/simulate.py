"""A feature phone in the terminal: dial the USSD service, read each screen, type an answer.

`Phone` is also the test harness's phone: `Phone(client).dial().press("1")…` reads like the field.
It posts exactly the form Africa's Talking posts, with the whole history in `text`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

USSD_PATH = "/webhooks/at/ussd"
SMS_PATH = "/webhooks/at/sms"


@dataclass
class Phone:
    client: httpx.Client
    number: str = "+919800000001"
    network_code: str = "40410"
    service_code: str = "*384*1098#"
    token: str | None = None
    session_id: str = ""
    inputs: list[str] = field(default_factory=list)
    screen: str = ""

    @property
    def text(self) -> str:
        return "*".join(self.inputs)

    @property
    def ended(self) -> bool:
        return self.screen.startswith("END")

    def _post(self) -> str:
        params = {"token": self.token} if self.token else None
        response = self.client.post(
            USSD_PATH, params=params,
            data={"sessionId": self.session_id, "phoneNumber": self.number, "networkCode": self.network_code,
                  "serviceCode": self.service_code, "text": self.text},
        )
        self.screen = response.text
        return self.screen

    def dial(self) -> Phone:
        self.session_id = "ATUid_" + secrets.token_hex(16)
        self.inputs = []
        self._post()
        return self

    def press(self, *answers: str) -> Phone:
        for answer in answers:
            if self.ended:
                raise AssertionError(f"session already ended on: {self.screen!r}")
            self.inputs.append(answer)
            self._post()
        return self

    def retry(self) -> str:
        """Send the last hop again, as AT does when our answer did not reach it."""
        return self._post()


def run(url: str, number: str, token: str | None, read: Callable[[str], str] = input,
        write: Callable[[str], None] = print) -> None:
    """The interactive loop of `cpgw simulate`."""
    with httpx.Client(base_url=url, timeout=15) as client:
        phone = Phone(client, number=number, token=token)
        write(f"Dialling {phone.service_code} from {number} (type 'q' to hang up)")
        phone.dial()
        while True:
            write("\n" + _frame(phone.screen))
            if phone.ended:
                again = read("Dial again? [y/N] ").strip().lower()
                if again != "y":
                    return
                phone.dial()
                continue
            answer = read("> ")
            if answer.strip().lower() in ("q", "quit", "exit"):
                write("Hung up. Dial again within 2 hours to continue the report.")
                return
            phone.press(answer.strip())


def send_sms(url: str, number: str, text: str, token: str | None) -> str:
    """Post an incoming SMS as Africa's Talking would; the gateway's answer is a bare 200."""
    form = {"id": f"sim-{secrets.token_hex(8)}", "from": number, "to": "1098", "text": text,
            "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    params = {"token": token} if token else None
    with httpx.Client(base_url=url, timeout=15) as client:
        response = client.post(SMS_PATH, data=form, params=params)
    if response.status_code != 200:
        return f"Gateway answered {response.status_code}: {response.text}"
    return "Sent. The gateway took it; its reply leaves by SMS (the console transport prints it in the gateway's terminal)."


def _frame(screen: str) -> str:
    kind, _, body = screen.partition(" ")
    lines = body.splitlines() or [""]
    width = max(24, *(len(line) for line in lines))
    top = f"┌{'─' * (width + 2)}┐"
    bottom = f"└{'─' * (width + 2)}┘ {'(waiting for you)' if kind == 'CON' else '(session ended)'}"
    return "\n".join([top, *(f"│ {line.ljust(width)} │" for line in lines), bottom])
