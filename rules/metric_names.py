"""What a metric name says about itself: which way is better, and what family it belongs to."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping

# Judges and scorers of LLM evaluations (MLflow 3's mlflow.genai.evaluate logs each scorer's
# aggregates as "<scorer>/mean", "<scorer>/p90" ...): pass rates, higher is better, but for these.
GENAI_UP = ("correctness", "relevance", "groundedness", "grounded", "safety", "guidelines", "guideline",
            "adherence", "fluency", "completeness", "sufficiency", "faithfulness", "equivalence", "helpfulness",
            "coherence", "summarization", "retention")
GENAI_DOWN = ("frustration", "toxicity", "hallucination", "harmfulness")
GENAI_KEY_ORDER = ("correctness", "relevance_to_query", "retrieval_groundedness", "guidelines", "safety")
AGGREGATES = ("mean", "min", "max", "median", "variance", "p90")
UP_TOKENS = ("auc", "accuracy", "acc", "ndcg", "f1", "precision", "recall", "map", "mrr", "r2", "bleu",
             "rouge", "hit", "hitrate", "ctr", "iou", "dice", "top1", "top5", "score", "throughput", "qps",
             "rps", "tps", "speedup", *GENAI_UP)
DOWN_TOKENS = ("loss", "rmse", "mse", "mae", "mape", "smape", "error", "err", "wer", "cer", "perplexity",
               "ppl", "logloss", "latency", "p50", "p90", "p95", "p99", "ms", "cost", "usd", "dollars",
               "memory", "mem", "mb", "gb", "gpu_hours", "duration", "seconds", "tokens", *GENAI_DOWN)
LATENCY_TOKENS = ("latency", "p50", "p90", "p95", "p99", "ms", "inference_time", "duration")
THROUGHPUT_TOKENS = ("throughput", "qps", "rps", "tps", "samples_per_sec", "speedup")
COST_TOKENS = ("cost", "usd", "dollars", "price", "spend", "gpu_hours")
MEMORY_TOKENS = ("memory", "mem", "rss", "vram", "mb", "gb")
EVAL_PREFIXES = ("val", "valid", "validation", "eval", "test", "holdout", "dev")
TRAIN_PREFIXES = ("train", "training")
NOT_KEY_TOKENS = ("time", "seconds", "duration", "epoch", "step", "lr", "learning")


def tokens_of(name: str) -> list[str]:
    return list(split_tokens(name))


@lru_cache(maxsize=8192)
def split_tokens(name: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[^a-z0-9]+", name.lower()) if t)


@lru_cache(maxsize=32768)  # asked for every metric of every run group by several rules
def _has(name: str, vocabulary: tuple[str, ...]) -> bool:
    toks = split_tokens(name)
    joined = "_".join(toks)
    for word in vocabulary:
        if "_" in word:
            if word in joined:
                return True
        elif any(t == word or (len(word) >= 3 and t.startswith(word) and word not in ("ms", "mb", "gb")) for t in toks):
            return True
    return False


def split_aggregate(name: str) -> tuple[str, str | None]:
    """("correctness", "mean") for "correctness/mean"; (name, None) for a plain metric."""
    base, sep, tail = name.rpartition("/")
    return (base, tail) if sep and base and tail in AGGREGATES else (name, None)


def metric_family(name: str) -> str:
    """'latency', 'throughput', 'cost', 'memory' or 'quality'."""
    name = split_aggregate(name)[0]
    if _has(name, THROUGHPUT_TOKENS):
        return "throughput"
    if _has(name, LATENCY_TOKENS):
        return "latency"
    if _has(name, COST_TOKENS):
        return "cost"
    if _has(name, MEMORY_TOKENS):
        return "memory"
    return "quality"


def metric_direction(name: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """'up' when bigger is better, 'down' when smaller is better, None when unknown."""
    if overrides and name in overrides:
        return overrides[name]
    name = split_aggregate(name)[0]
    if _has(name, THROUGHPUT_TOKENS):
        return "up"
    if _has(name, DOWN_TOKENS):
        return "down"
    if _has(name, UP_TOKENS):
        return "up"
    return None


def metric_unit(name: str) -> str:
    family = metric_family(name)
    toks = tokens_of(split_aggregate(name)[0])
    if family == "latency":
        return "s" if "seconds" in toks or toks[-1:] == ["s"] else "ms"
    if family == "cost":
        return "USD" if any(t in ("usd", "cost", "dollars", "spend", "price") for t in toks) else ""
    if family == "memory":
        return "GB" if "gb" in toks else "MB"
    if family == "throughput":
        return next((t for t in toks if t in ("rps", "qps", "tps")), "")
    return ""


def is_eval_metric(name: str) -> bool:
    toks = tokens_of(name)
    return bool(toks) and toks[0] in EVAL_PREFIXES


def is_train_metric(name: str) -> bool:
    toks = tokens_of(name)
    return bool(toks) and toks[0] in TRAIN_PREFIXES


def is_quality_metric(name: str, overrides: Mapping[str, str] | None = None) -> bool:
    """A model-quality metric with a known direction that can carry a lift (a mean, not a p90 or a max)."""
    base, aggregate = split_aggregate(name)
    if aggregate not in (None, "mean") or metric_family(name) != "quality":
        return False
    if metric_direction(name, overrides) is None:
        return False
    return not any(t in NOT_KEY_TOKENS for t in tokens_of(base))


def rank_key_metrics(names, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Quality metrics with a known direction, best candidates first: evaluation before
    training, higher-is-better before losses, then by name."""
    ranked = []
    for name in names:
        if not is_quality_metric(name, overrides):
            continue
        base = split_aggregate(name)[0]
        genai = GENAI_KEY_ORDER.index(base) if base in GENAI_KEY_ORDER else len(GENAI_KEY_ORDER)
        ranked.append(((0 if is_eval_metric(name) else 2 if is_train_metric(name) else 1,
                        0 if metric_direction(name, overrides) == "up" else 1, genai, name), name))
    return [n for _, n in sorted(ranked)]
