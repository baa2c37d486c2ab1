"""Hugging Face Hub: the models and datasets I pushed, with their new revisions."""
