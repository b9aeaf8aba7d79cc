"""A model card: what a released model is for, what it was trained on, how it measures, where it fails.

"Model Cards for Model Reporting" (Mitchell et al., 2019) proposed shipping every model with a short
document of fixed sections: model details, intended use (and uses it is not for), factors (the
groups and conditions that change how it behaves), metrics, evaluation and training data, ethical
considerations, caveats and recommendations. ``ModelCard`` holds those sections and renders them as
Markdown; the lesson fills it from a zoo recipe and the figures the chapter measured, so every
number on the card is one that was computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ModelCard:
    name: str
    details: dict[str, str]                      # architecture, parameters, training steps and time ...
    intended_use: list[str]
    out_of_scope: list[str]
    training_data: str
    evaluation_data: str
    metrics: dict[str, str]                      # metric (with its n) -> value (with its interval where there is one)
    factors: dict[str, str] = field(default_factory=dict)          # e.g. the bias audit, per group
    ethical_considerations: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("intended_use", "out_of_scope", "metrics"):
            if not getattr(self, name):
                raise ValueError(f"a model card needs its {name.replace('_', ' ')} section filled in")

    def to_markdown(self) -> str:
        def table(rows: dict[str, str], left: str, right: str) -> list[str]:
            return [f"| {left} | {right} |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows.items()]

        def bullets(items: list[str]) -> list[str]:
            return [f"- {item}" for item in items] or ["- (none recorded)"]

        lines = [f"# Model card: {self.name}", "", "## Model details", *table(self.details, "", ""), "",
                 "## Intended use", *bullets(self.intended_use), "", "## Out of scope", *bullets(self.out_of_scope), "",
                 "## Training data", self.training_data, "", "## Evaluation data", self.evaluation_data, "",
                 "## Metrics", *table(self.metrics, "metric", "value"), ""]
        if self.factors:
            lines += ["## Factors", *table(self.factors, "factor", "what is known"), ""]
        lines += ["## Ethical considerations", *bullets(self.ethical_considerations), "",
                  "## Caveats and recommendations", *bullets(self.caveats)]
        return "\n".join(lines) + "\n"
