from django import template

from apps.slos import maths

register = template.Library()


@register.filter
def pct(value, digits=1):
    """0.9876 -> "98.8" (a fraction shown as a percentage); None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}"


@register.filter
def target_pct(value):
    """0.999 -> "99.9": as many decimals as the target needs."""
    text = f"{float(value) * 100:.4f}".rstrip("0").rstrip(".")
    return text


@register.filter
def bar_width(value):
    if value is None:
        return 0
    return f"{max(0.0, min(1.0, float(value))) * 100:.1f}"


@register.filter
def burn(value):
    if value is None:
        return "—"
    return f"{float(value):.2f}×"


@register.filter
def duration(seconds):
    return maths.duration_label(int(seconds))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
