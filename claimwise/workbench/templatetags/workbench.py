from __future__ import annotations

from django import template
from unfold.settings import get_config
from unfold.utils import convert_color

register = template.Library()


@register.simple_tag
def theme_colors() -> list[tuple[str, str]]:
    """The back office's colour variables (UNFOLD["COLORS"] or unfold's defaults), so the workbench
    uses the same palette as the back office with the same compiled CSS."""
    colors = get_config()["COLORS"]
    return [
        (f"--color-{name}-{weight}", convert_color(value))
        for name, weights in colors.items()
        if isinstance(weights, dict)
        for weight, value in weights.items()
        if isinstance(value, str)
    ]


@register.filter
def oversees(user: object) -> bool:
    """Whether the user gets the team queue and the team overview."""
    from claimwise.workbench.selectors import TEAM_QUEUE_ROLES

    return getattr(user, "role", None) in TEAM_QUEUE_ROLES
