// Package deploy holds what runs dealflow outside `make dev`: the Prometheus
// and Grafana configuration used by docker-compose.yml. Its test checks the
// compose file's structure, so a production stack that would start in the
// wrong order, expose Temporal, or drift from the dev server's versions
// fails `make test` on machines without Docker.
package deploy
