from datetime import timedelta
from datetime import timezone as dt_timezone

from django import forms
from django.utils import timezone

from emailhub import model
from emailhub.addresses import InvalidAddress, parse_mailbox
from emailhub.apikeys import FULL, SEND
from emailhub.identities import InvalidIdentity, identity_normalize
from emailhub.selectors import MAX_RANGE_DAYS, LogFilter, recipient_filter_parse, tag_filter_parse
from emailhub.staff.roles import ROLE_CHOICES, VIEWER

PAGE_SIZES = [(25, "25"), (50, "50"), (100, "100"), (200, "200")]


class LogFilterForm(forms.Form):
    @staticmethod
    def with_defaults(params):
        """The query with the defaults filled in, so the form shows what the page uses."""
        params = params.copy()
        today = timezone.now().date()
        params.setdefault("date_to", today.isoformat())
        params.setdefault("date_from", (today - timedelta(days=6)).isoformat())
        params.setdefault("size", "50")
        return params

    status = forms.ChoiceField(required=False, choices=[("", "any status")] + [(s, s) for s in model.STATUSES])
    recipient = forms.CharField(required=False, max_length=320,
                                help_text="an address, @domain for every recipient there, or the start of addresses and * (ali*)")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="from")
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="to")
    tag = forms.CharField(required=False, max_length=513, help_text="name=value")
    size = forms.TypedChoiceField(required=False, choices=PAGE_SIZES, coerce=int, empty_value=50, label="per page")

    def clean_recipient(self):
        value = self.cleaned_data["recipient"].strip()
        if not value:
            return None
        try:
            address, domain, prefix = recipient_filter_parse(value)
        except ValueError as err:
            raise forms.ValidationError(str(err)) from err
        return address or ("@" + domain if domain else prefix + "*")

    def clean_tag(self):
        value = self.cleaned_data["tag"].strip()
        if not value:
            return None
        try:
            return tag_filter_parse(value)
        except ValueError as err:
            raise forms.ValidationError(str(err)) from err

    def clean(self):
        data = super().clean()
        today = timezone.now().date()
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"] - timedelta(days=6)
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError("'from' is after 'to'.")
        if (data["date_to"] - data["date_from"]).days > MAX_RANGE_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_RANGE_DAYS} days.")
        data["size"] = data.get("size") or 50
        return data

    def log_filter(self):
        data = self.cleaned_data
        recipient = data["recipient"]
        domain = recipient[1:] if recipient and recipient.startswith("@") else None
        prefix = recipient[:-1] if recipient and recipient.endswith("*") else None
        return LogFilter(date_from=data["date_from"], date_to=data["date_to"], status=data["status"] or None,
                         recipient=None if domain or prefix else recipient, recipient_domain=domain,
                         recipient_prefix=prefix, tag=data["tag"])

    def fingerprint_params(self):
        data = self.cleaned_data
        return {"status": data["status"], "recipient": data["recipient"], "tag": data["tag"],
                "from": data["date_from"].isoformat(), "to": data["date_to"].isoformat(), "size": data["size"]}


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses the key, e.g. shop-backend.")
    # Short option labels: a select is as wide as its longest one, and the page must fit a phone.
    scope = forms.ChoiceField(choices=[(FULL, "full"), (SEND, "send")], initial=FULL, required=False,
                              help_text="full: everything. send: sends, and reads or cancels only the emails "
                                        "sent with this key; no suppression list.")

    def clean_scope(self):
        return self.cleaned_data["scope"] or FULL  # a key made before scopes, or a form without the field


class IdentityForm(forms.Form):
    identity = forms.CharField(max_length=320, help_text="An address (alice@example.com) or a domain (example.com).")

    def clean_identity(self):
        try:
            return identity_normalize(self.cleaned_data["identity"])
        except InvalidIdentity as err:
            raise forms.ValidationError(str(err)) from err


class SuppressionForm(forms.Form):
    address = forms.CharField(max_length=320)
    reason = forms.CharField(max_length=200, required=False,
                             widget=forms.TextInput(attrs={"placeholder": "added by staff"}))

    def clean_address(self):
        try:
            return parse_mailbox(self.cleaned_data["address"].strip()).address.lower()
        except InvalidAddress as err:
            raise forms.ValidationError(str(err)) from err


class StaffCreateForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="Lowercase letters, digits and _ . @ + -")
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=VIEWER)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class MfaEnrolForm(forms.Form):
    code = forms.CharField(max_length=12, label="Code from the app",
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class FindForm(forms.Form):
    q = forms.CharField(max_length=200, label="Find", help_text="An email id or an SES message id.")


class AuditFilterForm(forms.Form):
    month = forms.CharField(required=False, widget=forms.TextInput(attrs={"type": "month"}))
    actor = forms.CharField(required=False, max_length=150, label="who", help_text="exactly")
    action = forms.CharField(required=False, max_length=100, label="action",
                             help_text="or its start, e.g. email.")
    target = forms.CharField(required=False, max_length=320, label="target contains")

    def clean_month(self):
        month = (self.cleaned_data["month"] or timezone.now().strftime("%Y-%m")).strip()
        try:
            year, number = (int(part) for part in month.split("-"))
        except ValueError:
            raise forms.ValidationError("Choose a month as YYYY-MM.") from None
        if not (2000 <= year <= 9999 and 1 <= number <= 12):
            raise forms.ValidationError("Choose a month as YYYY-MM.")
        return f"{year:04d}-{number:02d}"


class SuppressionFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=320, label="address",
                        help_text="a whole address, or part of one (a domain)")
    reason_has = forms.CharField(required=False, max_length=200, label="reason contains")


def _webhook_type_choices():
    from emailhub.webhooks.events import event_types

    return [(t, t) for t in event_types()]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL",
                          help_text="https://… (plain http:// and 127.0.0.1 only in local mode)")
    event_types = forms.MultipleChoiceField(choices=_webhook_type_choices, widget=forms.CheckboxSelectMultiple,
                                            label="Events")
    description = forms.CharField(max_length=200, required=False)
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_url(self):
        from emailhub.webhooks.ssrf import UnsafeUrl, url_resolve

        url = self.cleaned_data["url"].strip()
        try:
            url_resolve(url)
        except UnsafeUrl as err:
            raise forms.ValidationError(err.message) from err
        return url


class WebhookReplayRangeForm(forms.Form):
    since = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="from (UTC)")
    until = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="to (UTC)")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until:
            since, until = (v.replace(tzinfo=dt_timezone.utc) if v.tzinfo is None else v for v in (since, until))
            if until < since:
                raise forms.ValidationError("The end comes before the start.")
            if until - since > timedelta(days=7):
                raise forms.ValidationError("Replay at most 7 days at a time.")
            cleaned.update(since=since, until=until)
        return cleaned
