"""Words the messages need in each language: what a phase asks of a unit."""

from __future__ import annotations

PHASE_LABELS: dict[str, dict[str, str]] = {
    "plan": {"vi": "gửi kế hoạch CCHC của đơn vị", "en": "send the unit's PAR plan"},
    "submission": {
        "vi": "báo cáo kết quả tự đánh giá, chấm điểm kèm tài liệu kiểm chứng",
        "en": "report its self-assessment with evidence",
    },
    "supplement": {"vi": "bổ sung, giải trình tài liệu kiểm chứng", "en": "send the requested supplement"},
    "commitment": {"vi": "ký bản cam kết trách nhiệm của người đứng đầu", "en": "sign the head's commitment"},
    "remediation": {"vi": "gửi kế hoạch khắc phục", "en": "send its remediation plan"},
    "breakthrough": {
        "vi": "đăng ký công việc đột phá năm sau",
        "en": "register its breakthrough work for next year",
    },
    "contribution": {"vi": "cung cấp số liệu, tài liệu kiểm chứng được giao", "en": "supply its assigned evidence"},
}


def phase_label(phase: str, lang: str) -> str:
    return PHASE_LABELS.get(phase, {}).get(lang, phase)
