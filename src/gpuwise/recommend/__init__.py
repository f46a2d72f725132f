"""Which cards, how many and how, for a training job and a budget (``gpuwise recommend``).

The names the command line needs to build its flags live here, so that parsing them imports
none of the planning code.
"""

from gpuwise.i18n import Message

#: How options are ranked; the first is the default: the cost of finishing the job (a bought
#: card's share of its price for the hours the job takes, or its rental for them; see
#: data/cost_to_finish.json), so that a card several times slower does not come first for a
#: lower price. ``cheapest``: the lowest price of the cards (or of their rental for the run).
OBJECTIVES = ("cost-to-finish", "cheapest", "fastest", "tokens-per-dollar")

#: Currencies prices can be in (never converted into each other).
CURRENCIES = ("usd", "cny")


def currency_word(code: str) -> Message:
    """A currency (``usd``, ``cny``) as the language in use says it next to an amount: USD /
    美元, CNY / 元."""
    return Message("prices.currency.cny" if code.lower() == "cny" else "prices.currency.usd")
