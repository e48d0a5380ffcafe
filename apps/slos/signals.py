"""Keep samples, which have no database foreign key, from outliving their SLI."""

from .models import SLI


def sli_deleting(sender, instance, **kwargs):
    """Wait for any batch writing to this SLI to commit, and keep new ones out.

    Django deletes an SLI's samples just after this signal and the SLI itself last;
    holding the SLI's row lock from here means the samples' delete sees every
    committed sample, and a batch arriving later finds the SLI gone.
    """
    list(SLI.objects.filter(pk=instance.pk).select_for_update().values_list("pk", flat=True))
