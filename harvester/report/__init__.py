"""The review report: confirmed journal entries of a period, organised by the rubric."""
