"""Training frameworks (LLaMA-Factory, unsloth, axolotl, torchtune, TRL): what each does by
default that changes a step's memory or time, applied to the workload (``plan --framework``).
"""

#: The frameworks ``--framework`` takes; the first is the reference step (docs/reference-step.md).
FRAMEWORKS = ("transformers", "llamafactory", "unsloth", "axolotl", "torchtune", "trl")
REFERENCE = "transformers"
