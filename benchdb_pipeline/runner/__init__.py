"""The benchmark runner: real measurements with PyTorch, written as one canonical document.

PyTorch and transformers are the optional ``runner`` extra; nothing here imports them at
module level, so the package works without them and says what is missing when asked to run.
"""
