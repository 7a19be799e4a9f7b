"""Reading every supported format, and refusing bad files with a reason (never a crash)."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.config import Settings
from assistant.errors import BadReport, EmptyCorpus
from assistant.ingest import content_id, read_corpus, read_report

from .conftest import BAC_GIANG, CORPUS

TEXT = (
    "Báo cáo tổng kết công tác tuyên giáo tỉnh Hà Nam năm 2022.\n\n"
    "Ban Tuyên giáo Tỉnh ủy tổ chức 12 hội nghị, với 1.250 lượt người dự."
)


def test_seed_metadata(seed_documents):
    by_file = {d.file: d for d in seed_documents}
    assert [by_file[f].province for f in sorted(by_file)] == ["Lai Châu", "Trà Vinh", "Hà Nam", "Đắk Lắk", "Bắc Giang"]
    assert by_file[BAC_GIANG].title == "Bắc Giang: Nâng cao chất lượng công tác tuyên giáo"
    assert by_file["003_0dfad15aa9fa3ad3.txt"].title.startswith("Đổi mới, nâng cao chất lượng")
    assert by_file["003_0dfad15aa9fa3ad3.txt"].published == "10/08/2022"
    assert by_file[BAC_GIANG].source == "Báo Môi Trường và Đô Thị"
    assert by_file["000_a3a7b5d9cb3a78e0.txt"].author == "Thanh Sơn"
    assert 2023 in by_file[BAC_GIANG].years
    assert "07/07/2022" in by_file["002_10b3e2ec16de400a.txt"].dates
    for d in seed_documents:
        assert d.doc_id == content_id(d.text)


@pytest.mark.parametrize(
    "encoding,prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("utf-16-le", b""), ("utf-16-be", b"")],
)
def test_encodings(tmp_path, encoding, prefix):
    path = tmp_path / "r.txt"
    path.write_bytes(prefix + TEXT.encode(encoding))
    doc = read_report(path, Settings())
    assert "1.250 lượt người dự" in doc.text and doc.province == "Hà Nam"


def test_nfd_input_is_stored_nfc(tmp_path):
    import unicodedata

    path = tmp_path / "nfd.txt"
    path.write_text(unicodedata.normalize("NFD", TEXT), encoding="utf-8")
    assert read_report(path, Settings()).text == unicodedata.normalize("NFC", read_report(path, Settings()).text)
    assert "Tuyên giáo" in read_report(path, Settings()).text


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"   \n\n  \n", "empty after cleaning"),
        ("latin.txt", "Báo cáo".encode("cp1258") + b"\xff\xfe\xfd" * 10, "not valid UTF-8"),
        ("report.exe", b"MZ", "unsupported file type"),
        ("fake.pdf", b"%PDF-1.4 this is not really a pdf", "malformed PDF"),
        ("fake.docx", b"PK\x03\x04 not a docx", "not a valid .docx"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadReport, match=reason) as info:
        read_report(path, Settings())
    assert info.value.file == name


def test_too_large(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 2_000_000)
    with pytest.raises(BadReport, match="too large"):
        read_report(path, Settings(max_file_mb=1))


def test_html_keeps_text_and_drops_scripts(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p{color:red}</style><script>var x = 'Skip';</script></head>"
        "<body><nav>Trang chủ | Liên hệ</nav><h1>Báo cáo Hà Nam</h1><p>Ban Tuyên giáo tổ chức 12 hội nghị.</p>"
        "<footer>Đang truy cập 57</footer></body></html>",
        encoding="utf-8",
    )
    doc = read_report(path, Settings())
    assert "Ban Tuyên giáo tổ chức 12 hội nghị." in doc.text
    assert "var x" not in doc.text and "color" not in doc.text and "Liên hệ" not in doc.text
    assert doc.title == "Báo cáo Hà Nam"


def test_docx(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Báo cáo công tác tuyên giáo tỉnh Lai Châu")
    document.add_paragraph("Toàn tỉnh đã mở 211 lớp/12.029 học viên đạt 102,9% kế hoạch.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Số lớp"
    table.rows[0].cells[1].text = "211"
    path = tmp_path / "r.docx"
    document.save(path)
    doc = read_report(path, Settings())
    assert "211 lớp/12.029 học viên" in doc.text and "Số lớp | 211" in doc.text
    assert doc.province == "Lai Châu"


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a standard font. Standard fonts have no Vietnamese glyphs, so the text is ASCII."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf(tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(_minimal_pdf("Bao cao tinh Ha Nam: to chuc 12 hoi nghi nam 2022."))
    doc = read_report(path, Settings())
    assert "to chuc 12 hoi nghi" in doc.text
    assert doc.province == "Hà Nam"  # unaccented names still match


def test_corpus_skips_bad_files_and_duplicates_and_goes_on(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / BAC_GIANG, corpus / BAC_GIANG)
    shutil.copy(CORPUS / BAC_GIANG, corpus / "copy-of-bac-giang.txt")
    (corpus / "photo.txt").write_bytes(b"\x00\x01\x02binary" * 50)
    (corpus / "notes.xlsx").write_bytes(b"PK")
    report = read_corpus(corpus, Settings())
    assert [d.file for d in report.documents] == [BAC_GIANG]
    reasons = {s.file: s.reason for s in report.skipped}
    assert reasons["photo.txt"].startswith("binary")
    assert "duplicate of" in reasons["copy-of-bac-giang.txt"]
    assert "unsupported" in reasons["notes.xlsx"]
    assert "3 skipped" in report.summary()


def test_empty_corpus_is_an_error(tmp_path):
    (tmp_path / "c").mkdir()
    with pytest.raises(EmptyCorpus):
        read_corpus(tmp_path / "c", Settings())
    with pytest.raises(EmptyCorpus, match="does not exist"):
        read_corpus(tmp_path / "missing", Settings())


def test_beir_corpus_jsonl(tmp_path):
    corpus = tmp_path / "bench"
    corpus.mkdir()
    rows = [
        {"_id": "p1", "title": "Hà Nội", "text": "Hà Nội là thủ đô của Việt Nam."},
        {"_id": "p2", "title": "", "text": "Sông Hồng chảy qua nhiều tỉnh."},
    ]
    (corpus / "corpus.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8"
    )
    report = read_corpus(corpus, Settings())
    assert [d.doc_id for d in report.documents] == ["p1", "p2"]
    assert report.documents[0].title == "Hà Nội" and report.documents[0].file == "corpus.jsonl#p1"
    assert report.skipped and "corpus.jsonl:3" in report.skipped[0].file


def _to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese editors wrote it: base letters precomposed, tones as combining marks."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in text:
        d = unicodedata.normalize("NFD", ch)
        out.append(
            unicodedata.normalize("NFC", "".join(x for x in d if x not in tones)) + "".join(x for x in d if x in tones)
        )
    return "".join(out).encode("cp1258")


def test_windows_1258_is_converted(tmp_path):
    path = tmp_path / "cu.txt"
    path.write_bytes(_to_cp1258(TEXT))
    doc = read_report(path, Settings())
    assert "1.250 lượt người dự" in doc.text and doc.province == "Hà Nam"


@pytest.mark.parametrize(
    "encoding,sample",
    [
        ("TCVN3", "B¸o c¸o tæng kÕt c«ng t¸c tuyªn gi¸o tØnh Hµ Nam n¨m 2022. Ban Tuyªn gi¸o tæ chøc 12 héi nghÞ."),
        (
            "VNI",
            "Baùo caùo toång keát coâng taùc tuyeân giaùo tænh Haø Nam naêm 2022. "
            "Ban Tuyeân giaùo toå chöùc 12 hoäi nghò.",
        ),
    ],
)
def test_font_encodings_are_refused_with_the_reason(tmp_path, encoding, sample):
    path = tmp_path / "font.txt"
    path.write_bytes(sample.encode("cp1252"))
    with pytest.raises(BadReport, match=f"{encoding}.*convert it to Unicode"):
        read_report(path, Settings())


def test_encrypted_pdf_is_refused(tmp_path):
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(_minimal_pdf("Bao cao mat"))))
    writer.encrypt("mat-khau")
    path = tmp_path / "secret.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(BadReport, match="encrypted PDF"):
        read_report(path, Settings())


def test_docx_that_is_a_zip_of_something_else(tmp_path):
    import zipfile

    path = tmp_path / "photos.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("photo.jpg", b"\xff\xd8\xff" + bytes(100))
    with pytest.raises(BadReport, match="not a valid .docx"):
        read_report(path, Settings())


def test_html_made_of_scripts_and_styles_only(tmp_path):
    path = tmp_path / "app.html"
    path.write_text(
        "<html><head><style>body{}</style></head><body><script>"
        + "var a=1;" * 500
        + "</script><noscript>Bật JavaScript</noscript></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(BadReport, match="empty after cleaning"):
        read_report(path, Settings())
