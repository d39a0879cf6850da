"""Wire compatibility: python-quickbooks and intuit-oauth, unpatched, against the emulator
(qbo-client-libraries.md: subclass api_url_v3, OAUTHLIB_INSECURE_TRANSPORT=1 for http)."""

import json
import warnings

import pytest
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment
from quickbooks.objects.base import Ref

REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture
def auth_client(emu, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    tokens = emu.connect(redirect_uri=REDIRECT)
    return AuthClient("emulator-client-id", "emulator-client-secret", REDIRECT,
                      environment=emu.discovery_url, access_token=tokens["access_token"],
                      refresh_token=tokens["refresh_token"], realm_id=tokens["realm_id"])


@pytest.fixture
def qb(emu, auth_client):
    class EmulatorQuickBooks(QuickBooks):
        api_url_v3 = sandbox_api_url_v3 = emu.base_url + "/v3"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return EmulatorQuickBooks(auth_client=auth_client, refresh_token=auth_client.refresh_token,
                                  company_id=emu.realm_id, minorversion=75)


def _invoice_for(customer, amount=80):
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Ref()
    line.SalesItemLineDetail.ItemRef.value = "1"
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [line]
    return invoice


def test_it_serves_python_quickbooks_create_read_update_query_delete(qb):
    """Issue 3 done-when: python-quickbooks creates, reads, updates, queries and deletes."""
    customer = Customer()
    customer.DisplayName = "O'Brien & Co"
    saved = customer.save(qb=qb, request_id="wire-cust-1")
    assert saved.Id and saved.SyncToken == "0"
    fetched = Customer.get(customer.Id, qb=qb)
    assert fetched.DisplayName == "O'Brien & Co"
    qb.update_object("Customer", json.dumps({"Id": customer.Id, "SyncToken": "0", "sparse": True,
                                            "Notes": "sparse by dict"}))
    assert Customer.filter(DisplayName="O'Brien & Co", qb=qb)[0].Notes == "sparse by dict"
    invoice = _invoice_for(fetched)
    invoice.save(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).TotalAmt == 80
    invoice.delete(qb=qb)
    assert Invoice.count(qb=qb) == 0


def test_it_serves_python_quickbooks_batch_and_cdc(qb, emu):
    """Issue 3 done-when: python-quickbooks batches and runs CDC."""
    since = emu.control("GET", "/clock").json()["now"]
    people = []
    for name in ("Batch A", "Batch B"):
        c = Customer()
        c.DisplayName = name
        people.append(c)
    result = batch_create(people, qb=qb)
    assert len(result.successes) == 2 and not result.faults
    cdc = change_data_capture([Customer], since, qb=qb)
    assert sorted(c.DisplayName for c in cdc.Customer) == ["Batch A", "Batch B"]


def test_it_raises_python_quickbooks_errors_by_code(qb):
    """ref §2 + client libraries: faults reach python-quickbooks with error_code (6240)."""
    first = Customer()
    first.DisplayName = "Twice"
    first.save(qb=qb)
    second = Customer()
    second.DisplayName = "Twice"
    with pytest.raises(QuickbooksException) as info:
        second.save(qb=qb)
    assert info.value.error_code == 6240


def test_it_lets_intuit_oauth_refresh_through_discovery(auth_client, emu):
    """Issue 3 done-when: intuit-oauth AuthClient(environment=<discovery URL>) completes a refresh."""
    assert auth_client.token_endpoint == emu.token_url
    old = auth_client.refresh_token
    auth_client.refresh()
    assert auth_client.refresh_token != old and auth_client.expires_in == 3600
    with pytest.raises(AuthClientError) as info:
        auth_client.refresh(refresh_token=old)
    assert json.loads(info.value.content)["error"] == "invalid_grant"


def test_it_lets_intuit_oauth_revoke(auth_client, emu):
    """ref §9 revoke through intuit-oauth's revoke()."""
    assert auth_client.revoke(token=auth_client.refresh_token) is True


def test_it_serves_python_quickbooks_void(qb):
    """ref §1 void through python-quickbooks' VoidMixin: Invoice operation=void, Payment update&include=void."""
    customer = Customer()
    customer.DisplayName = "Voider"
    customer = customer.save(qb=qb)
    invoice = _invoice_for(customer, 30).save(qb=qb)
    result = invoice.void(qb=qb)
    assert result["Invoice"]["TotalAmt"] == 0
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 12
    payment = payment.save(qb=qb)
    assert payment.void(qb=qb)["Payment"]["PrivateNote"] == "Voided"
