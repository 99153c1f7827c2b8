from django import template

from flashlearn.admin_numbers import staff_numbers

register = template.Library()


@register.inclusion_tag("admin/flashlearn/staff_numbers.html")
def staff_numbers_panel():
    return {"numbers": staff_numbers()}
