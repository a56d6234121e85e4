"""Runs moto's S3 server on 127.0.0.1 with signature checking on, for Cairn's S3 tests.

Usage: moto_auth_server.py PORT KEYFILE
Creates bucket 'cairn-test', an IAM user with s3:* and a role 'cairn-web' with s3:* (for web
identity) while auth is still off, writes "ACCESS_KEY SECRET" to KEYFILE, then switches
signature checking on.

moto rebuilds the signature from Werkzeug's *decoded* URL, so a correctly signed request for a
key with a space or a prefix with '/' (%2F) fails there even from boto3. This wrapper hands moto's
check the URL exactly as it was sent, which is what AWS verifies.

moto also reports every incomplete multipart upload as initiated in 2010; this wrapper reports
the time the upload was really started, as AWS does, so age-based sweeps can be tested.
"""
import json
import sys
import threading
import time
import urllib.request

from moto.core import authorization
from moto.server import main

_check = authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action


def _check_raw_url(self, cls, resource="*"):
    from flask import request
    # AWS takes AssumeRoleWithWebIdentity unsigned (the token is the proof); moto would demand a
    # signature from a caller that has no keys yet.
    if "Authorization" not in request.headers and request.values.get("Action") == "AssumeRoleWithWebIdentity":
        return
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:
        return _check(self, cls, resource)
    saved = self.uri
    self.uri = "http://host" + raw
    try:
        return _check(self, cls, resource)
    finally:
        self.uri = saved


authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = _check_raw_url

from moto.s3 import models as s3_models, responses as s3_responses
import re

_started = {}
_multipart_init = s3_models.FakeMultipart.__init__
_list_uploads = s3_responses.S3Response.list_multipart_uploads


def _multipart_init_timed(self, *args, **kwargs):
    _multipart_init(self, *args, **kwargs)
    _started[self.id] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _list_uploads_timed(self):
    status, headers, body = _list_uploads(self)
    text = body.decode() if isinstance(body, bytes) else body

    def real_time(match):
        return re.sub(r"<Initiated>[^<]*</Initiated>",
                      "<Initiated>%s</Initiated>" % _started.get(match.group(1), "2010-11-10T20:48:33.000Z"),
                      match.group(0))
    text = re.sub(r"<UploadId>([^<]*)</UploadId>.*?</Upload>", real_time, text, flags=re.S)
    return status, headers, text.encode() if isinstance(body, bytes) else text


s3_models.FakeMultipart.__init__ = _multipart_init_timed
s3_responses.S3Response.list_multipart_uploads = _list_uploads_timed


def setup(port, keyfile):
    import boto3
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/").read()
            break
        except Exception:
            time.sleep(0.1)
    anonymous = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    iam = boto3.client("iam", **anonymous)
    iam.create_user(UserName="cairn")
    iam.put_user_policy(UserName="cairn", PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="cairn")["AccessKey"]
    iam.create_role(RoleName="cairn-web", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "oidc"},
                                                 "Action": "sts:AssumeRoleWithWebIdentity"}]}))
    iam.put_role_policy(RoleName="cairn-web", PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    boto3.client("s3", **anonymous).create_bucket(Bucket="cairn-test")
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0",
                                     headers={"Content-Type": "text/plain"}, method="POST")
    urllib.request.urlopen(request).read()
    with open(keyfile + ".tmp", "w") as out:
        out.write(f"{key['AccessKeyId']} {key['SecretAccessKey']}\n")
    import os
    os.rename(keyfile + ".tmp", keyfile)


if __name__ == "__main__":
    port, keyfile = sys.argv[1], sys.argv[2]
    threading.Thread(target=setup, args=(port, keyfile), daemon=True).start()
    main(["-H", "127.0.0.1", "-p", port])
