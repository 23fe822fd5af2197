#!/usr/bin/env bash
# Walks the README's starter flow against a running `make dev`: one deal from
# open to closed won, with finance intake over HTTP, then its record and the
# worker's /metrics. Every step says what it expects; any other answer stops
# the script with exit 1.
#
#   export FINANCE_API_TOKEN=$(openssl rand -hex 32)
#   make dev                    # in one terminal
#   examples/walkthrough.sh     # in another, with the same FINANCE_API_TOKEN
#
# It reads what `make dev` reads: TEMPORAL_ADDRESS (127.0.0.1:7233), HTTP_ADDR
# (127.0.0.1:8080), METRICS_ADDR (127.0.0.1:9464) and DATABASE_URL (the
# dealflow database), so give it the same values as the `make dev` it talks to.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${FINANCE_API_TOKEN:-}" ]]; then
  echo "walkthrough: FINANCE_API_TOKEN is not set. Finance intake is off without it: start make dev with" >&2
  echo "  export FINANCE_API_TOKEN=\$(openssl rand -hex 32); make dev" >&2
  echo "and run this script with the same FINANCE_API_TOKEN." >&2
  exit 2
fi
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
base="http://${HTTP_ADDR:-127.0.0.1:8080}"
ops="http://${METRICS_ADDR:-127.0.0.1:9464}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Built once: `go run ./starter` would link it again for every step.
go build -o "$work/starter" ./starter

# A new deal id per run, so the script can run again against the same dev
# server (a deal id is used once).
deal="acme-portal-$(date +%Y%m%d%H%M%S)-$$"
sed "s/\"deal_id\": \"acme-portal\"/\"deal_id\": \"$deal\"/" examples/deal.json >"$work/deal.json"
sed "s/^acme-portal,/$deal,/" examples/invoices.csv >"$work/invoices.csv"

fail() {
  echo "walkthrough: $*" >&2
  exit 1
}

# step WANT starter-args...: runs `starter ARGS --deal $deal` and requires the
# answer WANT: accepted (exit 0), or refused (exit 1, "refused: <reason>").
step() {
  local want="$1" out rc=0
  shift
  printf '$ starter'
  printf ' %q' "$@" --deal "$deal"
  echo
  out="$("$work/starter" "$@" --deal "$deal" 2>&1)" || rc=$?
  echo "  $out"
  case "$want" in
    accepted) [[ $rc -eq 0 && "$out" == accepted ]] || fail "expected accepted (exit 0), got exit $rc: $out" ;;
    refused) [[ $rc -eq 1 && "$out" == "refused: "* ]] || fail "expected a refusal (exit 1), got exit $rc: $out" ;;
    *) fail "unknown expectation $want" ;;
  esac
}

echo "\$ starter open examples/deal.json   (deal_id $deal)"
"$work/starter" open "$work/deal.json" || fail "open failed"

# Presale: promises are written down as they are made; each ticket is signed
# off by its owner with its deliverable, the client's sign-off after the
# internal one.
step accepted commitment --id c1 --kind discount --text "10% off phase 2 if signed this quarter" --value 10% --by U_AE_ANA
step accepted commitment --id c2 --kind integration --text "SAP EWM integration included" --by U_PS_PAUL
step accepted signoff --ticket discovery --by U_PS_PAUL --side internal --decision approve \
  --kind discovery_notes --url https://docs.example.com/acme/discovery --body "Pain: manual picking lists"
step refused signoff --ticket scoping --by U_PS_PAUL --side client --decision approve --body "agreed by email"
step accepted signoff --ticket scoping --by U_PS_PAUL --side internal --decision approve \
  --kind scoping_decision_log --body "In: portal, SAP EWM. Out: mobile app"
step accepted signoff --ticket scoping --by U_PS_PAUL --side client --decision approve --body "agreed by email"
step accepted signoff --ticket proposal --by U_AE_ANA --side internal --decision approve \
  --kind proposal_assumptions --body "Client provides test data"
step accepted signoff --ticket pricing --by U_PRICE_PRIYA --side internal --decision approve \
  --kind pricing_rationale --body "Blended rate 950/day"
step accepted close --outcome won --by U_AE_ANA --reason "SOW signed"

# The handover gate: delivery starts only when the PM acknowledges every
# commitment.
step refused handover --by U_PM_MARIA --deliverables-reviewed --ack c1 --no-ambiguities --resources-confirmed --signed-off
step accepted handover --by U_PM_MARIA --deliverables-reviewed --ack c1,c2 \
  --ambiguity "SAP EWM version not confirmed" --resources-confirmed --signed-off

# Delivery: progress makes the forecast cost actual ÷ percent complete.
step accepted progress --pct-complete 20 --by U_PM_MARIA
step accepted invoice --invoice-id INV-1 --category subcontractor --amount 16000 --currency EUR --date 2026-02-03 --supplier Initech
# One fee event per fee_id: the invoiced fee and its collection are two.
step accepted fee --fee-id F-1 --kind invoiced --amount 40000 --currency EUR --date 2026-02-28
step accepted fee --fee-id F-1-paid --kind collected --amount 40000 --currency EUR --date 2026-03-20

# Finance intake over HTTP: a small file is answered at once, row by row.
# These costs push the forecast off track: an alert, and mitigation.
echo "\$ curl -X POST $base/api/invoices.csv --data-binary @examples/invoices.csv   (deal_id $deal)"
answer="$(curl -sS --fail-with-body -X POST "$base/api/invoices.csv" \
  -H "Authorization: Bearer $FINANCE_API_TOKEN" -H 'Content-Type: text/csv' \
  --data-binary @"$work/invoices.csv")" || fail "finance intake failed: $answer"
echo "$answer"
rows="$(($(wc -l <"$work/invoices.csv") - 1))"
[[ "$(tr -d ' \n' <<<"$answer")" == *"\"accepted\":$rows,\"duplicate\":0,\"refused\":0,\"unknown\":0,"* ]] ||
  fail "expected all $rows rows accepted"

# All done: back on track, then maintenance and closed won.
step accepted progress --pct-complete 100 --by U_PM_MARIA
step accepted stage --to maintenance --by U_PM_MARIA
step accepted stage --to closed_won --by U_GM_GUS

echo "\$ starter record --deal $deal"
# The record is written within moments of each change.
for _ in $(seq 30); do
  record="$("$work/starter" record --deal "$deal")" || fail "starter record failed"
  [[ "$record" == *closed_won* ]] && break
  sleep 1
done
echo "$record"
[[ "$record" == *closed_won* ]] || fail "the record does not reach closed_won"

# The alert reaches the log (or Slack) a moment after the intake answered.
echo "\$ curl $ops/metrics | grep dealflow_"
nonzero() { grep -E "^$1(\{[^}]*\})? [1-9]" <<<"$2"; }
for _ in $(seq 30); do
  metrics="$(curl -sS --fail "$ops/metrics")" || fail "no /metrics at $ops"
  if nonzero dealflow_intake_rows_total "$metrics" >/dev/null && nonzero dealflow_margin_alerts_total "$metrics" >/dev/null; then
    break
  fi
  sleep 1
done
grep -E '^dealflow_(intake_rows|margin_alerts|refusals)_total' <<<"$metrics" || true
nonzero dealflow_intake_rows_total "$metrics" >/dev/null || fail "dealflow_intake_rows_total is zero"
nonzero dealflow_margin_alerts_total "$metrics" >/dev/null || fail "dealflow_margin_alerts_total is zero"
echo "walkthrough: deal $deal went from open to closed won"
