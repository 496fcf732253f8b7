"""Demo dossiers for the sandbox, placed relative to the moment it starts.

Each dossier's code carries its receipt date (``YYMMDD``), so the codes change with the day the
sandbox is seeded; `demo_rows` (or the codes `seed_demo` returns) gives them. Verification
digits (LAST4) are fixed:

=============================================  ==============  ==========  =============
procedure                                      agency          situation   LAST4
=============================================  ==============  ==========  =============
Cấp giấy chứng nhận quyền sử dụng đất lần đầu  nn-mt           late        4821 or 5566
Đăng ký thành lập doanh nghiệp                 tai-chinh       on time     7315 or 8246
Cấp phiếu lý lịch tư pháp                      tu-phap         done (10)   2468 or 6013
Cấp giấy phép xây dựng nhà ở riêng lẻ          xay-dung        apology     9052 or 0771
=============================================  ==============  ==========  =============

* late: due 3 working days before now, still "Đang xử lý" (the card says "trễ hạn 3 ngày làm
  việc");
* on time: received 1 working day ago, due in 2 working days;
* done: result returned 2 working days before its due date;
* apology: due in 1 working day, with an apology slip moving the date 5 working days later.

In `DEMO_DOSSIERS` the date fields hold working days relative to now (negative: in the past) and
``code`` holds ``{received}`` where the receipt date goes; `demo_rows` turns them into import rows.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.config import Config
from bot.domain.dossiers import (
    DATE_FIELDS,
    AgencyIndex,
    ImportReport,
    SourceRow,
    end_of_working_day,
    validate_row,
)
from bot.dossier_import import portal_status_names, store_and_notify
from storage.db import Database

log = logging.getLogger(__name__)

DEMO_DOSSIERS: tuple[dict[str, Any], ...] = (
    {
        "code": "000.00.21.H20-{received}-0137",
        "procedure": "Cấp giấy chứng nhận quyền sử dụng đất lần đầu",
        "agency": "nn-mt",
        "applicant_name": "Nguyễn Văn Hùng",
        "applicant_id": "075088004821",
        "phone": "0912 345 566",
        "officer": "Trần Thị Mai (Văn phòng Đăng ký đất đai)",
        "received_at": -33,
        "due_at": -3,
        "status": 4,
        "completed_at": None,
        "new_due_at": None,
        "apology_reason": "",
    },
    {
        "code": "000.00.13.H20-{received}-0412",
        "procedure": "Đăng ký thành lập doanh nghiệp",
        "agency": "tai-chinh",
        "applicant_name": "Lê Minh Tuấn (Công ty TNHH Thương mại Dịch vụ Phú An)",
        "applicant_id": "079090007315",
        "phone": "0903 118 246",
        "officer": "Phạm Quốc Bảo (Phòng Đăng ký kinh doanh)",
        "received_at": -1,
        "due_at": 2,
        "status": 4,
        "completed_at": None,
        "new_due_at": None,
        "apology_reason": "",
    },
    {
        "code": "000.00.15.H20-{received}-0089",
        "procedure": "Cấp phiếu lý lịch tư pháp",
        "agency": "tu-phap",
        "applicant_name": "Võ Thị Thu Hà",
        "applicant_id": "075195002468",
        "phone": "0987 654 013",
        "officer": "Đỗ Văn Long (Phòng Hành chính tư pháp)",
        "received_at": -12,
        "due_at": -2,
        "status": 10,
        "completed_at": -4,
        "new_due_at": None,
        "apology_reason": "",
    },
    {
        "code": "H20.17-{received}-0021",
        "procedure": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "agency": "xay-dung",
        "applicant_name": "Hoàng Đức Minh",
        "applicant_id": "075085009052",
        "phone": "0938 270 771",
        "officer": "Ngô Thanh Sơn (Phòng Cấp phép xây dựng)",
        "received_at": -14,
        "due_at": 1,
        "status": 4,
        "completed_at": None,
        "new_due_at": 6,
        "apology_reason": (
            "Cần xác minh thêm chỉ giới xây dựng với UBND phường; cơ quan xin lỗi ông/bà vì "
            "sự chậm trễ này."
        ),
    },
)


def demo_rows(*, config: Config, now: datetime) -> list[dict[str, str]]:
    """Return the demo dossiers as import rows, their dates placed relative to `now`."""
    calendar = config.work_calendar
    rows: list[dict[str, str]] = []
    for template in DEMO_DOSSIERS:
        row: dict[str, str] = {}
        for name, value in template.items():
            if name in DATE_FIELDS:
                row[name] = (
                    "" if value is None else calendar.add_working_days(now, value).isoformat()
                )
            else:
                row[name] = str(value)
        received = datetime.fromisoformat(row["received_at"]).astimezone(calendar.tz)
        row["code"] = row["code"].format(received=received.strftime("%y%m%d"))
        rows.append(row)
    return rows


async def seed_demo(*, db: Database, config: Config, now: datetime) -> list[str]:
    """Upsert the demo dossiers (dates relative to `now`); return their codes."""
    agencies = AgencyIndex.of(config)
    end_of_day = end_of_working_day(config)
    status_names = portal_status_names()
    valid: list[dict[str, Any]] = []
    for number, row in enumerate(demo_rows(config=config, now=now), start=1):
        values, reason = validate_row(
            SourceRow(number, dict(row)),
            agencies=agencies,
            end_of_day=end_of_day,
            status_names=status_names,
        )
        if values is None:
            # A directory without the default agencies: the sandbox runs without that sample.
            log.warning("demo dossier %s skipped: %s", row["code"], reason)
            continue
        valid.append(values)
    if valid:
        async with db.transaction() as session:
            await store_and_notify(
                session=session, rows=valid, config=config, now=now, report=ImportReport()
            )
    return [values["code"] for values in valid]
