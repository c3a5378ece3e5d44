"""Runs the unmodified `aws cloudtrail validate-logs` with its public-key lookup replaced by a local
ListPublicKeys JSON file (CloudTrail's ListPublicKeys cannot be reached locally), as described in
../shared/bench/README.md. Everything else (S3 listing, digest walk, hashing, output, exit code) is
the AWS CLI's own code.

usage: TRAILWARDEN_PUBLIC_KEYS=keys.json python awscli_validate.py cloudtrail validate-logs ...
S3 is reached through AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (the local emulator).
"""
import json
import os
import sys

from awscli.customizations.cloudtrail import validation


class LocalPublicKeyProvider(validation.PublicKeyProvider):
    def __init__(self, cloudtrail_client=None):
        self._path = os.environ["TRAILWARDEN_PUBLIC_KEYS"]

    def get_public_keys(self, start_date, end_date):
        with open(self._path) as f:
            keys = json.load(f)["PublicKeyList"]
        return {k["Fingerprint"]: k for k in keys}


validation.PublicKeyProvider = LocalPublicKeyProvider

from awscli.clidriver import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
