"""Which cards, how many and how, for a training job and a budget (``gpuwise recommend``).

The names the command line needs to build its flags live here, so that parsing them imports
none of the planning code.
"""

GIB = 1 << 30

#: How options are ranked.
OBJECTIVES = ("cheapest", "fastest", "tokens-per-dollar")

#: Host RAM offload may use when the user does not say (--host-ram): a large workstation's.
DEFAULT_HOST_RAM_GIB = 256

#: Currencies prices can be in (never converted into each other).
CURRENCIES = ("usd", "cny")
