"""Experiments shared by a lesson and a benchmark, so both run exactly the same code.

    mode_collapse   chapter 03: GAN configurations on the ring of 8 and the grid of 25
    digit_recipes   chapters 03-04: the digit GAN, VAE and autoencoder as picklable recipes
"""
