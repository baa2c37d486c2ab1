"""Logged keys as a reader writes them: val_auc -> validation AUC, p99_latency_ms -> p99 latency.

The raw key stays in a draft's metrics; this is only how a statement names it. A team that
spells a metric its own way sets `[wording] metric_names = { val_auc = "holdout AUC" }`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from harvester.rules.metric_names import split_aggregate

PREFIXES = {"val": "validation", "valid": "validation", "validation": "validation", "eval": "evaluation",
            "evaluation": "evaluation", "test": "test", "holdout": "holdout", "dev": "dev",
            "train": "training", "training": "training"}
WORDS = {"auc": "AUC", "roc": "ROC", "ndcg": "NDCG", "f1": "F1", "map": "MAP", "mrr": "MRR", "rmse": "RMSE",
         "mse": "MSE", "mae": "MAE", "mape": "MAPE", "smape": "sMAPE", "r2": "R\u00b2", "bleu": "BLEU",
         "rouge": "ROUGE", "wer": "WER", "cer": "CER", "iou": "IoU", "ctr": "CTR", "gpu": "GPU", "cpu": "CPU",
         "acc": "accuracy", "mem": "memory", "ppl": "perplexity", "logloss": "log loss", "lr": "learning rate",
         "num": "number of", "dim": "dimension", "qps": "QPS", "rps": "RPS", "tps": "TPS", "llm": "LLM",
         "top1": "top-1", "top5": "top-5", "bs": "batch size", "kl": "KL", "ece": "ECE", "pr": "PR",
         "hitrate": "hit rate", "nll": "NLL", "mb": "MB", "gb": "GB", "ms": "ms"}
# Unit tokens a name ends with; the unit is shown with the number, so the name drops it.
UNIT_SUFFIXES = ("ms", "s", "sec", "secs", "seconds", "usd", "dollars", "gb", "mb", "rps", "qps", "tps", "pct")


def split_tokens(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.replace("@", "_at_"))
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def words_of(tokens: list[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "at" and out and i + 1 < len(tokens) and (tokens[i + 1].isdigit() or tokens[i + 1] == "k"):
            out[-1] = f"{out[-1]}@{tokens[i + 1]}"
            i += 2
            continue
        out.append(WORDS.get(tok, tok))
        i += 1
    return " ".join(out)


def label_metric(name: str) -> str:
    """The built-in plain name of a logged metric key."""
    base, aggregate = split_aggregate(name)
    tokens = split_tokens(base)
    if not tokens:
        return name
    prefix = PREFIXES.get(tokens[0]) if len(tokens) > 1 else None
    rest = tokens[1:] if prefix else tokens
    while len(rest) > 1 and rest[-1] in UNIT_SUFFIXES:
        rest = rest[:-1]
    text = words_of(rest)
    text = f"{prefix} {text}" if prefix else text
    return f"{text} ({aggregate})" if aggregate and aggregate != "mean" else text


def label_param(name: str) -> str:
    """batch_size -> batch size, learning_rate -> learning rate, num_negatives -> number of negatives."""
    tokens = split_tokens(name)
    return words_of(tokens) if tokens else name


@dataclass(frozen=True)
class MetricNames:
    """Plain names with the team's own spellings first."""

    overrides: Mapping[str, str] = field(default_factory=dict)

    def label(self, name: str) -> str:
        return self.overrides.get(name) or label_metric(name)

    def param(self, name: str) -> str:
        return self.overrides.get(name) or label_param(name)
