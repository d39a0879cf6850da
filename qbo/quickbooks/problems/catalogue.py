"""Every sync problem the desk knows, by the case ids of error-cases.md, and how a QBO fault maps to one.

A case says what happened, why, what fixes it and which actions a row offers. `recognise` turns a
`QboError` into a case by looking at the code, message, detail and element together *and* at the
record being pushed, since one code can mean different things (6240 on a client account is a name
clash; on a payment it usually means a payment method marked as a credit card). A fault that matches
no known case is still recognised as `qbo-fault`, with QuickBooks' own words kept: nothing is dropped.

Besides the cases of error-cases.md this module adds four ids the engine needs:
`modified-in-qbo` (issue 5: edited in QBO by someone else), `qbo-fault` (anything unrecognised),
`required-field` (QBO needs a value the record lacks), `deposit-account-type` (the deposit account
from settings is not a Bank / Other Current Asset account); and `amount-mismatch` (issue 12:
QuickBooks' answer to a write shows another amount than the ledger's).

Texts come in English and Romanian (`localised`, `explain(..., language)`); `explain` leads with
what the facts pin down (the deleted dependency, the field, its value and limit, the name's holder).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace

from qbo.ledger.record_types import (  # noqa: F401  (the desk reads catalogue.CATEGORIES)
    CATEGORIES,
    RECORD_TYPES,
)
from qbo.quickbooks.api.errors import QboError, QboFaultEntry
from qbo.quickbooks.sync.preflight import ENTITY_FOR, field_label

RECORD_CATEGORY = {key: t.category for key, t in RECORD_TYPES.items()}
ROW_ACTIONS = ("skip", "resync", "create_customer", "link_customer", "recreate", "link_invoice",
               "rename_customer", "reactivate_customer")
BULK_ACTIONS = ("create_missing_customers", "resync_case")
SEVERITIES = ("error", "warning", "info")
# Actions that act on a client account (for a transaction: on the account it belongs to).
CUSTOMER_ACTIONS = ("create_customer", "link_customer", "create_missing_customers")
# Actions a `duplicate-name` row offers only when its facts name the holder (issue 18): renaming
# the account beside a vendor or employee, making the same-named inactive customer active again.
HOLDER_ACTIONS = ("rename_customer", "reactivate_customer")


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    explanation: str
    fix: str
    actions: tuple[str, ...]
    severity: str = "error"
    #: Categories the case can appear under (error-cases.md); empty means any. The record decides.
    categories: tuple[str, ...] = ()


def _case(id, title, explanation, fix, actions, severity="error", categories=()):
    return Case(id, title, " ".join(explanation.split()), " ".join(fix.split()), tuple(actions),
                severity, tuple(categories))


_ALL_CASES = [
    _case(
        "unsynced", "Unsynced: deleted in QuickBooks",
        """This record was linked to QuickBooks, but its QuickBooks copy, or something it relies on
        (its customer, a service on one of its lines, an invoice it pays), was deleted or made
        inactive there. Until the missing piece exists again, QuickBooks and the ledger disagree.""",
        """Press Resync: the product creates again whatever is missing in QuickBooks, dependencies
        first, and links the record to the new copy. Skip leaves it unsynced.""",
        ("resync", "resync_case", "skip")),
    _case(
        "account-no-match", "No matching customer in QuickBooks",
        """No customer in QuickBooks has exactly this account's name. Either the customer was never
        created there, or someone created it by hand in QuickBooks under a slightly different
        name after the first sync.""",
        """Create new customer makes it in QuickBooks. Link to an existing customer lets you pick
        the right one by typing part of its name. To create every missing customer at once, use the
        bulk action "Create new customer in QuickBooks for all accounts missing in QuickBooks"
        (it needs the owner's approval).""",
        ("create_customer", "link_customer", "create_missing_customers", "skip"),
        categories=("accounts",)),
    _case(
        "duplicates-in-qbo", "Possible duplicate in QuickBooks",
        """QuickBooks holds another entry with the same customer, amount and date as this one, and
        the product did not create it. Three things usually cause this: someone entered it by hand
        while matching bank transactions, even though the product already creates these entries;
        the card processor's own QuickBooks connection also posts payments; or the bank feed
        brought the same money in twice.""",
        """In QuickBooks, match bank transactions to the entries the product created instead of
        adding new ones; turn off the card processor's own payment sync, so that only this product
        posts payments; then delete the extra entry in QuickBooks. Resync checks again; Skip if
        both entries are genuine.""",
        ("resync", "skip"), categories=("invoices", "payments", "expenses")),
    _case(
        "duplicate-name", "Name already used in QuickBooks",
        """QuickBooks refused the name because something else already uses it. Customers, vendors
        and employees share one list of names in QuickBooks, so a vendor or an employee called the
        same blocks a new customer. On a payment, the usual cause is different: the payment method
        (for example ACH) is marked as a credit card in QuickBooks.""",
        """If it is the same client, link the account to the existing QuickBooks customer; when
        that customer is inactive, "Reactivate … and link" makes it active again and links it. If a
        vendor or employee holds the name, rename the account so the two differ, for example
        "John Doe (client)", and resync: "Rename to … and resync" does both. For a payment, open Lists > Payment methods in QuickBooks,
        clear "This is a credit card" on that method, then resync.""",
        ("rename_customer", "reactivate_customer", "link_customer", "resync", "resync_case", "skip"),
        categories=("accounts", "payments")),
    _case(
        "customer-deleted", "Customer deleted in QuickBooks",
        """The QuickBooks customer this record belongs to was deleted (made inactive) there.
        QuickBooks accepts no new or changed transactions for an inactive customer. Sometimes a
        same-named customer was removed by mistake.""",
        """Link the account to an active QuickBooks customer, or create a new one, then resync the
        account's transactions.""",
        ("link_customer", "create_customer", "resync", "resync_case", "skip"),
        categories=("invoices", "payments", "refunds")),
    _case(
        "duplicate-doc-number", "Number already used in QuickBooks",
        """QuickBooks already has a transaction with this number: either an invoice typed in
        QuickBooks directly, or a credit memo that shares the number (invoices and credit memos
        share one numbering there). The product will not create a second one.""",
        """Give the record a number QuickBooks has not used yet, then resync. To avoid it in
        future, set the ledger's next number above the ones used in QuickBooks, turn on custom
        transaction numbers in QuickBooks, or turn off "Sync invoice number with QuickBooks Online"
        to let QuickBooks number invoices. If the QuickBooks entry is this same invoice, Skip.""",
        ("link_invoice", "resync", "skip"), categories=("invoices",)),
    _case(
        "invalid-item-ref", "Service missing in QuickBooks",
        """A line of this transaction points at a QuickBooks product or service that does not exist
        or is inactive. Usually the service never synced, or the transaction's customer or the
        service was deleted in QuickBooks.""",
        """Use "Resync for all entities with this error": the product creates the missing services
        and customers first, then the transactions.""",
        ("resync_case", "resync", "skip"), categories=("invoices", "payments")),
    _case(
        "credit-exceeds-balance", "Amount more than the invoice's open balance in QuickBooks",
        """The payment or credit applies more to an invoice than the invoice still owes in
        QuickBooks. This happens when the invoice was already paid, in part or in full, in
        QuickBooks: the two sides record different payments for it.""",
        """Compare the invoice's payments in the ledger and in QuickBooks. In QuickBooks, void the
        extra payment or remove the credits that should not be there, then resync.""",
        ("resync", "skip"), categories=("payments", "invoices")),
    _case(
        "expense-account-type", "Wrong account type for processor fees",
        """QuickBooks refused the processor fee expense because an account chosen for it in the
        integration settings has the wrong type: the card account must be a Credit Card account,
        and the fee account an Expense account.""",
        """In Settings > Integrations > QuickBooks, pick a Credit Card account for card fees (the
        list shows QuickBooks accounts by type), then resync.""",
        ("resync", "resync_case", "skip"), categories=("expenses",)),
    _case(
        "item-account-type", "Wrong account type for the service",
        """A QuickBooks product or service can't post to an Accounts Receivable or Accounts Payable
        account, and its income account must be an income account. The account set on this service
        is of another type.""",
        """Edit the service and choose an Income account for something the firm sells (an Expense
        account for something it buys), then resync.""",
        ("resync", "resync_case", "skip"), categories=("services",)),
    _case(
        "string-length", "A value doesn't fit QuickBooks' limits",
        """A field of this record breaks a QuickBooks limit: it is too long (invoice numbers allow
        21 characters, names 100, notes a few thousand), contains characters QuickBooks refuses in
        names (a colon, a tab, a line break), or has the wrong form (an email address). The product
        checks these limits before sending, so the record waits here until the field is corrected.""",
        """Shorten or correct the named field in the ledger, then resync.""",
        ("resync", "skip")),
    _case(
        "service-error", "QuickBooks refused the service",
        """QuickBooks refused this service for a reason the product can't fix by itself, often a
        technical one. QuickBooks' own message is shown below.""",
        """Check the service's income account, then use Recreate in QuickBooks: the product forgets
        the old QuickBooks link and creates the service again. Resync tries once more as it is.""",
        ("recreate", "resync", "skip"), categories=("services",)),
    _case(
        "line-description-fallback", "Line sent without a service",
        """A line of this invoice or credit note has no service from the list. Its amount was kept:
        QuickBooks booked it on the fallback item chosen in the integration settings (by default
        QuickBooks' own "Services" item), with the line's text as its description. That happens
        when the service name was typed on the line by hand.""",
        """Nothing is missing in QuickBooks. To book the line on the right service, pick the service
        from the list on the line; the record then syncs with it.""",
        ("resync", "skip"), severity="warning", categories=("invoices",)),
    _case(
        "description-to-memo", "Invoice description sent as the memo",
        """The invoice's description is a note about the invoice, so it goes to the memo in
        QuickBooks, not to a line. This is by design.""",
        """Nothing to fix. Put what the firm sells on line items with a service.""",
        ("skip",), severity="info", categories=("invoices",)),
    _case(
        "no-permission", "Action not available to you",
        """Buttons follow permissions: a button you don't see needs a right your role lacks, such
        as acting on errors or approving bulk customer creation.""",
        """Ask the firm's owner or an admin to act, or to change your role. If a button you should
        have is missing, reload the page or try another browser.""",
        ("skip",), severity="info"),
    _case(
        "deleted-invoice-no-resync", "Invoice deleted in QuickBooks",
        """This invoice was deleted in QuickBooks after it was synced. Its link points at nothing,
        so an ordinary update can't work.""",
        """Recreate in QuickBooks creates it again from the ledger and links the new copy. Skip if
        it was deleted on purpose (and delete it in the ledger too).""",
        ("recreate", "skip"), categories=("invoices",)),
    _case(
        "modified-in-qbo", "Changed in QuickBooks by someone else",
        """Someone edited this record in QuickBooks after the product synced it. The ledger is the
        source of truth, so the two now differ.""",
        """Resync sends the ledger's version again and overwrites the change made in QuickBooks.
        Skip keeps the QuickBooks version until the record changes in the ledger.""",
        ("resync", "skip")),
    _case(
        "required-field", "Required value missing",
        """QuickBooks needs a value this record does not have (for example a customer, at least
        one line, or a name), so it was not sent.""",
        """Fill in the named field in the ledger, or sync the record it depends on, then resync.""",
        ("resync", "skip")),
    _case(
        "deposit-account-type", "Wrong deposit account",
        """Payments and refunds must go to a Bank or Other Current Asset account in QuickBooks. The
        deposit account chosen in the integration settings is of another type, or no longer exists
        there.""",
        """In Settings > Integrations > QuickBooks, pick a Bank or Other Current Asset account (or
        Undeposited Funds) for deposits, then resync.""",
        ("resync", "resync_case", "skip"), categories=("payments", "refunds")),
    _case(
        "qbo-fault", "QuickBooks refused the record",
        """QuickBooks refused this record with a message the product does not know yet. Its own
        words are kept below, unchanged.""",
        """Read QuickBooks' message, correct the record in the ledger or the setting in
        QuickBooks it points at, then resync. If it keeps failing, skip it and tell support.""",
        ("resync", "skip")),
]
# Issue 12, parts 4 and 5: nothing stranded, nothing waiting in silence.
_ALL_CASES += [
    _case(
        "stuck-pending", "Not sent to QuickBooks for a while",
        """This record has been waiting to be sent to QuickBooks for longer than the firm's limit
        (Settings > Integrations > QuickBooks). A sync was interrupted (QuickBooks slow or
        unreachable, a worker stopped) and the product keeps trying again, waiting longer between
        tries.""",
        """Usually nothing: the row closes by itself once the record reaches QuickBooks. If it stays,
        check that QuickBooks is connected and reachable, then press Resync.""",
        ("resync", "skip")),
    _case(
        "waiting-for-dependency", "Waiting for another record",
        """This record can't be sent until a record it relies on (its customer, an invoice it pays, a
        payment it refunds) is in QuickBooks, and that record is stuck: it was skipped, has a
        QuickBooks error, or is set to "Do not sync". The record waits and will not reach
        QuickBooks by itself.""",
        """Fix the record it waits for (the link and its actions are on this row); this one is then
        sent and the row closes by itself. Resync sends both again, the one it waits for first.""",
        ("resync", "skip")),
]
# --- amount-mismatch (issue 12: books that tie out) -----------------------------------------------
_ALL_CASES.append(_case(
    "amount-mismatch", "QuickBooks has a different amount than the ledger",
    """After the product wrote this record, QuickBooks' answer showed an amount that differs from
    the ledger's: the total, or what QuickBooks applied to invoices and credit memos. The books
    no longer tie out. Usual causes: QuickBooks applied a credit or payment by itself (automatic
    application of credits), a tax or discount setting in QuickBooks changed the total, or a line
    QuickBooks could not book.""",
    """Compare the record in the ledger and in QuickBooks. Correct the setting in QuickBooks (or
    the record in the ledger), then Resync: the product writes the record again and checks the
    amounts once more. Skip only if the difference is intended.""",
    ("resync", "skip"), categories=("invoices", "payments", "refunds", "expenses")))

CASES: dict[str, Case] = {case.id: case for case in _ALL_CASES}


# Romanian texts (title, explanation, fix), written for the product, not translated from any article.
# Button names stay as the page shows them.
_TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {"ro": {
    "unsynced": (
        "Nesincronizat: șters în QuickBooks",
        """Înregistrarea era legată de QuickBooks, dar copia ei de acolo sau ceva de care depinde
        (clientul, un serviciu de pe o linie, factura pe care o achită) a fost șters sau dezactivat
        în QuickBooks. Până când piesa lipsă există din nou, cele două părți nu mai coincid.""",
        """Apăsați „Resincronizați”: produsul recreează în QuickBooks tot ce lipsește, întâi dependențele, și
        leagă înregistrarea de noua copie. „Omiteți” o lasă nesincronizată."""),
    "account-no-match": (
        "Niciun client potrivit în QuickBooks",
        """Niciun client din QuickBooks nu poartă exact numele acestui cont. Fie clientul nu a fost
        creat niciodată acolo, fie cineva l-a adăugat manual în QuickBooks, cu un nume puțin diferit,
        după prima sincronizare.""",
        """„Creați un client nou” îl creează în QuickBooks. „Legați de un client existent” vă lasă să alegeți
        clientul corect scriind o parte din nume. Pentru toți clienții lipsă deodată, folosiți acțiunea
        „Creați în QuickBooks clienți noi pentru toate conturile care lipsesc din QuickBooks” (cere aprobarea
        proprietarului)."""),
    "duplicates-in-qbo": (
        "Posibil duplicat în QuickBooks",
        """În QuickBooks există o altă înregistrare cu același client, aceeași sumă și aceeași dată, pe
        care produsul nu a creat-o. De obicei cauza este una din trei: cineva a introdus-o manual la
        potrivirea tranzacțiilor bancare, deși produsul le creează deja; conexiunea proprie a
        procesatorului de carduri cu QuickBooks trimite și ea plățile; sau fluxul bancar a adus
        aceiași bani de două ori.""",
        """În QuickBooks, potriviți tranzacțiile bancare cu înregistrările create de produs în loc să
        adăugați altele noi; opriți sincronizarea plăților din conexiunea procesatorului, ca doar acest
        produs să trimită plăți; apoi ștergeți înregistrarea în plus din QuickBooks. „Resincronizați” verifică
        din nou; alegeți „Omiteți” dacă ambele înregistrări sunt reale."""),
    "duplicate-name": (
        "Nume deja folosit în QuickBooks",
        """QuickBooks a refuzat numele pentru că îl folosește deja altcineva. Clienții, furnizorii și
        angajații au o singură listă de nume în QuickBooks, așa că un furnizor sau un angajat cu același
        nume blochează un client nou. La o plată, cauza obișnuită e alta: metoda de plată (de exemplu
        ACH) este marcată drept card de credit în QuickBooks.""",
        """Dacă este același client, legați contul de clientul existent din QuickBooks; dacă acel
        client este inactiv, „Reactivați … și legați” îl face din nou activ și leagă contul de el.
        Dacă numele aparține unui furnizor sau angajat, redenumiți contul ca să se deosebească, de
        exemplu „Ion Popescu (client)”, apoi resincronizați: „Redenumiți în … și resincronizați” le
        face pe amândouă. Pentru o plată, deschideți în QuickBooks lista
        metodelor de plată, scoateți bifa de card de credit de la metoda respectivă, apoi
        resincronizați."""),
    "customer-deleted": (
        "Client șters în QuickBooks",
        """Clientul QuickBooks căruia îi aparține înregistrarea a fost șters (dezactivat) acolo.
        QuickBooks nu mai acceptă tranzacții noi sau modificate pentru un client inactiv. Uneori cineva
        a scos din listă, din greșeală, un client omonim.""",
        """Legați contul de un client activ din QuickBooks sau creați unul nou, apoi resincronizați
        tranzacțiile contului."""),
    "duplicate-doc-number": (
        "Număr deja folosit în QuickBooks",
        """QuickBooks are deja o tranzacție cu acest număr: fie o factură introdusă direct în
        QuickBooks, fie o notă de credit cu același număr (acolo facturile și notele de credit împart
        aceeași numerotare). Produsul nu va crea o a doua.""",
        """Dați înregistrării un număr încă nefolosit în QuickBooks, apoi resincronizați. Ca să nu se
        mai repete, setați următorul număr din registru peste cele folosite în QuickBooks, activați
        numerele de tranzacție personalizate în QuickBooks sau opriți „Sync invoice number with
        QuickBooks Online”, ca QuickBooks să numeroteze singur facturile. Dacă înregistrarea din
        QuickBooks este chiar această factură, folosiți „Legați de factura existentă din QuickBooks”:
        produsul o leagă dacă clientul și totalul ei coincid cu cele din registru."""),
    "invalid-item-ref": (
        "Serviciu lipsă în QuickBooks",
        """O linie a tranzacției trimite la un produs sau serviciu QuickBooks care nu există sau este
        inactiv. De obicei serviciul nu s-a sincronizat niciodată, ori clientul tranzacției sau
        serviciul a fost șters în QuickBooks.""",
        """Folosiți „Resincronizați toate înregistrările cu această eroare”: produsul creează întâi serviciile și
        clienții lipsă, apoi tranzacțiile."""),
    "credit-exceeds-balance": (
        "Sumă mai mare decât soldul deschis al facturii în QuickBooks",
        """Plata sau creditul aplică unei facturi mai mult decât mai are ea de achitat în QuickBooks. Se
        întâmplă când factura a fost deja plătită, parțial sau integral, în QuickBooks: cele două părți
        înregistrează plăți diferite pentru ea.""",
        """Comparați plățile facturii din registru cu cele din QuickBooks. În QuickBooks, anulați plata
        în plus sau scoateți creditele care nu își au locul, apoi resincronizați."""),
    "expense-account-type": (
        "Tip de cont greșit pentru comisioanele procesatorului",
        """QuickBooks a refuzat cheltuiala cu comisionul pentru că un cont ales pentru ea în setările
        integrării are tipul greșit: contul cardului trebuie să fie de tip Credit Card, iar contul
        comisionului de tip Expense.""",
        """În Setări › Integrări › QuickBooks, alegeți un cont de tip Credit Card pentru
        comisioanele de card (lista arată conturile QuickBooks după tip), apoi resincronizați."""),
    "item-account-type": (
        "Tip de cont greșit pentru serviciu",
        """Un produs sau serviciu QuickBooks nu poate folosi conturi Accounts Receivable sau Accounts
        Payable, iar contul lui de venit trebuie să fie un cont de venituri. Contul setat pe acest
        serviciu are alt tip.""",
        """Editați serviciul și alegeți un cont Income pentru ce vinde firma (un cont Expense pentru ce
        cumpără), apoi resincronizați."""),
    "string-length": (
        "O valoare depășește limitele QuickBooks",
        """Un câmp al înregistrării încalcă o limită QuickBooks: este prea lung (numerele de factură
        permit 21 de caractere, numele 100, notele câteva mii), conține caractere refuzate în nume
        (două puncte, tab, rând nou) sau are o formă greșită (o adresă de e-mail). Produsul verifică
        aceste limite înainte de trimitere, așa că înregistrarea așteaptă aici până când câmpul este
        corectat.""",
        """Scurtați sau corectați câmpul indicat în registru, apoi resincronizați."""),
    "service-error": (
        "QuickBooks a refuzat serviciul",
        """QuickBooks a refuzat acest serviciu dintr-un motiv pe care produsul nu îl poate rezolva
        singur, adesea unul tehnic. Mesajul QuickBooks este afișat mai jos.""",
        """Verificați contul de venit al serviciului, apoi folosiți „Recreați în QuickBooks”: produsul
        uită vechea legătură și creează serviciul din nou. „Resincronizați” mai încearcă o dată așa cum este."""),
    "line-description-fallback": (
        "Linie trimisă fără serviciu",
        """O linie a facturii sau a notei de credit nu are un serviciu din listă. Suma ei a fost
        păstrată: QuickBooks a înregistrat-o pe articolul de rezervă ales în setările integrării (implicit
        articolul „Services” al QuickBooks), cu textul liniei ca descriere. Se întâmplă când numele
        serviciului a fost scris de mână pe linie.""",
        """Nu lipsește nimic în QuickBooks. Ca linia să fie înregistrată pe serviciul potrivit, alegeți
        serviciul din listă pe linie; înregistrarea se sincronizează apoi cu el."""),
    "description-to-memo": (
        "Descrierea facturii trimisă ca memo",
        """Descrierea facturii este o notă despre factură, așa că ajunge în câmpul memo din QuickBooks,
        nu pe o linie. Așa este gândit.""",
        """Nu este nimic de reparat. Treceți ce vinde firma pe linii, cu un serviciu."""),
    "no-permission": (
        "Acțiune indisponibilă pentru dvs.",
        """Butoanele urmează permisiunile: un buton pe care nu îl vedeți cere un drept pe care rolul
        dvs. nu îl are, de exemplu rezolvarea erorilor sau aprobarea creării în bloc a clienților.""",
        """Rugați proprietarul firmei sau un administrator să acționeze ori să vă schimbe rolul. Dacă
        lipsește un buton pe care ar trebui să îl aveți, reîncărcați pagina sau încercați alt
        browser."""),
    "deleted-invoice-no-resync": (
        "Factură ștearsă în QuickBooks",
        """Factura a fost ștearsă în QuickBooks după sincronizare. Legătura ei nu mai duce nicăieri,
        așa că o actualizare obișnuită nu poate reuși.""",
        """„Recreați în QuickBooks” o creează din nou din registru și leagă noua copie. Alegeți „Omiteți” dacă
        a fost ștearsă intenționat (și ștergeți-o și din registru)."""),
    "modified-in-qbo": (
        "Modificată în QuickBooks de altcineva",
        """Cineva a editat înregistrarea în QuickBooks după ce produsul a sincronizat-o. Registrul este
        sursa de adevăr, așa că acum cele două diferă.""",
        """„Resincronizați” trimite din nou versiunea din registru și suprascrie modificarea din QuickBooks. „Omiteți”
        păstrează versiunea din QuickBooks până când înregistrarea se schimbă în registru."""),
    "required-field": (
        "Lipsește o valoare obligatorie",
        """QuickBooks cere o valoare pe care înregistrarea nu o are (de exemplu un client, cel puțin o
        linie sau un nume), așa că nu a fost trimisă.""",
        """Completați câmpul indicat în registru sau sincronizați înregistrarea de care depinde, apoi
        resincronizați."""),
    "deposit-account-type": (
        "Cont de depunere greșit",
        """Plățile și rambursările trebuie să ajungă într-un cont QuickBooks de tip Bank sau Other
        Current Asset. Contul de depunere ales în setările integrării are alt tip sau nu mai există
        acolo.""",
        """În Setări › Integrări › QuickBooks, alegeți un cont Bank sau Other Current Asset (ori
        Undeposited Funds) pentru depuneri, apoi resincronizați."""),
    "qbo-fault": (
        "QuickBooks a refuzat înregistrarea",
        """QuickBooks a refuzat înregistrarea cu un mesaj pe care produsul încă nu îl cunoaște.
        Cuvintele lui sunt păstrate mai jos, neschimbate.""",
        """Citiți mesajul QuickBooks, corectați înregistrarea din registru sau setarea din QuickBooks la
        care se referă, apoi resincronizați. Dacă tot nu merge, alegeți „Omiteți” și anunțați suportul."""),
}}
_TEXTS["ro"].update({
    "stuck-pending": (
        "Netrimisă în QuickBooks de ceva vreme",
        """Înregistrarea așteaptă să fie trimisă în QuickBooks de mai mult timp decât limita firmei
        (Setări › Integrări › QuickBooks). O sincronizare a fost întreruptă (QuickBooks lent sau
        indisponibil, un proces oprit), iar produsul reîncearcă, la intervale tot mai mari.""",
        """De obicei nimic: rândul se închide singur când înregistrarea ajunge în QuickBooks. Dacă
        rămâne, verificați că QuickBooks este conectat și accesibil, apoi apăsați „Resincronizați”."""),
    "waiting-for-dependency": (
        "Așteaptă altă înregistrare",
        """Înregistrarea nu poate fi trimisă până când o înregistrare de care depinde (clientul ei, o
        factură pe care o achită, o plată pe care o rambursează) nu ajunge în QuickBooks, iar aceea
        este blocată: a fost omisă, are o eroare QuickBooks sau este marcată „Nu sincroniza”.
        Înregistrarea așteaptă și nu va ajunge singură în QuickBooks.""",
        """Rezolvați înregistrarea așteptată (legătura și acțiunile ei sunt pe acest rând); aceasta
        este trimisă apoi, iar rândul se închide singur. „Resincronizați” le trimite din nou pe
        amândouă, întâi pe cea așteptată."""),
})


# -- issue 17: sales tax and currencies (their own block: each case in English, then Romanian) -----

_TAX_CURRENCY_CASES = [
    (_case(
        "tax-code-missing", "No QuickBooks tax code for a tax rate",
        """A line of this document carries a tax rate that matches no tax code in the QuickBooks
        company, and outside the US QuickBooks refuses a line without a tax code. The product
        stopped the document before sending anything. The message above names the rate and the
        codes QuickBooks has.""",
        """Open Settings > Integrations > QuickBooks > Tax and choose the QuickBooks code for this
        rate (saving resyncs the documents it held back), or create a tax code with that rate in
        QuickBooks first. Lines without a rate need a 0% code such as Exempt.""",
        ("resync", "resync_case", "skip"), categories=("invoices", "refunds")),
     ("Niciun cod de taxă QuickBooks pentru o cotă",
      """O linie a documentului are o cotă de taxă căreia nu îi corespunde niciun cod de taxă din
      compania QuickBooks, iar în afara SUA QuickBooks refuză o linie fără cod de taxă. Produsul a
      oprit documentul înainte să trimită ceva. Mesajul de mai sus numește cota și codurile pe care
      le are QuickBooks.""",
      """Deschideți Setări › Integrări › QuickBooks › Taxe și alegeți codul QuickBooks pentru
      această cotă (la salvare, documentele oprite se resincronizează) sau creați mai întâi în
      QuickBooks un cod de taxă cu acea cotă. Liniile fără cotă au nevoie de un cod de 0%, de
      exemplu Exempt.""")),
    (_case(
        "multicurrency-off", "Multicurrency is off in QuickBooks",
        """This client account is billed in another currency than the QuickBooks company's home
        currency, and the company has multicurrency turned off, so QuickBooks can hold no customer
        or transaction in that currency. Nothing was sent.""",
        """Turn multicurrency on in QuickBooks (Settings > Account and settings > Advanced >
        Currency), add the currency, then resync. Think first: once on, multicurrency can't be
        turned off and the home currency can't change. Otherwise bill the client in the home
        currency.""",
        ("resync", "resync_case", "skip"), categories=("accounts", "invoices", "payments", "refunds")),
     ("Multimoneda este oprită în QuickBooks",
      """Contul acestui client este facturat în altă monedă decât moneda de bază a companiei
      QuickBooks, iar compania are multimoneda oprită, așa că QuickBooks nu poate ține niciun client
      sau tranzacție în acea monedă. Nu s-a trimis nimic.""",
      """Porniți multimoneda în QuickBooks (Settings › Account and settings › Advanced › Currency),
      adăugați moneda, apoi resincronizați. Gândiți-vă înainte: odată pornită, multimoneda nu mai
      poate fi oprită, iar moneda de bază nu se mai poate schimba. Altfel, facturați clientul în
      moneda de bază.""")),
    (_case(
        "currency-not-enabled", "Currency not enabled in QuickBooks",
        """This client account is billed in a currency that is not in the QuickBooks company's list
        of currencies, so QuickBooks would refuse the customer and its transactions.""",
        """Add the currency in QuickBooks (Settings > Currencies > Add currency), then resync.""",
        ("resync", "resync_case", "skip"), categories=("accounts", "invoices", "payments", "refunds")),
     ("Moneda nu este activată în QuickBooks",
      """Contul acestui client este facturat într-o monedă care nu se află în lista de monede a
      companiei QuickBooks, așa că QuickBooks ar refuza clientul și tranzacțiile lui.""",
      """Adăugați moneda în QuickBooks (Settings › Currencies › Add currency), apoi
      resincronizați.""")),
    (_case(
        "customer-currency-differs", "QuickBooks customer in another currency",
        """A QuickBooks customer with this account's name exists, but in another currency than the
        one the account is billed in. A customer's currency can't change in QuickBooks, so the
        account can't be linked to it.""",
        """Rename the account (the message suggests a name with the currency, for example
        "Acme Ltd (EUR)") so that a new customer is created in the right currency, then resync.
        If the client really pays in the customer's currency, change the account's currency
        instead.""",
        ("resync", "skip"), categories=("accounts",)),
     ("Client QuickBooks în altă monedă",
      """În QuickBooks există un client cu numele acestui cont, dar în altă monedă decât cea în care
      este facturat contul. Moneda unui client nu se poate schimba în QuickBooks, așa că acest cont
      nu poate fi legat de el.""",
      """Redenumiți contul (mesajul propune un nume cu moneda, de exemplu „Acme SRL (EUR)”), ca să
      fie creat un client nou în moneda potrivită, apoi resincronizați. Dacă clientul plătește
      într-adevăr în moneda clientului din QuickBooks, schimbați în schimb moneda contului.""")),
    (_case(
        "payment-currency-mismatch", "Two currencies in one payment",
        """This payment is in a foreign currency, but the deposit account chosen for payments is in a
        third currency. QuickBooks allows only one foreign currency per transaction.""",
        """In Settings > Integrations > QuickBooks, choose a deposit account in the home currency
        or in the payment's currency (Undeposited Funds is in the home currency), then resync.""",
        ("resync", "resync_case", "skip"), categories=("payments",)),
     ("Două monede într-o singură plată",
      """Plata este într-o monedă străină, dar contul de depunere ales pentru plăți este într-o a
      treia monedă. QuickBooks permite o singură monedă străină pe tranzacție.""",
      """În Setări › Integrări › QuickBooks, alegeți un cont de depunere în moneda de bază sau în
      moneda plății (Undeposited Funds este în moneda de bază), apoi resincronizați.""")),
    (_case(
        "company-settings-changed", "QuickBooks settings changed",
        """A setting of the QuickBooks company that decides how this document is sent changed
        since the product last read it (the sales tax method, or who numbers invoices). The message
        above says which and what the product did about it; the document goes with the new
        setting.""",
        """Check Settings > Integrations > QuickBooks (and its Tax screen) against the new setting,
        then resync. The connection card lists every change seen.""",
        ("resync", "resync_case", "skip"), severity="warning", categories=("invoices",)),
     ("Setările QuickBooks s-au schimbat",
      """O setare a companiei QuickBooks care decide cum este trimis acest document s-a schimbat de
      când produsul a citit-o ultima dată (metoda taxei pe vânzări sau cine numerotează facturile).
      Mesajul de mai sus spune care și ce a făcut produsul; documentul pleacă după noua setare.""",
      """Verificați Setări › Integrări › QuickBooks (și ecranul Taxe) față de noua setare, apoi
      resincronizați. Cardul conexiunii listează fiecare schimbare observată.""")),
]
for _tc_case, _tc_ro in _TAX_CURRENCY_CASES:
    _ALL_CASES.append(_tc_case)
    CASES[_tc_case.id] = _tc_case
    _TEXTS["ro"][_tc_case.id] = _tc_ro

# --- a service's income account that QuickBooks does not have (issue 18) ---------------------------
_income_case = _case(
    "income-account-missing", "Income account not found in QuickBooks",
    """The service's income account names no account of the connected QuickBooks company (often a
    typo, or an account renamed or deleted in QuickBooks). The product found it before sending:
    nothing was sent to QuickBooks.""",
    """Edit the service and choose one of the company's Income accounts from the list (or correct
    the name), then resync. Saving the service resyncs it.""",
    ("resync", "resync_case", "skip"), categories=("services",))
_ALL_CASES.append(_income_case)
CASES[_income_case.id] = _income_case
_TEXTS["ro"]["income-account-missing"] = (
    "Contul de venituri nu există în QuickBooks",
    """Contul de venituri al serviciului nu numește niciun cont al companiei QuickBooks conectate (de
    obicei o greșeală de scriere, sau un cont redenumit ori șters în QuickBooks). Produsul a găsit
    problema înainte de trimitere: nu s-a trimis nimic către QuickBooks.""",
    """Editați serviciul și alegeți din listă unul dintre conturile de venituri ale companiei (sau
    corectați numele), apoi resincronizați. Salvarea serviciului îl resincronizează.""")

# --- amount-mismatch (issue 12: books that tie out) -----------------------------------------------
_TEXTS["ro"]["amount-mismatch"] = (
    "QuickBooks are altă sumă decât registrul",
    """După ce produsul a scris înregistrarea, răspunsul QuickBooks arăta o sumă diferită de cea din
    registru: totalul sau ce a aplicat QuickBooks facturilor și notelor de credit. Contabilitatea nu
    mai coincide. Cauze obișnuite: QuickBooks a aplicat singur un credit sau o plată (aplicarea
    automată a creditelor), o setare de taxe sau reduceri din QuickBooks a schimbat totalul, ori o
    linie pe care QuickBooks nu a putut-o înregistra.""",
    """Comparați înregistrarea din registru cu cea din QuickBooks. Corectați setarea din QuickBooks
    (sau înregistrarea din registru), apoi apăsați „Resincronizați”: produsul scrie din nou
    înregistrarea și verifică încă o dată sumele. Alegeți „Omiteți” doar dacă diferența este
    voită.""")

def category_for(record_type: str) -> str:
    """The errors-page tab a record type's problems go under."""
    try:
        return RECORD_CATEGORY[record_type]
    except KeyError:
        raise ValueError(f"unknown record type {record_type!r}") from None


def actions_for(case_id: str, record_type: str, facts: dict | None = None) -> tuple[str, ...]:
    """The case's actions that make sense on this record (customer actions need a client account);
    `facts` (the row's) decide the holder actions: Rename needs a proposed name, Reactivate an
    inactive customer holding the name."""
    actions = CASES[case_id].actions
    facts = facts or {}
    if record_type != "account" or not facts.get("proposed_name"):
        actions = tuple(a for a in actions if a != "rename_customer")
    if record_type != "account" or not (facts.get("holder") == "customer" and facts.get("holder_active") is False
                                        and facts.get("holder_id")):
        actions = tuple(a for a in actions if a != "reactivate_customer")
    if record_type in ("service", "processor_fee"):
        actions = tuple(a for a in actions if a not in CUSTOMER_ACTIONS)
    if record_type in ("payment", "refund"):
        # A payment (and its refund) belongs to the customer of the invoices it pays: linking
        # another QuickBooks customer from it would re-point the whole account from the wrong row.
        actions = tuple(a for a in actions if a != "link_customer")
    if record_type != "account":
        # The bulk "create all missing customers" lives on the Accounts tab only.
        actions = tuple(a for a in actions if a != "create_missing_customers")
    if record_type != "invoice":
        actions = tuple(a for a in actions if a != "link_invoice")  # a credit memo has no such link
    return actions


# -- explanations with facts ---------------------------------------------------------------------

LANGUAGES = ("en", "ro")


def _shown(value, width=40) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _quoted(value, language) -> str:
    return f" „{_shown(value)}”" if language == "ro" else f" \"{_shown(value)}\""


def _ro_count(n: int, noun: str) -> str:
    # Romanian puts "de" between a number and its noun from 20 on (except after 1-19 in the last two digits).
    return f"{n} {noun}" if 0 < n % 100 < 20 else f"{n} de {noun}"


_HOLDERS = {"en": {"vendor": "A vendor", "employee": "An employee", "customer": "A customer",
                   "item": "Another product or service", None: "A customer, vendor or employee"},
            "ro": {"vendor": "Un furnizor", "employee": "Un angajat", "customer": "Un client",
                   "item": "Un alt produs sau serviciu", None: "Un client, furnizor sau angajat"}}
# An inactive holder still holds its name (ref §4 Customer): the sentence says it is inactive.
_INACTIVE_HOLDERS = {"en": {"vendor": "An inactive vendor", "employee": "An inactive employee",
                            "customer": "An inactive customer"},
                     "ro": {"vendor": "Un furnizor inactiv", "employee": "Un angajat inactiv",
                            "customer": "Un client inactiv"}}
# What sets a client account's name apart from a vendor's or an employee's ("Sam Rivera (client)").
_CLIENT_SUFFIX = {"en": "client", "ro": "client"}


def client_name(name: str, language: str = "en", n: int = 1) -> str:
    """The `n`th distinguishing name for a client account called `name`: "Sam Rivera (client)",
    then "Sam Rivera (client 2)"... in `language` ("en" or "ro"; others get English)."""
    suffix = _CLIENT_SUFFIX.get(language, _CLIENT_SUFFIX["en"])
    return f"{name} ({suffix})" if n == 1 else f"{name} ({suffix} {n})"


def _holder_sentence(f, language):
    if f.get("payment_method"):
        method = _quoted(f["payment_method"], language)
        if language == "ro":
            return f"Metoda de plată{method} este probabil marcată drept card de credit în QuickBooks."
        return f"The payment method{method} is probably marked as a credit card in QuickBooks."
    holder = f.get("holder")
    if holder is None and not f.get("name"):
        return None
    who = _HOLDERS[language].get(holder, _HOLDERS[language][None])
    if f.get("holder_active") is False and holder in _INACTIVE_HOLDERS[language]:
        who = _INACTIVE_HOLDERS[language][holder]
    name = _quoted(f["name"], language) if f.get("name") else ""
    if language == "ro":
        return f"{who} din QuickBooks folosește deja numele{name}."
    return f"{who} in QuickBooks already uses the name{name}."


# Romanian needs the noun's gender for "deleted": (subject, participle).
_RO_DEPENDENCIES = {"customer": ("Clientul", "șters"), "account": ("Contul", "șters"),
                    "service": ("Serviciul", "șters"), "item": ("Serviciul", "șters"),
                    "invoice": ("Factura", "ștearsă"), "credit_note": ("Nota de credit", "ștearsă"),
                    "payment": ("Plata", "ștearsă"), "refund": ("Rambursarea", "ștearsă")}


def _unsynced_sentence(f, language):
    dep = f.get("dependency")
    if not dep:
        return None
    if language == "ro":
        if dep == "itself":
            return "Copia acestei înregistrări din QuickBooks a fost ștearsă acolo."
        subject, deleted = _RO_DEPENDENCIES.get(dep, (f"Dependența „{dep}”", "ștearsă"))
        return f"{subject} de care depinde înregistrarea a fost {deleted} în QuickBooks."
    if dep == "itself":
        return "This record's own copy was deleted in QuickBooks."
    return f"The {dep.replace('_', ' ')} this record depends on was deleted in QuickBooks."


_REASONS = {"en": {"email": "is not a valid email address; QuickBooks needs an '@' and a '.'",
                   "characters": "contains a character QuickBooks refuses (a colon, a tab or a line break)",
                   "not-a-number": "is not a number"},
            "ro": {"email": "nu este o adresă de e-mail validă; QuickBooks cere „@” și „.”",
                   "characters": "conține un caracter refuzat de QuickBooks (două puncte, tab sau rând nou)",
                   "not-a-number": "nu este un număr"}}
_CHARS = {"en": {"colon": "a colon", "tab": "a tab", "line-break": "a line break"},
          "ro": {"colon": "două puncte (:)", "tab": "un tab", "line-break": "un rând nou"}}


def _field_name(f, language):
    """The field in the reader's words: from its QBO `path` (and `record` type, `line`) when the
    facts name it, else the `field` label as given."""
    if f.get("path"):
        return field_label(f.get("record"), f["path"], f.get("line"), language)
    return f.get("field")


def _field_sentence(f, language):
    name = _field_name(f, language)
    if not name:
        return None
    value = _quoted(f["value"], language) if f.get("value") not in (None, "") else ""
    reason = f.get("reason")
    if reason == "amount-digits":
        whole, decimals = f.get("integer_digits", 10), f.get("decimals", 5)
        if language == "ro":
            return (f"{name}{value} nu încape în sumele QuickBooks: cel mult {_ro_count(whole, 'cifre')} "
                    f"înainte de separatorul zecimal și {decimals} după.")
        return f"{name}{value} doesn't fit QuickBooks' amounts: at most {whole} digits before the point and {decimals} after."
    if f.get("limit") is not None:
        length = f.get("length")
        if length is None and f.get("value") is not None:
            length = len(str(f["value"]))
        if language == "ro":
            size = f" are {_ro_count(length, 'caractere')};" if length is not None else " este prea lung;"
            return f"{name}{value}{size} QuickBooks permite cel mult {f['limit']}."
        size = f" is {length} characters;" if length is not None else " is too long;"
        return f"{name}{value}{size} QuickBooks allows at most {f['limit']}."
    if reason == "characters" and f.get("char") in _CHARS[language]:
        char = _CHARS[language][f["char"]]
        if language == "ro":
            return f"{name}{value} conține {char}; QuickBooks nu permite „:”, tab sau rând nou în nume."
        return f"{name}{value} contains {char}; QuickBooks doesn't allow ':', tabs or line breaks in names."
    if reason in _REASONS[language]:
        return f"{name}{value} {_REASONS[language][reason]}."
    if language == "ro":
        return f"QuickBooks a refuzat valoarea din {name}{value}."
    return f"QuickBooks refused the value of {name}{value}."


_ALSO = {"en": {"name": " (or a first or last name)", "line": " (at least one line)"},
         "ro": {"name": " (sau un prenume ori un nume de familie)", "line": " (cel puțin o linie)"}}


def _missing_sentence(f, language):
    name = _field_name(f, language)
    if not name:
        return None
    if f.get("reason") == "required":  # found before sending: QuickBooks would refuse the record
        also = _ALSO[language].get(f.get("also"), "")
        if language == "ro":
            return f"{name} lipsește, iar QuickBooks cere această valoare{also}."
        return f"{name} is required by QuickBooks{also}."
    return f"{name} lipsește." if language == "ro" else f"{name} is missing."


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _account_sentence(f, language):
    name = _field_name(f, language)
    if not name:
        return None
    account = _quoted(f["value"], language) if f.get("value") else ""
    reason, kind = f.get("reason"), f.get("account_type") or "unknown"
    if reason == "inactive":
        if language == "ro":
            return f"{name}{account} nu este un cont activ în QuickBooks (a fost șters sau dezactivat acolo)."
        return f"{name}{account} is not an active account in QuickBooks (deleted or made inactive there)."
    if reason == "account-type" and f.get("wanted"):
        if language == "ro":
            wanted = " sau ".join(f["wanted"])
            return f"{name}{account} este un cont de tip {kind}; QuickBooks cere aici un cont de tip {wanted}."
        wanted = " or ".join(f["wanted"])
        return (f"{name}{account} is {_article(kind)} {kind} account; QuickBooks needs "
                f"{_article(wanted)} {wanted} account here.")
    if reason == "receivable-or-payable":
        if language == "ro":
            return (f"{name}{account} este un cont de tip {kind}; QuickBooks nu lasă un produs sau serviciu "
                    "să folosească un cont Accounts Receivable sau Accounts Payable.")
        return (f"{name}{account} is {_article(kind)} {kind} account; QuickBooks doesn't let a product or "
                "service use Accounts Receivable or Accounts Payable accounts.")
    if language == "ro":
        return f"QuickBooks a refuzat contul din {name}."
    return f"QuickBooks refused the account in {name}."


_TXN_WORDS = {"en": {"Invoice": "an invoice", "CreditMemo": "a credit memo", "RefundReceipt": "a refund receipt"},
              "ro": {"Invoice": "o factură", "CreditMemo": "o notă de credit",
                     "RefundReceipt": "o chitanță de rambursare"}}


def _doc_number_sentence(f, language):
    if not f.get("doc_number"):
        return None
    txn = f.get("txn_type")
    if language == "ro":
        where = f" de {_TXN_WORDS['ro'].get(txn, txn)}" if txn else ""
        return f"Numărul {f['doc_number']} este deja folosit în QuickBooks{where}."
    where = f" by {_TXN_WORDS['en'].get(txn, txn)}" if txn else ""
    return f"Number {f['doc_number']} is already used in QuickBooks{where}."


def _raw_sentence(f, language):
    said = " ".join(p for p in (f.get("message"), f.get("detail") and f"({f['detail']})") if p)
    if not said:
        return None
    return f"QuickBooks a răspuns: {said}" if language == "ro" else f"QuickBooks said: {said}"


# What a record waits for, and the state that keeps it from QuickBooks (SyncError.detail).
WAITING_STATES = ("skipped", "error", "excluded", "not_synced", "unsynced")
_WAIT_STATES = {"en": {"skipped": "was skipped", "error": "has a QuickBooks error",
                       "excluded": "is set to \"Do not sync\"",
                       "not_synced": "is dated before the sync start date",
                       "unsynced": "was deleted in QuickBooks"},
                "ro": {"skipped": "a fost omisă", "error": "are o eroare QuickBooks",
                       "excluded": "este marcată „Nu sincroniza”",
                       "not_synced": "are o dată anterioară datei de început a sincronizării",
                       "unsynced": "a fost ștearsă în QuickBooks"}}
_WAIT_NOUNS = {"en": {"account": "customer", "invoice": "invoice", "credit_note": "credit note",
                      "payment": "payment", "service": "service", "refund": "refund",
                      "processor_fee": "processor fee"},
               "ro": {"account": "clientul", "invoice": "factura", "credit_note": "nota de credit",
                      "payment": "plata", "service": "serviciul", "refund": "rambursarea",
                      "processor_fee": "comisionul procesatorului"}}


def _waiting_sentence(f, language):
    what = f.get("what")
    if not what:
        return None
    noun = _WAIT_NOUNS[language].get(what, what.replace("_", " "))
    label = f" {f['label']}" if f.get("label") else ""
    state = _WAIT_STATES[language].get(f.get("state"))
    if language == "ro":
        # "înregistrare" is feminine whatever it waits for, so the state agrees with it.
        return f"Așteaptă {noun}{label}; acea înregistrare {state}." if state else f"Așteaptă {noun}{label}."
    return f"Waiting for {noun}{label}, which {state}." if state else f"Waiting for {noun}{label}."


def _stuck_sentence(f, language):
    since = f.get("since")
    if not since:
        return None
    if language == "ro":
        return f"Așteaptă să fie trimisă în QuickBooks din {since} UTC."
    return f"Waiting to be sent to QuickBooks since {since} UTC."
def _fallback_sentence(f, language):
    lines = f.get("lines") or ([f] if f.get("line") else [])
    sentences = []
    for line in lines:
        text = _quoted(line["description"], language) if line.get("description") else ""
        item = _quoted(line.get("item") or "Services", language)
        if language == "ro":
            sentences.append(f"Linia {line['line']}{text} a fost trimisă cu suma ei, {line.get('amount')}, "
                             f"pe articolul{item}.")
        else:
            sentences.append(f"Line {line['line']}{text} was sent with its amount, {line.get('amount')}, on the item{item}.")
    return " ".join(sentences) or None


_FALLBACK_DETAIL = re.compile(r"^line (\d+) \| (-?[\d.]+) \| (.*?) \| (.*)$")


def fallback_detail(lines: list[dict]) -> str:
    """The stored facts of a `line-description-fallback` warning, one line per ledger line."""
    return "\n".join(f"line {l['line']} | {l.get('amount')} | {l.get('item') or ''} | "
                     f"{' '.join(str(l.get('description') or '').split())}" for l in lines)[:2000]


def _fallback_facts(error) -> list[dict]:
    out = []
    for part in (error.detail or "").split("\n"):
        found = _FALLBACK_DETAIL.match(part)
        if found:
            number, amount, item, description = found.groups()
            out.append({"line": int(number), "amount": amount, "item": item, "description": description})
    return out


_MISMATCH_FIELDS = {"en": {"TotalAmt": "the total", "UnappliedAmt": "the amount left unapplied",
                           "RemainingCredit": "the credit left", "Line.LinkedTxn": "the amount applied to"},
                    "ro": {"TotalAmt": "totalul", "UnappliedAmt": "suma rămasă neaplicată",
                           "RemainingCredit": "creditul rămas", "Line.LinkedTxn": "suma aplicată pe"}}
_TARGETS = {"en": {"invoice": "invoice", "credit_note": "credit note"},
            "ro": {"invoice": "factura", "credit_note": "nota de credit"}}
_MISMATCH_DETAIL = re.compile(r"^(?:(invoice|credit_note) (.+?): )?QuickBooks (-?[\d.]+), ledger (-?[\d.]+), "
                              r"difference (-?[\d.]+)$")


def _mismatch_sentence(f, language):
    if f.get("qbo") is None or f.get("ledger") is None:
        return None
    what = _MISMATCH_FIELDS[language].get(f.get("field"), f.get("field") or "")
    if f.get("target_type"):
        what = f"{what} {_TARGETS[language].get(f['target_type'], f['target_type'])} {f.get('target') or ''}".rstrip()
    if language == "ro":
        return (f"În QuickBooks {what} este {f['qbo']}, în registru {f['ledger']}: o diferență de "
                f"{f.get('difference')}.")
    return f"In QuickBooks {what} is {f['qbo']}, in the ledger {f['ledger']}: a difference of {f.get('difference')}."


def _mismatch_facts(error) -> list[dict]:
    """The facts of a stored `amount-mismatch`, one per difference: stored as `facts["differences"]`,
    or (rows stored before facts) read back from the detail sync/tieout wrote, "; "-joined."""
    stored = (error.facts or {}).get("differences")
    if stored:
        return list(stored)
    out = []
    for part in (error.detail or "").split("; "):
        found = _MISMATCH_DETAIL.match(part)
        if found:
            target_type, target, qbo, ledger, difference = found.groups()
            field = "Line.LinkedTxn" if target_type else None
            out.append({"field": field, "target_type": target_type, "target": target, "qbo": qbo,
                        "ledger": ledger, "difference": difference})
    fields = [f for f in (error.element or "").split(", ") if f and f != "Line.LinkedTxn"]
    for facts in out:
        if facts["field"] is None:
            facts["field"] = fields.pop(0) if fields else None
    return out


MISMATCH_CAUSE = "Cause: "  # the part of a stored `amount-mismatch` detail naming a tax cause

# Why a document's total differs because of the tax (qbo.quickbooks.tax.mismatch_cause_facts):
# kind -> sentence, with QuickBooks' tax {quickbooks} and the ledger's {ledger}.
_TAX_CAUSES = {
    "en": {
        "ast-not-adopted": "QuickBooks' automated sales tax came to {quickbooks} and the ledger's own tax is "
                           "{ledger}: the ledger has not adopted QuickBooks' tax for this document yet (it was "
                           "linked to the copy already in QuickBooks). Resync adopts it.",
        "ast-recalculated": "QuickBooks' automated sales tax came to {quickbooks} and the ledger shows {ledger}: "
                            "the tax was recalculated in QuickBooks (an edit, or a change of address) after the "
                            "ledger adopted it.",
        "tax-override": "QuickBooks charged {quickbooks} of sales tax where the ledger sent {ledger}: the tax was "
                        "changed in QuickBooks, or the TotalTax override was not kept.",
        "line-rounding": "QuickBooks rounds tax per line ({quickbooks}); the ledger rounded per rate ({ledger}). "
                         "Set the firm's tax rounding to per line.",
        "tax-rate": "QuickBooks computed {quickbooks} of tax and the ledger {ledger}: a line's tax code in "
                    "QuickBooks has another rate than the ledger's (check the Tax screen's mapping), or the "
                    "invoice was edited there.",
    },
    "ro": {
        "ast-not-adopted": "Taxa automată pe vânzări calculată de QuickBooks este {quickbooks}, iar taxa din "
                           "registru este {ledger}: registrul nu a preluat încă taxa QuickBooks pentru acest "
                           "document (a fost legat de copia aflată deja în QuickBooks). „Resincronizați” o preia.",
        "ast-recalculated": "Taxa automată pe vânzări calculată de QuickBooks este {quickbooks}, iar registrul "
                            "arată {ledger}: taxa a fost recalculată în QuickBooks (după o modificare sau o "
                            "schimbare de adresă) după ce registrul a preluat-o.",
        "tax-override": "QuickBooks a aplicat o taxă pe vânzări de {quickbooks}, deși registrul a trimis "
                        "{ledger}: taxa a fost schimbată în QuickBooks sau valoarea TotalTax trimisă nu a fost "
                        "păstrată.",
        "line-rounding": "QuickBooks rotunjește taxa pe fiecare linie ({quickbooks}); registrul a rotunjit-o pe "
                         "cotă ({ledger}). Setați rotunjirea taxei firmei pe linie.",
        "tax-rate": "QuickBooks a calculat o taxă de {quickbooks}, iar registrul {ledger}: codul de taxă al unei "
                    "linii din QuickBooks are altă cotă decât cea din registru (verificați corespondența în "
                    "ecranul Taxe) sau documentul a fost modificat acolo.",
    },
}


def tax_cause_text(cause: dict, language: str = "en") -> str | None:
    """The tax cause of an `amount-mismatch` ({"kind", "quickbooks", "ledger"}) in words."""
    language = language if language in LANGUAGES else "en"
    words = _TAX_CAUSES[language].get((cause or {}).get("kind"))
    return words.format(quickbooks=cause.get("quickbooks"), ledger=cause.get("ledger")) if words else None


def _mismatch_cause(error, language: str = "en") -> str | None:
    """The tax cause the sync named: worded from the row's facts, or (rows stored before facts)
    the English words kept in the detail."""
    if error.facts:
        return tax_cause_text(error.facts.get("cause"), language) if error.facts.get("cause") else None
    for part in (error.detail or "").split("; "):
        if part.startswith(MISMATCH_CAUSE):
            return part[len(MISMATCH_CAUSE):]
    return None


def mismatch_text(facts: list[dict], language: str = "en", cause: dict | str | None = None) -> str:
    """`amount-mismatch` explained: a sentence per difference, the cause when the sync named one
    (a tax difference: its facts, see `tax_cause_text`, or words already written), then the case's
    explanation."""
    language = language if language in LANGUAGES else "en"
    if isinstance(cause, dict):
        cause = tax_cause_text(cause, language)
    lead = " ".join(filter(None, [_mismatch_sentence(f, language) for f in facts] + [cause]))
    explanation = localised("amount-mismatch", language).explanation
    return f"{lead} {explanation}" if lead else explanation


# -- changes seen in QuickBooks (qbo.quickbooks.changes): a record edited there by someone else, an
# entry the product did not create. The poll stores the facts; each reader gets them in words, and
# the stored message and detail (the English words below) stay for the API.

_RECORD_NOUNS = {"en": {"account": "customer", "service": "service", "invoice": "invoice",
                        "credit_note": "credit note", "payment": "payment", "refund": "refund"},
                 "ro": {"account": "clientul", "service": "serviciul", "invoice": "factura",
                        "credit_note": "nota de credit", "payment": "plata", "refund": "rambursarea"}}


def _record_words(record_type: str | None, label, language: str) -> str:
    """The ledger record a change names: 'invoice "INV-1"', 'factura „INV-1”'."""
    if record_type == "processor_fee":
        if language == "ro":
            return f"comisionul de procesare al plății „{label}”" if label else "comisionul de procesare"
        return f"the processing fee of {label}" if label else "the processing fee"
    noun = _RECORD_NOUNS[language].get(record_type, (record_type or "").replace("_", " "))
    if not label:
        return noun
    return f"{noun} „{label}”" if language == "ro" else f'{noun} "{label}"'


def _utc(stamp) -> str:
    """A QuickBooks time (ISO 8601, with its offset) as the desk shows times: UTC, to the minute."""
    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# The fields the change poll compares that the pre-flight labels (preflight.field_label) don't name.
_CHANGED_FIELDS = {"en": {"TotalAmt": "Total", "TxnDate": "Date", "DueDate": "Due date", "UnitPrice": "Rate"},
                   "ro": {"TotalAmt": "Totalul", "TxnDate": "Data", "DueDate": "Scadența", "UnitPrice": "Tariful"}}
_UNQUOTED = ("TotalAmt", "TxnDate", "DueDate", "UnitPrice")  # amounts and dates read better bare


def _changed_field(record_type, path, language) -> str:
    label = field_label(record_type, path, None, language)
    word = _CHANGED_FIELDS[language].get(path)
    return f"{word} ({path})" if word and "(" not in label else label


def _changed_value(path, value, language) -> str:
    if value in (None, ""):
        return "fără valoare" if language == "ro" else "empty"
    return str(value) if path in _UNQUOTED else _quoted(value, language).strip()


def _change_words(change: dict, record_type, language) -> str:
    """One field changed in QuickBooks: both values when the ledger has one to compare with."""
    path = change.get("field") or ""
    name = _changed_field(record_type, path, language)
    if "qbo" not in change:  # the lines: no one value to show
        if language == "ro":
            return f"{name} diferă de registru"
        return f"{name} {'differ' if path == 'Line' else 'differs'} from the ledger"
    theirs = _changed_value(path, change["qbo"], language)
    if "ledger" not in change:  # our own value is the product's marker: only theirs says anything
        if change["qbo"] in (None, ""):
            return f"{name} nu mai are nicio valoare" if language == "ro" else f"{name} was cleared"
        return f"{name} este acum {theirs}" if language == "ro" else f"{name} is now {theirs}"
    ours = _changed_value(path, change["ledger"], language)
    if language == "ro":
        return f"{name} este {theirs} în QuickBooks, {ours} în registru"
    return f"{name} is {theirs} in QuickBooks, {ours} in the ledger"


def _modified_sentence(f, language):
    if "changes" not in f:  # a stale-object fault (5010) names no change
        return None
    when = _utc(f["changed"]) if f.get("changed") else None
    parts = [_change_words(c, f.get("record"), language) for c in f["changes"]]
    if language == "ro":
        head = "Înregistrarea a fost editată în QuickBooks" + (f" la {when}" if when else "")
        return (f"{head}: {'; '.join(parts)}." if parts else
                f"{head}; niciunul dintre câmpurile trimise de produs nu diferă de registru.")
    head = "Edited in QuickBooks" + (f" on {when}" if when else "")
    return f"{head}: {'; '.join(parts)}." if parts else \
        f"{head}; none of the fields the product sends differs from the ledger."


def modified_detail(facts: dict, record_type: str | None, language: str = "en") -> str:
    """A `modified-in-qbo` row's detail: QuickBooks' version of the record against the product's last write."""
    language = language if language in LANGUAGES else "en"
    what = _record_words(record_type, facts.get("label"), language)
    entity, qbo_id, version, ours = facts.get("entity"), facts.get("qbo_id"), facts.get("version"), facts.get("ours")
    written = f" ({_utc(facts['written'])})" if facts.get("written") else ""
    if language == "ro":
        changed = f", modificată la {_utc(facts['changed'])}" if facts.get("changed") else ""
        return (f"Înregistrarea QuickBooks {entity} {qbo_id} ({what}) este la versiunea {version}{changed}; "
                f"produsul a scris ultima dată versiunea {ours}{written}.")
    changed = f", changed {_utc(facts['changed'])}" if facts.get("changed") else ""
    return (f"QuickBooks {entity} {qbo_id} ({what}) is at version {version}{changed}; the product last wrote "
            f"version {ours}{written}.")


_DUPLICATE_CAUSES = {
    "en": {"by_hand": "Likely cause: someone entered it by hand in QuickBooks (for example while matching "
                      "bank transactions), although the product already creates it.",
           "processor": "Likely cause: the card processor's own QuickBooks connection also posts these "
                        "entries; turn its sync off so that only this product posts them."},
    "ro": {"by_hand": "Cauza probabilă: cineva a introdus-o manual în QuickBooks (de exemplu la potrivirea "
                      "tranzacțiilor bancare), deși produsul o creează deja.",
           "processor": "Cauza probabilă: conexiunea proprie a procesatorului de carduri cu QuickBooks trimite "
                        "și ea aceste înregistrări; opriți-i sincronizarea, ca doar acest produs să le trimită."},
}


def duplicate_cause(cause: str | None, language: str = "en") -> str | None:
    """The likely cause of a `duplicates-in-qbo` entry ("by_hand" or "processor") in words."""
    return _DUPLICATE_CAUSES[language if language in LANGUAGES else "en"].get(cause)


def _duplicate_sentence(f, language):
    return duplicate_cause(f.get("cause"), language)


def duplicate_detail(facts: dict, record_type: str | None, language: str = "en") -> str:
    """A `duplicates-in-qbo` row's detail: the entry found in QuickBooks, the record it matches, the cause."""
    language = language if language in LANGUAGES else "en"
    what = _record_words(record_type, facts.get("label"), language)
    entity, qbo_id, ours = facts.get("entity"), facts.get("qbo_id"), facts.get("ours")
    cause = duplicate_cause(facts.get("cause"), language)
    if language == "ro":
        text = (f"Înregistrarea QuickBooks {entity} {qbo_id} ({facts.get('amount')} din {facts.get('date')}) nu a "
                f"fost creată de produs și corespunde cu {what} (QuickBooks {entity} {ours}).")
    else:
        text = (f"QuickBooks {entity} {qbo_id} ({facts.get('amount')} on {facts.get('date')}) was not created by "
                f"the product and matches {what} (QuickBooks {entity} {ours}).")
    return f"{text} {cause}" if cause else text


#: case -> its detail worded from the facts the change poll stored (`detail_text`).
_CHANGE_DETAILS = {"modified-in-qbo": modified_detail, "duplicates-in-qbo": duplicate_detail}


# -- problems found before sending (no QuickBooks words): their facts, worded for each reader ------
# A `Blocked` record (qbo.quickbooks.sync.context) stores its facts with a `kind`; each kind has a
# sentence per language here. The stored message stays English for the API and the logs.


def _q(value, language) -> str:
    return _quoted(value, language).strip()


def _no_tax_code(f, language):
    codes = ", ".join(f.get("codes") or [])
    if language == "ro":
        what = f"cota {_q(f['rate'], language)} ({f.get('percent')}%)" if f.get("rate") else "liniile fără cotă de taxă"
        why = " Codul ales este inactiv în QuickBooks sau nu mai există." if f.get("inactive") else ""
        return f"Niciun cod de taxă QuickBooks pentru {what}.{why} QuickBooks are: {codes or 'niciunul'}."
    what = f"the rate {_q(f['rate'], language)} ({f.get('percent')}%)" if f.get("rate") else "lines without a tax rate"
    why = " The code chosen for it is inactive in QuickBooks or no longer exists." if f.get("inactive") else ""
    return f"No QuickBooks tax code for {what}.{why} QuickBooks has: {codes or 'none'}."


def _multicurrency_off(f, language):
    if language == "ro":
        return (f"Contul este facturat în {f.get('currency')}, dar multimoneda este oprită în compania QuickBooks "
                f"(moneda de bază {f.get('home')}).")
    return (f"The account is billed in {f.get('currency')}, but multicurrency is off in the QuickBooks company "
            f"(home currency {f.get('home')}).")


def _currency_not_enabled(f, language):
    if language == "ro":
        return f"{f.get('currency')} nu se află în lista de monede a companiei QuickBooks."
    return f"{f.get('currency')} is not in the QuickBooks company's currency list."


def _customer_currency(f, language):
    customer, suggested = _q(f.get("customer") or "", language), _q(f.get("suggested_name") or "", language)
    theirs, wanted = f.get("theirs"), f.get("wanted")
    if language == "ro":
        return (f"Clientul QuickBooks {customer} este în {theirs}, contul facturează în {wanted}, iar moneda unui "
                f"client nu se poate schimba. Redenumiți contul, de exemplu {suggested}, ca să fie creat un client "
                f"nou în {wanted}.")
    return (f"The QuickBooks customer {customer} is in {theirs}, the account bills in {wanted}, and a customer's "
            f"currency can't change. Rename the account, for example {suggested}, so a new customer is created "
            f"in {wanted}.")


def _payment_currency(f, language):
    account = _q(f.get("account") or "", language)
    code, theirs, home = f.get("currency"), f.get("theirs"), f.get("home")
    if language == "ro":
        return (f"Plata este în {code}, dar contul ei de depunere {account} este în {theirs}: QuickBooks permite o "
                f"singură monedă străină pe tranzacție. Alegeți un cont de depunere în {home} sau {code}.")
    return (f"The payment is in {code} but its deposit account {account} is in {theirs}: QuickBooks allows one "
            f"foreign currency per transaction. Choose a deposit account in {home} or {code}.")


def _income_account_missing(f, language):
    name = _q(f.get("value") or "", language)
    if language == "ro":
        return f"Contul de venituri {name} nu există în QuickBooks."
    return f"The income account {name} does not exist in QuickBooks."


def _fallback_item(f, language):
    name = _q(f.get("value") or "", language)
    if f.get("kind") == "fallback-item-category":
        if language == "ro":
            return (f"{name} este o categorie în QuickBooks, iar o linie nu poate fi înregistrată pe o categorie. "
                    "Alegeți un articol de tip serviciu în Setări › Integrări › QuickBooks.")
        return (f"{name} is a category in QuickBooks, and a line can't be booked on a category. Choose a service "
                "item in Settings > Integrations > QuickBooks.")
    if language == "ro":
        return (f"Articolul {name}, pe care sunt înregistrate liniile fără serviciu, este inactiv în QuickBooks. "
                "Activați-l acolo sau alegeți alt articol în Setări › Integrări › QuickBooks.")
    return (f"The item {name} that lines without a service are booked on is inactive in QuickBooks. Make it "
            "active there, or choose another item in Settings > Integrations > QuickBooks.")


def _no_customer_named(f, language):
    name = _q(f.get("name") or "", language)
    if language == "ro":
        return f"Niciun client QuickBooks nu se numește exact {name}."
    return f"No QuickBooks customer is named exactly {name}."


_SETTINGS_WORDS = {
    "en": {"tax_mode": "the sales tax setting changed from {before} to {after}: the tax codes were read again; "
                       "check the mapping on the Tax screen",
           "custom_txn_numbers": "custom transaction numbers were turned on, so QuickBooks no longer numbers "
                                 "invoices itself: turn on \"Sync invoice number with QuickBooks Online\" or the "
                                 "invoices arrive without a number"},
    "ro": {"tax_mode": "setarea taxei pe vânzări s-a schimbat din {before} în {after}: codurile de taxă au fost "
                       "citite din nou; verificați corespondența în ecranul Taxe",
           "custom_txn_numbers": "numerele de tranzacție personalizate au fost activate, deci QuickBooks nu mai "
                                 "numerotează singur facturile: activați „Sync invoice number with QuickBooks "
                                 "Online”, altfel facturile ajung fără număr"}}


def _settings_changed(f, language):
    words = [_SETTINGS_WORDS[language][c["setting"]].format(before=c.get("before"), after=c.get("after"))
             for c in f.get("changes") or [] if c.get("setting") in _SETTINGS_WORDS[language]]
    if not words:
        return None
    return ("În QuickBooks, " if language == "ro" else "In QuickBooks, ") + "; ".join(words) + "."


_FIXED_SENTENCES = {
    "card-account-gone": {
        "en": "The card account chosen for processing fees no longer exists in QuickBooks.",
        "ro": "Contul de card ales pentru comisioanele de procesare nu mai există în QuickBooks."},
    "no-card-account": {
        "en": "QuickBooks has no Credit Card account for processing fees. Create one in QuickBooks or choose one "
              "in the QuickBooks settings.",
        "ro": "QuickBooks nu are niciun cont de tip Credit Card pentru comisioanele de procesare. Creați unul în "
              "QuickBooks sau alegeți unul în setările QuickBooks."},
    "no-fee-expense-account": {
        "en": "Choose the expense account for processing fees in the QuickBooks settings.",
        "ro": "Alegeți contul de cheltuieli pentru comisioanele de procesare în setările QuickBooks."},
    "deposit-account-gone": {
        "en": "The deposit account chosen in the QuickBooks settings no longer exists in QuickBooks. Choose "
              "another one.",
        "ro": "Contul de depunere ales în setările QuickBooks nu mai există în QuickBooks. Alegeți altul."},
    "no-bank-account": {
        "en": "QuickBooks has no Bank account to pay refunds from. Add one in QuickBooks.",
        "ro": "QuickBooks nu are niciun cont de tip Bank din care să plătească rambursările. Adăugați unul în "
              "QuickBooks."},
    "no-income-account": {
        "en": "QuickBooks has no Income account to book lines without a service on. Add one in QuickBooks.",
        "ro": "QuickBooks nu are niciun cont de tip Income pe care să înregistreze liniile fără serviciu. "
              "Adăugați unul în QuickBooks."},
}

#: kind -> sentence(facts, language), for rows stored with facts {"kind": ...} (found without QuickBooks).
_FOUND_BEFORE_SENDING = {
    "no-tax-code": _no_tax_code, "multicurrency-off": _multicurrency_off,
    "currency-not-enabled": _currency_not_enabled, "customer-currency-differs": _customer_currency,
    "payment-currency-mismatch": _payment_currency, "income-account-missing": _income_account_missing,
    "fallback-item-inactive": _fallback_item, "fallback-item-category": _fallback_item,
    "no-customer-named": _no_customer_named, "settings-changed": _settings_changed,
    **{kind: (lambda words: lambda f, language: words[language])(words) for kind, words in _FIXED_SENTENCES.items()},
}
#: A pre-flight problem's kind -> its sentence (preflight.Problem.facts).
_PROBLEM_SENTENCES = {"field": _field_sentence, "missing": _missing_sentence, "account": _account_sentence}


def _lead(case_id: str, facts: dict, language: str) -> str | None:
    """The sentences the facts pin down: one per pre-flight problem (`problems`), a stored kind's
    (`kind`), or the case's own builder."""
    if facts.get("problems"):
        shared = {k: v for k, v in facts.items() if k != "problems"}
        builders = (_PROBLEM_SENTENCES.get(p.get("kind")) or _SPECIFIC.get(case_id) for p in facts["problems"])
        sentences = [b({**shared, **p}, language) if b else None for b, p in zip(builders, facts["problems"])]
        return " ".join(s for s in sentences if s) or None
    if facts.get("kind") in _FOUND_BEFORE_SENDING:
        return _FOUND_BEFORE_SENDING[facts["kind"]](facts, language)
    builder = _SPECIFIC.get(case_id)
    return builder(facts, language) if builder else None


_SPECIFIC = {
    "waiting-for-dependency": _waiting_sentence,
    "stuck-pending": _stuck_sentence,
    "unsynced": _unsynced_sentence,
    "duplicate-name": _holder_sentence,
    "string-length": _field_sentence,
    "required-field": _missing_sentence,
    "duplicate-doc-number": _doc_number_sentence,
    "expense-account-type": _account_sentence,
    "item-account-type": _account_sentence,
    "deposit-account-type": _account_sentence,
    "line-description-fallback": _fallback_sentence,
    "amount-mismatch": _mismatch_sentence,
    "modified-in-qbo": _modified_sentence,
    "duplicates-in-qbo": _duplicate_sentence,
}


# Cases shared by invoices and credit notes whose words name the document: the text for one
# document type, (title or None to keep the case's, explanation), per language. Romanian agrees
# "a facturii" / "a notei de credit" with the noun, so each type gets whole sentences.
_PER_RECORD_TYPE: dict[tuple[str, str], dict[str, tuple[str | None, str]]] = {
    ("line-description-fallback", "invoice"): {
        "en": (None, """A line of this invoice has no service from the list. Its amount was kept: QuickBooks
        booked it on the fallback item chosen in the integration settings (by default QuickBooks' own
        "Services" item), with the line's text as its description. That happens when the service
        name was typed on the line by hand."""),
        "ro": (None, """O linie a facturii nu are un serviciu din listă. Suma ei a fost păstrată: QuickBooks a
        înregistrat-o pe articolul de rezervă ales în setările integrării (implicit articolul
        „Services” al QuickBooks), cu textul liniei ca descriere. Se întâmplă când numele serviciului
        a fost scris de mână pe linie.""")},
    ("line-description-fallback", "credit_note"): {
        "en": (None, """A line of this credit note has no service from the list. Its amount was kept: QuickBooks
        booked it on the fallback item chosen in the integration settings (by default QuickBooks' own
        "Services" item), with the line's text as its description. That happens when the service
        name was typed on the line by hand."""),
        "ro": (None, """O linie a notei de credit nu are un serviciu din listă. Suma ei a fost păstrată:
        QuickBooks a înregistrat-o pe articolul de rezervă ales în setările integrării (implicit
        articolul „Services” al QuickBooks), cu textul liniei ca descriere. Se întâmplă când numele
        serviciului a fost scris de mână pe linie.""")},
    ("description-to-memo", "credit_note"): {
        "en": ("Credit note description sent as the memo", """The credit note's description is a note about
        the credit note, so it goes to the memo in QuickBooks, not to a line. This is by design."""),
        "ro": ("Descrierea notei de credit trimisă ca memo", """Descrierea notei de credit este o notă
        despre nota de credit, așa că ajunge în câmpul memo din QuickBooks, nu pe o linie. Așa este
        gândit.""")},
}


def localised(case_id: str, language: str = "en", record_type: str | None = None) -> Case:
    """The case with its title, explanation and fix in `language` ("en" or "ro"; others get English),
    worded for `record_type` where the case names the document (an invoice or a credit note)."""
    case = CASES[case_id]
    texts = _TEXTS.get(language, {}).get(case_id)
    if texts:
        title, explanation, fix = (" ".join(t.split()) for t in texts)
        case = replace(case, title=title, explanation=explanation, fix=fix)
    worded = _PER_RECORD_TYPE.get((case_id, record_type or ""), {})
    variant = worded.get(language) or worded.get("en") if language in LANGUAGES else worded.get("en")
    if variant:
        title, explanation = variant
        case = replace(case, title=" ".join(title.split()) if title else case.title,
                       explanation=" ".join(explanation.split()))
    return case


def explain(case_id: str, language: str = "en", record_type: str | None = None, **facts) -> str:
    """The case's explanation, led by what the facts pin down (dependency, field, value, limit...),
    worded for `record_type` where the case names the document."""
    language = language if language in LANGUAGES else "en"
    case = localised(case_id, language, record_type)
    lead = _lead(case_id, {"record": record_type, **facts}, language)
    text = f"{lead} {case.explanation}" if lead else case.explanation
    if case_id in ("qbo-fault", "service-error"):
        raw = _raw_sentence(facts, language)
        if raw:
            text = f"{text} {raw}"
    return text


# -- recognising faults -------------------------------------------------------------------------

@dataclass(frozen=True)
class Recognised:
    case: str
    category: str
    code: str | None
    message: str
    detail: str | None
    element: str | None
    #: What the fault pins down, for `explain` (field, limit, holder, doc_number...).
    facts: dict = field(default_factory=dict, compare=False)

    def stored_facts(self) -> dict | None:
        """The facts the stored row can't re-derive from QuickBooks' words (those are kept as they
        came: message, detail, element): what the payload or a lookup added."""
        derived = facts_from_fault(self.code, self.message, self.detail, self.element)
        extra = {k: v for k, v in self.facts.items() if k not in ("message", "detail") and derived.get(k) != v
                 and k != "field"}
        return extra or None


_MAX = re.compile(r"Max:\s*([\d,]+)", re.I)
_SUPPLIED = re.compile(r"Supplied length:\s*([\d,]+)", re.I)
_DOC = re.compile(r"DocNumber=(\S+) is assigned to TxnType=(\w+)(?: with TxnId=(\w+))?", re.I)
_CREDIT_TEXTS = ("amount received (plus credits)", "selected charges can't be less than the credits",
                 "exceeds the open balance", "exceeds the remaining credit",
                 "payments applied")
_INACTIVE = "made inactive"
_DELETED_TXN = "deleted this transaction"
_CUSTOMER_TXNS = ("invoice", "credit_note", "payment", "refund")  # transactions with a CustomerRef
_SALES_DOCS = ("invoice", "credit_note")


def _int(text: str | None) -> int | None:
    return int(text.replace(",", "")) if text else None


def facts_from_fault(code: str | None, message: str = "", detail: str | None = "",
                     element: str | None = None, record_type: str | None = None) -> dict:
    """What a fault's text pins down: the field, limit and length, the number's owner, the name's holder."""
    text = f"{message} {detail or ''}"
    low = text.lower()
    facts = {"message": message or None, "detail": detail or None}
    if element:
        facts["field"] = field_label(record_type, element) if record_type else element
    if match := _MAX.search(text):
        facts["limit"] = _int(match.group(1))
    if match := _SUPPLIED.search(text):
        facts["length"] = _int(match.group(1))
    if match := _DOC.search(text):
        facts["doc_number"], facts["txn_type"] = match.group(1), match.group(2)
        if match.group(3):
            facts["txn_id"] = match.group(3)
    if "already" in low and "name" in low:
        # QBO's generic text names all three lists; only a text naming one tells us who holds it.
        holders = [h for h in ("customer", "vendor", "employee") if h in low]
        if len(holders) == 1:
            facts["holder"] = holders[0]
        elif "product or service" in low:
            facts["holder"] = "item"
    if code == "2210" or "email address" in low:
        facts["reason"] = "email"
    elif code == "2040" or "invalid characters" in low:
        facts["reason"] = "characters"
    return {k: v for k, v in facts.items() if v is not None}


def _case_for(entry: QboFaultEntry, record_type: str) -> str | None:
    code = entry.code or ""
    message, detail, element = entry.message or "", entry.detail or "", entry.element or ""
    low = f"{message} {detail}".lower()
    elem = element.lower()
    is_txn = record_type in _CUSTOMER_TXNS

    if code == "5010" or "stale object" in low:
        return "modified-in-qbo"
    if code == "6240" or "duplicate name" in low:
        return "service-error" if record_type == "service" else "duplicate-name"
    if code == "6140" or "duplicate document number" in low:
        return "duplicate-doc-number"
    if "invalid account type" in low:  # 6430, or 6000/6010 (ref "Could not confirm" 1)
        if record_type == "processor_fee":
            return "expense-account-type"
        if record_type == "service":
            return "item-account-type"
        if "deposittoaccountref" in elem or record_type in ("payment", "refund"):
            return "deposit-account-type"
        return None
    if "string length" in low:  # 2050; the same code also says "Invalid Number", which is not this
        return "string-length"
    if code in ("2040", "2210"):
        return "string-length"
    if code in ("2020", "6560", "6080") or "required param" in low or "is missing in the request" in low:
        return "required-field"
    if record_type == "service":
        return "service-error"
    if code == "6250" or "invalid customer" in low or "deleted customer" in low:
        return "customer-deleted" if is_txn else None
    if code in ("2500", "610"):
        if "itemref" in elem or "itemref" in low:
            return "invalid-item-ref"
        if _DELETED_TXN in low:
            return "deleted-invoice-no-resync" if record_type in _SALES_DOCS else "unsynced"
        if "customerref" in elem or "customerref" in low:
            return "customer-deleted" if is_txn else None
        if "linkedtxn" in elem:
            return "unsynced"  # the invoice or credit memo it applies to is gone in QBO
        if "deposittoaccountref" in elem:
            return "deposit-account-type"
        if record_type == "processor_fee" and "accountref" in elem:
            return "expense-account-type"
        if _INACTIVE in low and not elem:
            # QBO does not say which reference; on a transaction the customer is the usual one.
            return "customer-deleted" if is_txn else ("unsynced" if record_type == "account" else None)
        return None
    if code == "6000" or "business validation" in low:
        if any(t in low for t in _CREDIT_TEXTS) and record_type in ("payment", "invoice", "credit_note"):
            return "credit-exceeds-balance"
        return None
    return None


def _dependency_for(case: str, entry: QboFaultEntry, record_type: str) -> str | None:
    if case != "unsynced":
        return None
    elem = (entry.element or "").lower()
    if "linkedtxn" in elem:
        return "invoice"
    if _DELETED_TXN in f"{entry.message} {entry.detail}".lower():
        return "itself"
    return "customer" if record_type == "account" else None


def recognise(error: QboError, *, record_type: str, payload: dict | None = None) -> Recognised:
    """The case a fault on this record is, with QBO's raw words; unknown faults become `qbo-fault`."""
    category = category_for(record_type)
    entries = list(error.errors)
    chosen, case = None, None
    for entry in entries:
        case = _case_for(entry, record_type)
        if case:
            chosen = entry
            break
    if chosen is None:
        case = "service-error" if record_type == "service" else "qbo-fault"
        chosen = entries[0] if entries else QboFaultEntry(None, str(error), "", None)
    detail = chosen.detail or None
    others = [e for e in entries if e is not chosen]
    if others:
        # Several Error entries: the first that named a case leads; the rest are kept in the detail.
        extra = "\n".join(" ".join(p for p in (e.code, e.message, e.detail and f"({e.detail})",
                                               e.element and f"[{e.element}]") if p) for e in others)
        detail = f"{detail}\n{extra}" if detail else extra
    facts = facts_from_fault(chosen.code, chosen.message, chosen.detail, chosen.element, record_type)
    if dependency := _dependency_for(case, chosen, record_type):
        facts["dependency"] = dependency
    if payload:
        facts.update(_payload_facts(case, chosen, record_type, _unwrap(payload)))
    return Recognised(case=case, category=category, code=chosen.code, message=chosen.message or str(error),
                      detail=detail, element=chosen.element or None, facts=facts)


def _unwrap(payload: dict) -> dict:
    for entity in ENTITY_FOR.values():
        if isinstance(payload.get(entity), dict):
            return payload[entity]
    return payload


def _payload_facts(case: str, entry: QboFaultEntry, record_type: str, payload: dict) -> dict:
    """What the record being pushed adds: the value QBO refused, the name or payment method at stake."""
    facts = {}
    if case == "string-length" and entry.element:
        value = _value_at(payload, entry.element.removeprefix(ENTITY_FOR.get(record_type, "") + "."))
        if isinstance(value, str):
            facts["value"] = value
    if case == "duplicate-name":
        if record_type == "payment":
            method = payload.get("PaymentMethodRef") or {}
            if method.get("name") or method.get("value"):
                facts["payment_method"] = method.get("name") or f"Id {method['value']}"
        elif payload.get("DisplayName") or payload.get("Name"):
            facts["name"] = payload.get("DisplayName") or payload.get("Name")
    return facts


def _value_at(payload: dict, path: str):
    """The value at a QBO element path; across lines, the longest (the one a length fault is about)."""
    values = [payload]
    for part in path.split("."):
        values = [v for value in values for v in (value if isinstance(value, list) else [value])]
        values = [v.get(part) for v in values if isinstance(v, dict) and v.get(part) is not None]
    strings = [v for v in values if isinstance(v, str)]
    return max(strings, key=len) if strings else (values[0] if values else None)


# A stored `unsynced` row's element is the QBO reference that points at the deleted record.
_ELEMENT_DEPENDENCIES = {"CustomerRef": "customer", "Line.SalesItemLineDetail.ItemRef": "service",
                         "Line.LinkedTxn": "invoice"}


def explain_error(error, language: str = "en", **facts) -> str:
    """The explanation for a stored SyncError. A QBO fault's facts are re-derived from the words it
    kept (its field named in the reader's words); a problem found without QBO (no code) is worded
    from its stored `facts` (a pre-flight problem's field, value and limit; a blocked record's
    kind), and rows stored before facts existed lead with their own message; `unsynced` reads the
    deleted dependency from `element`. A waiting row reads what it waits for from
    `waiting_for_type`, its state from `detail` and the awaited record's `label` from its facts
    (or `facts`); a stuck row reads since when from `detail`. A change the poll saw in QuickBooks
    (`modified-in-qbo`, `duplicates-in-qbo`) leads with what changed, or the duplicate's likely cause;
    an `amount-mismatch` words its differences and tax cause from its facts."""
    stored = error.facts or {}
    if error.case == "waiting-for-dependency":
        facts = {**stored, **facts}
        if language == "en" and not facts.get("label") and error.message:
            return f"{error.message} {CASES[error.case].explanation}"
        return explain(error.case, language, error.record_type, what=error.waiting_for_type, state=error.detail, **facts)
    if error.case == "stuck-pending":
        return explain(error.case, language, error.record_type, since=error.detail, **facts)
    if error.qbo_code is not None:
        where = {"path": error.element} if error.element and error.record_type else {}
        facts = {**facts_from_fault(error.qbo_code, error.message, error.detail, error.element, error.record_type),
                 **where, **stored, **facts}
        return explain(error.case, language, error.record_type, **facts)
    if error.case in _CHANGE_DETAILS and stored.get("entity"):
        # Seen in QuickBooks' changes: what changed, or the likely cause of a duplicate.
        return explain(error.case, language, error.record_type, **{**stored, **facts})
    if stored.get("problems") or stored.get("kind") in _FOUND_BEFORE_SENDING:
        return explain(error.case, language, error.record_type, **{**stored, **facts})
    facts = {}
    if error.case == "unsynced" and (error.element or stored.get("dependency")):
        facts = {"dependency": stored.get("dependency") or _ELEMENT_DEPENDENCIES.get(error.element, error.element)}
    if error.case == "amount-mismatch" and _mismatch_facts(error):
        return mismatch_text(_mismatch_facts(error), language, cause=_mismatch_cause(error, language))
    if error.case == "line-description-fallback" and _fallback_facts(error):
        return explain(error.case, language, error.record_type, lines=_fallback_facts(error))
    text = explain(error.case, language, error.record_type, **facts)
    message = (error.message or "").strip().rstrip(".")
    if not message or message in text or stored:
        return text  # a row with facts is worded from them; its English message is for the API
    if CASES[error.case].explanation.rstrip(".") in message:
        # The engine stored a whole `explain(...)` text: keep it (its facts are not stored elsewhere).
        return error.message if language == "en" else text
    return f"{message}. {text}"


_DETAIL_HOW = {"en": {"deleted": "deleted", "inactive": "made inactive"},
               "ro": {"deleted": "ștearsă", "inactive": "dezactivată"}}


def detail_text(error, language: str = "en") -> str | None:
    """A row's stored detail for a reader, where the product wrote it (QuickBooks' own words are
    shown as they came): a record deleted in QuickBooks is worded from its facts; the detail of a
    difference or a fallback line is already in the explanation, so only English shows it again; a
    change seen in QuickBooks (an edit, a possible duplicate) is worded from the poll's facts."""
    stored = error.facts or {}
    if error.qbo_code is None and stored.get("entity") and error.case in _CHANGE_DETAILS:
        return _CHANGE_DETAILS[error.case](stored, error.record_type, language)
    if error.qbo_code is None and stored.get("entity") and stored.get("how") in _DETAIL_HOW["en"]:
        language = language if language in LANGUAGES else "en"
        how, what = _DETAIL_HOW[language][stored["how"]], f"{stored['entity']} {stored.get('qbo_id', '')}".strip()
        if stored.get("dependency_type"):
            kind = stored["dependency_type"]
            noun = _WAIT_NOUNS[language].get(kind, kind.replace("_", " "))
            label = _quoted(stored["label"], language) if stored.get("label") else ""
            if language == "ro":
                return f"Înregistrarea de care depinde, {noun}{label} ({what}), a fost {how} în QuickBooks."
            return f"Its {noun}{label} ({what}) was {how} in QuickBooks."
        if language == "ro":
            return f"Înregistrarea QuickBooks {what} a fost {how} în QuickBooks."
        return f"QuickBooks {what} was {how} in QuickBooks."
    if language != "en" and error.qbo_code is None and (
            (error.case == "amount-mismatch" and _mismatch_facts(error))
            or (error.case == "line-description-fallback" and _fallback_facts(error))):
        return None
    return error.detail
