"""Verifying a domain shows the DNS records to publish, with SES's status for each."""

import pytest
from moto.ses.models import EmailIdentity

TOKENS = ["abc123token", "def456token", "ghi789token"]


@pytest.fixture
def ses_reports(monkeypatch):
    """What real SES returns for a domain and moto leaves out: the Easy DKIM
    tokens and, once configured, the custom MAIL FROM domain's attributes."""
    state = {"dkim": "PENDING", "mail_from": None}
    original = EmailIdentity.get_response_object.fget

    def answer(self):
        found = original(self)
        if found.get("IdentityType") == "DOMAIN":
            found["DkimAttributes"] = {**found.get("DkimAttributes", {}), "Tokens": TOKENS, "Status": state["dkim"]}
            if state["mail_from"]:
                found["MailFromAttributes"] = {"MailFromDomain": state["mail_from"], "MailFromDomainStatus": "PENDING",
                                               "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
        return found

    monkeypatch.setattr(EmailIdentity, "get_response_object", property(answer))
    return state


def test_verifying_a_domain_leads_to_its_dns_records(admin_client, ses_reports):
    response = admin_client.post("/admin/identities/", {"identity": "Example.com"})
    assert response.status_code == 302 and response["Location"] == "/admin/identities/example.com/dns/"
    page = admin_client.get(response["Location"]).content.decode()
    for token in TOKENS:
        assert f"<code>{token}._domainkey.example.com</code>" in page
        assert f'data-copy="{token}.dkim.amazonses.com"' in page
    assert "_dmarc.example.com" in page and "v=DMARC1; p=none" in page
    assert "pending" in page and "<code>MX</code>" not in page  # no custom MAIL FROM domain yet
    assert 'href="/admin/identities/example.com/dns/"' in admin_client.get("/admin/identities/").content.decode()


def test_dns_page_shows_mail_from_records_and_refreshes_status(admin_client, ses_reports):
    admin_client.post("/admin/identities/", {"identity": "example.com"})
    ses_reports.update(dkim="SUCCESS", mail_from="bounce.example.com")
    page = admin_client.get("/admin/identities/example.com/dns/").content.decode()
    assert "<code>MX</code>" in page and "<code>10 feedback-smtp.us-east-1.amazonses.com</code>" in page
    assert "v=spf1 include:amazonses.com ~all" in page and "<code>bounce.example.com</code>" in page
    assert "Easy DKIM: <strong>success</strong>" in page and "SES: pending" in page


def test_dns_page_for_an_unknown_or_invalid_domain_is_404(admin_client, aws):
    assert admin_client.get("/admin/identities/nowhere.example/dns/").status_code == 404
    assert admin_client.get("/admin/identities/not a domain/dns/").status_code == 404


def test_viewers_may_read_the_dns_records(staff_client, ses_reports):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.com")
    assert staff_client("viewer").get("/admin/identities/example.com/dns/").status_code == 200


def test_dns_page_says_when_ses_cannot_be_reached(admin_client, aws, monkeypatch):
    from emailhub.aws import ses
    from emailhub.errors import AwsUnavailable

    def unreachable(identity):
        raise AwsUnavailable("SES get_email_identity: ServiceUnavailable")

    monkeypatch.setattr(ses, "identity_get", unreachable)
    response = admin_client.get("/admin/identities/example.com/dns/")
    assert response.status_code == 200 and "ServiceUnavailable" in response.content.decode()
