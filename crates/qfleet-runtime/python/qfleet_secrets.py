#!/usr/bin/env python3
"""qfleet-secrets: runs a command with the stack file's secrets in its environment.

    qfleet-secrets COMMAND [ARG...]

Reads /etc/qfleet/secrets.json (or QFLEET_SECRETS_FILE), a JSON object of environment variable
name -> where the value is kept: "ssm:/NAME" (Parameter Store, decrypted), "secretsmanager:ID"
(Secrets Manager's SecretString) or the ARN of either. Reads every value with the instance
role, then replaces itself with COMMAND, those variables added to its environment. Values are
never printed or written anywhere. If any cannot be read it says which variable and where it
looked (never a value) and exits 1, so the unit fails and systemd starts it again.
"""
import json
import os
import sys

import boto3


def where(ref):
    """(service, id, region or None) of a reference; raises ValueError for anything else."""
    if ref.startswith("ssm:"):
        return "ssm", ref[4:], None
    if ref.startswith("secretsmanager:"):
        return "secretsmanager", ref[15:], None
    parts = ref.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("ssm", "secretsmanager"):
        return parts[2], ref, parts[3]
    raise ValueError("not ssm:NAME, secretsmanager:ID or an ARN of either")


def read(client, service, ident):
    if service == "ssm":
        return client.get_parameter(Name=ident, WithDecryption=True)["Parameter"]["Value"]
    out = client.get_secret_value(SecretId=ident)
    if "SecretString" not in out:
        raise ValueError("the secret holds binary data, not a string")
    return out["SecretString"]


def resolve(refs, region=None, client=None):
    """{NAME: value} for {NAME: reference}; raises RuntimeError naming the first that failed.
    `client(service, region)` makes the clients (boto3 by default)."""
    made = {}

    def get(service, reg):
        if (service, reg) not in made:
            made[(service, reg)] = (client or (lambda s, r: boto3.client(s, region_name=r)))(
                service, reg)
        return made[(service, reg)]

    out = {}
    for name, ref in sorted(refs.items()):
        try:
            service, ident, reg = where(ref)
            out[name] = read(get(service, reg or region), service, ident)
        except Exception as e:  # noqa: BLE001 - reported with the name, never the value
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            raise RuntimeError(f"{name} from {ref}: {code or type(e).__name__}") from None
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit("usage: qfleet-secrets COMMAND [ARG...]")
    path = os.environ.get("QFLEET_SECRETS_FILE") or "/etc/qfleet/secrets.json"
    try:
        with open(path) as f:
            refs = json.load(f)
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        env = dict(os.environ, **resolve(refs, region))
    except (OSError, ValueError, RuntimeError) as e:
        print(f"qfleet-secrets: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main()
