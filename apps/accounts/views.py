from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.teams.selectors import teams_of_user

from . import services
from .forms import ApiTokenForm


@login_required
def profile(request):
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        token, new_key = services.api_token_create(
            actor=request.user,
            user=request.user,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )
        form = ApiTokenForm()
        messages.success(request, f"Token “{token.name}” created. Copy it now: it will not be shown again.")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": request.user.api_tokens.all(),
            "teams": teams_of_user(request.user),
            "memberships": request.user.org_memberships.select_related("organization"),
        },
    )


@login_required
@require_POST
def token_revoke(request, pk):
    # Scoped to the requesting user: someone else's token id is a 404.
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:profile")
