"""Company profiles: what a new QBO company of each region starts with (issue 16).

A profile fixes the country, address and home currency (CompanyInfo, Preferences.CurrencyPrefs),
the sales-tax model (Preferences.TaxPrefs, qbo-2025-2026 §2.1) and the starter lists: chart of
accounts, terms, tax agencies, rates and codes. The rates are the regions' standard rates; the
code names follow what QBO shows in those regions, but the lists are trimmed to what a test needs
(one inactive code and one purchase-only code per region, to exercise their faults).
"""

DEFAULT_PROFILE = "us-ast"

# (Name, AccountType, AccountSubType): a trimmed QBO starter chart of accounts, shared by every
# region; each profile adds its tax liability accounts.
CHART_OF_ACCOUNTS = [
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Refunds-Allowances", "Income", "DiscountsRefundsGiven"),
    ("Other Income", "Other Income", "OtherMiscellaneousIncome"),
    ("Bank Charges & Fees", "Expense", "BankCharges"),
    ("Merchant Fees", "Expense", "BankCharges"),
    ("Office Supplies & Software", "Expense", "OfficeGeneralAdministrativeExpenses"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Checking", "Bank", "Checking"),
    ("Savings", "Bank", "Savings"),
    ("Visa Card", "Credit Card", "CreditCard"),
    ("Stripe Card", "Credit Card", "CreditCard"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity"),
    ("Retained Earnings", "Equity", "RetainedEarnings"),
]

# QBO's default terms of a new company.
TERMS = [("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)]

# Automated sales tax (US, companies created after 2017-11-10; qbo-2025-2026 §2.1) looks the rate
# up from the ship-to address, or the company's. This small table stands in for Intuit's tax
# engine: keys are "STATE" or "STATE POSTCODE-PREFIX" (the longest matching prefix wins), values
# the jurisdictions' rates in percent. Illustrative, not authoritative; a state not listed has no
# sales tax (OR, MT, NH, DE, AK).
AST_RATES = {
    "CA": [("California", "7.25")],
    "CA 940": [("California", "7.25"), ("Santa Clara County", "1.25"),
               ("Mountain View District", "0.625")],
    "NY": [("New York State", "4")],
    "NY 100": [("New York State", "4"), ("New York City", "4.5"), ("MCTD", "0.375")],
    "TX": [("Texas", "6.25")],
    "WA": [("Washington", "6.5")],
}

# Home-currency units per foreign unit (qbo-2025-2026 §2.3: ExchangeRate is home per foreign),
# expressed against USD; cross rates are derived. Illustrative, not market data.
USD_PER = {"USD": "1", "EUR": "1.08", "GBP": "1.27", "CAD": "0.73", "AUD": "0.66",
           "JPY": "0.0067", "CHF": "1.12", "MXN": "0.058", "NZD": "0.61", "INR": "0.012"}
CURRENCY_NAMES = {"USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound Sterling",
                  "CAD": "Canadian Dollar", "AUD": "Australian Dollar", "JPY": "Japanese Yen",
                  "CHF": "Swiss Franc", "MXN": "Mexican Peso", "NZD": "New Zealand Dollar",
                  "INR": "Indian Rupee"}

# ISO 3166 alpha-2 and names to alpha-3: since late 2025 QBO returns Country in CompanyAddr,
# CustomerCommunicationAddr and LegalAddr as the 3-letter code (qbo-2025-2026 §1.2).
ISO3 = {"US": "USA", "UNITED STATES": "USA", "USA": "USA", "UNITED STATES OF AMERICA": "USA",
        "GB": "GBR", "UK": "GBR", "UNITED KINGDOM": "GBR", "GBR": "GBR",
        "CA": "CAN", "CANADA": "CAN", "CAN": "CAN", "AU": "AUS", "AUSTRALIA": "AUS", "AUS": "AUS",
        "FR": "FRA", "FRANCE": "FRA", "DE": "DEU", "GERMANY": "DEU", "IE": "IRL", "IRELAND": "IRL",
        "NZ": "NZL", "NEW ZEALAND": "NZL", "MX": "MEX", "MEXICO": "MEX", "IN": "IND", "INDIA": "IND"}


def _vat(name, rates, sales=True, purchase=True, active=True, description=None):
    return {"Name": name, "rates": rates, "sales": sales, "purchase": purchase, "active": active,
            "Description": description or name}


PROFILES = {
    "us-ast": {
        "country": "US", "currency": "USD", "ast": True, "sales_tax_word": None,
        "address": {"Line1": "1 Emulator Way", "City": "Portland", "CountrySubDivisionCode": "OR",
                    "PostalCode": "97204", "Country": "USA"},
        "accounts": [("Sales Tax Payable", "Other Current Liability", "SalesTaxPayable")],
        "agencies": [], "codes": [],
    },
    "us-manual-tax": {
        "country": "US", "currency": "USD", "ast": False, "sales_tax_word": None,
        "address": {"Line1": "1 Emulator Way", "City": "Mountain View",
                    "CountrySubDivisionCode": "CA", "PostalCode": "94043", "Country": "USA"},
        "accounts": [("Sales Tax Payable", "Other Current Liability", "SalesTaxPayable")],
        "agencies": ["California Department of Tax and Fee Administration"],
        "rates": [("California", "7.25", 0), ("Santa Clara County", "1.875", 0),
                  ("Old District Tax", "0.5", 0)],
        "codes": [_vat("California", ["California"], purchase=False),
                  _vat("Santa Clara", ["California", "Santa Clara County"], purchase=False),
                  _vat("Old District", ["California", "Old District Tax"], purchase=False,
                       active=False)],
    },
    "uk-vat": {
        "country": "GB", "currency": "GBP", "ast": False, "sales_tax_word": "VAT",
        "address": {"Line1": "1 Emulator Street", "City": "London", "PostalCode": "SW1A 1AA",
                    "Country": "GBR"},
        "accounts": [("VAT Control", "Other Current Liability", "GlobalTaxPayable")],
        "agencies": ["HM Revenue & Customs"],
        "rates": [("20.0% S", "20", 0), ("5.0% R", "5", 0), ("0.0% Z", "0", 0),
                  ("Exempt", "0", 0), ("17.5% S", "17.5", 0), ("20.0% RC", "20", 0)],
        "codes": [_vat("20.0% S", ["20.0% S"]), _vat("5.0% R", ["5.0% R"]),
                  _vat("0.0% Z", ["0.0% Z"]), _vat("Exempt", ["Exempt"]),
                  _vat("17.5% S", ["17.5% S"], active=False),
                  _vat("20.0% RC", ["20.0% RC"], sales=False,
                       description="Reverse charge (purchases only)")],
    },
    "ca-gst-hst": {
        "country": "CA", "currency": "CAD", "ast": False, "sales_tax_word": "GST/HST",
        "address": {"Line1": "1 Emulator Avenue", "City": "Toronto", "CountrySubDivisionCode": "ON",
                    "PostalCode": "M5H 2N2", "Country": "CAN"},
        "accounts": [("GST/HST Payable", "Other Current Liability", "GlobalTaxPayable")],
        "agencies": ["Canada Revenue Agency", "Revenu Québec"],
        "rates": [("HST ON", "13", 0), ("GST", "5", 0), ("QST", "9.975", 1), ("Zero-rated", "0", 0),
                  ("Exempt", "0", 0), ("HST ON 2009", "8", 0), ("GST ITC", "5", 0)],
        "codes": [_vat("HST ON", ["HST ON"]), _vat("GST", ["GST"]),
                  _vat("GST/QST QC - 9.975", ["GST", "QST"]), _vat("Zero-rated", ["Zero-rated"]),
                  _vat("Exempt", ["Exempt"]), _vat("HST ON 2009", ["HST ON 2009"], active=False),
                  _vat("GST ITC", ["GST ITC"], sales=False,
                       description="Input tax credit (purchases only)")],
    },
    "au-gst": {
        "country": "AU", "currency": "AUD", "ast": False, "sales_tax_word": "GST",
        "address": {"Line1": "1 Emulator Road", "City": "Sydney", "CountrySubDivisionCode": "NSW",
                    "PostalCode": "2000", "Country": "AUS"},
        "accounts": [("GST Payable", "Other Current Liability", "GlobalTaxPayable")],
        "agencies": ["Australian Taxation Office"],
        "rates": [("GST (sales)", "10", 0), ("GST free", "0", 0), ("Input taxed", "0", 0),
                  ("Out of scope", "0", 0), ("GST on non-capital", "10", 0),
                  ("WET", "29", 0)],
        "codes": [_vat("GST", ["GST (sales)"]), _vat("FRE", ["GST free"], description="GST free"),
                  _vat("INP", ["Input taxed"], description="Input taxed"),
                  _vat("N-T", ["Out of scope"], description="Not reportable"),
                  _vat("NCG", ["GST on non-capital"], sales=False,
                       description="GST on non-capital purchases"),
                  _vat("WET", ["WET"], active=False, description="Wine equalisation tax")],
    },
}


def iso3(country):
    """A country as QBO returns it in company addresses since late 2025 (qbo-2025-2026 §1.2)."""
    if not isinstance(country, str) or not country.strip():
        return country
    return ISO3.get(country.strip().upper(), country)


def ast_rates(state, postcode):
    """[(jurisdiction, percent)] for an address under automated sales tax (AST_RATES)."""
    state = (state or "").strip().upper()
    postcode = str(postcode or "").strip()
    best, best_len = AST_RATES.get(state, []), 0
    for key, rates in AST_RATES.items():
        key_state, _, prefix = key.partition(" ")
        if key_state == state and prefix and postcode.startswith(prefix) and len(prefix) > best_len:
            best, best_len = rates, len(prefix)
    return best


def exchange_rate(source, home):
    """Home-currency units per one `source` unit from the built-in table, or None."""
    from decimal import Decimal
    if source not in USD_PER or home not in USD_PER:
        return None
    return (Decimal(USD_PER[source]) / Decimal(USD_PER[home])).quantize(Decimal("0.0000001"))
