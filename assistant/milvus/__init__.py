"""Retrieval on Milvus: the same chunks, vectors and Vietnamese BM25 tokens as the local index, served by a
Milvus collection (embedded milvus-lite, a standalone server or a cluster). The index folder stays the
document store: report texts, chunks, sentence units, facts and the manifest."""
