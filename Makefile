# The two commands of the README are `make dev` and `make test`.
SQLC = go tool -modfile=tools/go.mod sqlc -f db/sqlc.yaml
DEMO ?= true

.PHONY: dev test generate bench

# Runs dealflow on this machine: the pinned Temporal dev server, the worker
# and, unless DEMO=false, a scripted demo deal. Needs Go and a running
# PostgreSQL. Ports and tokens come from the environment (or make's command
# line), and the banner says what is on:
#   TEMPORAL_UI_PORT   Temporal UI on 127.0.0.1 (8233)
#   TEMPORAL_ADDRESS   the dev server's frontend (127.0.0.1:7233)
#   HTTP_ADDR          the worker's pages, intake, /metrics (127.0.0.1:8080)
#   FINANCE_API_TOKEN  turns on finance intake; DASHBOARD_TOKEN guards the pages
#   SLACK_BOT_TOKEN    posts to Slack instead of the log
# e.g. FINANCE_API_TOKEN=$(openssl rand -hex 32) make dev (tokens are 32+ bytes;
# without DASHBOARD_TOKEN it makes one and prints a sign-in link). Ctrl-C stops it and exits 0.
dev:
	go run -tags dev ./worker -dev -demo=$(DEMO)

# The whole check: generated code up to date, gofmt, go vet, every test.
test:
	$(SQLC) diff || (echo "db/dbq is stale: run 'make generate' and commit the result" >&2; exit 1)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt would change: $$(gofmt -l $$(git ls-files '*.go'))" >&2; exit 1)
	go vet ./...
	go vet -tags dev ./worker
	go test -count=1 -timeout 30m ./...

# Regenerates db/dbq from db/query and db/migrations.
generate:
	$(SQLC) generate

# Intake against Temporal itself, history bytes per invoice, a 100,000-row
# file; `make bench DEALS=10000` also measures the worker's memory with
# 10,000 deals open. Takes several minutes; prints the README's figures.
DEALS ?= 0
bench:
	go run ./devstack/bench -deals $(DEALS)
