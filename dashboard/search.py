"""What the filtered lists share: a signed "search further" cursor, tied to
the filter it was made for (a forged or foreign one starts at the top)."""

from urllib.parse import urlencode

from dashboard.cursors import cursor_dump, cursor_load, filter_fingerprint


def search_start(request, params):
    """Where a filtered read starts: the `cursor` of the request, if it was made for `params`."""
    position, _ = cursor_load(request.GET.get("cursor"), fingerprint=filter_fingerprint(params))
    return position


def search_further_url(params, next_key):
    """The link that reads on from `next_key` with the same filter, or None at the end."""
    if not next_key:
        return None
    token = cursor_dump(position=next_key, trail=[], fingerprint=filter_fingerprint(params))
    return "?" + urlencode({**{k: v for k, v in params.items() if v}, "cursor": token})
