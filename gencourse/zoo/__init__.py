"""Models the course reuses across chapters, rebuilt from in-repo recipes and cached.

Nothing is downloaded. The first call trains the model from its recipe (seconds on
a CPU) and stores the weights (safetensors) with a JSON record of the recipe and
its measured quality in ``gencourse.runtime.cache_dir()/zoo``; later calls load
them. The file name carries a hash of the recipe, so changing the recipe retrains.

    judge   digits_judge: the CNN that scores generated digits (chapters 03-04)
    digits  digits_cgan, digits_gan, digits_cvae, digits_ae: chapter 03's conditional and
            unconditional DCGANs, chapter 04's conditional VAE, chapter 01's autoencoder
    gpt     names_gpt, code_gpt: the chapter-06 character GPTs (chapters 07+); code_bpe_gpt: the
            code GPT on chapter 06's byte-level BPE (chapter 10)
    diffusion  pixel_diffusion, latent_diffusion: chapter 08's class-conditional digit diffusion models
            (the latent one diffuses the codes of chapter 04's VAE, DIGITS_VAE)
"""
from gencourse.zoo.gpt import (
    CODE_BPE_GPT, CODE_GPT, NAMES_GPT, GPTRecipe, code_bpe_gpt, code_gpt, generate_names, gpt_data, gpt_record, names_gpt, zoo_gpt,
)
from gencourse.zoo.digits import (
    DIGITS_AE, DIGITS_CGAN, DIGITS_CVAE, DIGITS_GAN, digits_ae, digits_cgan, digits_cvae, digits_gan, zoo_digits_run,
)
from gencourse.zoo.judge import JudgeRecipe, _shift, digits_judge, judge_record, train_judge

__all__ = ["JudgeRecipe", "digits_judge", "judge_record", "train_judge", "GPTRecipe", "NAMES_GPT",
           "CODE_GPT", "zoo_gpt", "DIGITS_CGAN", "DIGITS_GAN", "DIGITS_CVAE", "DIGITS_AE", "digits_cgan",
           "digits_gan", "digits_cvae", "digits_ae", "zoo_digits_run", "gpt_record", "names_gpt", "code_gpt", "gpt_data", "generate_names",
           "CODE_BPE_GPT", "code_bpe_gpt"]
