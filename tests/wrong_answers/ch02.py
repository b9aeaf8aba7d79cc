"""Chapter 02 (GANs from scratch): plausible wrong answers to exercises 02.1-02.4."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from wrong_answers import WrongAnswer, one


# 02.1 -- discriminator_loss(real_logits, fake_logits) -> 0-d tensor
def _log_sigmoid_d_loss(real, fake):        # the textbook formula, overflows for confident logits
    return -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()


def _clamped_d_loss(real, fake):            # "fixes" the overflow with a clamp: wrong when D is sure
    eps = 1e-7
    return -torch.log(torch.sigmoid(real).clamp(min=eps)).mean() - \
        torch.log((1 - torch.sigmoid(fake)).clamp(min=eps)).mean()


def _swapped_d_loss(real, fake):
    return F.softplus(real).mean() + F.softplus(-fake).mean()


def _one_mean_d_loss(real, fake):
    return torch.cat([F.softplus(-real), F.softplus(fake)]).mean()


def _sum_d_loss(real, fake):
    return F.softplus(-real).sum() + F.softplus(fake).sum()


def _item_d_loss(real, fake):
    return (F.softplus(-real).mean() + F.softplus(fake).mean()).item()


def _nan_d_loss(real, fake):                # 0 * log(0) style NaN
    return (F.softplus(-real).mean() + F.softplus(fake).mean()) * float("nan")


def _detached_d_loss(real, fake):
    return (F.softplus(-real).mean() + F.softplus(fake).mean()).detach()


def _value_not_loss_d(real, fake):         # returns V, which D maximises, instead of the loss −V
    return -(F.softplus(-real).mean() + F.softplus(fake).mean())


def _real_term_only_d_loss(real, fake):
    return F.softplus(-real).mean()


def _fakes_labelled_real_d_loss(real, fake):
    return F.softplus(-real).mean() + F.softplus(-fake).mean()


# 02.2 -- generator_loss(fake_logits) -> 0-d tensor
def _saturating_g_loss(fake):
    return -F.softplus(fake).mean()


def _fake_label_g_loss(fake):               # BCE with the label of the fakes (0) instead of 1
    return F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def _log_sigmoid_g_loss(fake):
    return -torch.log(torch.sigmoid(fake)).mean()


def _sum_g_loss(fake):
    return F.softplus(-fake).sum()


def _numpy_g_loss(fake):
    return F.softplus(-fake).mean().detach().numpy()


def _flipped_g_loss(fake):                  # log D(G(z)) instead of −log D(G(z))
    return F.logsigmoid(fake).mean()


# 02.3 -- optimal_discriminator(p_data, p_g) -> tensor; game_value(p_data, p_g, dx) -> float
def _d_star(p_data, p_g):
    total = p_data + p_g
    return torch.where(total > 0, p_data / total, torch.full_like(total, 0.5))


def _game_value(p_data, p_g, dx):
    d = _d_star(p_data, p_g)
    return float(((torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)) * dx).sum())


def _naive_d_star(p_data, p_g):             # the formula transcribed: 0/0 = NaN
    return p_data / (p_data + p_g)


def _inverted_d_star(p_data, p_g):
    total = p_data + p_g
    return torch.where(total > 0, p_g / total, torch.full_like(total, 0.5))


def _eps_d_star(p_data, p_g):               # avoids 0/0 with an epsilon
    return p_data / (p_data + p_g + 1e-8)


def _zero_d_star(p_data, p_g):              # masks 0/0 to 0 instead of ½
    return torch.nan_to_num(p_data / (p_data + p_g), nan=0.0)


def _numpy_d_star(p_data, p_g):
    return _d_star(p_data, p_g).numpy()


def _naive_game_value(p_data, p_g, dx):     # p * log D: 0 * log 0 = NaN where a density is 0
    d = _d_star(p_data, p_g)
    return float(((p_data * torch.log(d) + p_g * torch.log(1 - d)) * dx).sum())


def _no_dx_game_value(p_data, p_g, dx):
    d = _d_star(p_data, p_g)
    return float((torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)).sum())


def _mean_game_value(p_data, p_g, dx):
    d = _d_star(p_data, p_g)
    return float((torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)).mean())


def _tensor_game_value(p_data, p_g, dx):
    d = _d_star(p_data, p_g)
    return ((torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)) * dx).sum()


def _js_only_game_value(p_data, p_g, dx):   # returns 2·JS, forgetting −log 4
    return _game_value(p_data, p_g, dx) + float(torch.log(torch.tensor(4.0)))


def _log2_game_value(p_data, p_g, dx):      # in bits
    return _game_value(p_data, p_g, dx) / float(torch.log(torch.tensor(2.0, dtype=torch.float64)))


def _half_js_game_value(p_data, p_g, dx):   # −log 4 + JS: the factor 2 forgotten
    log4 = float(torch.log(torch.tensor(4.0, dtype=torch.float64)))
    return -log4 + (_game_value(p_data, p_g, dx) + log4) / 2


def _log_d_twice_game_value(p_data, p_g, dx):   # p_g·log D* instead of p_g·log(1 − D*)
    d = _d_star(p_data, p_g)
    return float(((torch.xlogy(p_data, d) + torch.xlogy(p_g, d)) * dx).sum())


# 02.4 -- train_step(G, D, opt_g, opt_d, real, z) -> (float, float)
def _d_loss(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def _g_loss(fake_logits):
    return F.softplus(-fake_logits).mean()


def _step(zero_grad_d=True, zero_grad_g=True, detach=True, g_first=False, stale_logits=False,
          saturating=False, as_tensors=False, nan=False, zero_grad_after_backward=False,
          fakes_no_grad=False, fakes_detached=False, swapped=False):
    def train_step(G, D, opt_g, opt_d, real, z):
        if fakes_no_grad:
            with torch.no_grad():
                fake = G(z)
        else:
            fake = G(z).detach() if fakes_detached else G(z)
        old_fake_logits = D(fake) if stale_logits else None

        def update_d():
            loss_d = _d_loss(D(real), D(fake.detach() if detach else fake))
            if zero_grad_d and not zero_grad_after_backward:
                opt_d.zero_grad()
            loss_d.backward()
            if zero_grad_after_backward:
                opt_d.zero_grad()
            opt_d.step()
            return loss_d

        def update_g():
            logits = old_fake_logits if stale_logits else D(fake)
            loss_g = -F.softplus(logits).mean() if saturating else _g_loss(logits)
            if zero_grad_g:
                opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            return loss_g

        if g_first:
            loss_g, loss_d = update_g(), update_d()
        else:
            loss_d, loss_g = update_d(), update_g()
        if nan:
            return float("nan"), float("nan")
        if as_tensors:
            return loss_d, loss_g
        if swapped:
            return loss_g.item(), loss_d.item()
        return loss_d.item(), loss_g.item()
    return train_step


WRONG = [
    # 02.1
    WrongAnswer("02.1", "classic", "log(sigmoid) overflows", one(_log_sigmoid_d_loss),
                r"log\(sigmoid\)"),
    WrongAnswer("02.1", "other", "clamped log(sigmoid)", one(_clamped_d_loss), r"log\(sigmoid\)"),
    WrongAnswer("02.1", "other", "labels swapped", one(_swapped_d_loss), r"labels are swapped"),
    WrongAnswer("02.1", "other", "one mean over both batches", one(_one_mean_d_loss),
                r"averaged over both batches together"),
    WrongAnswer("02.1", "other", "sum instead of mean", one(_sum_d_loss), r"sum over the batch"),
    WrongAnswer("02.1", "type", "returns a Python float", one(_item_d_loss), r"no \.item\(\)"),
    WrongAnswer("02.1", "other", "detached loss", one(_detached_d_loss), r"no gradient"),
    WrongAnswer("02.1", "nan", "NaN loss", one(_nan_d_loss), r"nan, not a finite number"),
    WrongAnswer("02.1", "other", "returns V, sign flipped", one(_value_not_loss_d),
                r"sign is flipped.*−V"),
    WrongAnswer("02.1", "other", "real term only", one(_real_term_only_d_loss),
                r"only one of the two terms"),
    WrongAnswer("02.1", "other", "fakes labelled real", one(_fakes_labelled_real_d_loss),
                r"fakes are labelled real"),
    # 02.2
    WrongAnswer("02.2", "classic", "the saturating loss", one(_saturating_g_loss),
                r"saturating loss log\(1 − D\(G\(z\)\)\)"),
    WrongAnswer("02.2", "other", "label 0 for the fakes", one(_fake_label_g_loss),
                r"discriminator's loss on fakes"),
    WrongAnswer("02.2", "other", "log(sigmoid) overflows", one(_log_sigmoid_g_loss),
                r"log\(sigmoid\)"),
    WrongAnswer("02.2", "other", "sum instead of mean", one(_sum_g_loss), r"sum over the batch"),
    WrongAnswer("02.2", "type", "returns a numpy value", one(_numpy_g_loss),
                r"should return a 0-d torch\.Tensor"),
    WrongAnswer("02.2", "nan", "NaN loss", one(lambda fake: _g_loss(fake) * float("nan")),
                r"nan, not a finite number"),
    WrongAnswer("02.2", "other", "log D(G(z)), sign flipped", one(_flipped_g_loss),
                r"sign is flipped.*−log D\(G\(z\)\)"),
    # 02.3
    WrongAnswer("02.3", "classic", "formula transcribed, 0/0 gives NaN",
                lambda: (_naive_d_star, _game_value), r"NaN where p_data = p_g = 0"),
    WrongAnswer("02.3", "classic", "D* inverted", lambda: (_inverted_d_star, _game_value),
                r"D\* is inverted"),
    WrongAnswer("02.3", "other", "epsilon in the denominator", lambda: (_eps_d_star, _game_value),
                r"epsilon added to the denominator"),
    WrongAnswer("02.3", "other", "0/0 masked to 0", lambda: (_zero_d_star, _game_value),
                r"D\* should be ½"),
    WrongAnswer("02.3", "type", "D* as a numpy array", lambda: (_numpy_d_star, _game_value),
                r"should be a torch\.Tensor"),
    WrongAnswer("02.3", "nan", "0·log 0 = NaN in the value", lambda: (_d_star, _naive_game_value),
                r"0·log 0.*xlogy"),
    WrongAnswer("02.3", "other", "integral without dx", lambda: (_d_star, _no_dx_game_value),
                r"multiply by dx"),
    WrongAnswer("02.3", "other", "integral as a mean", lambda: (_d_star, _mean_game_value),
                r"not the mean"),
    WrongAnswer("02.3", "other", "2·JS without −log 4", lambda: (_d_star, _js_only_game_value),
                r"−log 4 \+ 2·JS"),
    WrongAnswer("02.3", "type", "value as a tensor", lambda: (_d_star, _tensor_game_value),
                r"should be a Python float"),
    WrongAnswer("02.3", "other", "log base 2", lambda: (_d_star, _log2_game_value),
                r"log base 2"),
    WrongAnswer("02.3", "other", "−log 4 + JS, factor 2 missing",
                lambda: (_d_star, _half_js_game_value), r"returned −log 4 \+ JS"),
    WrongAnswer("02.3", "other", "log D* in the generated term",
                lambda: (_d_star, _log_d_twice_game_value), r"p_g·log\(1 − D\*\)"),
    # 02.4
    WrongAnswer("02.4", "classic", "no zero_grad", one(_step(zero_grad_d=False, zero_grad_g=False)),
                r"opt_d\.zero_grad\(\)"),
    WrongAnswer("02.4", "other", "no zero_grad for the generator", one(_step(zero_grad_g=False)),
                r"opt_g\.zero_grad\(\) right before loss_g\.backward\(\)"),
    WrongAnswer("02.4", "other", "zero_grad after backward", one(_step(zero_grad_after_backward=True)),
                r"discriminator's weights did not change.*zero_grad\(\) before backward\(\)"),
    WrongAnswer("02.4", "classic", "no detach", one(_step(detach=False)),
                r"fake\.detach\(\)"),
    WrongAnswer("02.4", "other", "generator updated first", one(_step(g_first=True)),
                r"updated the generator before the discriminator"),
    WrongAnswer("02.4", "other", "generator scored by the old D", one(_step(stale_logits=True)),
                r"before opt_d\.step\(\) changed D's weights"),
    WrongAnswer("02.4", "other", "saturating generator loss", one(_step(saturating=True)),
                r"saturating loss"),
    WrongAnswer("02.4", "type", "returns tensors", one(_step(as_tensors=True)),
                r"should be a Python float"),
    WrongAnswer("02.4", "nan", "returns NaN", one(_step(nan=True)), r"nan, not a finite number"),
    WrongAnswer("02.4", "other", "fakes made under no_grad", one(_step(fakes_no_grad=True)),
                r"generator got no gradient.*no_grad\(\) or detached"),
    WrongAnswer("02.4", "other", "fakes detached for both players", one(_step(fakes_detached=True)),
                r"generator got no gradient.*no_grad\(\) or detached"),
    WrongAnswer("02.4", "other", "(loss_g, loss_d) swapped", one(_step(swapped=True)),
                r"wrong order"),
]
