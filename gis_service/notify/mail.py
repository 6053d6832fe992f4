"""One e-mail delivery over SMTP: Vietnamese first, English below.

``Message-ID`` is built from the delivery id, so a repeat is recognisable as one (mail
systems and people can drop it); the ``X-Gis-Delivery`` header carries the id itself.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from gis_service.config import NotifySettings
from gis_service.errors import DeliveryFailed
from gis_service.notify import signing
from gis_service.notify.outbox import Claimed

# Per event: (Vietnamese, English) subject lines; {id} is the report's public id.
_SUBJECTS: dict[str, tuple[str, str]] = {
    "routed": ("Phản ánh mới {id} được chuyển đến đơn vị", "New report {id} routed to you"),
    "assigned": ("Phản ánh {id} đã được giao xử lý", "Report {id} assigned"),
    "reopened": ("Phản ánh {id} được mở lại", "Report {id} reopened"),
    "escalated": ("Phản ánh {id} quá hạn, đã chuyển lên cấp trên", "Report {id} escalated"),
    "overdue": ("Phản ánh {id} đã quá hạn xử lý", "Report {id} is overdue"),
}
_FALLBACK = ("Cập nhật phản ánh {id}", "Report {id} updated")


def _what(payload: dict[str, Any]) -> str:
    event = payload["event"]
    return str(event["to_status"] if event["kind"] == "status" else event["kind"])


def subject(payload: dict[str, Any]) -> str:
    """``[PAHT] <Vietnamese> / <English>``.

    >>> subject({"event": {"kind": "overdue", "to_status": None}, "report": {"id": "PA-1"}})
    '[PAHT] Phản ánh PA-1 đã quá hạn xử lý / Report PA-1 is overdue'
    """
    vi, en = _SUBJECTS.get(_what(payload), _FALLBACK)
    report_id = payload["report"]["id"]
    return f"[PAHT] {vi.format(id=report_id)} / {en.format(id=report_id)}"


def body_text(payload: dict[str, Any], delivery_id: str) -> str:
    """The message: the facts in Vietnamese, then the same in English."""
    r, e, a = payload["report"], payload["event"], payload["agency"]
    vi = [
        f"Phản ánh: {r['id']} ({r.get('category_name') or r['category']})",
        f"Sự kiện: {_what(payload)} lúc {e['at']} (UTC)" + (f" — {e['note']}" if e["note"] else ""),
        f"Đơn vị chịu trách nhiệm: {a['name']}",
        f"Trạng thái: {r['status']}; hạn xử lý: {r['due_at']} (UTC)",
        f"Địa bàn: {r.get('commune') or ''}; vị trí: {r['lat']}, {r['lon']}",
        f"Nội dung: {r['description'] or '(không có)'}",
        f"Xem chi tiết (cần khóa API của đơn vị): {r['url']}",
    ]
    en = [
        f"Report: {r['id']} ({r['category']})",
        f"Event: {_what(payload)} at {e['at']} (UTC)" + (f" — {e['note']}" if e["note"] else ""),
        f"Responsible agency: {a['name']}",
        f"Status: {r['status']}; due: {r['due_at']} (UTC)",
        f"Details (with your agency's API key): {r['url']}",
        f"Delivery id: {delivery_id} (repeats of this message carry the same id)",
    ]
    return "\n".join([*vi, "", "---", "", *en, ""])


def message(claimed: Claimed, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = claimed.target
    msg["Subject"] = subject(claimed.payload)
    msg["Message-ID"] = make_msgid(idstring=str(claimed.delivery_id),
                                   domain=sender.rpartition("@")[2] or "localhost")
    msg["Date"] = format_datetime(_event_time(claimed.payload))
    msg[signing.DELIVERY_HEADER] = str(claimed.delivery_id)
    msg.set_content(body_text(claimed.payload, str(claimed.delivery_id)))
    return msg


def _event_time(payload: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(payload["event"]["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def send(claimed: Claimed, settings: NotifySettings) -> None:
    """Hand the message to the SMTP server, or raise :class:`DeliveryFailed` saying why."""
    if not settings.smtp_host:
        raise DeliveryFailed("no SMTP server is configured (GIS_SMTP_HOST)")
    msg = message(claimed, settings.smtp_sender)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(msg)
    except TimeoutError as exc:
        raise DeliveryFailed(f"the SMTP server gave no answer within {settings.timeout_s:g} s") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from exc
