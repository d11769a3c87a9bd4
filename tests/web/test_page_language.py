"""The pages speak the dashboard's language: their templates are written in English and read through the
message catalogue (models/i18n.py), Vietnamese for a province's dashboard, English by setting. A Vietnamese
page holds no English text of the templates, and what people type still comes out escaped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from conftest import Clock, csrf_of, give_login, log_in
from factories import APPRAISER, COORDINATOR, at, open_2021
from starlette.testclient import TestClient

from cchc.flows.web.app import create_app
from cchc.flows.web.settings import DashboardSettings
from cchc.models.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
FOCAL = "cmg.focal"
UNIT = "/cycles/2021/units/CAH-CMG"
GRID = f"{UNIT}/self-assessment"
PLACEHOLDER_OR_TAG = re.compile(r"%\(\w+\)[sd]|<[^>]*>")

# What each page says, in each language (the templates' words; the facts around them come from the data)
WORDING = {
    "vi": {
        "login": [
            '<html lang="vi">',
            "<title>Đăng nhập — Chỉ số CCHC</title>",
            '<label for="username">Mã cán bộ hoặc thư điện tử</label>',
            '<a id="login-forgot" href="/forgot">Quên mật khẩu?</a>',
            "Chưa có mật khẩu? Đề nghị bộ phận điều phối gửi thư mời (trang Tài khoản, hoặc lệnh "
            "<code>cchc login invite --person MÃ</code>).",
        ],
        "tasks": [
            "<title>Việc của tôi — Chỉ số CCHC</title>",
            "<h1>Việc của tôi — kỳ đánh giá 2021</h1>",
            "<th>Việc</th><th>Đơn vị</th><th>Hạn</th><th>Còn / quá hạn</th><th>Nhắc, đôn đốc</th>",
            ">Làm việc này</a>",
            r"còn \d+ ngày",
        ],
        "grid": [
            "<h1>Báo cáo tự đánh giá: Công an huyện Cư M&#39;gar (CAH-CMG)</h1>",
            'Đã chấm <strong id="filled">0</strong>/<span id="total">91</span> tiêu chí thành phần.',
            ">Gửi báo cáo tự đánh giá</button>",
            'aria-label="Điểm tự chấm 1.1.1"',
            'placeholder="Giải trình (khi thiếu tài liệu)"',
            "Chưa thể: [^<]*còn 91 tiêu chí thành phần chưa có điểm tự chấm",  # the guard's refusal, in Vietnamese too
        ],
        "audit": [
            "<h1>Nhật ký kiểm toán</h1>",
            r"<p id=\"audit-count\">\d+ sự kiện; trang 1/1\.</p>",
            "<h2>Kiểm tra chuỗi băm</h2>",
            '<option value="">(tất cả)</option>',
            "Tải về: <a",
        ],
    },
    "en": {
        "login": [
            '<html lang="en">',
            "<title>Log in — PAR Index</title>",
            '<label for="username">Officer code or email</label>',
            '<a id="login-forgot" href="/forgot">Forgot your password?</a>',
            "No password yet? Ask the coordination office to send you an invitation (the Accounts page, or the "
            "command <code>cchc login invite --person CODE</code>).",
        ],
        "tasks": [
            "<title>My tasks — PAR Index</title>",
            "<h1>My tasks — assessment cycle 2021</h1>",
            "<th>Task</th><th>Unit</th><th>Due</th><th>Left / overdue</th><th>Reminders, chasers</th>",
            ">Do this task</a>",
            r"\d+ days left",
        ],
        "grid": [
            "<h1>Self-assessment report: Công an huyện Cư M&#39;gar (CAH-CMG)</h1>",
            'Scored <strong id="filled">0</strong>/<span id="total">91</span> component criteria.',
            ">Send the self-assessment report</button>",
            'aria-label="Self-score 1.1.1"',
            'placeholder="Explanation (when evidence is missing)"',
            "Not yet possible: [^<]*have no self-score",
        ],
        "audit": [
            "<h1>Audit log</h1>",
            r"<p id=\"audit-count\">\d+ events; page 1/1\.</p>",
            "<h2>Check the hash chain</h2>",
            '<option value="">(all)</option>',
            "Download: <a",
        ],
    },
}


def template_messages() -> dict[str, str]:
    """Every msgid of the page templates (singular and plural, as `make messages` extracts them) and its
    Vietnamese words."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    vi = translations("vi")
    found: dict[str, str] = {}
    for filename, _, message, _, _ in extract_from_dir(ROOT / "flows", method_map, options_map):
        if not filename.startswith("web/templates/"):
            continue
        if isinstance(message, tuple):
            for msgid in message:
                found[msgid] = vi.ngettext(message[0], message[1], 1)
        else:
            found[message] = vi.gettext(message)
    return found


class _Words(HTMLParser):
    """What a person reads on a page: its text, and the labels and hints of its fields."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in attrs if k in ("aria-label", "placeholder", "title") and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def words_of(page: str) -> str:
    parser = _Words()
    parser.feed(page)
    return "\n".join(parser.parts)


def english_left(page: str, messages: dict[str, str]) -> set[str]:
    """The English phrases of the templates a page shows (each phrase between placeholders and tags; one that
    reads the same in Vietnamese is not counted)."""
    text = words_of(page)
    left: set[str] = set()
    for msgid, vietnamese in messages.items():
        assert vietnamese != msgid, f"no Vietnamese words for {msgid!r}"
        for phrase in PLACEHOLDER_OR_TAG.split(msgid):
            phrase = phrase.strip(" .,:;()=—…/")
            if len(re.findall(r"[A-Za-z]", phrase)) < 2 or phrase in vietnamese:
                continue
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
                left.add(phrase)
    return left


def assert_says(page: str, expected: list[str]) -> None:
    for wording in expected:
        assert wording in page or re.search(wording, page), wording


@pytest.fixture
def open_cycle(db_url: str) -> str:
    """The 2021 cycle in self-assessment; the unit's focal officer, an appraiser and a coordinator can log in."""
    open_2021(db_url)
    give_login(db_url, FOCAL, APPRAISER, COORDINATOR)
    return db_url


@contextmanager
def app_speaking(db_url: str, lang: str) -> Iterator[Callable[[str | None], TestClient]]:
    """The dashboard with `language=lang`; browsers on it, logged in as someone (or no one)."""
    app = create_app(db_url, settings=DashboardSettings(language=lang), clock=Clock(at("10/08/2021")))
    clients: list[TestClient] = []

    def browser(who: str | None) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        if who:
            assert log_in(client, who).status_code == 303
        return client

    try:
        yield browser
    finally:
        for client in clients:
            client.close()
        app.state.dashboard.jobs.shutdown()


def pages(browser: Callable[[str | None], TestClient]) -> dict[str, str]:
    """The login page, the focal officer's tasks and grid, the coordinator's audit search of the unit."""
    focal, coordinator = browser(FOCAL), browser(COORDINATOR)
    shown = {
        "login": browser(None).get("/login"),
        "tasks": focal.get("/"),
        "grid": focal.get(GRID),
        "audit": coordinator.get("/audit", params={"unit": "CAH-CMG"}),
    }
    for name, page in shown.items():
        assert page.status_code == 200, (name, page.text)
    return {name: page.text for name, page in shown.items()}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_pages_read_in_the_language_of_the_setting(open_cycle: str, lang: str) -> None:
    with app_speaking(open_cycle, lang) as browser:
        shown = pages(browser)
    for name, page in shown.items():
        assert_says(page, WORDING[lang][name])
        other = WORDING["en" if lang == "vi" else "vi"][name]
        assert [w for w in other if w in page] == [], name  # and not the other language's


def test_a_vietnamese_page_holds_no_english_text_of_the_templates(open_cycle: str) -> None:
    messages = template_messages()
    assert len(messages) > 150
    with app_speaking(open_cycle, "vi") as browser:
        coordinator = browser(COORDINATOR)
        shown = {
            **pages(browser),
            "forgot": browser(None).get("/forgot").text,
            "expired": browser(None).get("/login?expired=1").text,
            "overview": coordinator.get("/cycles/2021").text,
            "unit": coordinator.get(UNIT).text,
            "verify": coordinator.get("/audit/verify").text,
            "people": coordinator.get("/people").text,
            "appraisal": browser(APPRAISER).get(f"{UNIT}/appraisal").text,
            "refused": browser(FOCAL).get("/cycles/2021/units/PV11").text,
            "missing": coordinator.get("/no-such-page").text,
        }
    for name, page in shown.items():
        assert english_left(page, messages) == set(), name
    # the same look-up finds the templates' English on an English page (it would see a phrase left over)
    with app_speaking(open_cycle, "en") as browser:
        english = pages(browser)
    assert {"Log in", "Officer code or email", "Forgot your password?"} <= english_left(english["login"], messages)
    assert {"My tasks", "Do this task"} <= english_left(english["tasks"], messages)


@pytest.mark.parametrize(
    ("lang", "note", "explanation"), [("vi", "Ghi chú", "Giải trình"), ("en", "Note", "Explanation")]
)
def test_markup_typed_by_a_user_comes_out_escaped_in_either_language(
    open_cycle: str, lang: str, note: str, explanation: str
) -> None:
    typed = {"note": "<script>alert(1)</script> & <b>đậm</b>", "explanation": '"><img src=x onerror=alert(2)>'}
    with app_speaking(open_cycle, lang) as browser:
        focal = browser(FOCAL)
        page = focal.get(GRID)
        code = re.findall(r'<tr id="row-([0-9.]+)"', page.text)[0]
        saved = focal.post(
            GRID,
            data={
                "csrf_token": csrf_of(page),
                "save": code,
                f"{code}.score": "0,5",
                f"{code}.evidence": "91/KH-CAH ngày 30/6/2021",
                f"{code}.note": typed["note"],
                f"{code}.explanation": typed["explanation"],
            },
        )
        assert saved.status_code == 303
        grid = focal.get(GRID).text
        appraisal = browser(APPRAISER).get(f"{UNIT}/appraisal").text  # the unit's words, through _("…%(note)s")
    for shown in (grid, appraisal):
        assert "<script>alert(1)</script>" not in shown and "<b>đậm</b>" not in shown and "<img src=x" not in shown
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;" in shown
    assert (
        f'<span class="muted">{note}: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;</span>'
        in appraisal
    )
    assert f'<span class="explanation">{explanation}: &#34;&gt;&lt;img src=x onerror=alert(2)&gt;</span>' in appraisal
