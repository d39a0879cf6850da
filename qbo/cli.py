"""`flask demo ...`, `flask users ...` and `flask jobs ...` (run as `flask --app app ...`)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from qbo.accounts.models import Firm, User
from qbo.accounts.permissions import ROLES
from qbo.core.db import db

demo_cli = AppGroup("demo", help="The demo firm.")
users_cli = AppGroup("users", help="People and API keys.")
jobs_cli = AppGroup("jobs", help="Background jobs.")


def _logins_file() -> Path:
    """The demo logins of this database: named after its URL, so another database (a fresh
    PostgreSQL, say) never prints logins that don't sign in there."""
    database = hashlib.sha256(current_app.config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()[:12]
    return Path(current_app.instance_path) / f"demo-logins-{database}.json"


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo firm exists already.")
def demo_seed(if_empty: bool) -> None:
    """Create the demo firm, its four users and a realistic ledger; print the logins."""
    from qbo.demo import DEMO_FIRM, seed

    if db.session.scalar(select(Firm).where(Firm.name == DEMO_FIRM)) is not None:
        if if_empty:
            click.echo("The demo firm exists already.")
            return
        raise click.ClickException("The demo firm exists already.")
    logins = seed()
    db.session.commit()
    # Kept beside the local database only, so `make run` can show them again; never in production.
    path = _logins_file()
    path.write_text(json.dumps(logins, indent=2))
    path.chmod(0o600)
    click.echo("Demo firm created. Sign in with:")
    for email, password in logins.items():
        click.echo(f"  {email:28} {password}")
    _connect_demo(quiet_failure=True, realm_id=_fresh_emulator_company())
    if current_app.config["QBO_ENVIRONMENT"] == "emulator":
        _seed_vat_demo(path, logins)


def _fresh_emulator_company() -> str | None:
    """A new database seeds a new demo: when the emulator's default company already holds a
    demo's records (its state outlived the database), the demo gets a company of its own, since
    replaying the history against the old one collides with what it holds. None: use the default."""
    import requests

    if current_app.config["QBO_ENVIRONMENT"] != "emulator":
        return None
    control = current_app.config["QBO_BASE_URL"].rstrip("/") + "/__emulator__/companies"
    try:
        default = next(c for c in requests.get(control, timeout=10).json() if c.get("default"))
        if not requests.get(f"{control}/{default['realm_id']}/Customer", timeout=10).json():
            return None
        answer = requests.post(control, json={"name": default["name"]}, timeout=10)
        answer.raise_for_status()
        return answer.json()["realm_id"]
    except (requests.RequestException, StopIteration, KeyError, ValueError):
        return None  # the connect below says what is wrong


def _seed_vat_demo(path, logins: dict) -> None:
    """The second demo firm (issue 17): a UK VAT company, a euro client, an unmapped tax rate."""
    from qbo.demo_vat import VAT_FIRM, seed_vat_firm

    try:
        more = seed_vat_firm(current_app.config["QBO_BASE_URL"])
        db.session.commit()
    except Exception as exc:  # the first demo firm stands either way
        db.session.rollback()
        click.echo(f"Could not create the UK demo firm ({type(exc).__name__}: {exc}).")
        return
    path.write_text(json.dumps({**logins, **more}, indent=2))
    click.echo(f"{VAT_FIRM} created and connected to a UK VAT company. Sign in with:")
    for email, password in more.items():
        click.echo(f"  {email:28} {password}")


def _connect_demo(*, quiet_failure: bool, realm_id: str | None = None) -> None:
    from qbo.demo import DEMO_FIRM, connect_demo_firm

    firm = db.session.scalar(select(Firm).where(Firm.name == DEMO_FIRM))
    owner = db.session.scalar(select(User).where(User.firm_id == firm.id, User.role == "owner"))
    try:
        name = connect_demo_firm(firm.id, owner.id, realm_id=realm_id)
    except Exception as exc:  # the ledger is seeded either way; connecting can be retried
        db.session.rollback()
        message = (f"Could not connect the demo firm to QuickBooks at {current_app.config['QBO_BASE_URL']} "
                   f"({type(exc).__name__}); run `flask --app app demo connect` once it is up.")
        if not quiet_failure:
            raise click.ClickException(message) from None
        click.echo(message)
        return
    click.echo(f"Demo firm connected to QuickBooks company {name}.")
    if current_app.config["QBO_ENVIRONMENT"] == "emulator":
        from qbo.demo import play_history

        counts = play_history(firm.id, owner.id, current_app.config["QBO_BASE_URL"])
        click.echo("First syncs done; open QuickBooks errors: "
                   + ", ".join(f"{category} {n}" for category, n in counts.items()))


@demo_cli.command("connect")
def demo_connect() -> None:
    """Connect the demo firm to the QuickBooks emulator through the OAuth code flow."""
    _connect_demo(quiet_failure=False)


@demo_cli.command("logins")
def demo_logins() -> None:
    """Print the demo logins saved by `demo seed`."""
    path = _logins_file()
    if not path.exists():
        raise click.ClickException("No demo logins: run `flask --app app demo seed` first.")
    for email, password in json.loads(path.read_text()).items():
        click.echo(f"  {email:28} {password}")


@users_cli.command("create")
@click.option("--firm", "firm_name", required=True, help="Firm name; created when missing.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", required=True, prompt=True, hide_input=True)
@click.option("--name", default="")
def users_create(firm_name: str, email: str, role: str, password: str, name: str) -> None:
    """Create a user in a firm."""
    email = email.strip().lower()
    if len(password) < 8:
        raise click.BadParameter("must be at least 8 characters", param_hint="--password")
    if "@" not in email:
        raise click.BadParameter("is not an email address", param_hint="--email")
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise click.ClickException(f"A user with email {email} exists already.")
    firm = db.session.scalar(select(Firm).where(Firm.name == firm_name))
    if firm is None:
        firm = Firm(name=firm_name)
        db.session.add(firm)
        db.session.flush()
    user = User(firm_id=firm.id, email=email, role=role, name=name)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {email} in firm {firm.name} (id {firm.id}).")


@users_cli.command("create-api-key")
@click.option("--email", required=True)
@click.option("--label", default="")
def users_create_api_key(email: str, label: str) -> None:
    """Create an API key for a user and print it (shown only this once)."""
    from qbo.accounts.auth import create_api_key

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    key = create_api_key(user, label)
    db.session.commit()
    click.echo(key)


@jobs_cli.command("recalculate")
@click.option("--firm", "firm_id", type=int, required=True)
def jobs_recalculate(firm_id: int) -> None:
    """Enqueue the receivables recalculation for a firm and print its job id."""
    from qbo.core import queue
    from qbo.ledger import jobs as ledger_jobs

    if db.session.get(Firm, firm_id) is None:
        raise click.ClickException(f"No firm with id {firm_id}.")
    run = queue.enqueue("recalculate-balances", ledger_jobs.recalculate_balances, firm_id)
    click.echo(run.id)




qbo_cli = AppGroup("qbo", help="QuickBooks Online sync.")


@qbo_cli.command("sync")
@click.option("--firm", "firm_id", type=int, required=True)
@click.option("--wait", is_flag=True, help="Run the sync in this process and print its report.")
def qbo_sync(firm_id: int, wait: bool) -> None:
    """Push everything pending for a firm (marks never-synced records first)."""

    from qbo.quickbooks import jobs as quickbooks_jobs
    from qbo.quickbooks.sync.engine import sync_firm
    from qbo.quickbooks.sync.marking import mark_all

    if db.session.get(Firm, firm_id) is None:
        raise click.ClickException(f"No firm with id {firm_id}.")
    if wait:
        mark_all(firm_id)
        db.session.commit()
        report = sync_firm(firm_id)
        click.echo(json.dumps(report.as_dict()))
        if report.paused:
            raise click.ClickException(report.paused)
        return
    run = quickbooks_jobs.enqueue_push(firm_id)
    click.echo(run.id)


@qbo_cli.command("status")
@click.option("--firm", "firm_id", type=int, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the same body as GET /api/v1/sync/status.")
def qbo_status(firm_id: int, as_json: bool) -> None:
    """The firm's connection, open QuickBooks errors per category, and records pending (and stuck)."""
    from qbo.quickbooks.problems.counts import sync_status

    if db.session.get(Firm, firm_id) is None:
        raise click.ClickException(f"No firm with id {firm_id}.")
    status = sync_status(firm_id)
    if as_json:
        click.echo(json.dumps(status))
        return
    conn = status["connection"]
    click.echo(f"Connection: {conn['state']}" + (f" to {conn['company_name']} ({conn['realm_id']})" if conn["realm_id"] else ""))
    if conn.get("paused"):
        click.echo(f"Paused: {conn['paused']}" + (f" until {conn['paused_until']}" if conn.get("paused_until") else ""))
    click.echo(f"Reads this month: {conn.get('reads_this_month', 0)} of {conn.get('read_allowance')}")
    for category, n in status["counts"].items():
        click.echo(f"  {category:10} {n}")
    click.echo(f"  {'total':10} {status['total']}")
    company = status.get("company")
    if company:
        click.echo(f"Company: {company['country'] or '?'}, tax {company['tax_mode']}, home currency "
                   f"{company['home_currency']}, multicurrency {'on' if company['multicurrency'] else 'off'}")
    click.echo(f"Pending: {status['pending']} (stuck: {status['stuck']})")


@qbo_cli.command("tax-rates")
@click.option("--firm", "firm_id", type=int, required=True)
@click.option("--add", "name", help="Add a rate with this name (with --percent).")
@click.option("--percent", help="The new rate's percent, e.g. 20 or 8.875.")
def qbo_tax_rates(firm_id: int, name: str | None, percent: str | None) -> None:
    """List the firm's tax rates with the QuickBooks code each becomes; or add one."""
    from qbo.ledger import tax as ledger_tax
    from qbo.quickbooks import company, tax

    firm = db.session.get(Firm, firm_id)
    if firm is None:
        raise click.ClickException(f"No firm with id {firm_id}.")
    if name is not None:
        try:
            ledger_tax.save_rate(firm, {"name": name, "percent": percent})
        except ledger_tax.TaxRateInvalid as invalid:
            db.session.rollback()
            raise click.ClickException("; ".join(f"{k} {', '.join(v)}" for k, v in invalid.errors.items())) from None
        db.session.commit()
    for row in tax.screen(firm_id, company.get(firm_id)):
        label = row["rate"].label if row["rate"] else "(lines without a rate)"
        code = row["applies"]["name"] if row["applies"] else "NONE: documents held back"
        how = "chosen" if row["chosen"] else "automatic"
        click.echo(f"  {label:36} -> {code} ({how})")


@qbo_cli.command("sweep")
def qbo_sweep() -> None:
    """Run the sweep the worker's schedule runs: stuck rows, and re-queue stranded records."""
    from qbo.quickbooks import jobs as quickbooks_jobs

    click.echo(json.dumps(quickbooks_jobs.sweep_stranded()))


@qbo_cli.command("tieout")
@click.option("--firm", "firm_id", type=int, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the same result as GET /api/v1/sync/tieout.")
def qbo_tieout(firm_id: int, as_json: bool) -> None:
    """Compare the ledger with QuickBooks in this process; exit 1 when anything differs, 2 when
    QuickBooks could not be read."""
    from qbo.quickbooks.api.errors import QboError, ReconnectNeeded
    from qbo.quickbooks.tieout import item_label, reason_text, tie_out, type_label

    if db.session.get(Firm, firm_id) is None:
        raise click.ClickException(f"No firm with id {firm_id}.")
    try:
        result = tie_out(firm_id)
    except ReconnectNeeded:
        # Exit 2, not 1: nothing was compared, so nothing is known to differ.
        click.echo("Error: QuickBooks is not connected for this firm: connect it first.", err=True)
        raise SystemExit(2) from None
    except QboError as exc:
        click.echo(f"Error: QuickBooks did not answer ({type(exc).__name__}): {exc}", err=True)
        raise SystemExit(2) from None
    if as_json:
        click.echo(json.dumps(result))
    else:
        for month in result["months"]:
            mark = "  " if not month["differences"] else "! "
            click.echo(f"{mark}{type_label(month['record_type']):16} {month['month']:8} "
                       f"ledger {month['ledger_count']:>5} {month['ledger_total']:>14}   "
                       f"QuickBooks {month['qbo_count']:>5} {month['qbo_total']:>14}")
            for item in month["records"]:
                click.echo(f"      {item_label(item)}: {reason_text(item['reason'], item['facts'])}"
                           + (f" (desk row {item['desk']['error_id']}, {item['desk']['case']})" if item["desk"] else ""))
        for balance in result["balances"]:
            click.echo(f"! {balance['label']}: ledger {balance['ledger_balance']}, QuickBooks "
                       f"{balance['qbo_balance'] or '-'}: {reason_text(balance['reason'], balance['facts'])}")
        click.echo(f"{result['differences']} differences; {result['clients_checked']} clients checked; "
                   f"{result['requests']} QuickBooks requests ({result['pages']} pages).")
    if result["differences"]:
        raise SystemExit(1)


def register_cli(app) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(qbo_cli)
