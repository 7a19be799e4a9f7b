"""Files -> Documents: decode, extract text from each format, clean, and find metadata."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .clean import clean_report, guess_title, normalize_whitespace
from .config import Settings
from .errors import BadReport, EmptyCorpus
from .legacy import decode_legacy
from .metadata import find_author, find_dates, find_province, find_source, find_years
from .records import Document
from .vietnamese import nfc

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}
BEIR_CORPUS = "corpus.jsonl"
MIN_TEXT_CHARS = 20


@dataclass
class IngestReport:
    """The outcome of reading a corpus: documents, and the files skipped with their reasons."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[BadReport] = field(default_factory=list)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # file -> (size, mtime_ns)

    def summary(self) -> str:
        lines = [f"{len(self.documents)} report(s) read, {len(self.skipped)} skipped."]
        lines += [f"  skipped {s.file}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def content_id(text: str) -> str:
    """Stable document id: a hash of the normalized, cleaned content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_ODD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ue000-\uf8ff]")
_SPACE = re.compile(r"\s")


def _looks_like_text(text: str) -> bool:
    """Decoded bytes that are really text: few control, replacement or private-use characters, and
    spaces between words (a long run of letters with no space is decoded binary, not a report)."""
    if not text:
        return True
    sample = text[:20000]
    if len(_ODD.findall(sample)) > 0.01 * len(sample):
        return False
    return len(sample) < 200 or len(_SPACE.findall(sample)) >= 0.03 * len(sample)


def decode_bytes(data: bytes, name: str) -> str:
    """Decode report bytes: UTF-8 (with or without BOM) or UTF-16; refuse binary data."""
    text = _decode(data, name)
    if not _looks_like_text(text):
        raise BadReport(name, "binary file (not text)")
    return text


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadReport(name, "starts with a UTF-16 mark but is not valid UTF-16") from None
    else:
        head = data[:4096]
        # UTF-16 without a mark: ASCII-range text has a NUL in every other byte.
        if len(head) >= 4 and head.count(0) >= len(head) // 3:
            even, odd = head[0::2].count(0), head[1::2].count(0)
            encoding = "utf-16-le" if odd > even else "utf-16-be"
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise BadReport(name, "binary file (not text)") from None
        if b"\x00" in head:
            raise BadReport(name, "binary file (not text)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = exc.start
    text, how = decode_legacy(data)
    if text is None:
        raise BadReport(name, f"{how} (first bad UTF-8 byte at {position})")
    return text


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per line, without scripts, styles and menus.

    The page's <h1> (else its <title>) is put first, where the title is looked for.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(
        [
            "script",
            "style",
            "noscript",
            "iframe",
            "svg",
            "nav",
            "header",
            "footer",
            "aside",
            "form",
            "button",
            "template",
        ]
    ):
        tag.decompose()
    heading = soup.find("h1")
    title = (
        heading.get_text(" ", strip=True) if heading else (soup.title.get_text(" ", strip=True) if soup.title else "")
    )
    if heading:
        heading.decompose()
    body = soup.body or soup
    for tag in soup(["title"]):
        tag.decompose()
    # Tables become one line per row, with the column headers when the first row holds them (table_lines).
    for table in body.find_all("table"):
        if table.find_parent("table") is not None:
            continue
        rows = [[cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
        block = soup.new_tag("div")
        block.string = "\n" + "\n".join(table_lines(rows)) + "\n"
        table.replace_with(block)
    text = body.get_text("\n")
    return f"{title}\n\n{text}" if title else text


def pdf_to_text(data: bytes, name: str) -> str:
    """Text of a PDF, page by page; encrypted or malformed PDFs are refused with the reason."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadReport(name, "encrypted PDF (remove the password and add it again)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except BadReport:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadReport(name, f"malformed PDF ({type(exc).__name__})") from None
    for number, text in pdf_table_pages(data).items():
        pages[number] = text
    return "\n\n".join(pages)


def pdf_table_pages(data: bytes) -> dict[int, str]:
    """The text of every PDF page that holds a ruled table, with each table written as its rows (with
    their headers, table_lines) where it stands on the page.

    pypdf reads a table as bare lines of cells ("Trùng Khánh 4 275"), cut from their headers; pdfplumber
    finds the table's grid. pypdf stays the reader for everything else: it is faster and its errors name
    what is wrong with a malformed or encrypted file.
    """
    import pdfplumber

    out: dict[int, str] = {}
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number, page in enumerate(pdf.pages):
                tables = page.find_tables()
                if not tables:
                    continue
                outside = page
                for table in tables:
                    outside = outside.outside_bbox(table.bbox)
                pieces = [(line["top"], line["text"]) for line in outside.extract_text_lines()]
                for table in tables:
                    rows = [[(cell or "").replace("\n", " ").strip() for cell in row] for row in table.extract()]
                    pieces.append((table.bbox[1], "\n".join(table_lines(rows))))
                out[number] = "\n".join(text for _, text in sorted(pieces, key=lambda p: p[0]))
    except Exception:  # noqa: BLE001 - pdfminer raises many kinds; without tables the pypdf text stands
        return {}
    return out


def docx_to_text(data: bytes, name: str) -> str:
    """Paragraphs and table cells of a .docx file."""
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BadReport(name, f"not a valid .docx file ({type(exc).__name__})") from None
    except Exception as exc:  # python-docx raises assorted lxml/opc errors for foreign zips
        raise BadReport(name, f"not a valid .docx file ({type(exc).__name__})") from None
    from docx.table import Table

    parts: list[str] = []
    # Paragraphs and tables in reading order: a table's rows stay where the report puts them.
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            parts += table_lines([[cell.text.strip() for cell in row.cells] for row in block.rows])
        else:
            parts.append(block.text)
    return "\n\n".join(parts)


def table_lines(rows: list[list[str]]) -> list[str]:
    """One line per table row. When the first row is a header (no number in it) and other rows hold
    numbers, each row is written with its headers ("Huyện: Trùng Khánh; Số lớp: 4; Học viên: 275"), so a
    quoted row still says what its figures are; otherwise the cells are joined with " | "."""
    rows = [r for r in rows if any(c for c in r)]
    if not rows:
        return []
    header = rows[0]
    has_number = any(re.search(r"\d", c) for r in rows[1:] for c in r)
    if len(rows) > 1 and has_number and all(c and not re.search(r"\d", c) for c in header):
        out = []
        for row in rows[1:]:
            cells = [f"{h}: {c}" for h, c in zip(header, row) if c]
            out.append("; ".join(cells) + ".")
        return out
    return [" | ".join(r) for r in rows]


def extract_text(path: Path, data: bytes) -> str:
    """Raw text of one file, by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return pdf_to_text(data, path.name)
    if suffix == ".docx":
        return docx_to_text(data, path.name)
    text = decode_bytes(data, path.name)
    if suffix in HTML_SUFFIXES:
        return html_to_text(text)
    return text


def make_document(
    raw_text: str, file: str, *, doc_id: str | None = None, title: str | None = None, clean: bool = True
) -> Document:
    """Clean text and attach metadata. The document keeps the cleaned text its offsets refer to."""
    if clean:
        cleaned = clean_report(raw_text)
        text, published = cleaned.text, cleaned.published
    else:
        text, published = normalize_whitespace(raw_text).strip(), None
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise BadReport(file, "empty after cleaning (no report text found)")
    title = nfc(title).strip() if title else guess_title(text)
    return Document(
        doc_id=doc_id or content_id(text),
        file=file,
        title=title,
        text=text,
        province=find_province(title, text),
        years=find_years(title, text),
        dates=find_dates(text),
        published=published,
        source=find_source(text),
        author=find_author(text),
    )


def read_report(path: Path, settings: Settings, name: str | None = None) -> Document:
    """Read one report file into a Document.

    Args:
        path: the file.
        settings: for the size limit.
        name: the name to record (relative to the corpus); defaults to the file name.

    Raises:
        BadReport: with the reason the file cannot be used.
    """
    name = name or path.name
    _check_suffix(name)
    try:
        size = path.stat().st_size
        _check_size(name, size, settings)
        data = path.read_bytes()
    except OSError as exc:
        raise BadReport(name, f"cannot be read ({exc.strerror})") from None
    return document_from_bytes(name, data, settings)


def _check_suffix(name: str) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BadReport(name, f"unsupported file type '{suffix or '(none)'}' (supported: {supported})")


def _check_size(name: str, size: int, settings: Settings) -> None:
    if size > settings.max_file_mb * 1024 * 1024:
        raise BadReport(name, f"too large ({size / 1e6:.1f} MB; the limit is {settings.max_file_mb:g} MB)")
    if size == 0:
        raise BadReport(name, "empty file")


def document_from_bytes(name: str, data: bytes, settings: Settings) -> Document:
    """A Document from a file's bytes (an upload, or a file read from the corpus).

    Raises:
        BadReport: wrong type, too large, empty, binary, undecodable, malformed.
    """
    _check_suffix(name)
    _check_size(name, len(data), settings)
    return make_document(extract_text(Path(name), data), name)


def read_beir_corpus(path: Path, settings: Settings) -> Iterator[Document | BadReport]:
    """Documents of a BEIR corpus.jsonl: one per line, with its `_id` as the document id."""
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            where = f"{path.name}:{number}"
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, text = str(row["_id"]), str(row["text"])
            except (json.JSONDecodeError, KeyError, TypeError):
                yield BadReport(where, "not a JSON object with '_id' and 'text'")
                continue
            try:
                yield make_document(
                    text, f"{path.name}#{doc_id}", doc_id=doc_id, title=str(row.get("title") or "") or None, clean=False
                )
            except BadReport as bad:
                yield bad


def corpus_files(corpus: Path) -> list[Path]:
    """Report files under the corpus folder (hidden files and READMEs are not reports)."""
    if corpus.is_file():
        return [corpus]
    if not corpus.is_dir():
        raise EmptyCorpus(f"Corpus folder {corpus} does not exist.")
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(corpus).parts)
        and p.name.lower() not in {"readme.md", "license", "license.txt"}
    )


def read_corpus(
    corpus: Path, settings: Settings, known: dict[str, tuple[tuple[int, int], Document]] | None = None
) -> IngestReport:
    """Read every report under `corpus` (or a BEIR corpus.jsonl); bad files are skipped, not fatal.

    Args:
        known: file -> ((size, mtime_ns), Document) from the current index: a file whose size and
            modification time are unchanged is not read again.

    Raises:
        EmptyCorpus: when no usable report is found.
    """
    report = IngestReport()
    seen: dict[str, str] = {}

    def accept(doc: Document) -> None:
        if doc.doc_id in seen:
            report.skipped.append(BadReport(doc.file, f"duplicate of {seen[doc.doc_id]} (same content)"))
            return
        seen[doc.doc_id] = doc.file
        report.documents.append(doc)

    root = corpus if corpus.is_dir() else corpus.parent
    for path in corpus_files(corpus):
        if path.name == BEIR_CORPUS:
            for item in read_beir_corpus(path, settings):
                if isinstance(item, BadReport):
                    report.skipped.append(item)
                else:
                    accept(item)
            continue
        name = path.relative_to(root).as_posix()
        try:
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
            if known and name in known and known[name][0] == stamp:
                accept(known[name][1])
            else:
                accept(read_report(path, settings, name=name))
            report.stats[name] = stamp
        except BadReport as bad:
            report.skipped.append(bad)
        except OSError as exc:
            report.skipped.append(BadReport(name, f"cannot be read ({exc.strerror})"))
    if not report.documents:
        detail = f" ({len(report.skipped)} file(s) skipped)" if report.skipped else ""
        raise EmptyCorpus(f"No usable report in {corpus}{detail}. Add .txt, .md, .html, .pdf or .docx files.")
    return report
