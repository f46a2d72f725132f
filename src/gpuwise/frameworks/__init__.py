"""Training frameworks (LLaMA-Factory, unsloth, axolotl, torchtune, TRL): what each does by
default that changes a step's memory or time, applied to the workload (``plan --framework``).
"""
