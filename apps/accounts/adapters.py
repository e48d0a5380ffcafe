from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Closed by default: org admins create or invite people.
        return settings.SIGNUP_OPEN
