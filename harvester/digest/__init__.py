"""The weekly digest: pending drafts to confirm and impact check-ins, sent over SMTP."""
