"""The emulator's state: companies and their records, tokens, faults, limits, clock.

Everything lives in one JSON-serialisable dict guarded by one lock, and is written atomically to
the data file (when there is one) after every change, so a demo survives a restart.
"""

import copy
import json
import os
import secrets
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo

    COMPANY_TZ = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - no tz database
    COMPANY_TZ = timezone(timedelta(hours=-8))

DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_LIMITS = {"enabled": True, "per_minute": 500, "per_second": 10, "concurrent": 10,
                  "batch_per_minute": 40, "time_scale": 1.0}

from .profiles import (AST_RATES, CHART_OF_ACCOUNTS, CURRENCY_NAMES, DEFAULT_PROFILE, PROFILES,
                       TERMS, iso3)

AST_AGENCIES = {"CA": "California Department of Tax and Fee Administration",
                "NY": "New York State Department of Taxation and Finance",
                "TX": "Texas Comptroller of Public Accounts",
                "WA": "Washington State Department of Revenue"}

PAYMENT_METHODS = [
    ("Cash", "NON_CREDIT_CARD"), ("Check", "NON_CREDIT_CARD"), ("Visa", "CREDIT_CARD"),
    ("MasterCard", "CREDIT_CARD"), ("American Express", "CREDIT_CARD"), ("Discover", "CREDIT_CARD"),
    ("ACH", "NON_CREDIT_CARD"),
]

CLASSIFICATION = {
    "Bank": "Asset", "Other Current Asset": "Asset", "Fixed Asset": "Asset", "Other Asset": "Asset",
    "Accounts Receivable": "Asset", "Equity": "Equity", "Expense": "Expense",
    "Other Expense": "Expense", "Cost of Goods Sold": "Expense", "Accounts Payable": "Liability",
    "Credit Card": "Liability", "Long Term Liability": "Liability",
    "Other Current Liability": "Liability", "Income": "Revenue", "Other Income": "Revenue",
}


def fmt_time(epoch, ms=False):
    """QBO writes times in the company's zone with its offset, e.g. 2026-11-25T19:48:52-08:00."""
    dt = datetime.fromtimestamp(epoch, COMPANY_TZ)
    return dt.isoformat(timespec="milliseconds" if ms else "seconds")


def company_date(epoch):
    return datetime.fromtimestamp(epoch, COMPANY_TZ).date().isoformat()


def new_realm_id():
    # Real realm ids are 16-19 digit numbers.
    return str(9130350000000000 + secrets.randbelow(10**12))


class Store:
    def __init__(self, data_path=None, realm_id=None, company_name=None, limits=None,
                 client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                 custom_txn_numbers=False, strict_refresh_tokens=False, profile=None):
        self.lock = threading.RLock()
        self.data_path = data_path
        self.client_id = client_id
        self.client_secret = client_secret
        self.initial_limits = dict(DEFAULT_LIMITS, **(limits or {}))
        self.default_company_name = company_name or "Emulator Test Company"
        self.default_custom_txn_numbers = custom_txn_numbers
        self.default_profile = profile
        self.initial_oauth_settings = {"strict_refresh_tokens": bool(strict_refresh_tokens)}
        self.listeners = []  # callables(event) for webhooks
        self.request_log = []
        self.request_seq = 0
        self.state = None
        if data_path and os.path.exists(data_path):
            with open(data_path) as f:
                self.state = json.load(f)
        if self.state is None:
            self.state = self._fresh_state(realm_id or new_realm_id())
            self.save()
        # The start-up setting wins over a data file's (the command line says how tokens behave).
        self.state["oauth_settings"] = dict(self.initial_oauth_settings)

    # -- lifecycle -------------------------------------------------------------------------

    def _fresh_state(self, realm_id):
        state = {
            "default_realm": realm_id, "clock_offset": 0.0, "companies": {},
            "oauth": {"codes": {}, "grants": {}, "refresh": {}, "access": {}},
            "requestids": {}, "faults": [], "fault_seq": 0, "webhooks": None,
            "limits": dict(self.initial_limits),
            "oauth_settings": dict(self.initial_oauth_settings),
            "read_quota": {"per_month": None, "realms": {}}, "reads_used": {},
        }
        self.state = state
        self.create_company(realm_id, self.default_company_name, self.default_custom_txn_numbers,
                            save=False, profile=self.default_profile)
        return state

    def reset(self):
        with self.lock:
            self.state = self._fresh_state(self.state["default_realm"])
            self.request_log = []
            self.save()

    def save(self):
        if not self.data_path:
            return
        with self.lock:
            directory = os.path.dirname(os.path.abspath(self.data_path))
            fd, tmp = tempfile.mkstemp(prefix=".emulator-", dir=directory)
            with os.fdopen(fd, "w") as f:
                json.dump(self.state, f)
            os.replace(tmp, self.data_path)

    # -- the monthly read quota (qbo-2025-2026.md §1.1) ------------------------------------------

    def spend_read(self, realm):
        """Count one CorePlus call for `realm` in the company's current calendar month; False when
        the month's allowance is already spent (the call is refused and not counted)."""
        with self.lock:
            quota = self.state.setdefault("read_quota", {"per_month": None, "realms": {}})
            limit = quota["realms"].get(realm, quota.get("per_month"))
            month = company_date(self.now(realm))[:7]
            used = self.state.setdefault("reads_used", {}).setdefault(realm, {})
            if limit is not None and used.get(month, 0) >= int(limit):
                return False
            used[month] = used.get(month, 0) + 1
            return True

    # -- clock -----------------------------------------------------------------------------

    def now(self, realm=None):
        t = time.time() + self.state["clock_offset"]
        company = self.state["companies"].get(realm) if realm else None
        if company:
            t += company.get("clock_offset", 0.0)
        return t

    def advance_clock(self, seconds, realm=None):
        with self.lock:
            if realm:
                self.company(realm)["clock_offset"] = self.company(realm).get("clock_offset", 0.0) + seconds
            else:
                self.state["clock_offset"] += seconds
            self.save()

    # -- companies -------------------------------------------------------------------------

    def company(self, realm):
        return self.state["companies"].get(str(realm))

    def create_company(self, realm_id=None, name=None, custom_txn_numbers=False, save=True,
                       profile=None, address=None):
        profile = profile or self.default_profile or DEFAULT_PROFILE
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile}; one of {sorted(PROFILES)}")
        spec = PROFILES[profile]
        with self.lock:
            realm_id = str(realm_id or new_realm_id())
            company = {"realm_id": realm_id, "clock_offset": 0.0, "subscription_active": True,
                       "next_id": {}, "records": {}, "profile": profile, "exchange_rates": {}}
            self.state["companies"][realm_id] = company
            now = self.now(realm_id)
            name = name or "Emulator Company"
            home = spec["currency"]
            address = dict(spec["address"], **(address or {}))
            address["Country"] = iso3(address.get("Country"))
            self.insert(company, "CompanyInfo", {
                "CompanyName": name, "LegalName": name, "Country": spec["country"],
                "CompanyAddr": dict(address), "LegalAddr": dict(address),
                "CustomerCommunicationAddr": dict(address),
                "Email": {"Address": "books@example.com"}, "FiscalYearStartMonth": "January",
                "SupportedLanguages": "en", "CompanyStartDate": company_date(now),
                "DefaultTimeZone": "America/Los_Angeles",
                "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                              {"Name": "SubscriptionStatus", "Value": "PAID"},
                              {"Name": "CompanyType", "Value": "LLC"}],
            }, now)
            self.insert(company, "Preferences", self._preferences(spec, custom_txn_numbers), now)
            accounts = CHART_OF_ACCOUNTS + spec["accounts"]
            for acct_name, acct_type, sub_type in accounts:
                self.insert(company, "Account", {
                    "Name": acct_name, "FullyQualifiedName": acct_name, "SubAccount": False,
                    "Active": True, "Classification": CLASSIFICATION[acct_type],
                    "AccountType": acct_type, "AccountSubType": sub_type, "CurrentBalance": 0,
                    "CurrentBalanceWithSubAccounts": 0,
                    "CurrencyRef": {"value": home, "name": CURRENCY_NAMES[home]},
                }, now)
            for pm_name, pm_type in PAYMENT_METHODS:
                self.insert(company, "PaymentMethod", {"Name": pm_name, "Active": True,
                                                       "Type": pm_type}, now)
            for term_name, days in TERMS:
                self.insert(company, "Term", {"Name": term_name, "Active": True, "Type": "STANDARD",
                                              "DueDays": days, "DiscountPercent": 0,
                                              "DiscountDays": 0}, now)
            self._tax_lists(company, spec, now)
            services = self.find_by(company, "Account", "Name", "Services")
            self.insert(company, "Item", {
                "Name": "Services", "FullyQualifiedName": "Services", "Active": True,
                "Type": "Service", "Taxable": False, "UnitPrice": 0,
                "IncomeAccountRef": {"value": services["data"]["Id"], "name": "Services"},
            }, now)
            if save:
                self.save()
            return realm_id

    @staticmethod
    def _preferences(spec, custom_txn_numbers):
        """Every section QBO returns (qbTypesDump Preferences), none of them with a null."""
        return {
            "EmailMessagesPrefs": {
                "InvoiceMessage": {"Subject": "Invoice [Invoice No.] from [Company Name]",
                                   "Message": "Here's your invoice! We appreciate your prompt payment."},
                "EstimateMessage": {"Subject": "Estimate [Estimate No.] from [Company Name]",
                                    "Message": "Please review the estimate below."},
                "SalesReceiptMessage": {"Subject": "Sales Receipt [Sales Receipt No.] from [Company Name]",
                                        "Message": "Your sales receipt is attached."},
                "StatementMessage": {"Subject": "Statement from [Company Name]",
                                     "Message": "Your statement is attached."},
            },
            "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True,
                                        "QuantityWithPriceAndRate": True, "QuantityOnHand": True},
            "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
            "AccountingInfoPrefs": {"TrackDepartments": False, "DepartmentTerminology": "Location",
                                    "ClassTrackingPerTxn": False, "ClassTrackingPerTxnLine": False,
                                    "CustomerTerminology": "Customers", "UseAccountNumbers": False,
                                    "FirstMonthOfFiscalYear": "January",
                                    "TaxYearMonth": "January"},
            "SalesFormsPrefs": {"CustomTxnNumbers": bool(custom_txn_numbers),
                                "AllowDiscount": True, "AllowDeposit": False,
                                "AllowEstimates": True, "AllowServiceDate": False,
                                "AllowShipping": False, "AutoApplyCredit": True,
                                "ETransactionEnabledStatus": "NotApplicable",
                                "EmailCopyToCompany": False, "UsingPriceLevels": False,
                                "UsingProgressInvoicing": False, "IPNSupportEnabled": False},
            "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True,
                                        "TPAREnabled": False},
            "TimeTrackingPrefs": {"UseServices": True, "BillCustomers": True,
                                  "ShowBillRateToAll": False, "WorkWeekStartDate": "Monday",
                                  "MarkTimeEntriesBillable": True},
            # PartnerTaxEnabled marks automated sales tax (qbo-2025-2026 §2.1).
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": bool(spec["ast"])},
            "CurrencyPrefs": {"MultiCurrencyEnabled": False,
                              "HomeCurrency": {"value": spec["currency"]}},
            "OtherPrefs": {"NameValue": [
                {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": "Thank you for your business."},
                {"Name": "SalesFormsPrefs.UsingSalesTaxCode", "Value": "true"},
                {"Name": "VendorAndPurchasesPrefs.UsingSalesTaxCode", "Value": "true"},
                {"Name": "DTXCopyMemo", "Value": "false"},
                {"Name": "UncategorizedAssetAccountId", "Value": "1"},
            ]},
        }

    def _tax_lists(self, company, spec, now):
        """TaxAgency, TaxRate and TaxCode records of the profile (AST: one code per table row)."""
        if spec["ast"]:
            agencies = sorted({key.split()[0] for key in AST_RATES})
            rates = []
            for key, parts in AST_RATES.items():
                for jurisdiction, pct in parts:
                    if all(r[0] != jurisdiction for r in rates):
                        rates.append((jurisdiction, pct, agencies.index(key.split()[0])))
            codes = [{"Name": key if " " not in key else f"{key.split()[0]} {key.split()[1]}xx",
                      "rates": [j for j, _ in parts], "sales": True, "purchase": False,
                      "active": True, "Description": "Automated sales tax: " + key}
                     for key, parts in AST_RATES.items()]
        else:
            agencies, rates, codes = spec["agencies"], spec.get("rates", []), spec["codes"]
        agency_ids = [self.insert(company, "TaxAgency", {
            "DisplayName": AST_AGENCIES.get(agency, agency), "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": not spec["ast"],
        }, now)["data"]["Id"] for agency in agencies]
        rate_ids = {}
        for rate_name, pct, agency in rates:
            rate_ids[rate_name] = self.insert(company, "TaxRate", {
                "Name": rate_name, "Description": rate_name, "RateValue": pct, "Active": True,
                "AgencyRef": {"value": agency_ids[agency]}, "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            }, now)["data"]["Id"]
        for code in codes:
            detail = [{"TaxRateRef": {"value": rate_ids[r], "name": r}, "TaxTypeApplicable":
                       "TaxOnAmount", "TaxOrder": 0} for r in code["rates"]]
            record = {"Name": code["Name"], "Description": code["Description"],
                      "Active": code["active"], "Hidden": False, "Taxable": True,
                      "TaxGroup": len(code["rates"]) > 1, "TaxCodeConfigType": "SYSTEM_GENERATED",
                      "SalesTaxRateList": {"TaxRateDetail": detail if code["sales"] else []},
                      "PurchaseTaxRateList": {"TaxRateDetail": detail if code["purchase"] else []}}
            self.insert(company, "TaxCode", record, now)

    # -- records ---------------------------------------------------------------------------

    def records(self, company, entity):
        return company["records"].setdefault(entity, {})

    def next_id(self, company, entity):
        # QBO numbers all transactions from one sequence; name lists each from their own.
        from .rules import TRANSACTIONS  # local: rules imports store
        key = "txn" if entity in TRANSACTIONS else entity
        n = company["next_id"].get(key, 1)
        company["next_id"][key] = n + 1
        return str(n)

    def insert(self, company, entity, data, now):
        data = dict(data)
        data["Id"] = "1" if entity in ("CompanyInfo", "Preferences") else self.next_id(company, entity)
        data["SyncToken"] = "0"
        data["domain"] = "QBO"
        data["sparse"] = False
        data["MetaData"] = {"CreateTime": fmt_time(now), "LastUpdatedTime": fmt_time(now)}
        wrapper = {"data": data, "created": now, "updated": now, "deleted": False}
        self.records(company, entity)[data["Id"]] = wrapper
        return wrapper

    def touch(self, wrapper, now):
        data = wrapper["data"]
        data["SyncToken"] = str(int(data["SyncToken"]) + 1)
        data["MetaData"]["LastUpdatedTime"] = fmt_time(now)
        wrapper["updated"] = now

    def get(self, company, entity, record_id):
        return self.records(company, entity).get(str(record_id))

    def find_by(self, company, entity, field, value):
        for wrapper in self.records(company, entity).values():
            if wrapper["data"].get(field) == value:
                return wrapper
        return None

    # -- events (webhooks) -----------------------------------------------------------------

    def emit(self, realm, entity, record_id, operation, now):
        event = {"realm_id": realm, "entity": entity, "id": str(record_id),
                 "operation": operation, "at": now}
        for listener in list(self.listeners):
            listener(event)

    # -- request log -----------------------------------------------------------------------

    def log_request(self, entry):
        with self.lock:
            self.request_seq += 1
            entry["seq"] = self.request_seq
            self.request_log.append(entry)
            del self.request_log[:-10000]
            return entry

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(self.state)
