#!/usr/bin/env python
"""Benchmark of accepting emails: one batch of 100 (POST /emails/batch)
against 100 single requests (POST /send-email), in the same run.

Both go through the API (django.test.Client) against moto in-process
(`mock_aws`, no network), after a warm-up (client creation, API-key,
identity and queue-URL lookups) that no figure includes. Prints, for each:
AWS calls per accepted email (every botocore call, counted at
BaseClient._make_api_call) by operation, and wall time per email. Target:
at most 1.2 AWS calls per email for the batch.

Usage: .venv/bin/python benchmarks/batch_send.py [--emails 100] [--recipients 1]
"""

import argparse
import json
import sys
import time
from collections import Counter

import offline

offline.setup()

import botocore.client  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from emailhub import apikeys, identities  # noqa: E402
from emailhub.aws import clients, sqs  # noqa: E402
from emailhub.bootstrap import aws_resources_ensure  # noqa: E402
from emailhub.local.emulator import make_dynamodb_atomic  # noqa: E402

TARGET = 1.2


class Meter:
    def __init__(self):
        self.calls, self.on = Counter(), False

    def install(self):
        meter, original = self, botocore.client.BaseClient._make_api_call

        def counted(client, operation_name, api_params):
            if meter.on:
                meter.calls[f"{client.meta.service_model.service_name}.{operation_name}"] += 1
            return original(client, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = counted

    def measure(self, work):
        self.calls.clear()
        self.on = True
        started = time.perf_counter()
        try:
            work()
        finally:
            self.on = False
        return time.perf_counter() - started, Counter(self.calls)


def email(i, recipients):
    return {"to": [f"bench{n}@example.com" for n in range(recipients)], "subject": f"Order {i}",
            "text": "Thanks for your order."}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=100)
    parser.add_argument("--recipients", type=int, default=1)
    args = parser.parse_args()
    settings.AWS_ENDPOINT_URL = None  # moto in-process, never a server
    settings.EMAILHUB_SES_EVENT_SIMULATOR = False
    meter = Meter()
    meter.install()
    with mock_aws():
        make_dynamodb_atomic()
        clients.reset()
        sqs.reset()
        aws_resources_ensure()
        for n in range(args.recipients):
            identities.identity_verify(identity=f"bench{n}@example.com")
        _, key = apikeys.api_key_create(name="bench")
        http = Client()
        auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

        def post(path, body):
            response = http.post(path, data=json.dumps(body), content_type="application/json", **auth)
            assert response.status_code == 202, response.content
            return response

        post("/send-email", email(0, args.recipients))  # warm-up
        post("/emails/batch", {"emails": [email(0, args.recipients)]})
        single_time, single_calls = meter.measure(
            lambda: [post("/send-email", email(i, args.recipients)) for i in range(args.emails)])
        batch_time, batch_calls = meter.measure(
            lambda: post("/emails/batch", {"emails": [email(i, args.recipients) for i in range(args.emails)]}))
    n = args.emails
    print(f"{n} emails of {args.recipients} recipient(s), accepted through the API (moto in-process)")
    print(f"{'':>22} {'AWS calls/email':>15} {'ms/email':>9}")
    print(f"{n} single requests {sum(single_calls.values()) / n:>20.2f} {single_time / n * 1000:>9.2f}")
    print(f"one batch of {n} {sum(batch_calls.values()) / n:>22.2f} {batch_time / n * 1000:>9.2f}")
    print("single:", ", ".join(f"{op} {c}" for op, c in sorted(single_calls.items())))
    print("batch: ", ", ".join(f"{op} {c}" for op, c in sorted(batch_calls.items())))
    ratio = sum(single_calls.values()) / max(1, sum(batch_calls.values()))
    print(f"The batch makes {ratio:.0f}x fewer AWS calls and takes {single_time / batch_time:.1f}x less time per email.")
    per_email = sum(batch_calls.values()) / n
    print(f"Target <= {TARGET} AWS calls per email for the batch: {'met' if per_email <= TARGET else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
