"""The words a person reads for the cycle's states, phases, roles and events: one vocabulary, keyed by the
enums. The pages, the reports, the command line and the messages take their words from here, and
tests/states/test_labels.py checks that every state, trigger, role and event has its Vietnamese words.
(What a deadline asks of a unit is also said in English, for the messages in English.)"""

from __future__ import annotations

from cchc.models.audit import Event
from cchc.models.calendar import Phase, RecipientRole
from cchc.models.i18n import language
from cchc.models.org import Role
from cchc.notifications.outbox import MessageStatus
from cchc.states.assessment import AssessmentState
from cchc.states.award import AwardState
from cchc.states.commitment import CommitmentState
from cchc.states.contribution import ContributionState
from cchc.states.cycle import CyclePhase
from cchc.states.followup import FollowUpState

A, P, C = AssessmentState, CyclePhase, CommitmentState

STATE_LABELS: dict[str, str] = {
    A.plan: "Lập kế hoạch",
    A.self_assess: "Đang tự đánh giá",
    A.submitted: "Đã báo cáo tự đánh giá",
    A.appraised: "Đã thẩm định",
    A.supplement_requested: "Đang bổ sung, giải trình",
    A.supplemented: "Hoàn tất thẩm định",
    A.published: "Đã công bố",
    A.awarded: "Đã xét khen thưởng",
}
CYCLE_PHASE_LABELS: dict[str, str] = {
    P.planning: "Lập kế hoạch",
    P.self_assessment: "Tự đánh giá, chấm điểm",
    P.appraisal: "Thẩm định",
    P.published: "Đã công bố kết quả",
    P.awards: "Khen thưởng",
    P.remediation: "Khắc phục hạn chế",
    P.closed: "Đã kết thúc",
}
COMMITMENT_LABELS: dict[str, str] = {
    C.drafted: "Đang soạn",
    C.sent: "Chờ ký",
    C.signed: "Đã ký",
    C.declined: "Từ chối ký",
}
FOLLOW_UP_LABELS: dict[str, str] = {
    FollowUpState.required: "Phải gửi",
    FollowUpState.received: "Đã nhận",
    FollowUpState.waived: "Không còn phải gửi",
}
CONTRIBUTION_LABELS: dict[str, str] = {
    ContributionState.assigned: "Đã giao, chờ cung cấp",
    ContributionState.supplied: "Đã cung cấp",
}
AWARD_LABELS: dict[str, str] = {
    AwardState.proposed: "Đề xuất",
    AwardState.approved: "Được phê duyệt",
    AwardState.rejected: "Không được phê duyệt",
}
# A person's roles (the organisation file) and whom a chasing step goes to (a calendar), in one table: a
# role has the same words in both.
ROLE_LABELS: dict[str, str] = {
    Role.head: "thủ trưởng đơn vị",
    Role.deputy: "cấp phó",
    Role.focal: "cán bộ đầu mối",
    Role.coordinator: "bộ phận điều phối",
    Role.appraiser: "cán bộ thẩm định",
    RecipientRole.signer: "người ký cam kết",
    RecipientRole.superior_head: "thủ trưởng cấp trên",
    RecipientRole.authority_leadership: "lãnh đạo cơ quan",
}
# What a deadline asks of a unit, as the messages say it (in Vietnamese and in English).
TASK_PHRASES: dict[str, dict[str, str]] = {
    Phase.plan: {"vi": "gửi kế hoạch CCHC của đơn vị", "en": "send the unit's PAR plan"},
    Phase.submission: {
        "vi": "báo cáo kết quả tự đánh giá, chấm điểm kèm tài liệu kiểm chứng",
        "en": "report its self-assessment with evidence",
    },
    Phase.supplement: {"vi": "bổ sung, giải trình tài liệu kiểm chứng", "en": "send the requested supplement"},
    Phase.awards: {"vi": "đề nghị khen thưởng", "en": "propose awards"},
    Phase.commitment: {"vi": "ký bản cam kết trách nhiệm của người đứng đầu", "en": "sign the head's commitment"},
    Phase.remediation: {"vi": "gửi kế hoạch khắc phục", "en": "send its remediation plan"},
    Phase.breakthrough: {
        "vi": "đăng ký công việc đột phá năm sau",
        "en": "register its breakthrough work for next year",
    },
    Phase.contribution: {
        "vi": "cung cấp số liệu, tài liệu kiểm chứng được giao",
        "en": "supply its assigned evidence",
    },
}
MESSAGE_LABELS: dict[str, str] = {
    MessageStatus.pending: "Chờ gửi",
    MessageStatus.sending: "Đang gửi",
    MessageStatus.sent: "Đã gửi",
    MessageStatus.dead: "Không gửi được",
}
# Every trigger of the state machines, then every other event of the audit trail.
TRIGGER_LABELS: dict[str, str] = {
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
    "begin_appraisal": "Bắt đầu thẩm định",
    "begin_awards": "Bắt đầu xét khen thưởng",
    "begin_remediation": "Bắt đầu khắc phục hạn chế",
    "close": "Kết thúc kỳ đánh giá",
    "send": "Gửi cam kết để ký",
    "sign": "Ký cam kết",
    "decline": "Từ chối ký cam kết",
    "record_paper": "Ghi nhận cam kết ký giấy",
    "revise": "Soạn lại cam kết",
    "waive": "Miễn yêu cầu khắc phục",
    "receive": "Nhận văn bản khắc phục, đột phá",
    "supplied": "Đơn vị cung cấp đã nộp",
    "approve_award": "Phê duyệt đề xuất khen thưởng",
    "reject_award": "Không phê duyệt đề xuất khen thưởng",
    Event.org_load: "Cập nhật tổ chức",
    Event.set_login: "Đặt mật khẩu đăng nhập",
    Event.invitation_sent: "Gửi thư mời, thư đặt lại mật khẩu",
    Event.invitation_used: "Dùng liên kết mời, đặt lại mật khẩu",
    Event.import_results: "Nhập kết quả năm trước",
    Event.open: "Mở kỳ đánh giá",
    Event.draft: "Soạn cam kết",
    Event.plan_received: "Nhận kế hoạch CCHC của đơn vị",
    Event.extend: "Gia hạn",
    Event.self_assessment_import: "Nhập kết quả tự đánh giá",
    Event.appraiser_scores: "Thẩm định viên chấm, nhận xét",
    Event.add_file: "Lưu tệp tài liệu kiểm chứng",
    Event.document_file: "Lưu tệp văn bản của đơn vị",
    Event.remind: "Nhắc hạn",
    Event.escalate: "Đôn đốc quá hạn",
    Event.sweep: "Chạy rà soát hạn",
    Event.adjust: "Cộng điểm thưởng, trừ điểm",
    Event.revoke_adjustment: "Thu hồi điểm thưởng, điểm trừ",
    Event.propose_award: "Đề xuất khen thưởng",
    Event.require: "Yêu cầu khắc phục, đăng ký đột phá",
    Event.assign: "Giao tiêu chí cho đơn vị cung cấp",
    Event.renew_link: "Gửi lại đường dẫn ký cam kết",
    Event.revoke_link: "Thu hồi đường dẫn ký cam kết",
    Event.login_failed: "Đăng nhập không thành công",
    Event.revoke_sessions: "Chấm dứt phiên đăng nhập",
}


def state_word(state: str) -> str:
    """A state as a refusal names it: its Vietnamese label for the people of the cycle ("Đã gửi báo cáo tự
    đánh giá"), the state's own name in English."""
    return STATE_LABELS.get(state, state) if language() == "vi" else state


def trigger_label(trigger: str) -> str:
    return TRIGGER_LABELS.get(trigger, trigger)


def task_phrase(phase: str, lang: str = "vi") -> str:
    """What a deadline asks of a unit, inside a sentence: "gửi kế hoạch CCHC của đơn vị"."""
    return TASK_PHRASES.get(phase, {}).get(lang, phase)


def task_label(phase: str) -> str:
    """What a deadline asks for, as a sentence start: "Gửi kế hoạch CCHC của đơn vị"."""
    text = task_phrase(phase)
    return text[:1].upper() + text[1:]
