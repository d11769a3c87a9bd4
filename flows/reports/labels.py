"""Words of the reports and the dashboard: states, phases, commitments, roles, what a deadline asks for."""

from __future__ import annotations

from cchc.notifications.labels import phase_label

# Words of the reports. (The state, phase and role names would sit well in notifications/labels.py.)
STATE_LABELS = {
    "plan": "Lập kế hoạch",
    "self_assess": "Đang tự đánh giá",
    "submitted": "Đã báo cáo tự đánh giá",
    "appraised": "Đã thẩm định",
    "supplement_requested": "Đang bổ sung, giải trình",
    "supplemented": "Hoàn tất thẩm định",
    "published": "Đã công bố",
    "awarded": "Đã xét khen thưởng",
}


CYCLE_PHASE_LABELS = {
    "planning": "Lập kế hoạch",
    "self_assessment": "Tự đánh giá, chấm điểm",
    "appraisal": "Thẩm định",
    "published": "Đã công bố kết quả",
    "awards": "Khen thưởng",
    "remediation": "Khắc phục hạn chế",
    "closed": "Đã kết thúc",
}


COMMITMENT_LABELS = {"drafted": "Đang soạn", "sent": "Chờ ký", "signed": "Đã ký", "declined": "Từ chối ký"}


ROLE_LABELS = {
    "focal": "cán bộ đầu mối",
    "head": "thủ trưởng đơn vị",
    "deputy": "cấp phó",
    "signer": "người ký cam kết",
    "superior_head": "thủ trưởng cấp trên",
    "coordinator": "bộ phận điều phối",
    "authority_leadership": "lãnh đạo cơ quan",
}


TASK_LABELS = {"awards": "đề nghị khen thưởng"}  # deadlines no message names (phase_label has the others)


def task_label(phase: str) -> str:
    """What a deadline asks for, as a sentence start: "Gửi kế hoạch CCHC của đơn vị"."""
    text = TASK_LABELS.get(phase) or phase_label(phase, "vi")
    return text[:1].upper() + text[1:]
