"""The `ui` task: serve the web view of the model on 127.0.0.1 until Ctrl-C.

It resolves the target as every task does, builds the view's context (the users of the
fixture set, the configured folders and prices, the vendored Mermaid script), binds a
free or given port on loopback, prints the URL on stdout, and with `--open` opens it.
"""

from ..exits import reports_errors
from ..flags import target_flags, whole_number
from ..output import status_line
from ..targeting import config, make_client, project_path, resolve_target

TRAFFIC = "docs/traffic.example.yaml"  # the cost page's traffic file (model.cost --traffic)
PRICE_NAMES = ("read_request_million", "write_request_million", "rcu_hour", "wcu_hour", "storage_gb_month")


@target_flags(
    port="the port on 127.0.0.1 (default: a free one)",
    open_="open the view in the browser",
)
@reports_errors
def ui(c, port=None, open_=False, prod=False, endpoint_url=None):
    """Serve a web view of the model on 127.0.0.1: items, inbox, conversations, writes, queries, tools (read-only on --prod)."""
    from ddb.core.errors import DdbError

    from .server import UiServer

    chosen = 0 if port is None else whole_number("--port", port, low=1, high=65535)
    ctx = context(c, prod, endpoint_url)
    try:
        server = UiServer(ctx, chosen)
    except OSError as exc:
        raise DdbError(f"cannot listen on 127.0.0.1:{chosen}: {exc.strerror}") from None
    import sys

    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    status_line(f"serving {ctx.banner}{' read-only' if ctx.prod else ''} at {server.url}; Ctrl-C stops")
    if open_:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        status_line("stopped")
    finally:
        server.server_close()


def context(c, prod=False, endpoint_url=None):
    """The view's context from invoke config and the target flags."""
    from ddb.core.errors import DdbError
    from ddb.core.target import account_of

    from ..targeting import user_directory
    from .context import UiContext
    from .mermaid import script_path

    target = resolve_target(c, prod, endpoint_url)
    cfg = config(c)
    users = {}
    if not prod:
        try:
            users = dict(user_directory(c).users)
        except DdbError:
            users = {}
    return UiContext(
        target=target,
        client=make_client(target),
        users=users,
        default_handle=cfg.default_handle,
        default_group=cfg.default_message_group_uuid,
        migrations=project_path(cfg.migrations),
        fixtures=project_path(cfg.fixtures),
        traffic=project_path(TRAFFIC),
        prices=_prices(cfg.prices),
        billing=cfg.billing,
        account=account_of(target) if prod else None,
        mermaid=script_path(),
    )


def _prices(given):
    """The configured prices (`ddb.prices`), or None when one is not a number (the cost page says so)."""
    from ddb.modeling import pricing

    try:
        values = {name: float(given[name]) for name in PRICE_NAMES}
    except (KeyError, TypeError, ValueError):
        return None
    return pricing.Prices(**values, taken=str(given.get("taken", "?")), region=str(given.get("region", "?")))
