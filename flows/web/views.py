"""What several pages share: the years of the cycles, the words of events and mail states, table sizes."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from cchc.models.db import get_engine, read_session
from cchc.models.tables import Cycle

SHOWN = 200  # rows of a long table shown on a page (its export has them all)


OUTBOX_LABELS = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "dead": "Không gửi được"}


TRIGGER_LABELS = {
    "begin_self_assessment": "Bắt đầu tự đánh giá",
    "submit": "Báo cáo tự đánh giá",
    "withdraw": "Rút lại báo cáo",
    "appraise": "Thẩm định",
    "reappraise": "Thẩm định lại",
    "request_supplement": "Yêu cầu bổ sung, giải trình",
    "submit_supplement": "Nộp bổ sung",
    "skip_supplement": "Không cần bổ sung",
    "close_supplement": "Đóng yêu cầu bổ sung",
    "publish": "Công bố kết quả",
    "reopen": "Mở lại kết quả",
    "award": "Khen thưởng",
    "remind": "Nhắc hạn",
    "escalate": "Đôn đốc quá hạn",
    "sweep": "Chạy rà soát hạn",
    "sign": "Ký cam kết",
    "send": "Gửi cam kết để ký",
    "decline": "Từ chối ký cam kết",
    "record_paper": "Ghi nhận cam kết ký giấy",
    "revise": "Soạn lại cam kết",
    "draft": "Soạn cam kết",
    "adjust": "Cộng điểm thưởng, trừ điểm",
    "revoke_adjustment": "Thu hồi điểm thưởng, điểm trừ",
    "extend": "Gia hạn",
    "open": "Mở kỳ đánh giá",
    "begin_appraisal": "Bắt đầu thẩm định",
    "begin_awards": "Bắt đầu xét khen thưởng",
    "begin_remediation": "Bắt đầu khắc phục hạn chế",
    "close": "Kết thúc kỳ đánh giá",
    "self_assessment_import": "Nhập kết quả tự đánh giá",
    "plan_received": "Nhận kế hoạch CCHC của đơn vị",
    "assign": "Giao tiêu chí cho đơn vị cung cấp",
    "supplied": "Đơn vị cung cấp đã nộp",
    "add_file": "Lưu tệp tài liệu kiểm chứng",
    "propose_award": "Đề xuất khen thưởng",
    "decide_award": "Quyết định khen thưởng",
    "require": "Yêu cầu khắc phục, đăng ký đột phá",
    "waive": "Miễn yêu cầu khắc phục",
    "receive": "Nhận văn bản khắc phục, đột phá",
    "import_results": "Nhập kết quả năm trước",
    "org_load": "Cập nhật tổ chức",
    "set_login": "Đặt mật khẩu đăng nhập",
}


def trigger_label(trigger: str) -> str:
    return TRIGGER_LABELS.get(trigger, trigger)


def cycle_years(database_url: str | None) -> list[int]:
    """The years of the cycles run here, newest first (for the year menu)."""
    with read_session(get_engine(database_url)) as session:
        return list(
            session.execute(
                select(col(Cycle.year)).where(col(Cycle.imported).is_(False)).order_by(col(Cycle.year).desc())
            ).scalars()
        )
