"""What invoices and credit memos share: lines, the customer, the memo, finding one again."""
from __future__ import annotations

from qbo.quickbooks.sync.context import find_marked, marker, quote


def dependencies(doc) -> list:
    deps = [("account", doc.account_id)]
    deps += [("service", line.service_id) for line in doc.lines if line.service_id]
    return deps


def lines(doc, ctx) -> list[dict]:
    out = []
    for number, line in enumerate(doc.lines, 1):
        amount = float(line.amount)
        detail = {"Qty": float(line.quantity), "UnitPrice": float(line.rate)}
        if line.service_id is None:
            # error-cases `line-description-fallback`: the amount is kept on the firm's fallback
            # item, the typed text goes to the line's description (a text-only line has no amount).
            item = ctx.fallback_item()
            ctx.warn(doc, "line-description-fallback", line=number, description=line.description,
                     amount=str(line.amount), item=item.get("name"))
            entry = {"Amount": amount, "DetailType": "SalesItemLineDetail",
                     "SalesItemLineDetail": {"ItemRef": item, **detail}}
        else:
            item = ctx.require("service", line.service_id, f"service \"{line.service.name}\"")
            entry = {"Amount": amount, "DetailType": "SalesItemLineDetail",
                     "SalesItemLineDetail": {"ItemRef": item, **detail}}
        if line.description:
            entry["Description"] = line.description
        out.append(entry)
    return out


def base_payload(doc, ctx, record_type: str) -> dict:
    payload = {
        "CustomerRef": ctx.require("account", doc.account_id, f"customer \"{doc.account.name}\""),
        "TxnDate": doc.date.isoformat(),
        "Line": lines(doc, ctx),
        "PrivateNote": marker(record_type, doc.id),
    }
    from qbo.quickbooks import company, currency, tax  # issue 17: tax codes or the US override; currency and rate

    tax.apply_to_payload(payload, doc, ctx)
    currency.apply_to_payload(payload, doc, ctx)
    company.apply_tracking(payload, ctx)  # issue 17 (5): the firm's class and location
    if ctx.firm.sync_invoice_numbers:
        payload["DocNumber"] = doc.number
    if doc.description:
        # error-cases `description-to-memo`: the description is a note to the client, not a line.
        payload["CustomerMemo"] = {"value": doc.description}
        ctx.warn(doc, "description-to-memo")
    return payload


def find_existing(entity: str, record_type: str, doc, payload: dict, ctx) -> dict | None:
    """Find the document a create whose outcome was unknown may have made: by DocNumber when
    numbers are synced, otherwise by our marker among the customer's documents of that date."""
    where = f"DocNumber = {quote(payload['DocNumber'])}" if payload.get("DocNumber") else None
    return find_marked(entity, record_type, doc.id, payload, ctx, where=where)
