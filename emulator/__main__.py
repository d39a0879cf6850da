"""python -m emulator --host 127.0.0.1 --port P: serve the emulator (threaded)."""

import argparse
import sys

from werkzeug.serving import run_simple

from .app import create_app
from .profiles import DEFAULT_PROFILE, PROFILES
from .store import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="A local QuickBooks Online emulator: the Accounting API v3 at /v3/company/<realm>/..., "
                    "OAuth 2.0 (discovery at /.well-known/openid_configuration) and a control API "
                    "under /__emulator__/ (see emulator/README.md).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port to listen on (default 5001)")
    parser.add_argument("--data", metavar="PATH",
                        help="JSON file holding the state; loaded at start, rewritten atomically "
                             "after every change (default: memory only)")
    parser.add_argument("--realm", metavar="ID",
                        help="realm id of the default company (default: random; kept in --data)")
    parser.add_argument("--company-name", metavar="NAME", default="Emulator Test Company",
                        help="name of the default company")
    parser.add_argument("--custom-txn-numbers", action="store_true",
                        help="default company starts with custom transaction numbers on")
    parser.add_argument("--company-profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                        help="the default company's region and tax model (default us-ast: US, "
                             "automated sales tax, an Oregon address with no sales tax)")
    parser.add_argument("--time-scale", type=float, metavar="X",
                        help="compress time for limits and webhook retries: 60 makes a QBO "
                             "minute last one second (default 1)")
    parser.add_argument("--no-limits", action="store_true",
                        help="turn off throttling (500/min, 10/s, 10 concurrent, 40 batches/min "
                             "per realm are on by default)")
    parser.add_argument("--strict-refresh-tokens", action="store_true",
                        help="every refresh rotates the refresh token and the replaced one dies at "
                             "once (default: as QBO, the same token for 24 h and a replaced one "
                             "valid 24 h more)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="OAuth client id")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="OAuth client secret")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    app = create_app(data_path=args.data, realm_id=args.realm, company_name=args.company_name,
                     limits=not args.no_limits, time_scale=args.time_scale,
                     client_id=args.client_id, client_secret=args.client_secret,
                     custom_txn_numbers=args.custom_txn_numbers,
                     strict_refresh_tokens=args.strict_refresh_tokens,
                     profile=args.company_profile)
    realm = app.emulator.default_realm
    print(f"QBO emulator on http://{args.host}:{args.port}  default realm: {realm}", flush=True)
    print(f"realm_id={realm}", flush=True)
    sys.stdout.flush()
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
