from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_permissions_policy.decorators import permissions_policy_override

from config.tiles import DOWN_KEY

from ..permissions import is_dispatcher


@permissions_policy_override({**settings.PERMISSIONS_POLICY, "microphone": ["self"]})  # emergency in-app calls
@never_cache
@login_required
def board(request):
    """The dispatcher's board. A shell only: orders, riders and stores come from the API."""
    if not is_dispatcher(request.user):
        return render(request, "wrong_role.html", {"wanted": "dispatcher"}, status=403)
    config = {"tiles": settings.MAP_TILES, "attribution": "© OpenStreetMap contributors",
              "break_glass_quota": settings.BREAK_GLASS_QUOTA_PER_DAY,
              "assign_due_min": settings.ORDER_ASSIGN_DUE_MIN, "deliver_due_min": settings.ORDER_DELIVER_DUE_MIN}
    # The tile server is known to be down (config/tiles.py): the note is in the page from the first paint, not
    # after the first placeholder tile has come back.
    tiles_down = settings.MAP_TILES.startswith("/tiles/") and bool(cache.get(DOWN_KEY))
    return render(request, "dispatch/board.html", {"map_config": config, "tiles_down": tiles_down})
