"""The local AWS: what `make local` and the tests run in place of AWS.

- emulator.py, emulator_shims.py, emulator_iam.py: moto's server on loopback, IAM enforced, with
  named shims where it differs from AWS;
- stage.py: the root module staged against the emulator (the offline providers' stand-in in
  offline/);
- gateway*.py, authorizers.py: the local API Gateway HTTP API (routes, CORS, limits, JWT and
  SigV4 authorizers, payload 2.0);
- runtime.py: the local Lambda runtime (worker processes with the execution role's credentials);
- oidc.py, bearer_token.py: the local OIDC issuer and `make token`;
- local.py: `make local`.

What a template user needs without the local AWS (build, openapi, docs, events, smoke) stays in
tools/; the bench is tools/bench/.
"""
