"""Drafting: rules' findings linked into drafts, worded, tagged against the rubric."""
