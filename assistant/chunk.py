"""Documents -> Chunks with exact character offsets into the cleaned text."""

from __future__ import annotations

from .config import Settings
from .records import Chunk, Document

# Paragraphs, lines, sentence ends, semicolons, then commas and words as a last resort.
# "12.029" and "102,9%" are safe: every separator but the last two requires a following space.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "… ", "; ", ": ", ", ", " ", ""]


def _splitter(settings: Settings):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # keep_separator="end" keeps ". " with the sentence it ends instead of gluing it to the next
    # chunk; add_start_index gives the offsets.
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=SEPARATORS,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_documents(documents: list[Document], settings: Settings) -> list[Chunk]:
    """Split documents into chunks; every chunk satisfies `doc.text[start:end] == chunk.text`."""
    splitter = _splitter(settings)
    chunks: list[Chunk] = []
    for doc in documents:
        pieces = splitter.create_documents([doc.text])
        for i, piece in enumerate(pieces):
            start = int(piece.metadata["start_index"])
            text = piece.page_content
            if start < 0 or doc.text[start : start + len(text)] != text:
                # The splitter could not place a repeated piece: find it after the previous chunk.
                start = doc.text.find(text, chunks[-1].start if chunks and chunks[-1].doc_id == doc.doc_id else 0)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}:{i}",
                    doc_id=doc.doc_id,
                    file=doc.file,
                    title=doc.title,
                    start=start,
                    end=start + len(text),
                    text=text,
                    province=doc.province,
                    years=doc.years,
                    date=doc.date,
                )
            )
    return chunks
