"""Documents people print and keep: a head's responsibility commitment, as HTML and as Word (DOCX).

Pure and deterministic: the same data give the same bytes (the DOCX is re-zipped with fixed times), so the
SHA-256 of a document identifies exactly what was signed.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from cchc.notifications.render import environment

TITLES = {
    "authority": "Giám đốc",
    "department": "Trưởng",
    "district": "Trưởng",
    "team": "Đội trưởng",
    "commune": "Trưởng",
    "unit": "Thủ trưởng",
}
FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class CommitmentDoc:
    year: int
    version: int
    unit_code: str
    unit_name: str
    parent_unit_name: str
    signer_name: str
    signer_title: str
    counterpart_name: str
    counterpart_title: str
    plan_ref_text: str
    fields_scope: str
    fields: tuple[tuple[str, str, str], ...]  # (code, name, max points as written)
    targets: tuple[str, ...]
    deadlines: tuple[tuple[str, str], ...]  # (what, local date)


def commitment_html(doc: CommitmentDoc) -> bytes:
    return environment().get_template("documents/commitment.html").render(doc=doc).encode("utf-8")


def _deterministic_zip(data: bytes) -> bytes:
    """The same archive with fixed entry times and order, so that equal content gives equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(source.namelist(), key=lambda n: (n != "[Content_Types].xml", n)):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name))
    return out.getvalue()


def commitment_docx(doc: CommitmentDoc) -> bytes:
    """The commitment as a Word document (what Vietnamese offices print, sign and keep)."""
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    properties = document.core_properties
    properties.title = f"Bản cam kết trách nhiệm — {doc.unit_name} — {doc.year}"
    properties.author = doc.parent_unit_name
    properties.last_modified_by = doc.parent_unit_name
    properties.created = properties.modified = datetime(doc.year, 1, 1)
    properties.revision = doc.version
    properties.comments = f"{doc.unit_code} v{doc.version}"

    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.text = f"{doc.parent_unit_name.upper()}\n{doc.unit_name.upper()}"
    right.text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    for cell in (left, right):
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in paragraph.runs:
                run.bold = True

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("BẢN CAM KẾT TRÁCH NHIỆM CỦA NGƯỜI ĐỨNG ĐẦU")
    run.bold = True
    run.font.size = Pt(15)
    sub = document.add_paragraph(f"trong công tác cải cách hành chính năm {doc.year}")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub.runs[0].italic = True

    counterpart = doc.counterpart_name + (f", {doc.counterpart_title}" if doc.counterpart_title else "")
    document.add_paragraph(
        f"Thực hiện {doc.plan_ref_text}, tôi: {doc.signer_name}, {doc.signer_title} {doc.unit_name}, "
        f"cam kết với đồng chí {counterpart}, thực hiện các nội dung sau:"
    )
    document.add_paragraph(
        f"1. Trực tiếp chỉ đạo, chịu trách nhiệm về công tác cải cách hành chính của {doc.unit_name}; bảo đảm "
        "hoàn thành đầy đủ, đúng tiến độ các nhiệm vụ được giao."
    )
    document.add_paragraph(f"2. Chịu trách nhiệm về kết quả các lĩnh vực {doc.fields_scope}:")
    if doc.fields:
        table = document.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("Lĩnh vực", "Nội dung", "Điểm tối đa"), strict=True):
            cell.text = text
        for code, name, points in doc.fields:
            row = table.add_row().cells
            row[0].text, row[1].text, row[2].text = code, name, points
    document.add_paragraph("3. Phấn đấu đạt các chỉ tiêu:")
    for target in doc.targets:
        document.add_paragraph(f"- {target}")
    document.add_paragraph("4. Bảo đảm các mốc thời gian:")
    for label, when in doc.deadlines:
        document.add_paragraph(f"- {label}: trước {when}")
    document.add_paragraph(
        '5. Nếu đơn vị có Chỉ số CCHC xếp loại "Hoàn thành nhiệm vụ" hoặc "Chưa hoàn thành nhiệm vụ", người '
        "đứng đầu không được xem xét thi đua hoặc bị hạ một bậc thi đua."
    )
    signatures = document.add_table(rows=1, cols=2)
    giver, signer = signatures.rows[0].cells
    giver.text = f"NGƯỜI NHẬN CAM KẾT\n\n\n\n{doc.counterpart_name}"
    signer.text = f"NGƯỜI CAM KẾT\n\n\n\n{doc.signer_name}"
    for cell in (giver, signer):
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(f"Bản cam kết {doc.unit_code} · năm {doc.year} · phiên bản {doc.version}")
    buffer = io.BytesIO()
    document.save(buffer)
    return _deterministic_zip(buffer.getvalue())
