"""`invoke ui`: a local web view of the model, served on loopback (server-rendered HTML, the stdlib's http.server).

- `task`: the `ui` task (flags, target, the server started, its URL printed).
- `context`: what every page acts on: the target and its client, the users, the files, the CSRF secret.
- `server`: HTTP on 127.0.0.1: the loopback Host check, bounded requests, the security headers.
- `routes`: a request to its page; the prod refusal of POSTs, the CSRF check, errors as one line.
- `html`: escaping and the layout; `markdown`: the data-model document as HTML.
- `app_pages` (patterns A, B), `write_pages` (C, D), `item_pages`, `query_pages`, `tool_pages`: the pages.
- `mermaid`: the Mermaid script, from its pinned npm package, vendored under .local/ (git-ignored).

Nothing under `ddb/` imports this package: the library never renders.
"""
