#!/bin/sh
# Registers the namespace the worker uses (when missing) and the search
# attributes the deal workflow upserts, with the temporal CLI. It waits a
# bounded time for the server and for the namespace to reach every service,
# then fails (exit 1) on anything it could not register, so the workers,
# which start after it, never run without their attributes.
# docker-compose.yml's temporal-register job and `make stack` both run it.
#
# TEMPORAL_ADDRESS is the frontend; NS the namespace (default "default");
# RETENTION how long closed deals' histories stay (default 720h).
set -eu
NS="${NS:-default}"
RETENTION="${RETENTION:-720h}"

wait_for() { # what, command...
  what=$1
  shift
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "$what did not answer after 60 tries" >&2
      exit 1
    fi
    sleep 2
  done
}

wait_for "the Temporal server at $TEMPORAL_ADDRESS" temporal operator cluster health
if temporal operator namespace describe --namespace "$NS" >/dev/null 2>&1; then
  echo "namespace $NS exists"
else
  temporal operator namespace create --namespace "$NS" --retention "$RETENTION"
  echo "namespace $NS created"
fi

wait_for "namespace $NS" temporal operator search-attribute list --namespace "$NS"
for attr in DealStage:Keyword DealClient:Keyword DealAE:Keyword DealPM:Keyword \
            MarginStatus:Keyword ForecastMarginPct:Double OpenIncidents:Int DealHealth:Keyword; do
  name=${attr%%:*}
  type=${attr#*:}
  if temporal operator search-attribute list --namespace "$NS" | grep -w "$name" | grep -qiw "$type"; then
    echo "$name ($type) already registered"
    continue
  fi
  # One attribute per command: the CLI registers only the first of
  # several --name flags.
  temporal operator search-attribute create --namespace "$NS" --name "$name" --type "$type"
done
echo "search attributes registered in $NS"
