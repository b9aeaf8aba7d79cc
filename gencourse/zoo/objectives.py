"""Chapter 07's three small language models of first names: GPT, BERT and T5 objectives.

Trained by one seeded recipe (``experiments.objectives.train_objective``, the same sizes,
batches and steps for each), with the weights kept at a few step counts so a lesson can
show how each objective's skill grows with training. Cached like every zoo model
(``cache_dir()/zoo``, safetensors + JSON), keyed by the recipe, the names corpus and Python.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

from safetensors.torch import load_file

from gencourse.zoo._cache import recipe_key, store, zoo_folder


@dataclass(frozen=True)
class ObjectivesRecipe:
    steps: int = 5000
    checkpoints: tuple[int, ...] = (500, 1500, 5000)
    batch_size: int = 32
    block_size: int = 16
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    lr: float = 3e-3
    seed: int = 0

    def key(self) -> str:
        from gencourse.zoo.gpt import corpus_fingerprint
        return recipe_key({**asdict(self), "python": list(sys.version_info[:2]),
                           "data_sha256": corpus_fingerprint("names")})


NAMES_OBJECTIVES = ObjectivesRecipe()


def _path(recipe: ObjectivesRecipe, kind: str):
    return zoo_folder() / f"names_objective_{kind}-{recipe.key()}.safetensors"


def is_cached(recipe: ObjectivesRecipe = NAMES_OBJECTIVES) -> bool:
    from gencourse.experiments.objectives import KINDS
    return all(_path(recipe, k).exists() for k in KINDS)


def objective_runs(recipe: ObjectivesRecipe = NAMES_OBJECTIVES, device: str = "cpu"):
    """``{kind: {step: ObjectiveRun}}`` for kind in gpt, bert, t5 and each checkpoint step,
    trained on first use (about 3 minutes on one thread) and loaded from the cache after."""
    from gencourse.experiments.objectives import KINDS, ObjectiveRun, build, names_data, train_objective

    data = names_data()
    shape = dict(n_layer=recipe.n_layer, n_head=recipe.n_head, n_embd=recipe.n_embd,
                 block_size=recipe.block_size)
    out = {}
    for kind in KINDS:
        path = _path(recipe, kind)
        if not path.exists():
            run = train_objective(kind, data, steps=recipe.steps, batch_size=recipe.batch_size, lr=recipe.lr,
                                  seed=recipe.seed, checkpoints=recipe.checkpoints, **shape)
            tensors = {f"{step}/{k}": v.clone() for step, state in run.checkpoints.items() for k, v in state.items()}
            record = {"recipe": asdict(recipe), "params": run.params, "seconds": round(run.seconds, 2),
                      "supervised_share": run.supervised_share,
                      "losses": [round(x, 4) for x in run.losses[::10]]}
            store(path, tensors, record)
        record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        tensors = load_file(str(path))
        out[kind] = {}
        for step in recipe.checkpoints:
            model = build(kind, data.vocab.size, **shape)
            prefix = f"{step}/"
            model.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            out[kind][step] = ObjectiveRun(kind, model.to(device).eval(), record["params"],
                                           record["seconds"] * step / recipe.steps, step, record["losses"],
                                           record["supervised_share"])
    return out


__all__ = ["ObjectivesRecipe", "NAMES_OBJECTIVES", "is_cached", "objective_runs"]
