"""The digits judge: a small CNN that scores generated digits (chapters 03-04)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from gencourse.data import load_digits
from gencourse.models.judge import DigitsJudge, JudgeConfig
from gencourse.train import fit, minibatches
from gencourse.zoo._cache import recipe_key, store, zoo_folder


@dataclass(frozen=True)
class JudgeRecipe:
    model: JudgeConfig = JudgeConfig()
    steps: int = 1500
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    max_shift: int = 1          # random translation by up to this many pixels (augmentation)
    seed: int = 0

    def key(self) -> str:
        return recipe_key(asdict(self))


def _shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image (N, 1, 8, 8) by a random whole-pixel offset, zero-filling."""
    if max_shift == 0:
        return x
    size = 2 * max_shift + 1
    padded = torch.nn.functional.pad(x, (max_shift,) * 4)
    dx, dy = torch.randint(size, (2, len(x)), generator=generator)
    rows = (torch.arange(8)[None, :] + dy[:, None])               # (N, 8)
    cols = (torch.arange(8)[None, :] + dx[:, None])
    n = torch.arange(len(x))[:, None, None]
    return padded[n, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def train_judge(recipe: JudgeRecipe = JudgeRecipe(), progress: bool = False) -> tuple[DigitsJudge, float]:
    """Train a DigitsJudge on the digits train split; return it and its test accuracy."""
    digits = load_digits()
    torch.manual_seed(recipe.seed)
    model = DigitsJudge(recipe.model)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=recipe.steps)
    gen = torch.Generator().manual_seed(recipe.seed)
    batches = minibatches(len(digits.x_train), recipe.batch_size, gen)

    def step(_: int) -> torch.Tensor:
        idx = next(batches)
        x = _shift(digits.x_train[idx], recipe.max_shift, gen)
        loss = torch.nn.functional.cross_entropy(model(x), digits.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return loss.detach()

    model.train()
    fit(step, recipe.steps, seed=recipe.seed, progress=progress, plot=False, title="digits judge")
    model.eval()
    accuracy = float((model.predict(digits.x_test) == digits.y_test).float().mean())
    return model, accuracy


def _weights_path(recipe: JudgeRecipe) -> Path:
    return zoo_folder() / f"digits_judge-{recipe.key()}.safetensors"


def judge_cached(recipe: JudgeRecipe = JudgeRecipe()) -> bool:
    """Whether the judge of ``recipe`` is already in the zoo's cache."""
    return _weights_path(recipe).exists()


def digits_judge(recipe: JudgeRecipe = JudgeRecipe(), retrain: bool = False,
                 device: torch.device | str = "cpu") -> DigitsJudge:
    """The cached digits judge (trained on first use, ~97%+ held-out accuracy), in eval mode."""
    weights = _weights_path(recipe)
    if retrain or not weights.exists():
        model, accuracy = train_judge(recipe)
        store(weights, model.state_dict(), {"recipe": asdict(recipe), "test_accuracy": accuracy})
    model = DigitsJudge(recipe.model)
    model.load_state_dict(load_file(str(weights)))
    return model.to(device).eval()


def judge_record(recipe: JudgeRecipe = JudgeRecipe()) -> dict:
    """The JSON record (recipe and measured test accuracy) of the cached judge."""
    path = zoo_folder() / f"digits_judge-{recipe.key()}.json"
    if not path.exists():
        digits_judge(recipe)
    return json.loads(Path(path).read_text())
