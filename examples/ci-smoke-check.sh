#!/usr/bin/env bash
# Pre-deploy smoke check of a submission server, for a CI job. The password comes from the CI secret store
# through an environment variable; it never appears on the command line or in the report.
#   SMTP_PROBE_PASSWORD=... ./examples/ci-smoke-check.sh mail.example.test [example.test]
# Every check runs, also after one failed; each writes a JUnit report for the CI's test view. The script exits
# with the worst exit code: 0 all passed, 1 a check failed, 2 a usage error.
# smtp-probe is the installed bin (npm install -g smtp-probe, or node_modules/.bin of a project that depends on
# it): not npx, which without a TTY installs whatever the registry holds under that name.
# SUBMISSION_PORT (587) and MX_PORT (25) point the checks elsewhere, e.g. at a staging server.
set -uo pipefail
host=${1:?usage: $0 HOST [MAIL_DOMAIN]}
domain=${2:-${host#*.}}
status=0

# check REPORT ARGS...: one smtp-probe check, its JUnit report written to REPORT; remembers the worst exit code.
check() {
  local report=$1
  shift
  smtp-probe check "$@" --format junit > "$report"
  local code=$?
  if (( code > status )); then status=$code; fi
  echo "${report}: exit ${code}" >&2
}

# 1. Submission: STARTTLS required, certificate valid for 14+ days, AUTH works, a test message is accepted.
#    These must hold, warnings included: --strict fails the check on a certificate under 14 days (and on any
#    other warning) instead of passing it with a warning.
check smtp-submission.xml "smtp://${host}:${SUBMISSION_PORT:-587}" --tls starttls --min-cert-days 14 --strict \
  --auth-user "probe@${domain}" --auth-pass-env SMTP_PROBE_PASSWORD --to "probe@${domain}"

# 2. The MX port must not be an open relay: RCPT to an outside domain must be refused with 5xx.
check smtp-relay.xml "smtp://${host}:${MX_PORT:-25}" --to relay-test@outside.example --expect rcpt=5xx

exit "$status"
