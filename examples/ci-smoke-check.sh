#!/usr/bin/env bash
# Pre-deploy smoke check of a submission server, for a CI job. The password comes from the CI secret store
# through an environment variable; it never appears on the command line or in the report.
#   SMTP_PROBE_PASSWORD=... ./examples/ci-smoke-check.sh mail.example.test
set -euo pipefail
host=${1:?usage: $0 HOST}

# 1. Submission: STARTTLS required, certificate valid for 14+ days, AUTH works, a test message is accepted.
npx smtp-probe check "smtp://${host}:587" --tls starttls --min-cert-days 14 \
  --auth-user "probe@${host#*.}" --auth-pass-env SMTP_PROBE_PASSWORD \
  --to "probe@${host#*.}" --format junit > smtp-submission.xml

# 2. The MX port must not be an open relay: RCPT to an outside domain must be refused with 5xx.
npx smtp-probe check "smtp://${host}:25" --to relay-test@outside.example --expect rcpt=5xx --format junit > smtp-relay.xml
