"""Every model of every package, imported in one place so that Alembic's autogenerate and the
test schema see them all. Code imports a model from its own package, never from here."""
from qbo.accounts.models import ApiKey, Firm, User  # noqa: F401
from qbo.core.models import AuditEvent, JobRun, TimestampMixin, utcnow  # noqa: F401
from qbo.ledger.models import (  # noqa: F401
    LEDGER_MODELS,
    Account,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    PaymentCreditAllocation,
    Refund,
    Service,
    TaxRate,
)
from qbo.quickbooks.models import (  # noqa: F401
    BulkRequest,
    QboCompany,
    QboConnection,
    QboLink,
    QboTaxMapping,
    SyncError,
)
