# The two commands of the README are `make dev` and `make test`.
SQLC = go tool -modfile=tools/go.mod sqlc -f db/sqlc.yaml
DEMO ?= true

.PHONY: dev test generate bench corpus corpus-rerecord mutations stack soak scale long

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
	go vet -tags failpoints ./activities/... ./intake
	go test -count=1 -timeout 30m ./...
	go test -count=1 -timeout 10m -tags failpoints ./activities/outage

# Regenerates db/dbq from db/query and db/migrations.
generate:
	$(SQLC) generate

# Intake against Temporal itself, history bytes per invoice, a 100,000-row
# file; `make bench DEALS=10000` also measures the worker's memory with
# 10,000 deals open. Takes several minutes; prints the README's figures.
DEALS ?= 0
bench:
	go run ./devstack/bench -deals $(DEALS)

# The replay corpus (docs/upgrades.md): histories recorded from the real
# worker, one file per workflow run. `make corpus` records every scenario
# into CORPUS and refuses to replace a file that exists; after the v1.0
# freeze, record a new release's histories into a new folder
# (make corpus CORPUS=workflows/testdata/corpus/v1.1).
CORPUS ?= workflows/testdata/corpus/v1.0
corpus:
	go run ./devstack/recordhistory -out $(CORPUS)

# Before the freeze only: throws the provisional v1.0 histories away and
# records them again with today's workflow. The guard (corpus_guard_test.go)
# fails this once a baseline exists.
corpus-rerecord:
	@test ! -f workflows/testdata/corpus/BASELINE || (echo "the corpus is frozen (workflows/testdata/corpus/BASELINE): it is append-only, record into a new folder" >&2; exit 1)
	rm -rf $(CORPUS)
	go run ./devstack/recordhistory -out $(CORPUS)

# Writes workflows/testdata/mutations/*.patch from the edits described in
# devstack/mutations/main.go; run it when the workflow code moved and the
# mutation test says a patch no longer applies.
mutations:
	go run ./devstack/mutations

# dealflow in its production shape, without Docker (docs/topology.md): the
# Temporal server of compose's version on PostgreSQL (its own databases and
# role), two worker processes with their HTTP servers on 127.0.0.1:18081
# and :18082, one task queue, a supervisor restarting what dies. Shares
# compose's server config, schema commands and registration script
# (deploy/temporal). Ctrl-C stops it.
stack:
	go run ./devstack/stack

# Load and faults on that stack for SOAK_MINUTES (default 10): 50 deals
# walked by Slack clicks, 20,000 invoices by CSV and API, a worker killed,
# the Temporal server restarted, PostgreSQL cut for 60 s, an HTTP server
# killed mid-upload; then the end checks and the figures of docs/topology.md.
SOAK_MINUTES ?= 10
soak:
	go run ./devstack/soak -minutes $(SOAK_MINUTES)

# The scale-out figures: the same load on one worker process and on two,
# and the raw signal ceiling of the same server, CPU-seconds per component.
scale:
	go run ./devstack/soak -scale -name scale

# The long checks CI runs after `make test`, each with its own budget: a
# 2-minute soak on the production-shaped stack, every fault once
# (PostgreSQL cut for 20 s), and the mutation test, which applies each
# patch to a copy of the tree and checks that replay fails.
long:
	go run ./devstack/soak -name long -minutes 2 -deals 20 -invoices 4000 -cut 20s -port-offset 12000 -http 18091,18092
	go test -count=1 -tags long -timeout 60m -run TestMutationsFailReplay ./workflows
