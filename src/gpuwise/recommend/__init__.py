"""Which cards, how many and how, for a training job and a budget (``gpuwise recommend``).

The names the command line needs to build its flags live here, so that parsing them imports
none of the planning code.
"""

#: How options are ranked.
OBJECTIVES = ("cheapest", "fastest", "tokens-per-dollar")

#: Currencies prices can be in (never converted into each other).
CURRENCIES = ("usd", "cny")
