"""The Gradio web chat: a thin face over the assistant library."""
