"""Test support for a moto gap: moto's CloudFormation cannot delete an IAM role that has managed
policies attached (AWS detaches them itself when it deletes the stack). Before a teardown test
deletes a fleet or data stack, this detaches the managed policies of the roles whose names start with
one of the given prefixes, behind qfleet's back, so that moto can delete them.

usage: python moto_detach_policies.py ENDPOINT [--account ID] PREFIX...

With --account, in that account (moto keeps one per account): through AssumeRole, as qfleet
acts in a target's account.
"""
import sys

import boto3

endpoint, prefixes = sys.argv[1], sys.argv[2:]
creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
if prefixes[:1] == ["--account"]:
    account, prefixes = prefixes[1], prefixes[2:]
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", **creds)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/tests",
                        RoleSessionName="tests")["Credentials"]
    creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
             "aws_session_token": c["SessionToken"]}
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **creds)


def detach_pass():
    """One pass over the roles: how many policies it detached. A listing paged while other
    tests create and delete roles can skip one, so passes repeat until one finds nothing."""
    detached = 0
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if any(role["RoleName"].startswith(p) for p in prefixes):
                attached = iam.list_attached_role_policies(RoleName=role["RoleName"])
                for pol in attached["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=pol["PolicyArn"])
                    detached += 1
    return detached


for i in range(6):
    if detach_pass() == 0 and i > 0:  # at least two passes: the first may have skipped one
        break
