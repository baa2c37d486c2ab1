"""Names of other work found in free text: Jira keys, MLflow run ids, model versions, W&B runs.

Rules record them in a finding's facts["references"]; linking joins findings through them."""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

JIRA_KEY = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]{1,9}-[1-9][0-9]{0,6})(?![\w-])")
# Upper-case prefixes that look like Jira keys but name standards and versions.
NOT_JIRA = frozenset({"UTF", "SHA", "ISO", "RFC", "PEP", "GPT", "CVE", "HTTP", "TLS", "SSL", "AES", "RSA", "MD",
                      "UTC", "GMT", "COVID", "IPV", "CUDA", "SM", "EC", "PR", "ES", "FP", "INT", "BF", "TF"})
RUN_ID = re.compile(r"(?<![0-9a-fA-F])([0-9a-f]{32})(?![0-9a-fA-F])")
MODEL_URI = re.compile(r"models:/([A-Za-z0-9][\w.-]*)/(\d+)")
MODEL_VERSION = re.compile(r"(?<![\w/-])([A-Za-z][\w.-]*[A-Za-z0-9])\s+(?:v|version\s+)(\d+)\b", re.IGNORECASE)
WANDB_RUN = re.compile(r"https?://[\w.-]*wandb[\w.-]*(?::\d+)?/[\w.-]+/[\w.-]+/runs/([\w-]+)")


def find_references(*texts: str | None) -> dict[str, list]:
    """Jira keys, MLflow run ids, (model, version) pairs and W&B run ids named in some text."""
    text = "\n".join(t for t in texts if t)
    jira = [k for k in JIRA_KEY.findall(text) if k.split("-", 1)[0] not in NOT_JIRA]
    models = [[name, version] for name, version in MODEL_URI.findall(text)]
    models += [[name, version] for name, version in MODEL_VERSION.findall(text)]
    return {"jira": unique(jira), "runs": unique(RUN_ID.findall(text)),
            "models": unique_pairs(models), "wandb": unique(WANDB_RUN.findall(text))}


def has_references(refs: Mapping[str, Any] | None) -> bool:
    return bool(refs) and any(refs.get(k) for k in ("jira", "runs", "models", "wandb"))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def unique_pairs(pairs: Iterable[list]) -> list[list]:
    seen, out = set(), []
    for name, version in pairs:
        key = (name.lower(), str(version))
        if key not in seen:
            seen.add(key)
            out.append([name, str(version)])
    return out
